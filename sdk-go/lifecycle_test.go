package weft_test

import (
	"context"
	"errors"
	"testing"
	"time"

	weft "github.com/weft-dev/weft/sdk-go"
	"github.com/weft-dev/weft/sdk-go/internal/daemontest"
)

func fastReconnect() weft.Option {
	return weft.WithReconnectBackoff(20*time.Millisecond, 200*time.Millisecond)
}

// TestDaemonArrivesAfterTheClient: nothing fails while weftd is absent; what was published is
// buffered and delivered once it arrives.
func TestDaemonArrivesAfterTheClient(t *testing.T) {
	d, err := daemontest.New()
	ok(t, err)
	t.Cleanup(d.Close)
	c := connect(t, d.Address(), fastReconnect())

	obj := must[*weft.Context](t)(c.Context(key(t), weft.Fields{"phase": "before"}))
	for i := 1; i <= 50; i++ {
		ok(t, obj.Set("i", i))
	}
	obj.Close()
	must[*weft.Context](t)(c.Context(key(t), weft.Fields{"transient": true}, weft.Transient()))

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := c.Flush(ctx); !errors.Is(err, weft.ErrDeadlineExceeded) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Flush without a daemon: %v, want ErrDeadlineExceeded", err)
	}
	if c.Pending() != 53 || c.Dropped() != 0 {
		t.Fatalf("pending %d dropped %d, want 53 and 0", c.Pending(), c.Dropped())
	}
	if _, err := c.GetObject(context.Background(), obj.ID()); !errors.Is(err, weft.ErrUnavailable) {
		t.Fatalf("GetObject without a daemon: %v, want ErrUnavailable", err)
	}

	ok(t, d.Launch())

	flush(t, c)
	got := getObject(t, c, obj.ID())
	if got.State != weft.StateFinished || got.Partial || got.LastSeq != 52 || got.Fields["i"] != 50.0 || got.Fields["phase"] != "before" {
		t.Errorf("got %+v", got)
	}
	poll(t, wait, "pending 0", func() bool { return c.Pending() == 0 })
}

// TestDaemonKilledAndRestarted: the client reconnects by itself and keeps publishing; events
// sent while the daemon was down are delivered after it returns.
func TestDaemonKilledAndRestarted(t *testing.T) {
	d := startOwn(t)
	c := connect(t, d.Address(), fastReconnect())
	obj := must[*weft.Context](t)(c.Context(key(t), weft.Fields{"n": 0}))
	flush(t, c)

	d.Kill()
	for i := 1; i <= 20; i++ {
		ok(t, obj.Set("n", i))
	}
	ok(t, d.Launch())
	obj.Close()
	flush(t, c)

	// The new daemon never saw the birth: the object starts partial from the first update.
	got := getObject(t, c, obj.ID())
	if got.State != weft.StateFinished || !got.Partial || got.Fields["n"] != 20.0 || got.LastSeq != 22 {
		t.Errorf("got %+v", got)
	}
	if c.Dropped() != 0 {
		t.Errorf("dropped %d", c.Dropped())
	}
}

// TestDaemonStopsGracefully: SIGTERM ends the Publish stream; nothing fails on the client,
// whose flush then waits for the next daemon.
func TestDaemonStopsGracefully(t *testing.T) {
	d := startOwn(t)
	c := connect(t, d.Address(), fastReconnect())
	obj := must[*weft.Context](t)(c.Context(key(t), nil))
	flush(t, c)
	ok(t, d.Stop())
	ok(t, obj.Set("after", "stop"))
	obj.Close()
	ok(t, d.Launch())
	flush(t, c)
	if got := getObject(t, c, obj.ID()); got.Fields["after"] != "stop" || got.State != weft.StateFinished {
		t.Errorf("got %+v", got)
	}
}

// TestDaemonFrozen: a daemon that stops reading (SIGSTOP) blocks nothing in the application;
// the bound holds while it is frozen, and everything held is delivered once it goes on.
func TestDaemonFrozen(t *testing.T) {
	d := startOwn(t)
	c := connect(t, d.Address(), weft.WithBufferCapacity(1000))
	obj := must[*weft.Context](t)(c.Context(key(t), nil))
	flush(t, c)

	ok(t, d.Pause())
	resumed := false
	defer func() {
		if !resumed {
			_ = d.Resume()
		}
	}()
	const sets = 30_000
	for i := 1; i <= sets; i++ {
		ok(t, obj.Set("i", i))
	}
	if c.Pending() != 1000 || c.Dropped() != sets-1000 {
		t.Errorf("pending %d dropped %d; want 1000 held and %d dropped", c.Pending(), c.Dropped(), sets-1000)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := c.Flush(ctx); !errors.Is(err, weft.ErrDeadlineExceeded) {
		t.Errorf("Flush while frozen: %v", err)
	}

	ok(t, d.Resume())
	resumed = true
	flush(t, c) // the held events are delivered and acknowledged: room again
	obj.Close()
	flush(t, c)
	got := getObject(t, c, obj.ID())
	if got.Fields["i"] != 1000.0 || got.State != weft.StateFinished || c.Dropped() != sets-1000 {
		t.Errorf("i = %v, state %v, dropped %d: want the first 1,000 sets held, the rest dropped, then FINISHED",
			got.Fields["i"], got.State, c.Dropped())
	}
}

// TestZeroImpact: with no daemon at all, publishing neither blocks nor fails; the bound holds
// and drops are counted.
func TestZeroImpact(t *testing.T) {
	d, err := daemontest.New() // never launched
	ok(t, err)
	t.Cleanup(d.Close)
	c := connect(t, d.Address(), weft.WithBufferCapacity(100), fastReconnect())

	obj := must[*weft.Context](t)(c.Context(key(t), nil))
	for i := range 1000 {
		ok(t, obj.Set("i", i))
	}
	ok(t, obj.Update(weft.Fields{"a": 1}))
	ok(t, obj.Log(weft.LevelInfo, "i is {i}"))
	obj.Close()
	if c.Pending() != 100 || c.Dropped() != 904 {
		t.Errorf("pending %d dropped %d; want 100 and 904 (1,004 events, room for 100)", c.Pending(), c.Dropped())
	}

	ok(t, c.Close())
	ok(t, c.Close()) // idempotent
	before := c.Dropped()
	late := must[*weft.Context](t)(c.Context(key(t), nil))
	ok(t, late.Set("x", 1))
	if c.Dropped() != before+2 {
		t.Errorf("events after Close: dropped %d, want %d", c.Dropped(), before+2)
	}
	if err := c.Flush(context.Background()); !errors.Is(err, weft.ErrClosed) {
		t.Errorf("Flush after Close: %v, want ErrClosed", err)
	}
}

// TestWaitOnClose: Close flushes first when asked to.
func TestWaitOnClose(t *testing.T) {
	d := shared(t)
	c, err := weft.Connect(context.Background(), weft.WithAddress(d.Address()), weft.WithLogger(quiet()),
		weft.WithWaitOnClose(wait), weft.WithClientID("go-wait-on-close"))
	ok(t, err)
	obj := must[*weft.Context](t)(c.Context(key(t), weft.Fields{"x": 1}))
	obj.Close()
	ok(t, c.Close())
	if c.Pending() != 0 {
		t.Errorf("pending %d after a flushing Close", c.Pending())
	}
	reader := connect(t, d.Address())
	if got := getObject(t, reader, obj.ID()); got.State != weft.StateFinished {
		t.Errorf("got %+v", got)
	}
	if c.ClientID() != "go-wait-on-close" || c.Address() != d.Address() {
		t.Errorf("client id %q address %q", c.ClientID(), c.Address())
	}
}
