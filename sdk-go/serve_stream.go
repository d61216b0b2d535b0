package weft

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	weftv1 "github.com/weft-dev/weft/sdk-go/internal/gen/weft/v1"
	"google.golang.org/grpc/codes"
)

// registration is one Serve stream on which weftd accepted the endpoint, and the calls that
// arrived on it. Its results go back on it only: a later stream is another registration, whose
// call ids are the next daemon's.
type registration struct {
	seq      uint64 // 1 for Serve's, then one more per re-registration
	stream   weftv1.CallService_ServeClient
	sendMu   sync.Mutex // stream.Send is not safe for concurrent use
	calls    context.Context
	endCalls context.CancelCauseFunc // ends every call that arrived on the stream
	cancel   context.CancelFunc      // ends the stream
}

// callKey names a running call: call ids are unique within one registration only.
type callKey struct {
	seq uint64
	id  string
}

type invocation struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	inv    *weftv1.Invocation
	reg    *registration
}

// register opens a stream and registers the endpoint on it; ctx bounds the registration only,
// the stream lives until it breaks or the server closes. The error is an *Error.
func (s *Server) register(ctx context.Context, seq uint64) (*registration, error) {
	streamCtx, cancel := context.WithCancel(s.life)
	stopOnCtx := context.AfterFunc(ctx, cancel)
	stream, daemonID, err := s.open(streamCtx)
	if !stopOnCtx() || err != nil {
		cancel()
		if ctx.Err() != nil {
			return nil, contextError(ctx, "serve "+s.endpoint)
		}
		return nil, fromRPC(ctx, err)
	}
	reg := &registration{seq: seq, stream: stream, cancel: cancel}
	reg.calls, reg.endCalls = context.WithCancelCause(s.base)
	s.daemonID.Store(&daemonID)
	s.registered.Store(true)
	return reg, nil
}

// open opens a Serve stream and registers the endpoint; it returns the id of the daemon that
// accepted it.
func (s *Server) open(ctx context.Context) (weftv1.CallService_ServeClient, string, error) {
	stream, err := s.client.calls.Serve(ctx)
	if err != nil {
		return nil, "", err
	}
	err = stream.Send(&weftv1.ServeRequest{Msg: &weftv1.ServeRequest_Register{Register: &weftv1.Register{
		ClientId:  s.client.clientID,
		Endpoints: []*weftv1.EndpointSpec{{Name: s.endpoint, Functions: s.functions, Policy: s.policy}},
	}}})
	if err != nil && !errors.Is(err, io.EOF) { // io.EOF: the stream ended; Recv says why
		return nil, "", err
	}
	r, err := stream.Recv()
	if err != nil {
		return nil, "", err
	}
	if r.GetRegistered() == nil {
		return nil, "", &Error{Reason: ErrInvalidArgument, Code: codes.Internal, Message: "weftd answered a registration with something else"}
	}
	return stream, r.GetRegistered().GetDaemonId(), nil
}

// serve receives on each registration's stream until it ends, then registers the endpoint
// again, until the server closes or weftd refuses the endpoint as invalid. It is the only
// sender on s.jobs, and the one goroutine that opens streams: one stream at a time.
func (s *Server) serve(reg *registration) {
	defer close(s.done)
	defer close(s.jobs)
	for reg != nil {
		err := s.receive(reg)
		s.registered.Store(false)
		reg.endCalls(&Error{Reason: ErrTargetGone, Code: codes.Unavailable, Message: "the serve stream ended"})
		reg.cancel()
		if s.life.Err() != nil {
			return
		}
		s.client.cfg.logger.Info("weft: endpoint registration lost; registering it again in the background",
			"endpoint", s.endpoint, "error", err)
		reg = s.registerAgain(reg.seq + 1)
	}
}

// registerAgain registers the endpoint on a new stream, each attempt after the next retry
// delay, until it succeeds; nil when the server closed first, or when weftd refused the
// endpoint as invalid (which retrying cannot change: the server then ends with that error).
func (s *Server) registerAgain(seq uint64) *registration {
	lost := time.Now()
	for attempt := 1; ; attempt++ {
		wait := time.NewTimer(s.retry.advance())
		select {
		case <-s.life.Done():
			wait.Stop()
			return nil
		case <-wait.C:
		}
		ctx, cancel := context.WithTimeout(s.life, s.client.cfg.callTimeout)
		reg, err := s.register(ctx, seq)
		cancel()
		switch {
		case err == nil:
			s.retry.reset()
			s.client.cfg.logger.Info("weft: endpoint registered again", "endpoint", s.endpoint,
				"daemon", s.DaemonID(), "attempts", attempt, "after", time.Since(lost).Round(time.Millisecond))
			return reg
		case s.life.Err() != nil:
			return nil
		case invalidRegistration(err):
			s.err = err
			s.client.cfg.logger.Warn("weft: weftd refused to register the endpoint again; the server ends",
				"endpoint", s.endpoint, "error", err)
			s.client.removeServer(s)
			return nil
		}
		s.client.cfg.logger.Debug("weft: registering the endpoint again failed", "endpoint", s.endpoint,
			"attempt", attempt, "error", err)
	}
}

// invalidRegistration: weftd judged the registration itself invalid, not the moment.
func invalidRegistration(err error) bool {
	var e *Error
	return errors.As(err, &e) && (e.Reason == ErrInvalidArgument || e.Code == codes.InvalidArgument)
}

// receive takes reg's invocations and cancels until its stream ends, and returns why.
func (s *Server) receive(reg *registration) error {
	for {
		r, err := reg.stream.Recv()
		if err != nil {
			return fromRPC(nil, err)
		}
		switch m := r.GetMsg().(type) {
		case *weftv1.ServeResponse_Invocation:
			s.accept(reg, m.Invocation)
		case *weftv1.ServeResponse_Cancel:
			s.mu.Lock()
			cancel := s.running[callKey{reg.seq, m.Cancel.GetCallId()}]
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
func (s *Server) accept(reg *registration, inv *weftv1.Invocation) {
	budget := inv.GetBudget().AsDuration()
	if budget <= 0 {
		budget = s.client.cfg.callTimeout
	}
	deadline := time.Now().Add(budget)
	dctx, dcancel := context.WithDeadlineCause(reg.calls, deadline,
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
	j := &invocation{ctx: ctx, cancel: both, inv: inv, reg: reg}
	s.mu.Lock()
	s.running[j.key()] = both
	s.mu.Unlock()
	select {
	case s.jobs <- j:
	default:
		s.finish(j)
		s.answer(reg, &weftv1.CallResult{CallId: info.ID, Outcome: &weftv1.CallResult_Error{Error: &weftv1.RemoteError{
			Type:    "weft.Overloaded",
			Message: fmt.Sprintf("every handler of %q is busy and its queue of %d is full", s.endpoint, cap(s.jobs)),
		}}})
	}
}

func (j *invocation) key() callKey { return callKey{j.reg.seq, j.inv.GetCallId()} }

func (s *Server) work() {
	for j := range s.jobs {
		if j.reg.calls.Err() != nil { // its stream ended: nobody can receive the answer
			s.finish(j)
			continue
		}
		result := s.run(j)
		s.finish(j)
		s.answer(j.reg, result)
	}
}

func (s *Server) finish(j *invocation) {
	s.mu.Lock()
	delete(s.running, j.key())
	s.mu.Unlock()
	j.cancel(&Error{Reason: ErrCancelled, Code: codes.Canceled, Message: "the handler returned"})
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

// answer sends a result on the stream its call arrived on, while that stream lives: once it
// ended, weftd has failed the call already (TARGET_GONE) and the result is dropped.
func (s *Server) answer(reg *registration, r *weftv1.CallResult) {
	if s.closing.Load() || reg.calls.Err() != nil {
		return
	}
	reg.sendMu.Lock()
	defer reg.sendMu.Unlock()
	// A failed send means the stream ended: receive reports that.
	_ = reg.stream.Send(&weftv1.ServeRequest{Msg: &weftv1.ServeRequest_Result{Result: r}})
}
