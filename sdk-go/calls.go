package weft

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	weftv1 "github.com/weft-dev/weft/sdk-go/internal/gen/weft/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
)

// clientIDHeader names the caller in endpoint policies (allowed_clients) and introspection.
const clientIDHeader = "weft-client-id"

// deadlineMargin: a parent cancelled this close to its deadline ended because of the deadline
// (weftd's CANCEL and the local deadline race each other; weftd applies the same margin).
const deadlineMargin = 100 * time.Millisecond

// Call invokes function of target ("endpoint", nearest first, or "endpoint@daemon") with the
// positional args (sent as one JSON list; see the README for calling other SDKs) and waits for
// its result: a JSON value as encoding/json would decode it (float64, string, bool, nil,
// map[string]any, []any).
//
// The budget sent to weftd is ctx's deadline, or WithCallTimeout when ctx has none; cancelling
// ctx cancels the call and the remote handler's context. Inside a Handler, pass the handler's
// ctx (or one derived from it): the call is then its child, can never outlive it (the tighter
// deadline wins) and is cancelled with it.
//
// Every failure is a *CallError (errors.As), which also matches its Reason (errors.Is with
// ErrCallFailed, ErrTargetGone, ErrDeadlineExceeded, ErrCancelled, ErrNoRoute,
// ErrUnknownFunction, ErrPolicyDenied, ErrQueueFull, ErrNotJSON...). Arguments JSON cannot hold
// fail with ErrNotJSON (or ErrTooDeep) before anything is sent.
func (c *Client) Call(ctx context.Context, target, function string, args ...any) (any, error) {
	req, err := c.startCall(target, function, args)
	if err != nil {
		return nil, err
	}
	defer c.callSlots.release()
	return c.invoke(ctx, req)
}

// callSlots bounds the calls in flight; a full bound fails at once.
type callSlots chan struct{}

func (s callSlots) acquire() bool {
	select {
	case s <- struct{}{}:
		return true
	default:
		return false
	}
}

func (s callSlots) release() { <-s }

// startCall checks the request locally and takes an in-flight slot.
func (c *Client) startCall(target, function string, args []any) (*weftv1.CallRequest, error) {
	if args == nil {
		args = []any{}
	}
	v, err := toValue(args)
	if err != nil {
		return nil, callErrorFrom(target, function, err.(*Error))
	}
	if target == "" || function == "" {
		return nil, callErrorFrom(target, function, invalid(ErrInvalidArgument, "a call needs a target and a function"))
	}
	if !c.callSlots.acquire() {
		return nil, callErrorFrom(target, function, &Error{Reason: ErrQueueFull, Code: codes.ResourceExhausted,
			Message: fmt.Sprintf("this client has %d calls in flight already (WithMaxCallsInFlight)", cap(c.callSlots))})
	}
	return &weftv1.CallRequest{Target: target, Function: function, Args: v.proto()}, nil
}

// invoke makes the RPC of a started call (its slot is the caller's to release).
func (c *Client) invoke(ctx context.Context, req *weftv1.CallRequest) (any, error) {
	parent, _ := CallInfoFrom(ctx)
	if parent != nil {
		req.ParentCallId = parent.ID
	}
	callCtx, cancel := withDefaultTimeout(ctx, c.cfg.callTimeout)
	defer cancel()
	callCtx = metadata.AppendToOutgoingContext(callCtx, clientIDHeader, c.clientID)
	r, err := c.calls.Call(callCtx, req)
	if err != nil {
		return nil, callError(callCtx, req, parent, err)
	}
	return r.GetValue().AsInterface(), nil
}

// callError names the scope of a deadline or cancellation that ended the call on this side
// (weftd names it in ErrorInfo metadata "scope" when it ended the call itself).
func callError(ctx context.Context, req *weftv1.CallRequest, parent *CallInfo, err error) error {
	e := fromRPC(ctx, err).(*Error)
	ce := callErrorFrom(req.GetTarget(), req.GetFunction(), e)
	if ce.Scope != "" || (e.Code != codes.DeadlineExceeded && e.Code != codes.Canceled) {
		return ce
	}
	own, _ := ctx.Deadline()
	ce.Scope = "call"
	if parent != nil && (parent.ctx.Err() != nil || (e.Code == codes.DeadlineExceeded && !parent.Deadline.After(own))) {
		ce.Scope = "parent"
		var cause *Error
		parentDeadline := errors.Is(parent.ctx.Err(), context.DeadlineExceeded) ||
			(errors.As(context.Cause(parent.ctx), &cause) && cause.Reason == ErrDeadlineExceeded) ||
			time.Until(parent.Deadline) <= deadlineMargin
		if parentDeadline {
			ce.Reason, ce.Code = ErrDeadlineExceeded, codes.DeadlineExceeded
			ce.Message = fmt.Sprintf("the deadline of the call being handled (%s %s.%s) passed", parent.ID, parent.Endpoint, parent.Function)
		} else {
			ce.Reason, ce.Code = ErrCancelled, codes.Canceled
			ce.Message = fmt.Sprintf("the call being handled (%s %s.%s) was cancelled", parent.ID, parent.Endpoint, parent.Function)
		}
	} else if e.Code == codes.DeadlineExceeded {
		ce.Message = "this call's deadline passed"
	} else {
		ce.Message = "this call was cancelled by its caller"
	}
	ce.Metadata = withEntry(ce.Metadata, "scope", ce.Scope)
	return ce
}

func withEntry(m map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for key, val := range m {
		out[key] = val
	}
	out[k] = v
	return out
}

// CallError is a call that failed. Reason says how: ErrCallFailed (the handler failed: see
// RemoteType, RemoteMessage, RemoteStack), ErrTargetGone (the serving client or a link on the
// path went away), ErrDeadlineExceeded or ErrCancelled (see Scope), ErrNoRoute (no such
// endpoint; code NOT_FOUND), ErrUnknownFunction (NOT_FOUND), ErrPolicyDenied
// (PERMISSION_DENIED), ErrQueueFull, ErrNotJSON, ErrUnavailable (no daemon)...
//
// errors.Is(err, weft.ErrTargetGone) matches the Reason; errors.As finds the *CallError, and the
// *Error it wraps; status.FromError reads the gRPC code.
type CallError struct {
	Target   string
	Function string
	Reason   Reason
	Code     codes.Code
	Message  string
	// RemoteType, RemoteMessage and RemoteStack describe the handler's failure (CALL_FAILED):
	// e.g. "*errors.errorString" or "java.lang.IllegalStateException", its message, and its
	// stack (capped by weftd).
	RemoteType    string
	RemoteMessage string
	RemoteStack   string
	// Scope, for ErrDeadlineExceeded and ErrCancelled: "call" when this call's own deadline or
	// caller ended it, "parent" when the call being handled around it did.
	Scope    string
	Metadata map[string]string
	cause    *Error
}

func callErrorFrom(target, function string, e *Error) *CallError {
	return &CallError{
		Target: target, Function: function, Reason: e.Reason, Code: e.Code, Message: e.Message,
		RemoteType: e.Metadata["type"], RemoteMessage: e.Metadata["message"], RemoteStack: e.Metadata["stack"],
		Scope: e.Metadata["scope"], Metadata: e.Metadata, cause: e,
	}
}

func (e *CallError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "weft: call %s.%s: %s", e.Target, e.Function, e.Reason)
	if e.Scope != "" {
		fmt.Fprintf(&b, " (scope %s)", e.Scope)
	}
	if e.RemoteType != "" {
		fmt.Fprintf(&b, ": %s: %s", e.RemoteType, e.RemoteMessage)
	} else if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// Is reports whether target is this error's Reason.
func (e *CallError) Is(target error) bool {
	r, ok := target.(Reason)
	return ok && r == e.Reason
}

// Unwrap returns the *Error the call failed with (which wraps the gRPC status error).
func (e *CallError) Unwrap() error { return e.cause }

// GRPCStatus lets status.FromError read the gRPC code.
func (e *CallError) GRPCStatus() *status.Status { return status.New(e.Code, e.Error()) }

// Future is a call started by CallAsync.
type Future struct {
	Target   string
	Function string

	done   chan struct{}
	value  any
	err    error
	cancel context.CancelFunc

	mu        sync.Mutex
	listeners []func(*Future)
}

// CallAsync starts a call like Call and returns at once. Cancelling ctx, or Future.Cancel,
// cancels the call and the remote handler. Bad arguments and a full WithMaxCallsInFlight
// bound complete the future at once with the error.
func (c *Client) CallAsync(ctx context.Context, target, function string, args ...any) *Future {
	f := &Future{Target: target, Function: function, done: make(chan struct{})}
	req, err := c.startCall(target, function, args)
	if err != nil {
		f.cancel = func() {}
		f.complete(nil, err)
		return f
	}
	callCtx, cancel := context.WithCancel(ctx)
	f.cancel = cancel
	go func() {
		defer c.callSlots.release()
		defer cancel()
		v, err := c.invoke(callCtx, req)
		f.complete(v, err)
	}()
	return f
}

func (f *Future) complete(v any, err error) {
	f.mu.Lock()
	f.value, f.err = v, err
	close(f.done)
	listeners := f.listeners
	f.listeners = nil
	f.mu.Unlock()
	for _, l := range listeners {
		l(f)
	}
}

// onDone runs l once the future completes (at once if it has).
func (f *Future) onDone(l func(*Future)) {
	f.mu.Lock()
	select {
	case <-f.done:
		f.mu.Unlock()
		l(f)
	default:
		f.listeners = append(f.listeners, l)
		f.mu.Unlock()
	}
}

// Done is closed when the call completed.
func (f *Future) Done() <-chan struct{} { return f.done }

// Result waits for the call and returns its value or its *CallError.
func (f *Future) Result() (any, error) {
	<-f.done
	return f.value, f.err
}

// Wait is Result bounded by ctx: when ctx ends first it returns an *Error with
// ErrDeadlineExceeded or ErrCancelled and leaves the call running (Cancel stops it).
func (f *Future) Wait(ctx context.Context) (any, error) {
	select {
	case <-f.done:
		return f.value, f.err
	case <-ctx.Done():
		return nil, contextError(ctx, "wait for "+f.Target+"."+f.Function)
	}
}

// Cancel cancels the call (and the remote handler's context); the future then completes
// with ErrCancelled unless it completed already.
func (f *Future) Cancel() { f.cancel() }

// Selector yields futures in the order they complete (Mitogen's Select).
type Selector struct {
	arrived chan *Future
	mu      sync.Mutex
	left    int
}

// Select selects over futures: Next, First and All return them as they complete.
func Select(futures ...*Future) *Selector {
	s := &Selector{arrived: make(chan *Future, len(futures)), left: len(futures)}
	for _, f := range futures {
		f.onDone(func(f *Future) { s.arrived <- f })
	}
	return s
}

// Next waits for the next future to complete; io.EOF once every one was returned, an *Error
// with ErrDeadlineExceeded or ErrCancelled when ctx ends first.
func (s *Selector) Next(ctx context.Context) (*Future, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.left == 0 {
		return nil, io.EOF
	}
	select {
	case f := <-s.arrived:
		s.left--
		return f, nil
	case <-ctx.Done():
		return nil, contextError(ctx, "select")
	}
}

// First returns the result of the first future to complete: its value, or its error.
func (s *Selector) First(ctx context.Context) (any, error) {
	f, err := s.Next(ctx)
	if err != nil {
		return nil, err
	}
	return f.Result()
}

// All returns every future not returned yet, in the order they complete; when ctx ends first,
// those that completed and the ctx's *Error.
func (s *Selector) All(ctx context.Context) ([]*Future, error) {
	var out []*Future
	for {
		f, err := s.Next(ctx)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, f)
	}
}

// ParallelCall is one call of InParallel.
type ParallelCall struct {
	Target   string
	Function string
	Args     []any
}

// InParallel makes every call at once and returns their results in order, or one
// *ParallelCallError listing each failure. The calls share ctx: when its deadline passes,
// those still running are cancelled and listed with ErrDeadlineExceeded.
func (c *Client) InParallel(ctx context.Context, calls ...ParallelCall) ([]any, error) {
	futures := make([]*Future, len(calls))
	for i, call := range calls {
		futures[i] = c.CallAsync(ctx, call.Target, call.Function, call.Args...)
	}
	results := make([]any, len(calls))
	failures := map[int]*CallError{}
	for i, f := range futures {
		v, err := f.Result()
		if err != nil {
			var ce *CallError
			if !errors.As(err, &ce) {
				ce = &CallError{Target: f.Target, Function: f.Function, Reason: ErrCancelled, Code: codes.Canceled, Message: err.Error()}
			}
			failures[i] = ce
			continue
		}
		results[i] = v
	}
	if len(failures) > 0 {
		return results, &ParallelCallError{Calls: len(calls), Failures: failures}
	}
	return results, nil
}

// ParallelCallError is InParallel's failure: every failed call by its index. errors.Is matches
// the reason of any failure (errors.Is(err, weft.ErrTargetGone)); errors.As finds it.
type ParallelCallError struct {
	Calls    int
	Failures map[int]*CallError
}

// Indexes are the failed calls' indexes, in order.
func (e *ParallelCallError) Indexes() []int {
	idx := make([]int, 0, len(e.Failures))
	for i := range e.Failures {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	return idx
}

func (e *ParallelCallError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "weft: %d of %d calls failed:", len(e.Failures), e.Calls)
	for _, i := range e.Indexes() {
		fmt.Fprintf(&b, " [%d] %v;", i, e.Failures[i])
	}
	return b.String()
}

// Unwrap returns the failures in index order.
func (e *ParallelCallError) Unwrap() []error {
	out := make([]error, 0, len(e.Failures))
	for _, i := range e.Indexes() {
		out = append(out, e.Failures[i])
	}
	return out
}

// argsFrom turns an invocation's JSON args into positional arguments: a list is the argument
// list; null is none; any other value (a caller of another SDK sending one object) is the one
// argument.
func argsFrom(v *structpb.Value) []any {
	switch k := v.GetKind().(type) {
	case nil, *structpb.Value_NullValue:
		return []any{}
	case *structpb.Value_ListValue:
		return k.ListValue.AsSlice()
	}
	return []any{v.AsInterface()}
}
