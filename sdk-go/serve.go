package weft

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	weftv1 "github.com/weft-dev/weft/sdk-go/internal/gen/weft/v1"
	"google.golang.org/grpc/codes"
)

// Handler is one function of an endpoint served with Client.Serve. args are the caller's
// positional arguments as encoding/json decodes JSON (float64, string, bool, nil,
// map[string]any, []any). What it returns (anything JSON can hold) goes back to the caller; an
// error (or a panic, which is recovered) comes back to the caller as a *CallError with
// ErrCallFailed, the error's type, message and chain (a panic's stack).
//
// ctx ends when the caller gives up, the call's deadline passes, weftd cancels it, the server
// closes, or the stream the call arrived on ends (weftd went away; the server registers again
// and the handler's late result is dropped); context.Cause(ctx) is then an *Error whose Reason
// says which (ErrCancelled, ErrDeadlineExceeded, ErrTargetGone). Calls made with ctx are the call's children (see
// Client.Call); CallInfoFrom(ctx) describes the call.
type Handler func(ctx context.Context, args []any) (any, error)

// CallInfo describes the call a Handler is handling.
type CallInfo struct {
	ID           string // weftd's call id
	Endpoint     string
	Function     string
	CallerClient string // the caller's client id, or empty
	CallerDaemon string // the daemon the call started on
	Deadline     time.Time
	ctx          context.Context
}

type callInfoKey struct{}

// CallInfoFrom returns the call being handled, when ctx is (or derives from) a Handler's ctx.
func CallInfoFrom(ctx context.Context) (*CallInfo, bool) {
	info, ok := ctx.Value(callInfoKey{}).(*CallInfo)
	return info, ok
}

// ServeOption configures Serve.
type ServeOption func(*serveConfig) error

type serveConfig struct {
	concurrency int
	queue       int
	policy      weftv1.EndpointPolicy
}

// WithConcurrency sets how many handlers run at once (default 16).
func WithConcurrency(handlers int) ServeOption {
	return func(c *serveConfig) error {
		c.concurrency = handlers
		return positive("WithConcurrency", handlers)
	}
}

// WithQueueSize bounds the invocations waiting for a free handler (default 1,024). An
// invocation that finds the queue full is answered at once with a "weft.Overloaded" failure.
func WithQueueSize(invocations int) ServeOption {
	return func(c *serveConfig) error {
		c.queue = invocations
		return positive("WithQueueSize", invocations)
	}
}

// AllowClients lets only these caller client ids (their WithClientID) call the endpoint;
// others get ErrPolicyDenied (PERMISSION_DENIED).
func AllowClients(ids ...string) ServeOption {
	return func(c *serveConfig) error {
		c.policy.AllowedClients = append(c.policy.AllowedClients, ids...)
		return nil
	}
}

// AllowHosts lets only calls that started on these daemons (host) call the endpoint.
func AllowHosts(daemonIDs ...string) ServeOption {
	return func(c *serveConfig) error {
		c.policy.AllowedHosts = append(c.policy.AllowedHosts, daemonIDs...)
		return nil
	}
}

// AllowDaemons lets only calls arriving from these peer daemons call the endpoint (local calls
// too only when this daemon's own id is listed).
func AllowDaemons(daemonIDs ...string) ServeOption {
	return func(c *serveConfig) error {
		c.policy.AllowedDaemons = append(c.policy.AllowedDaemons, daemonIDs...)
		return nil
	}
}

// Server is an endpoint this client serves (Client.Serve). It holds one CallService.Serve
// stream at a time. When that stream ends while the server is open (weftd restarted or
// crashed, the connection broke), the calls that arrived on it are over (weftd failed them
// with ErrTargetGone) and the server registers the same endpoint again on a new stream, after
// the client's reconnect backoff (WithReconnectBackoff), until that succeeds or the server or
// its client is closed. Registered says whether weftd has the endpoint right now.
type Server struct {
	client    *Client
	endpoint  string
	functions []string
	policy    *weftv1.EndpointPolicy
	handlers  map[string]Handler
	jobs      chan *invocation
	retry     retryDelay // owned by the serving goroutine

	// life ends at Close: it ends the current stream and stops any re-registration.
	life    context.Context
	endLife context.CancelFunc
	// base is the parent of every registration's calls: cancelled (ErrCancelled) at Close.
	base       context.Context
	baseCancel context.CancelCauseFunc

	registered atomic.Bool
	daemonID   atomic.Pointer[string]

	mu      sync.Mutex // guards running
	running map[callKey]context.CancelCauseFunc

	done      chan struct{}
	err       error // written before done is closed
	closing   atomic.Bool
	closeOnce sync.Once
}

// Serve registers endpoint (1 to 128 bytes of [A-Za-z0-9_.-]) with handlers (function name →
// Handler, same alphabet) and serves it until Server.Close or Client.Close. Only these
// functions can be called. ctx bounds the first registration only (WithCallTimeout when it has
// no deadline). Errors: *Error with ErrInvalidArgument (bad names, no handlers, bad options, or
// refused by weftd), ErrEndpointTaken (another client serves that name on this daemon),
// ErrUnavailable (no daemon), ErrDeadlineExceeded or ErrCancelled (ctx ended).
//
// Once Serve has returned, the server outlives weftd: when its stream ends it registers the
// endpoint again by itself (see Server), retrying any refusal but ErrInvalidArgument, which
// ends the server (Done, Err).
func (c *Client) Serve(ctx context.Context, endpoint string, handlers map[string]Handler, opts ...ServeOption) (*Server, error) {
	cfg := serveConfig{concurrency: 16, queue: 1024}
	for _, opt := range opts {
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	if p := checkCallName(endpoint); p != "" {
		return nil, invalid(ErrInvalidArgument, "endpoint: %s", p)
	}
	if len(handlers) == 0 {
		return nil, invalid(ErrInvalidArgument, "endpoint %q: no handlers", endpoint)
	}
	functions := make([]string, 0, len(handlers))
	for name, h := range handlers {
		if p := checkCallName(name); p != "" {
			return nil, invalid(ErrInvalidArgument, "function: %s", p)
		}
		if h == nil {
			return nil, invalid(ErrInvalidArgument, "function %q: nil handler", name)
		}
		functions = append(functions, name)
	}
	sort.Strings(functions)
	regCtx, regCancel := withDefaultTimeout(ctx, c.cfg.callTimeout)
	defer regCancel()

	s := &Server{
		client: c, endpoint: endpoint, functions: functions, policy: &cfg.policy,
		handlers: make(map[string]Handler, len(handlers)), jobs: make(chan *invocation, cfg.queue),
		retry:   newRetryDelay(c.cfg.initialBackoff, c.cfg.maxBackoff),
		running: map[callKey]context.CancelCauseFunc{}, done: make(chan struct{}),
	}
	for k, v := range handlers {
		s.handlers[k] = v
	}
	s.life, s.endLife = context.WithCancel(context.Background())
	s.base, s.baseCancel = context.WithCancelCause(context.Background())
	reg, err := s.register(regCtx, 1)
	if err != nil {
		s.endLife()
		s.baseCancel(nil)
		return nil, err
	}
	for range cfg.concurrency {
		go s.work()
	}
	go s.serve(reg)
	if !c.addServer(s) {
		s.Close()
		return nil, &Error{Reason: ErrClosed, Message: "serve: the client is closed"}
	}
	return s, nil
}

// Endpoint is the endpoint's name.
func (s *Server) Endpoint() string { return s.endpoint }

// DaemonID is the id of the daemon that accepted the latest registration: callers elsewhere
// address the endpoint as endpoint@DaemonID.
func (s *Server) DaemonID() string { return *s.daemonID.Load() }

// Registered reports whether weftd has the endpoint registered right now: true from Serve's
// return until the stream ends, false while the server registers it again (weftd restarting:
// Done is not closed, calls to the endpoint fail with ErrNoRoute or ErrUnavailable meanwhile),
// and after the server stopped.
func (s *Server) Registered() bool { return s.registered.Load() }

// Running is the number of calls being handled or queued now (handlers of a lost registration
// that have not returned yet included).
func (s *Server) Running() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.running)
}

// Done is closed when the server stopped for good: closed (Server.Close, Client.Close), or
// weftd refused a re-registration as invalid (Err). Not when weftd went away: the server then
// registers again by itself (Registered).
func (s *Server) Done() <-chan struct{} { return s.done }

// Err is why the server stopped, once Done is closed: nil after Close; the *Error with
// ErrInvalidArgument when weftd refused a re-registration as invalid.
func (s *Server) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// Close unregisters the endpoint: weftd fails its pending calls with ErrTargetGone, and the
// contexts of the handlers still running are cancelled (cause ErrCancelled); what they return
// is dropped. During an outage it stops the re-registration at once. It does not wait for the
// handlers; the server's own goroutines end. Idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		// No answer leaves after this, so that a handler ending because of the cancel below
		// cannot answer before weftd learns the endpoint is gone (its callers get TARGET_GONE).
		s.closing.Store(true)
		s.baseCancel(&Error{Reason: ErrCancelled, Code: codes.Canceled, Message: "the server was closed"})
		// Cancelling the stream (not CloseSend, which would wait for a handler blocked in Send)
		// ends it on both sides; weftd then unregisters the endpoint.
		s.endLife()
		<-s.done
		s.client.removeServer(s)
	})
	return nil
}

// checkCallName is weftd's rule for endpoint and function names; "" when the name is valid.
func checkCallName(name string) string {
	if name == "" || len(name) > 128 {
		return fmt.Sprintf("%q: 1 to 128 bytes of [A-Za-z0-9_.-]", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return fmt.Sprintf("%q: 1 to 128 bytes of [A-Za-z0-9_.-]", name)
		}
	}
	return ""
}
