package weft_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	weft "github.com/weft-dev/weft/sdk-go"
	weftv1 "github.com/weft-dev/weft/sdk-go/internal/gen/weft/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// A served endpoint outlives weftd: these tests kill and restart a real weftd under a server.

const (
	lostLine       = "weft: endpoint registration lost"
	registeredLine = "weft: endpoint registered again"
)

// TestServerRegistersAgainWhenTheDaemonRestarts: kill -9 weftd under a server; its running
// handlers are cancelled with TARGET_GONE, it keeps trying while weftd is down, and once weftd
// is back the same server object answers calls again.
func TestServerRegistersAgainWhenTheDaemonRestarts(t *testing.T) {
	d := startOwn(t)
	watch := &serveStreams{}
	logs := &logLines{}
	c := connect(t, d.Address(), fastReconnect(), watch.option(), weft.WithLogger(logs.logger()))
	caller := connect(t, d.Address(), fastReconnect())
	ep := endpoint(t)
	started := make(chan string, 2)
	causes := map[string]chan error{"hang": make(chan error, 1), "stubborn": make(chan error, 1)}
	release := make(chan struct{})
	s := serve(t, c, ep, map[string]weft.Handler{
		"whoami": func(context.Context, []any) (any, error) { return "the first server", nil },
		"hang": func(ctx context.Context, _ []any) (any, error) {
			started <- "hang"
			<-ctx.Done()
			causes["hang"] <- context.Cause(ctx)
			return nil, nil
		},
		// stubborn returns after its call ended: its result must go nowhere.
		"stubborn": func(ctx context.Context, _ []any) (any, error) {
			started <- "stubborn"
			<-ctx.Done()
			causes["stubborn"] <- context.Cause(ctx)
			<-release
			return "late", nil
		},
	})
	firstDaemon := s.DaemonID()
	if !s.Registered() {
		t.Fatal("Registered is false after Serve returned")
	}
	hung := caller.CallAsync(within(t, wait), ep, "hang")
	stubborn := caller.CallAsync(within(t, wait), ep, "stubborn")
	await(t, started)
	await(t, started)

	d.Kill()

	if !t.Run("a handler running when weftd dies is cancelled with TARGET_GONE", func(t *testing.T) {
		for name, cause := range causes {
			if err := await(t, cause); !errors.Is(err, weft.ErrTargetGone) {
				t.Errorf("%s's cause: %v, want TARGET_GONE", name, err)
			}
		}
		for _, f := range []*weft.Future{hung, stubborn} {
			if _, err := f.Result(); !errors.Is(err, weft.ErrUnavailable) {
				t.Errorf("the caller of %s: %v, want UNAVAILABLE (its daemon died)", f.Function, err)
			}
		}
		if s.Registered() || isDone(s) || s.Err() != nil {
			t.Errorf("registered %v, done %v, err %v: want a server that is not registered, not done", s.Registered(), isDone(s), s.Err())
		}
	}) {
		return
	}

	if !t.Run("while weftd is down it keeps trying and logs the loss once", func(t *testing.T) {
		poll(t, wait, "two failed registration attempts", func() bool { return watch.opened.Load() >= 3 })
		if s.Registered() || isDone(s) {
			t.Errorf("registered %v, done %v while weftd is down", s.Registered(), isDone(s))
		}
		if n := logs.count("INFO", lostLine); n != 1 {
			t.Errorf("%d info lines %q, want 1:\n%s", n, lostLine, logs)
		}
	}) {
		return
	}

	ok(t, d.Launch())

	if !t.Run("after weftd restarts the same server answers again", func(t *testing.T) {
		poll(t, wait, "a call answered by the server", func() bool {
			v, err := caller.Call(within(t, 2*time.Second), ep, "whoami")
			return err == nil && v == "the first server"
		})
		if !s.Registered() || isDone(s) || s.Err() != nil {
			t.Errorf("registered %v, done %v, err %v: want registered, not done", s.Registered(), isDone(s), s.Err())
		}
		if s.DaemonID() != firstDaemon {
			t.Errorf("daemon id %q, want %q (the same WEFT_DAEMON_ID)", s.DaemonID(), firstDaemon)
		}
		attempts := watch.opened.Load()
		if lost, back := logs.count("INFO", lostLine), logs.count("INFO", registeredLine); lost != 1 || back != 1 || attempts < 3 {
			t.Errorf("%d lines %q and %d %q after %d attempts; want one of each:\n%s", lost, lostLine, back, registeredLine, attempts, logs)
		}
	}) {
		return
	}

	t.Run("a result of the lost stream is never sent on the new one", func(t *testing.T) {
		close(release)
		poll(t, wait, "the stubborn handler to return", func() bool { return s.Running() == 0 })
		streams := watch.sent()
		if len(streams) < 2 {
			t.Fatalf("%d streams opened, want at least 2", len(streams))
		}
		for i, results := range streams {
			for _, r := range results {
				if v := r.GetValue().GetStringValue(); v != "the first server" {
					t.Errorf("stream %d carried a result %v, want only whoami's answers", i, r)
				}
			}
		}
		if len(streams[len(streams)-1]) == 0 {
			t.Errorf("the new stream carried no result: the calls after the restart were answered elsewhere")
		}
	})
}

// TestServerClosedWhileTheDaemonIsDown: closing a server (or its client) during the outage
// stops the re-registration at once; nothing runs afterwards and the next weftd never sees the
// endpoint.
func TestServerClosedWhileTheDaemonIsDown(t *testing.T) {
	d := startOwn(t)
	before := serverGoroutines()
	watchA, watchB := &serveStreams{}, &serveStreams{}
	a := connect(t, d.Address(), fastReconnect(), watchA.option())
	b := connect(t, d.Address(), fastReconnect(), watchB.option())
	f := func(context.Context, []any) (any, error) { return "up", nil }
	epA, epB := endpoint(t), endpoint(t)
	sa := serve(t, a, epA, map[string]weft.Handler{"f": f})
	sb := serve(t, b, epB, map[string]weft.Handler{"f": f})
	if serverGoroutines() <= before {
		t.Fatalf("serverGoroutines sees no server goroutine while two servers run")
	}

	d.Kill()
	poll(t, wait, "both servers to retry", func() bool { return watchA.opened.Load() >= 3 && watchB.opened.Load() >= 3 })

	t.Run("Server.Close stops the retries", func(t *testing.T) {
		ok(t, sa.Close())
		if !isDone(sa) || sa.Registered() || sa.Err() != nil {
			t.Errorf("after Close: done %v, registered %v, err %v", isDone(sa), sa.Registered(), sa.Err())
		}
	})
	t.Run("Client.Close stops its servers' retries", func(t *testing.T) {
		ok(t, b.Close())
		if !isDone(sb) || sb.Registered() || sb.Err() != nil {
			t.Errorf("after Client.Close: done %v, registered %v, err %v", isDone(sb), sb.Registered(), sb.Err())
		}
	})
	attemptsA, attemptsB := watchA.opened.Load(), watchB.opened.Load()
	t.Run("no goroutine of the servers is left", func(t *testing.T) {
		poll(t, wait, "the servers' goroutines to end", func() bool { return serverGoroutines() <= before })
	})

	ok(t, d.Launch())

	t.Run("the next weftd does not see the endpoints", func(t *testing.T) {
		caller := connect(t, d.Address(), fastReconnect())
		for _, ep := range []string{epA, epB} {
			if _, err := caller.Call(within(t, wait), ep, "f"); !errors.Is(err, weft.ErrNoRoute) {
				t.Errorf("call to %s: %v, want NO_ROUTE", ep, err)
			}
		}
		if watchA.opened.Load() != attemptsA || watchB.opened.Load() != attemptsB {
			t.Errorf("attempts after close: %d and %d more", watchA.opened.Load()-attemptsA, watchB.opened.Load()-attemptsB)
		}
	})
}

// TestServerRegistersAgainAfterEndpointTaken: another client took the name while the server
// was away; the server's re-registration is refused with ENDPOINT_TAKEN and retried until the
// name is free again.
func TestServerRegistersAgainAfterEndpointTaken(t *testing.T) {
	d := startOwn(t)
	watch := &serveStreams{}
	c := connect(t, d.Address(), fastReconnect(), watch.option())
	ep := endpoint(t)
	s := serve(t, c, ep, map[string]weft.Handler{"whoami": func(context.Context, []any) (any, error) { return "the first server", nil }})

	// The server's attempts are held back until the other client has taken the name on the
	// restarted weftd: otherwise which of the two registers first would be a race.
	watch.hold.Store(true)
	d.Kill()
	ok(t, d.Launch())
	other := connect(t, d.Address())
	taker := serve(t, other, ep, map[string]weft.Handler{"whoami": func(context.Context, []any) (any, error) { return "the other server", nil }})
	caller := connect(t, d.Address())
	watch.hold.Store(false)

	if !t.Run("the re-registration is refused with ENDPOINT_TAKEN and retried", func(t *testing.T) {
		poll(t, wait, "two ENDPOINT_TAKEN refusals", func() bool { return watch.refusedWith("ENDPOINT_TAKEN") >= 2 })
		if s.Registered() || isDone(s) {
			t.Errorf("registered %v, done %v: want retrying", s.Registered(), isDone(s))
		}
		if v, err := caller.Call(within(t, wait), ep, "whoami"); err != nil || v != "the other server" {
			t.Errorf("a call: %v, %v; want the other server's answer", v, err)
		}
	}) {
		return
	}

	ok(t, taker.Close())

	t.Run("once the name is free the server registers again", func(t *testing.T) {
		poll(t, wait, "a call answered by the first server", func() bool {
			v, err := caller.Call(within(t, 2*time.Second), ep, "whoami")
			return err == nil && v == "the first server"
		})
		if !s.Registered() || isDone(s) {
			t.Errorf("registered %v, done %v", s.Registered(), isDone(s))
		}
	})
}

func isDone(s *weft.Server) bool {
	select {
	case <-s.Done():
		return true
	default:
		return false
	}
}

// await takes one value from ch, failing the test after wait.
func await[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wait):
		t.Fatal("timed out waiting on a channel")
		var zero T
		return zero
	}
}

// serverGoroutines counts the goroutines running the SDK's Server code (its serving loop and
// its handler workers).
func serverGoroutines() int {
	var b bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&b, 2)
	n := 0
	for _, g := range strings.Split(b.String(), "\n\n") {
		if strings.Contains(g, "sdk-go.(*Server).") {
			n++
		}
	}
	return n
}

// serveStreams watches a client's CallService.Serve streams from the client's side: how many it
// tried to open (registration attempts), the results it sent on each stream, and why streams
// were refused.
type serveStreams struct {
	opened atomic.Int64
	// hold, while set, fails every attempt at once with UNAVAILABLE, as if weftd were away.
	hold     atomic.Bool
	mu       sync.Mutex
	results  [][]*weftv1.CallResult
	refusals map[string]int
}

func (w *serveStreams) option() weft.Option {
	return weft.WithDialOptions(grpc.WithChainStreamInterceptor(w.intercept))
}

func (w *serveStreams) intercept(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string,
	streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	if method != weftv1.CallService_Serve_FullMethodName {
		return streamer(ctx, desc, cc, method, opts...)
	}
	w.opened.Add(1)
	if w.hold.Load() {
		return nil, status.Error(codes.Unavailable, "held back by the test")
	}
	cs, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.results = append(w.results, nil)
	return &watchedServeStream{ClientStream: cs, w: w, i: len(w.results) - 1}, nil
}

// sent is a copy of the results sent, per stream in the order the streams opened.
func (w *serveStreams) sent() [][]*weftv1.CallResult {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([][]*weftv1.CallResult, len(w.results))
	for i, rs := range w.results {
		out[i] = append([]*weftv1.CallResult(nil), rs...)
	}
	return out
}

// refusedWith counts the streams weftd ended with this ErrorInfo reason.
func (w *serveStreams) refusedWith(reason string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.refusals[reason]
}

type watchedServeStream struct {
	grpc.ClientStream
	w *serveStreams
	i int
}

func (s *watchedServeStream) SendMsg(m any) error {
	if r := m.(*weftv1.ServeRequest).GetResult(); r != nil {
		s.w.mu.Lock()
		s.w.results[s.i] = append(s.w.results[s.i], r)
		s.w.mu.Unlock()
	}
	return s.ClientStream.SendMsg(m)
}

func (s *watchedServeStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if st, isStatus := status.FromError(err); err != nil && isStatus {
		for _, d := range st.Details() {
			if info, ok := d.(*errdetails.ErrorInfo); ok {
				s.w.mu.Lock()
				if s.w.refusals == nil {
					s.w.refusals = map[string]int{}
				}
				s.w.refusals[info.GetReason()]++
				s.w.mu.Unlock()
			}
		}
	}
	return err
}

// logLines collects a client's log lines.
type logLines struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logLines) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// count counts the lines at level whose message starts with msg.
func (l *logLines) count(level, msg string) int {
	n := 0
	for _, line := range strings.Split(l.String(), "\n") {
		if strings.Contains(line, "level="+level+" ") && strings.Contains(line, `msg="`+msg) {
			n++
		}
	}
	return n
}
