package weft_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	weft "github.com/weft-dev/weft/sdk-go"
	weftv1 "github.com/weft-dev/weft/sdk-go/internal/gen/weft/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// envServeChild makes the test binary a separate serving process: "address|endpoint".
const envServeChild = "WEFT_GO_TEST_SERVE_CHILD"

// serveChild serves endpoint with a function "hang" that returns only when its call ends,
// prints "serving" and waits to be killed.
func serveChild() {
	address, endpoint, _ := strings.Cut(os.Getenv(envServeChild), "|")
	ctx := context.Background()
	c, err := weft.Connect(ctx, weft.WithAddress(address), weft.WithClientID("victim"), weft.WithLogger(quiet()))
	if err == nil {
		_, err = c.Serve(ctx, endpoint, map[string]weft.Handler{"hang": func(ctx context.Context, _ []any) (any, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}})
	}
	if err != nil {
		fmt.Println("serve child:", err)
		os.Exit(2)
	}
	fmt.Println("serving")
	select {}
}

// endpoint is an endpoint name no other test uses.
func endpoint(t testing.TB) string { return key(t) }

func serve(t *testing.T, c *weft.Client, name string, handlers map[string]weft.Handler, opts ...weft.ServeOption) *weft.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	s, err := c.Serve(ctx, name, handlers, opts...)
	if err != nil {
		t.Fatalf("Serve(%s): %v", name, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// hang returns only when its call ends.
func hang(ctx context.Context, _ []any) (any, error) {
	<-ctx.Done()
	return nil, context.Cause(ctx)
}

func callErr(t *testing.T, err error) *weft.CallError {
	t.Helper()
	var ce *weft.CallError
	if !errors.As(err, &ce) {
		t.Fatalf("want a *weft.CallError, got %T: %v", err, err)
	}
	return ce
}

// within is a context that ends after d, or with the test.
func within(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestCalls(t *testing.T) {
	d := shared(t)
	caller := connect(t, d.Address(), weft.WithClientID("go-caller"))
	server := connect(t, d.Address(), weft.WithClientID("go-server"))
	ctx := context.Background()

	t.Run("the handler's value comes back as JSON-shaped Go", func(t *testing.T) {
		ep := endpoint(t)
		s := serve(t, server, ep, map[string]weft.Handler{
			"count": func(ctx context.Context, args []any) (any, error) {
				info, _ := weft.CallInfoFrom(ctx)
				return map[string]any{"item": args[0].(map[string]any)["item"], "n": 3, "caller": info.CallerClient,
					"function": info.Function}, nil
			},
			"echo": func(_ context.Context, args []any) (any, error) { return args, nil },
		})
		got, err := caller.Call(ctx, ep, "count", map[string]any{"item": "apple"})
		ok(t, err)
		want := map[string]any{"item": "apple", "n": 3.0, "caller": "go-caller", "function": "count"}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("count: got %v, want %v", got, want)
		}
		got, err = caller.Call(ctx, ep+"@"+s.DaemonID(), "echo", 1, "x", true, 0.5, nil)
		ok(t, err)
		if want := []any{1.0, "x", true, 0.5, nil}; !reflect.DeepEqual(got, want) {
			t.Fatalf("echo: got %#v, want %#v", got, want)
		}
		got, err = caller.Call(ctx, ep, "echo")
		ok(t, err)
		if want := []any{}; !reflect.DeepEqual(got, want) {
			t.Fatalf("echo without args: got %#v, want %#v", got, want)
		}
	})

	t.Run("a handler's error or panic comes back as a CallError", func(t *testing.T) {
		ep := endpoint(t)
		soldOut := errors.New("sold out")
		serve(t, server, ep, map[string]weft.Handler{
			"buy":   func(context.Context, []any) (any, error) { return nil, fmt.Errorf("buy apple: %w", soldOut) },
			"crash": func(context.Context, []any) (any, error) { panic("boom") },
			"odd":   func(context.Context, []any) (any, error) { return math.Inf(1), nil },
		})
		_, err := caller.Call(ctx, ep, "buy")
		ce := callErr(t, err)
		if !errors.Is(err, weft.ErrCallFailed) || ce.Code != codes.Unknown || status.Code(err) != codes.Unknown {
			t.Fatalf("buy: %v (code %v), want CALL_FAILED / UNKNOWN", err, ce.Code)
		}
		if ce.RemoteType != "*fmt.wrapError" || ce.RemoteMessage != "buy apple: sold out" ||
			!strings.Contains(ce.RemoteStack, "*errors.errorString: sold out") {
			t.Fatalf("remote error: type %q message %q stack %q", ce.RemoteType, ce.RemoteMessage, ce.RemoteStack)
		}
		var base *weft.Error
		if !errors.As(err, &base) || base.Reason != weft.ErrCallFailed {
			t.Fatalf("a CallError wraps the *weft.Error: %v", err)
		}
		_, err = caller.Call(ctx, ep, "crash")
		ce = callErr(t, err)
		if ce.RemoteType != "panic" || ce.RemoteMessage != "boom" || !strings.Contains(ce.RemoteStack, "calls_test.go") {
			t.Fatalf("crash: type %q message %q stack %q", ce.RemoteType, ce.RemoteMessage, ce.RemoteStack)
		}
		_, err = caller.Call(ctx, ep, "odd")
		if ce = callErr(t, err); ce.RemoteType != "weft.NotJSON" {
			t.Fatalf("a result JSON cannot hold: %v", err)
		}
	})

	t.Run("unknown endpoint and function are NOT_FOUND", func(t *testing.T) {
		ep := endpoint(t)
		serve(t, server, ep, map[string]weft.Handler{"f": hang})
		_, err := caller.Call(ctx, "nowhere-"+ep, "f")
		if !errors.Is(err, weft.ErrNoRoute) || status.Code(err) != codes.NotFound {
			t.Errorf("unknown endpoint: %v, want NO_ROUTE / NOT_FOUND", err)
		}
		_, err = caller.Call(ctx, ep, "steal")
		if !errors.Is(err, weft.ErrUnknownFunction) || status.Code(err) != codes.NotFound {
			t.Errorf("unknown function: %v, want UNKNOWN_FUNCTION / NOT_FOUND", err)
		}
		_, err = caller.Call(ctx, "bad name", "f")
		if !errors.Is(err, weft.ErrInvalidArgument) {
			t.Errorf("malformed target: %v, want INVALID_ARGUMENT", err)
		}
	})

	t.Run("an endpoint policy refuses other clients with PERMISSION_DENIED", func(t *testing.T) {
		only := endpoint(t)
		serve(t, server, only, map[string]weft.Handler{"f": func(context.Context, []any) (any, error) { return "ok", nil }},
			weft.AllowClients("someone-else"))
		_, err := caller.Call(ctx, only, "f")
		if !errors.Is(err, weft.ErrPolicyDenied) || status.Code(err) != codes.PermissionDenied {
			t.Fatalf("refused caller: %v, want POLICY_DENIED / PERMISSION_DENIED", err)
		}
		mine := endpoint(t)
		serve(t, server, mine, map[string]weft.Handler{"f": func(context.Context, []any) (any, error) { return "ok", nil }},
			weft.AllowClients("go-caller"))
		got, err := caller.Call(ctx, mine, "f")
		if err != nil || got != "ok" {
			t.Fatalf("allowed caller: %v, %v", got, err)
		}
	})

	t.Run("arguments JSON cannot hold fail locally and nothing is sent", func(t *testing.T) {
		var rpcs atomic.Int64
		count := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			rpcs.Add(1)
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		c := connect(t, d.Address(), weft.WithDialOptions(grpc.WithChainUnaryInterceptor(count)))
		for _, arg := range []any{math.NaN(), func() {}, make(chan int), map[string]any{"x": math.Inf(-1)}} {
			_, err := c.Call(ctx, "anything", "f", arg)
			if !errors.Is(err, weft.ErrNotJSON) {
				t.Errorf("Call with %T: %v, want NOT_JSON", arg, err)
			}
			if _, err := c.CallAsync(ctx, "anything", "f", arg).Result(); !errors.Is(err, weft.ErrNotJSON) {
				t.Errorf("CallAsync with %T: %v, want NOT_JSON", arg, err)
			}
		}
		if _, err := c.Call(ctx, "", "f"); !errors.Is(err, weft.ErrInvalidArgument) {
			t.Errorf("Call without a target: %v, want INVALID_ARGUMENT", err)
		}
		if n := rpcs.Load(); n != 0 {
			t.Fatalf("%d RPCs were made for refused calls", n)
		}
		_, err := c.Call(ctx, "nowhere", "f") // the interceptor does see calls
		if !errors.Is(err, weft.ErrNoRoute) || rpcs.Load() != 1 {
			t.Fatalf("a valid call: %v after %d RPCs", err, rpcs.Load())
		}
	})

	t.Run("the budget sent is ctx's deadline", func(t *testing.T) {
		ep := endpoint(t)
		seen := make(chan time.Time, 1)
		serve(t, server, ep, map[string]weft.Handler{"f": func(ctx context.Context, _ []any) (any, error) {
			dl, _ := ctx.Deadline()
			seen <- dl
			return nil, nil
		}})
		for _, budget := range []time.Duration{3 * time.Second, 40 * time.Second} {
			callCtx, cancel := context.WithTimeout(ctx, budget)
			want, _ := callCtx.Deadline()
			_, err := caller.Call(callCtx, ep, "f")
			cancel()
			ok(t, err)
			got := <-seen
			if diff := got.Sub(want); diff < -time.Second || diff > time.Second {
				t.Fatalf("budget %v: the handler's deadline is %v from the caller's", budget, diff)
			}
		}
	})

	t.Run("cancelling ctx cancels the remote handler's ctx", func(t *testing.T) {
		ep := endpoint(t)
		started := make(chan struct{})
		cause := make(chan error, 1)
		s := serve(t, server, ep, map[string]weft.Handler{"long": func(ctx context.Context, _ []any) (any, error) {
			close(started)
			<-ctx.Done()
			cause <- context.Cause(ctx)
			return nil, nil
		}})
		callCtx, cancel := context.WithCancel(ctx)
		f := caller.CallAsync(callCtx, ep, "long")
		<-started
		cancel()
		_, err := f.Result()
		if ce := callErr(t, err); ce.Reason != weft.ErrCancelled || ce.Scope != "call" {
			t.Fatalf("caller: %v, want CANCELLED scope call", err)
		}
		select {
		case err := <-cause:
			if !errors.Is(err, weft.ErrCancelled) {
				t.Fatalf("the handler's cause: %v, want CANCELLED", err)
			}
		case <-time.After(wait):
			t.Fatal("the handler was not cancelled")
		}
		poll(t, wait, "the handler to end", func() bool { return s.Running() == 0 })
	})

	t.Run("a call's own deadline is DEADLINE_EXCEEDED with scope call", func(t *testing.T) {
		ep := endpoint(t)
		serve(t, server, ep, map[string]weft.Handler{"hang": hang})
		_, err := caller.Call(within(t, 300*time.Millisecond), ep, "hang")
		ce := callErr(t, err)
		if !errors.Is(err, weft.ErrDeadlineExceeded) || ce.Scope != "call" || status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("%v (scope %q), want DEADLINE_EXCEEDED scope call", err, ce.Scope)
		}
	})

	t.Run("a nested call inherits the handler's deadline and names the parent scope", func(t *testing.T) {
		slowEP, relayEP := endpoint(t), endpoint(t)
		nested := make(chan error, 1)
		slow := serve(t, server, slowEP, map[string]weft.Handler{"wait": hang})
		serve(t, server, relayEP, map[string]weft.Handler{"go": func(ctx context.Context, _ []any) (any, error) {
			inner, cancel := context.WithTimeout(ctx, 30*time.Second) // the parent's tighter deadline wins
			defer cancel()
			v, err := server.Call(inner, slowEP, "wait")
			nested <- err
			return v, err
		}})
		_, err := caller.Call(within(t, 500*time.Millisecond), relayEP, "go")
		if !errors.Is(err, weft.ErrDeadlineExceeded) {
			t.Fatalf("outer call: %v, want DEADLINE_EXCEEDED", err)
		}
		var inner error
		select {
		case inner = <-nested:
		case <-time.After(wait):
			t.Fatal("the nested call did not end")
		}
		if ce := callErr(t, inner); ce.Reason != weft.ErrDeadlineExceeded || ce.Scope != "parent" {
			t.Fatalf("nested call: %v (scope %q), want DEADLINE_EXCEEDED scope parent", inner, ce.Scope)
		}
		poll(t, wait, "the nested handler to be cancelled", func() bool { return slow.Running() == 0 })
	})

	t.Run("Select yields the first to complete, then the rest in arrival order", func(t *testing.T) {
		ep := endpoint(t)
		serve(t, server, ep, map[string]weft.Handler{"after": func(ctx context.Context, args []any) (any, error) {
			ms := args[0].(float64)
			select {
			case <-time.After(time.Duration(ms) * time.Millisecond):
				return ms, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}})
		sel := weft.Select(caller.CallAsync(ctx, ep, "after", 900), caller.CallAsync(ctx, ep, "after", 10),
			caller.CallAsync(ctx, ep, "after", 450))
		first, err := sel.First(within(t, wait))
		if err != nil || first != 10.0 {
			t.Fatalf("First: %v, %v; want 10", first, err)
		}
		rest, err := sel.All(within(t, wait))
		ok(t, err)
		var got []any
		for _, f := range rest {
			v, err := f.Result()
			ok(t, err)
			got = append(got, v)
		}
		if !reflect.DeepEqual(got, []any{450.0, 900.0}) {
			t.Fatalf("All: %v, want [450 900]", got)
		}
		if _, err := sel.Next(ctx); err != io.EOF {
			t.Fatalf("Next after every future: %v, want io.EOF", err)
		}
		if _, err := weft.Select(caller.CallAsync(ctx, ep, "after", 60_000)).Next(within(t, 50*time.Millisecond)); !errors.Is(err, weft.ErrDeadlineExceeded) {
			t.Fatalf("Next past ctx's deadline: %v, want DEADLINE_EXCEEDED", err)
		}
	})

	t.Run("InParallel returns every result or one error listing each failure", func(t *testing.T) {
		ep := endpoint(t)
		s := serve(t, server, ep, map[string]weft.Handler{
			"double": func(_ context.Context, args []any) (any, error) { return 2 * args[0].(float64), nil },
			"fail":   func(context.Context, []any) (any, error) { return nil, errors.New("no") },
			"hang":   hang,
		})
		got, err := caller.InParallel(ctx, weft.ParallelCall{Target: ep, Function: "double", Args: []any{1}},
			weft.ParallelCall{Target: ep, Function: "double", Args: []any{2}})
		ok(t, err)
		if !reflect.DeepEqual(got, []any{2.0, 4.0}) {
			t.Fatalf("InParallel: %v, want [2 4]", got)
		}
		got, err = caller.InParallel(within(t, 500*time.Millisecond),
			weft.ParallelCall{Target: ep, Function: "double", Args: []any{1}},
			weft.ParallelCall{Target: ep, Function: "fail"},
			weft.ParallelCall{Target: ep, Function: "hang"},
			weft.ParallelCall{Target: "nowhere-" + ep, Function: "double"})
		var pe *weft.ParallelCallError
		if !errors.As(err, &pe) {
			t.Fatalf("want a *weft.ParallelCallError, got %T: %v", err, err)
		}
		if !reflect.DeepEqual(pe.Indexes(), []int{1, 2, 3}) || got[0] != 2.0 {
			t.Fatalf("failures at %v, results %v; want [1 2 3] and 2 first", pe.Indexes(), got)
		}
		for i, want := range map[int]weft.Reason{1: weft.ErrCallFailed, 2: weft.ErrDeadlineExceeded, 3: weft.ErrNoRoute} {
			if pe.Failures[i].Reason != want {
				t.Errorf("failure %d: %v, want %s", i, pe.Failures[i], want)
			}
		}
		if !errors.Is(err, weft.ErrNoRoute) || !strings.Contains(err.Error(), "3 of 4 calls failed") {
			t.Errorf("aggregate error: %v", err)
		}
		poll(t, wait, "the hung call to be cancelled", func() bool { return s.Running() == 0 })
	})

	t.Run("the handler's process dies mid-call: TARGET_GONE within 1 s", func(t *testing.T) {
		ep := endpoint(t)
		child := exec.Command(os.Args[0], "-test.run=^$")
		child.Env = append(os.Environ(), envServeChild+"="+d.Address()+"|"+ep)
		out, err := child.StdoutPipe()
		ok(t, err)
		child.Stderr = os.Stderr
		ok(t, child.Start())
		t.Cleanup(func() {
			_ = child.Process.Kill()
			_ = child.Wait()
		})
		lines := bufio.NewScanner(out)
		if !lines.Scan() || lines.Text() != "serving" {
			t.Fatalf("the serving child said %q (%v)", lines.Text(), lines.Err())
		}
		f := caller.CallAsync(within(t, wait), ep, "hang")
		poll(t, wait, "the call to reach the child", func() bool { return inFlight(t, d.Address(), ep) == 1 })
		killed := time.Now()
		ok(t, child.Process.Kill())
		select {
		case <-f.Done():
		case <-time.After(wait):
			t.Fatal("the call did not end when its handler's process died")
		}
		took := time.Since(killed)
		_, err = f.Result()
		if !errors.Is(err, weft.ErrTargetGone) || status.Code(err) != codes.Unavailable {
			t.Fatalf("%v, want TARGET_GONE / UNAVAILABLE", err)
		}
		if took > time.Second {
			t.Fatalf("TARGET_GONE after %v, want within 1 s", took)
		}
	})

	t.Run("closing a server fails its pending calls with TARGET_GONE", func(t *testing.T) {
		ep := endpoint(t)
		started := make(chan struct{})
		cause := make(chan error, 1)
		s := serve(t, server, ep, map[string]weft.Handler{"hang": func(ctx context.Context, _ []any) (any, error) {
			close(started)
			<-ctx.Done()
			cause <- context.Cause(ctx)
			return nil, nil
		}})
		f := caller.CallAsync(within(t, wait), ep, "hang")
		<-started
		ok(t, s.Close())
		if _, err := f.Result(); !errors.Is(err, weft.ErrTargetGone) {
			t.Fatalf("pending call: %v, want TARGET_GONE", err)
		}
		if err := <-cause; !errors.Is(err, weft.ErrCancelled) {
			t.Fatalf("the handler's cause: %v, want CANCELLED", err)
		}
		<-s.Done()
		if s.Err() != nil {
			t.Fatalf("Err after Close: %v", s.Err())
		}
	})

	t.Run("a full handler queue answers at once with weft.Overloaded", func(t *testing.T) {
		ep := endpoint(t)
		release := make(chan struct{})
		started := make(chan struct{}, 2)
		s := serve(t, server, ep, map[string]weft.Handler{"block": func(ctx context.Context, _ []any) (any, error) {
			started <- struct{}{}
			select {
			case <-release:
			case <-ctx.Done():
			}
			return "done", nil
		}}, weft.WithConcurrency(1), weft.WithQueueSize(1))
		first := caller.CallAsync(within(t, wait), ep, "block")
		<-started
		second := caller.CallAsync(within(t, wait), ep, "block")
		poll(t, wait, "the second call to be queued", func() bool { return s.Running() == 2 })
		_, err := caller.Call(within(t, wait), ep, "block")
		if ce := callErr(t, err); ce.RemoteType != "weft.Overloaded" {
			t.Fatalf("third call: %v, want weft.Overloaded", err)
		}
		close(release)
		for _, f := range []*weft.Future{first, second} {
			if v, err := f.Result(); err != nil || v != "done" {
				t.Fatalf("queued call: %v, %v", v, err)
			}
		}
	})

	t.Run("the in-flight bound fails the next call at once with QUEUE_FULL", func(t *testing.T) {
		ep := endpoint(t)
		serve(t, server, ep, map[string]weft.Handler{"hang": hang})
		c := connect(t, d.Address(), weft.WithMaxCallsInFlight(1))
		f := c.CallAsync(within(t, wait), ep, "hang")
		if _, err := c.Call(ctx, ep, "hang"); !errors.Is(err, weft.ErrQueueFull) {
			t.Fatalf("second call: %v, want QUEUE_FULL", err)
		}
		f.Cancel()
		if _, err := f.Result(); !errors.Is(err, weft.ErrCancelled) {
			t.Fatalf("cancelled future: %v, want CANCELLED", err)
		}
	})
}

func TestServeRefuses(t *testing.T) {
	d := shared(t)
	c := connect(t, d.Address())
	ctx := context.Background()
	f := func(context.Context, []any) (any, error) { return nil, nil }
	for name, tc := range map[string]struct {
		endpoint string
		handlers map[string]weft.Handler
		opts     []weft.ServeOption
	}{
		"an endpoint name with a space": {"bad name", map[string]weft.Handler{"f": f}, nil},
		"an empty endpoint name":        {"", map[string]weft.Handler{"f": f}, nil},
		"no handlers":                   {"ep", nil, nil},
		"a nil handler":                 {"ep", map[string]weft.Handler{"f": nil}, nil},
		"a function name with a slash":  {"ep", map[string]weft.Handler{"a/b": f}, nil},
		"a concurrency of 0":            {"ep", map[string]weft.Handler{"f": f}, []weft.ServeOption{weft.WithConcurrency(0)}},
		"a queue of -1":                 {"ep", map[string]weft.Handler{"f": f}, []weft.ServeOption{weft.WithQueueSize(-1)}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := c.Serve(ctx, tc.endpoint, tc.handlers, tc.opts...); !errors.Is(err, weft.ErrInvalidArgument) {
				t.Fatalf("%v, want INVALID_ARGUMENT", err)
			}
		})
	}
	t.Run("an endpoint another client serves", func(t *testing.T) {
		ep := endpoint(t)
		serve(t, c, ep, map[string]weft.Handler{"f": f})
		other := connect(t, d.Address())
		if _, err := other.Serve(ctx, ep, map[string]weft.Handler{"f": f}); !errors.Is(err, weft.ErrEndpointTaken) {
			t.Fatalf("%v, want ENDPOINT_TAKEN", err)
		}
	})
	t.Run("more functions than weftd takes, refused by weftd", func(t *testing.T) {
		many := map[string]weft.Handler{}
		for i := range 257 {
			many[fmt.Sprintf("f%d", i)] = f
		}
		ep := endpoint(t)
		if _, err := c.Serve(ctx, ep, many); !errors.Is(err, weft.ErrInvalidArgument) || status.Code(err) != codes.InvalidArgument {
			t.Fatalf("%v, want INVALID_ARGUMENT from weftd", err)
		}
		other := connect(t, d.Address())
		serve(t, other, ep, map[string]weft.Handler{"f": f}) // the refused server holds nothing
	})
	t.Run("no daemon", func(t *testing.T) {
		none := connect(t, "unix:///nonexistent/weftd.sock")
		if _, err := none.Serve(within(t, wait), "ep", map[string]weft.Handler{"f": f}); !errors.Is(err, weft.ErrUnavailable) {
			t.Fatalf("%v, want UNAVAILABLE", err)
		}
		if _, err := none.Call(within(t, wait), "ep", "f"); !errors.Is(err, weft.ErrUnavailable) {
			t.Fatalf("Call: %v, want UNAVAILABLE", err)
		}
	})
}

// inFlight counts the calls weftd has in flight to endpoint (AdminService.InFlight).
func inFlight(t *testing.T, address, endpoint string) int {
	t.Helper()
	conn, err := grpc.NewClient(address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	ok(t, err)
	defer conn.Close()
	r, err := weftv1.NewAdminServiceClient(conn).InFlight(within(t, wait), &weftv1.InFlightRequest{})
	ok(t, err)
	n := 0
	for _, c := range r.GetCalls() {
		if c.GetTarget() == endpoint {
			n++
		}
	}
	return n
}
