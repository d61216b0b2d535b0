package weft_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	weft "github.com/weft-dev/weft/sdk-go"
	weftv1 "github.com/weft-dev/weft/sdk-go/internal/gen/weft/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
)

// envReceiveChild makes the test binary a separate receiving process: the daemon's address. It
// opens a receiver as client "victim", prints "handle <handle>", then "got <value>" for each
// message, until it is killed.
const envReceiveChild = "WEFT_GO_TEST_RECEIVE_CHILD"

func receiveChild() {
	ctx := context.Background()
	c, err := weft.Connect(ctx, weft.WithAddress(os.Getenv(envReceiveChild)), weft.WithClientID("victim"), weft.WithLogger(quiet()))
	var r *weft.Receiver
	if err == nil {
		r, err = c.OpenReceiver(ctx)
	}
	if err != nil {
		fmt.Println("receive child:", err)
		os.Exit(2)
	}
	fmt.Println("handle " + r.Handle())
	for m, err := range r.Messages(ctx) {
		if err != nil {
			fmt.Println("receive child:", err)
			os.Exit(2)
		}
		fmt.Printf("got %v\n", m.Value)
	}
	select {}
}

func openReceiver(t *testing.T, c *weft.Client) *weft.Receiver {
	t.Helper()
	r, err := c.OpenReceiver(within(t, wait))
	if err != nil {
		t.Fatalf("OpenReceiver: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func receive(t *testing.T, r *weft.Receiver) weft.Message {
	t.Helper()
	m, err := r.Receive(within(t, wait))
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	return m
}

// values receives until the first end-of-channel.
func values(t *testing.T, r *weft.Receiver) []any {
	t.Helper()
	var out []any
	for m, err := range r.Messages(within(t, wait)) {
		if err != nil {
			t.Fatalf("Messages: %v", err)
		}
		out = append(out, m.Value)
	}
	return out
}

// ended is the end-of-channel Receive must return next.
func ended(t *testing.T, r *weft.Receiver) *weft.ChannelEndedError {
	t.Helper()
	m, err := r.Receive(within(t, wait))
	var end *weft.ChannelEndedError
	if !errors.As(err, &end) || !errors.Is(err, weft.ErrChannelEnded) {
		t.Fatalf("Receive: %v, %v; want end-of-channel", m, err)
	}
	return end
}

// sendErr is the failure weftd reported to s, once it did.
func sendErr(t *testing.T, s *weft.Sender) *weft.Error {
	t.Helper()
	poll(t, wait, "weftd to report the failure of "+s.Handle(), func() bool { return s.Err() != nil })
	var e *weft.Error
	if !errors.As(s.Err(), &e) {
		t.Fatalf("Err: %T %v, want a *weft.Error", s.Err(), s.Err())
	}
	return e
}

func daemonOf(handle string) string {
	d, _, _ := strings.Cut(handle, "/")
	return d
}

// counter is one of weftd's counters (AdminService.Info).
func counter(t *testing.T, address, name string) uint64 {
	t.Helper()
	conn, err := grpc.NewClient(address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	ok(t, err)
	defer conn.Close()
	r, err := weftv1.NewAdminServiceClient(conn).Info(within(t, wait), &weftv1.InfoRequest{})
	ok(t, err)
	return r.GetCounters()[name]
}

func TestChannels(t *testing.T) {
	d := shared(t)
	rc := connect(t, d.Address(), weft.WithClientID("go-receiver"))
	sc := connect(t, d.Address(), weft.WithClientID("go-sender"))

	t.Run("values arrive in order, then end-of-channel", func(t *testing.T) {
		r := openReceiver(t, rc)
		if !strings.Contains(r.Handle(), "/") || daemonOf(r.Handle()) == "" {
			t.Fatalf("handle %q, want daemon/name", r.Handle())
		}
		s := sc.Sender(r.Handle())
		var sent []any
		for i := range 500 {
			ok(t, s.Send(map[string]any{"i": i}))
			sent = append(sent, map[string]any{"i": float64(i)})
		}
		ok(t, s.Close())
		if got := values(t, r); !reflect.DeepEqual(got, sent) {
			t.Fatalf("received %d values %v..., want the %d sent in order", len(got), got[:min(3, len(got))], len(sent))
		}
		if _, err := r.Receive(within(t, 50*time.Millisecond)); !errors.Is(err, weft.ErrDeadlineExceeded) {
			t.Fatalf("after the end: %v, want nothing (DEADLINE_EXCEEDED)", err)
		}
		if err := s.Send("late"); !errors.Is(err, weft.ErrClosed) {
			t.Fatalf("Send after Close: %v, want CLOSED", err)
		}
	})

	t.Run("several senders: one end each, naming its sender", func(t *testing.T) {
		r := openReceiver(t, rc)
		other := connect(t, d.Address(), weft.WithClientID("go-sender-b"))
		a, b := sc.Sender(r.Handle()), other.Sender(r.Handle())
		ok(t, a.Send("from a"))
		ok(t, a.Close())
		want := weft.Message{Value: "from a", Sender: daemonOf(r.Handle()) + "/go-sender"}
		if m := receive(t, r); m != want {
			t.Fatalf("got %+v, want %+v", m, want)
		}
		end := ended(t, r)
		if end.Sender != want.Sender || end.Abrupt || end.Handle != r.Handle() {
			t.Fatalf("end %+v, want a clean end from %s", end, want.Sender)
		}
		ok(t, b.Send("from b"))
		if m := receive(t, r); m.Value != "from b" || m.Sender != daemonOf(r.Handle())+"/go-sender-b" {
			t.Fatalf("got %+v after a's end", m)
		}
		ok(t, b.Close())
		if end := ended(t, r); end.Sender != daemonOf(r.Handle())+"/go-sender-b" {
			t.Fatalf("second end %+v", end)
		}
	})

	t.Run("a sender on the receiver's own client: its Close ends only its side", func(t *testing.T) {
		r := openReceiver(t, rc)
		own := rc.Sender(r.Handle())
		ok(t, own.Send("to myself"))
		if m := receive(t, r); m.Value != "to myself" || m.Sender != daemonOf(r.Handle())+"/go-receiver" {
			t.Fatalf("got %+v", m)
		}
		ok(t, own.Close())
		if end := ended(t, r); end.Sender != daemonOf(r.Handle())+"/go-receiver" || end.Abrupt {
			t.Fatalf("end %+v, want a clean end from go-receiver", end)
		}
		s := sc.Sender(r.Handle())
		ok(t, s.Send("still open"))
		ok(t, s.Close())
		if got := values(t, r); !reflect.DeepEqual(got, []any{"still open"}) {
			t.Fatalf("received %v, want the other sender's message and end", got)
		}
		ok(t, s.Err())
	})

	t.Run("a handle passed as a call argument to a Go handler that sends back", func(t *testing.T) {
		ep := endpoint(t)
		serve(t, sc, ep, map[string]weft.Handler{"produce": func(ctx context.Context, args []any) (any, error) {
			a := args[0].(map[string]any)
			out := sc.Sender(a["reply_to"].(string))
			for i := range int(a["n"].(float64)) {
				if err := out.Send(i * i); err != nil {
					return nil, err
				}
			}
			return "done", out.Close()
		}})
		r := openReceiver(t, rc)
		v, err := rc.Call(within(t, wait), ep, "produce", map[string]any{"reply_to": r.Handle(), "n": 4})
		if err != nil || v != "done" {
			t.Fatalf("Call: %v, %v", v, err)
		}
		if got := values(t, r); !reflect.DeepEqual(got, []any{0.0, 1.0, 4.0, 9.0}) {
			t.Fatalf("received %v", got)
		}
	})

	t.Run("closing the receiver fails its senders with TARGET_GONE", func(t *testing.T) {
		r := openReceiver(t, rc)
		s := sc.Sender(r.Handle())
		ok(t, s.Send(1))
		receive(t, r)
		ok(t, r.Close())
		e := sendErr(t, s)
		if e.Reason != weft.ErrTargetGone || e.Code != codes.Unavailable || e.Metadata["handle"] != r.Handle() {
			t.Fatalf("Err: %+v, want UNAVAILABLE/TARGET_GONE about %s", e, r.Handle())
		}
		if err := s.Send(2); err != s.Err() {
			t.Fatalf("Send after the failure: %v, want the stored failure", err)
		}
		if _, err := r.Receive(within(t, wait)); !errors.Is(err, weft.ErrClosed) {
			t.Fatalf("Receive after Close: %v, want CLOSED", err)
		}
		ok(t, s.Close())
	})

	t.Run("the receiver's process is killed: its senders fail", func(t *testing.T) {
		child := exec.Command(os.Args[0], "-test.run=^$")
		child.Env = append(os.Environ(), envReceiveChild+"="+d.Address())
		out, err := child.StdoutPipe()
		ok(t, err)
		child.Stderr = os.Stderr
		ok(t, child.Start())
		t.Cleanup(func() {
			_ = child.Process.Kill()
			_ = child.Wait()
		})
		lines := bufio.NewScanner(out)
		if !lines.Scan() || !strings.HasPrefix(lines.Text(), "handle ") {
			t.Fatalf("the receiving child said %q (%v)", lines.Text(), lines.Err())
		}
		s := sc.Sender(strings.TrimPrefix(lines.Text(), "handle "))
		ok(t, s.Send("hello"))
		if !lines.Scan() || lines.Text() != "got hello" {
			t.Fatalf("the receiving child said %q (%v)", lines.Text(), lines.Err())
		}
		ok(t, child.Process.Kill())
		e := sendErr(t, s)
		if e.Reason != weft.ErrTargetGone || !strings.Contains(e.Message, "victim") {
			t.Fatalf("Err: %v, want TARGET_GONE naming the client 'victim'", e)
		}
		ok(t, s.Close())
	})

	t.Run("a sender's client closed without closing: abrupt end", func(t *testing.T) {
		r := openReceiver(t, rc)
		leaving := connect(t, d.Address(), weft.WithClientID("leaving"))
		ok(t, leaving.Sender(r.Handle()).Send("last words"))
		if m := receive(t, r); m.Value != "last words" {
			t.Fatalf("got %+v", m)
		}
		ok(t, leaving.Close())
		end := ended(t, r)
		if !end.Abrupt || end.Sender != daemonOf(r.Handle())+"/leaving" {
			t.Fatalf("end %+v, want an abrupt end from leaving", end)
		}
		if _, err := leaving.OpenReceiver(context.Background()); !errors.Is(err, weft.ErrClosed) {
			t.Fatalf("OpenReceiver on a closed client: %v, want CLOSED", err)
		}
		if err := leaving.Sender(r.Handle()).Send(1); !errors.Is(err, weft.ErrClosed) {
			t.Fatalf("Send on a closed client: %v, want CLOSED", err)
		}
	})

	t.Run("bad values are refused locally, bad handles by weftd", func(t *testing.T) {
		r := openReceiver(t, rc)
		s := sc.Sender(r.Handle())
		in := counter(t, d.Address(), "channel_messages_in")
		for _, v := range []any{math.NaN(), make(chan int), map[int]string{1: "x"}, "\xff"} {
			if err := s.Send(v); !errors.Is(err, weft.ErrNotJSON) {
				t.Fatalf("Send(%#v): %v, want NOT_JSON", v, err)
			}
		}
		if n := counter(t, d.Address(), "channel_messages_in"); n != in {
			t.Fatalf("weftd saw %d sends, want none", n-in)
		}
		ok(t, s.Close())
		ended(t, r)

		for handle, reason := range map[string]weft.Reason{
			"no-slash":                             weft.ErrInvalidArgument,
			daemonOf(r.Handle()) + "/never-opened": weft.ErrTargetGone,
			"nowhere/x":                            weft.ErrNoRoute,
		} {
			s := sc.Sender(handle)
			ok(t, s.Send("x"))
			if e := sendErr(t, s); e.Reason != reason {
				t.Fatalf("%s: %v, want %s", handle, e, reason)
			}
			if err := s.Send("again"); !errors.Is(err, reason) {
				t.Fatalf("%s: second Send %v, want %s", handle, err, reason)
			}
			ok(t, s.Close())
		}
	})
}

// TestChannelsWhenAReceiverDoesNotKeepUp: weftd's queue for the slow client (4 messages) fills
// while that client reads nothing; every send is received or reported undelivered.
func TestChannelsWhenAReceiverDoesNotKeepUp(t *testing.T) {
	d := startOwn(t, "WEFT_CHANNEL_QUEUE=4", "WEFT_CHANNEL_MAX_RECEIVERS=2")
	slow := connect(t, d.Address(), weft.WithChannelBuffer(16))
	fast := connect(t, d.Address())

	r := openReceiver(t, slow)
	openReceiver(t, slow)
	if _, err := slow.OpenReceiver(within(t, wait)); !errors.Is(err, weft.ErrQueueFull) {
		t.Fatalf("third OpenReceiver: %v, want QUEUE_FULL (WEFT_CHANNEL_MAX_RECEIVERS=2)", err)
	}

	const n = 5_000
	s := fast.Sender(r.Handle())
	payload := strings.Repeat("x", 200)
	for range n {
		ok(t, s.Send(payload))
	}
	poll(t, wait, "weftd to see every send", func() bool { return counter(t, d.Address(), "channel_messages_in") == n })
	poll(t, wait, "an undelivered report", func() bool { return s.Undelivered() > 0 })

	var received uint64
	poll(t, wait, "every send received or reported undelivered", func() bool {
		for {
			if _, err := r.Receive(within(t, 10*time.Millisecond)); err != nil {
				if !errors.Is(err, weft.ErrDeadlineExceeded) {
					t.Fatalf("Receive: %v", err)
				}
				break
			}
			received++
		}
		return received+s.Undelivered() >= n
	})
	if received+s.Undelivered() != n || received == 0 {
		t.Fatalf("received %d + undelivered %d, want %d with some received", received, s.Undelivered(), n)
	}
	t.Logf("received %d, undelivered %d", received, s.Undelivered())
	ok(t, s.Err())
}

// TestChannelsWhenTheDaemonGoes: a receiver ends with TARGET_GONE when its stream breaks; the
// client's senders and new receivers go on over a fresh stream to the next daemon.
func TestChannelsWhenTheDaemonGoes(t *testing.T) {
	d := startOwn(t)
	rc := connect(t, d.Address())
	sc := connect(t, d.Address())
	r := openReceiver(t, rc)
	s := sc.Sender(r.Handle())
	ok(t, s.Send("before"))
	receive(t, r)

	d.Kill()
	_, err := r.Receive(within(t, wait))
	var e *weft.Error
	if !errors.As(err, &e) || e.Reason != weft.ErrTargetGone || e.Code != codes.Unavailable {
		t.Fatalf("Receive after the daemon died: %v, want UNAVAILABLE/TARGET_GONE", err)
	}

	ok(t, d.Launch())
	// The new daemon never opened the old handle: it says so on the sender's new stream.
	poll(t, wait, "a send to reach the new daemon", func() bool { return s.Send("after") == nil })
	if e := sendErr(t, s); e.Reason != weft.ErrTargetGone {
		t.Fatalf("Err: %v, want TARGET_GONE from the new daemon", e)
	}
	var r2 *weft.Receiver
	poll(t, wait, "a receiver on the new daemon", func() bool {
		r2, err = rc.OpenReceiver(within(t, wait))
		return err == nil
	})
	t.Cleanup(func() { _ = r2.Close() })
	s2 := sc.Sender(r2.Handle())
	ok(t, s2.Send("again"))
	ok(t, s2.Close())
	if got := values(t, r2); !reflect.DeepEqual(got, []any{"again"}) {
		t.Fatalf("received %v", got)
	}
}

// TestChannelsWhenTheDaemonIsFrozen: a Send that weftd takes nothing from (SIGSTOP) for
// WithCallTimeout drops the stream: the Send fails with UNAVAILABLE, and the client's receivers
// end with TARGET_GONE.
func TestChannelsWhenTheDaemonIsFrozen(t *testing.T) {
	d := startOwn(t)
	c := connect(t, d.Address(), weft.WithCallTimeout(time.Second))
	r := openReceiver(t, c)
	s := c.Sender("nowhere/x") // any handle: the frozen weftd reads nothing
	ok(t, d.Pause())
	t.Cleanup(func() { _ = d.Resume() })
	payload := strings.Repeat("x", 64<<10)
	var err error
	for i := 0; err == nil; i++ {
		if i == 10_000 {
			t.Fatal("10,000 sends of 64 KiB to a frozen daemon did not block")
		}
		err = s.Send(payload)
	}
	var e *weft.Error
	if !errors.As(err, &e) || e.Reason != weft.ErrUnavailable || !strings.Contains(e.Message, "took no channel request") {
		t.Fatalf("Send to a frozen daemon: %v, want UNAVAILABLE after WithCallTimeout", err)
	}
	if _, err := r.Receive(within(t, wait)); !errors.Is(err, weft.ErrTargetGone) {
		t.Fatalf("Receive after the stream was dropped: %v, want TARGET_GONE", err)
	}
}
