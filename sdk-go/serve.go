package weft

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sort"
	"strings"
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
// ctx ends when the caller gives up, the call's deadline passes, weftd cancels it, or the
// server closes; context.Cause(ctx) is then an *Error whose Reason says which (ErrCancelled,
// ErrDeadlineExceeded, ErrTargetGone). Calls made with ctx are the call's children (see
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

// Server is an endpoint this client serves (Client.Serve): one CallService.Serve stream.
type Server struct {
	client   *Client
	endpoint string
	daemonID string
	handlers map[string]Handler
	stream   weftv1.CallService_ServeClient
	sendMu   sync.Mutex // stream.Send is not safe for concurrent use
	jobs     chan *invocation

	base         context.Context // every handler's ctx derives from it
	baseCancel   context.CancelCauseFunc
	streamCancel context.CancelFunc

	mu      sync.Mutex // guards running
	running map[string]context.CancelCauseFunc

	done      chan struct{}
	err       error
	closing   atomic.Bool
	closeOnce sync.Once
}

type invocation struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	inv    *weftv1.Invocation
}

// Serve registers endpoint (1 to 128 bytes of [A-Za-z0-9_.-]) with handlers (function name →
// Handler, same alphabet) and serves it until Server.Close, Client.Close, or the end of the
// stream (weftd gone: Server.Done). Only these functions can be called. ctx bounds the
// registration only (WithCallTimeout when it has no deadline). Errors: *Error with
// ErrInvalidArgument (bad names, no handlers, bad options), ErrEndpointTaken (another client
// serves that name on this daemon), ErrUnavailable (no daemon).
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

	streamCtx, streamCancel := context.WithCancel(context.Background())
	stopOnRegCtx := context.AfterFunc(regCtx, streamCancel)
	s := &Server{
		client: c, endpoint: endpoint, handlers: make(map[string]Handler, len(handlers)),
		jobs: make(chan *invocation, cfg.queue), streamCancel: streamCancel,
		running: map[string]context.CancelCauseFunc{}, done: make(chan struct{}),
	}
	for k, v := range handlers {
		s.handlers[k] = v
	}
	s.base, s.baseCancel = context.WithCancelCause(context.Background())
	err := s.register(streamCtx, functions, &cfg.policy)
	if !stopOnRegCtx() || err != nil {
		streamCancel()
		s.baseCancel(nil)
		if regCtx.Err() != nil {
			return nil, contextError(regCtx, "serve "+endpoint)
		}
		return nil, fromRPC(regCtx, err)
	}
	for range cfg.concurrency {
		go s.work()
	}
	go s.receive()
	if !c.addServer(s) {
		s.Close()
		return nil, &Error{Reason: ErrClosed, Message: "serve: the client is closed"}
	}
	return s, nil
}

func (s *Server) register(ctx context.Context, functions []string, policy *weftv1.EndpointPolicy) error {
	stream, err := s.client.calls.Serve(ctx)
	if err != nil {
		return err
	}
	s.stream = stream
	err = stream.Send(&weftv1.ServeRequest{Msg: &weftv1.ServeRequest_Register{Register: &weftv1.Register{
		ClientId:  s.client.clientID,
		Endpoints: []*weftv1.EndpointSpec{{Name: s.endpoint, Functions: functions, Policy: policy}},
	}}})
	if err != nil && !errors.Is(err, io.EOF) { // io.EOF: the stream ended; Recv says why
		return err
	}
	r, err := stream.Recv()
	if err != nil {
		return err
	}
	if r.GetRegistered() == nil {
		return &Error{Reason: ErrInvalidArgument, Code: codes.Internal, Message: "weftd answered a registration with something else"}
	}
	s.daemonID = r.GetRegistered().GetDaemonId()
	return nil
}

// receive takes invocations and cancels until the stream ends.
func (s *Server) receive() {
	defer close(s.done)
	defer close(s.jobs) // the only sender
	for {
		r, err := s.stream.Recv()
		if err != nil {
			if s.base.Err() == nil {
				s.err = fromRPC(nil, err)
				s.client.cfg.logger.Info("weft: endpoint no longer served", "endpoint", s.endpoint, "error", err)
			}
			s.baseCancel(&Error{Reason: ErrTargetGone, Code: codes.Unavailable, Message: "the serve stream ended"})
			s.streamCancel()
			return
		}
		switch m := r.GetMsg().(type) {
		case *weftv1.ServeResponse_Invocation:
			s.accept(m.Invocation)
		case *weftv1.ServeResponse_Cancel:
			s.mu.Lock()
			cancel := s.running[m.Cancel.GetCallId()]
			s.mu.Unlock()
			if cancel != nil {
				reason := Reason(m.Cancel.GetReason())
				code := codes.Canceled
				if reason == ErrDeadlineExceeded {
					code = codes.DeadlineExceeded
				}
				cancel(&Error{Reason: reason, Code: code, Message: "weftd cancelled the call"})
			}
		}
	}
}

// accept queues an invocation for a handler, or answers it at once when the queue is full.
func (s *Server) accept(inv *weftv1.Invocation) {
	budget := inv.GetBudget().AsDuration()
	if budget <= 0 {
		budget = s.client.cfg.callTimeout
	}
	deadline := time.Now().Add(budget)
	dctx, dcancel := context.WithDeadlineCause(s.base, deadline,
		&Error{Reason: ErrDeadlineExceeded, Code: codes.DeadlineExceeded, Message: "the call's deadline passed"})
	ctx, cancel := context.WithCancelCause(dctx)
	info := &CallInfo{ID: inv.GetCallId(), Endpoint: inv.GetEndpoint(), Function: inv.GetFunction(),
		CallerClient: inv.GetCallerClient(), CallerDaemon: inv.GetCallerDaemon(), Deadline: deadline}
	ctx = context.WithValue(ctx, callInfoKey{}, info)
	info.ctx = ctx
	both := func(cause error) {
		cancel(cause)
		dcancel()
	}
	s.mu.Lock()
	s.running[info.ID] = both
	s.mu.Unlock()
	select {
	case s.jobs <- &invocation{ctx: ctx, cancel: both, inv: inv}:
	default:
		s.finish(info.ID, both)
		s.answer(&weftv1.CallResult{CallId: info.ID, Outcome: &weftv1.CallResult_Error{Error: &weftv1.RemoteError{
			Type:    "weft.Overloaded",
			Message: fmt.Sprintf("every handler of %q is busy and its queue of %d is full", s.endpoint, cap(s.jobs)),
		}}})
	}
}

func (s *Server) work() {
	for j := range s.jobs {
		if s.base.Err() != nil { // the stream ended: nobody can receive the answer
			s.finish(j.inv.GetCallId(), j.cancel)
			continue
		}
		result := s.run(j)
		s.finish(j.inv.GetCallId(), j.cancel)
		s.answer(result)
	}
}

func (s *Server) finish(id string, cancel context.CancelCauseFunc) {
	s.mu.Lock()
	delete(s.running, id)
	s.mu.Unlock()
	cancel(&Error{Reason: ErrCancelled, Code: codes.Canceled, Message: "the handler returned"})
}

// run calls the handler, turning its error or panic into a RemoteError.
func (s *Server) run(j *invocation) (result *weftv1.CallResult) {
	id := j.inv.GetCallId()
	defer func() {
		if p := recover(); p != nil {
			result = failure(id, "panic", fmt.Sprint(p), string(debug.Stack()))
		}
	}()
	h, ok := s.handlers[j.inv.GetFunction()]
	if !ok {
		return failure(id, "weft.UnknownFunction", fmt.Sprintf("%q serves no function %q", s.endpoint, j.inv.GetFunction()), "")
	}
	v, err := h(j.ctx, argsFrom(j.inv.GetArgs()))
	if err != nil {
		return failure(id, fmt.Sprintf("%T", err), err.Error(), errorChain(err))
	}
	val, err := toValue(v)
	if err != nil {
		return failure(id, "weft.NotJSON", "the handler's result: "+err.Error(), "")
	}
	return &weftv1.CallResult{CallId: id, Outcome: &weftv1.CallResult_Value{Value: val.proto()}}
}

func failure(id, typ, message, stack string) *weftv1.CallResult {
	return &weftv1.CallResult{CallId: id, Outcome: &weftv1.CallResult_Error{Error: &weftv1.RemoteError{
		Type: typ, Message: message, Stack: stack}}}
}

// errorChain is a Go error's stand-in for a stack: each wrapped error's type and message.
func errorChain(err error) string {
	var b strings.Builder
	var walk func(error, int)
	walk = func(e error, depth int) {
		if e == nil || depth > 32 {
			return
		}
		fmt.Fprintf(&b, "%s%T: %v\n", strings.Repeat("  ", depth), e, e)
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, inner := range u.Unwrap() {
				walk(inner, depth+1)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap(), depth+1)
		}
	}
	walk(err, 0)
	return b.String()
}

func (s *Server) answer(r *weftv1.CallResult) {
	if s.closing.Load() {
		return
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	// A failed send means the stream ended: receive reports that.
	_ = s.stream.Send(&weftv1.ServeRequest{Msg: &weftv1.ServeRequest_Result{Result: r}})
}

// Endpoint is the endpoint's name.
func (s *Server) Endpoint() string { return s.endpoint }

// DaemonID is the id of the daemon serving the endpoint: callers elsewhere address it as
// endpoint@DaemonID.
func (s *Server) DaemonID() string { return s.daemonID }

// Running is the number of calls being handled or queued now.
func (s *Server) Running() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.running)
}

// Done is closed when the server stopped: closed, or the stream ended (weftd went away).
func (s *Server) Done() <-chan struct{} { return s.done }

// Err is why the stream ended, once Done is closed; nil after Close.
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
// is dropped. It does not wait for them. Idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		// No answer leaves after this, so that a handler ending because of the cancel below
		// cannot answer before weftd learns the endpoint is gone (its callers get TARGET_GONE).
		s.closing.Store(true)
		// Cancelling the stream (not CloseSend, which would wait for a handler blocked in Send)
		// ends it on both sides; weftd then unregisters the endpoint.
		s.streamCancel()
		s.baseCancel(&Error{Reason: ErrCancelled, Code: codes.Canceled, Message: "the server was closed"})
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
