package weft_test

import (
	"context"
	"errors"
	"io"
	"os"
	"reflect"
	"testing"
	"time"

	weft "github.com/weft-dev/weft/sdk-go"
)

// awaitWatching returns once the daemon has registered the monitor: probes (published until
// one arrives, since a probe sent before the registration is not seen) have come back.
func awaitWatching[T any](t *testing.T, c *weft.Client, m *weft.Monitor[T], probeKey string, isProbe func(T) bool, probe ...weft.ContextOption) {
	t.Helper()
	got := make(chan error, 1)
	go func() {
		for {
			item, err := m.Next()
			if err != nil {
				got <- err
				return
			}
			if isProbe(item) {
				got <- nil
				return
			}
		}
	}()
	deadline := time.After(wait)
	for {
		_, err := c.Context(probeKey, nil, append(probe, weft.Transient())...)
		ok(t, err)
		select {
		case err := <-got:
			if err != nil {
				t.Fatalf("monitor ended before the probe arrived: %v", err)
			}
			return
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("the monitor saw no probe within %v", wait)
		}
	}
}

// next reads the next item the test cares about, failing after wait.
func next[T any](t *testing.T, m *weft.Monitor[T], want func(T) bool) T {
	t.Helper()
	type result struct {
		item T
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		for {
			item, err := m.Next()
			if err != nil || want(item) {
				ch <- result{item, err}
				return
			}
		}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("Next: %v", r.err)
		}
		return r.item
	case <-time.After(wait):
		m.Close()
		t.Fatalf("no item within %v", wait)
	}
	panic("unreachable")
}

func TestMessages(t *testing.T) {
	c := connect(t, shared(t).Address())
	base := key(t)
	m := must[*weft.Monitor[*weft.Event]](t)(c.Messages(context.Background(), weft.RoutingKeys(base+".#")))
	defer m.Close()
	awaitWatching(t, c, m, base+".probe", func(e *weft.Event) bool { return e.RoutingKey == base+".probe" })

	other := must[*weft.Context](t)(c.Context(key(t), nil)) // not matched by the filter
	other.Close()
	obj := must[*weft.Context](t)(c.Context(base+".data", weft.Fields{"a": 1}, weft.Header("env", "prod")))
	ok(t, obj.Set("b", "two"))
	ok(t, obj.Log(weft.LevelError, "b is {b}"))
	obj.Delete("a")
	obj.Close()

	isData := func(e *weft.Event) bool { return e.ID == obj.ID() }
	want := []struct {
		kind   weft.Kind
		fields map[string]any
	}{
		{weft.KindBorn, map[string]any{"a": 1.0}},
		{weft.KindUpdate, map[string]any{"b": "two"}},
		{weft.KindLog, map[string]any{}},
		{weft.KindDelete, map[string]any{}},
		{weft.KindFinished, map[string]any{}},
	}
	for i, w := range want {
		e := next(t, m, isData)
		if e.Kind != w.kind || e.Seq != uint64(i+1) || !reflect.DeepEqual(e.Fields, w.fields) {
			t.Errorf("event %d: kind %v seq %d fields %v; want %v %d %v", i, e.Kind, e.Seq, e.Fields, w.kind, i+1, w.fields)
		}
		switch e.Kind {
		case weft.KindBorn:
			if e.Headers["env"] != "prod" || e.Time.IsZero() {
				t.Errorf("born: headers %v time %v", e.Headers, e.Time)
			}
		case weft.KindLog:
			if e.Message != "b is two" || e.Level != weft.LevelError {
				t.Errorf("log: %q at %v", e.Message, e.Level)
			}
		case weft.KindDelete:
			if !reflect.DeepEqual(e.Deleted, []string{"a"}) {
				t.Errorf("deleted %v", e.Deleted)
			}
		}
	}
	if m.Lagged() != 0 {
		t.Errorf("lagged %d", m.Lagged())
	}
}

func TestObjects(t *testing.T) {
	c := connect(t, shared(t).Address())

	t.Run("header match any and projection", func(t *testing.T) {
		base := key(t)
		m := must[*weft.Monitor[*weft.Object]](t)(c.Objects(context.Background(),
			weft.RoutingKeys(base+".*"), weft.MatchHeader("env", "prod"), weft.MatchHeader("team", "x"), weft.MatchAny(),
			weft.Keys("url", "*n"), weft.Trim("secret"), weft.DropEmpty()))
		defer m.Close()
		awaitWatching(t, c, m, base+".probe", func(o *weft.Object) bool { return o.RoutingKey == base+".probe" }, weft.Header("team", "x"))

		unmatched := must[*weft.Context](t)(c.Context(base+".data", weft.Fields{"url": "u0"}, weft.Header("env", "dev")))
		unmatched.Close()
		obj := must[*weft.Context](t)(c.Context(base+".data", weft.Fields{
			"url": "u1", "n": 1, "inner": map[string]any{"n": 2, "secret": "s", "empty": ""},
		}, weft.Header("team", "x")))
		obj.Close()

		got := next(t, m, func(o *weft.Object) bool { return o.RoutingKey == base+".data" })
		if got.ID != obj.ID() {
			t.Fatalf("got object %s (%v), want %s: the header filter let the wrong one through", got.ID, got.Fields, obj.ID())
		}
		want := map[string]any{"url": "u1", "n": []any{1.0, 2.0}}
		if !reflect.DeepEqual(got.Fields, want) || got.State != weft.StateFinished {
			t.Errorf("fields %v state %v; want %v finished", got.Fields, got.State, want)
		}
	})

	t.Run("include live shows long-lived objects before they finish", func(t *testing.T) {
		base := key(t)
		m := must[*weft.Monitor[*weft.Object]](t)(c.Objects(context.Background(), weft.RoutingKeys(base+".#"), weft.IncludeLive()))
		defer m.Close()
		awaitWatching(t, c, m, base+".probe", func(o *weft.Object) bool { return o.RoutingKey == base+".probe" })
		obj := must[*weft.Context](t)(c.Context(base+".live", weft.Fields{"phase": "one"}))
		defer obj.Close()
		got := next(t, m, func(o *weft.Object) bool { return o.ID == obj.ID() })
		if got.State != weft.StateLive || got.Fields["phase"] != "one" || !got.End.IsZero() {
			t.Errorf("got %+v, want a live snapshot", got)
		}
	})

	t.Run("close ends a blocked Next with io.EOF", func(t *testing.T) {
		m := must[*weft.Monitor[*weft.Object]](t)(c.Objects(context.Background(), weft.RoutingKeys(key(t))))
		ended := make(chan error, 1)
		go func() {
			_, err := m.Next()
			ended <- err
		}()
		m.Close()
		select {
		case err := <-ended:
			if err != io.EOF {
				t.Errorf("Next after Close: %v, want io.EOF", err)
			}
		case <-time.After(wait):
			t.Fatal("Next still blocked after Close")
		}
		if _, err := m.Next(); err != io.EOF {
			t.Errorf("Next again: %v", err)
		}
	})

	t.Run("an ended context ends the feed with its error", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		m := must[*weft.Monitor[*weft.Object]](t)(c.Objects(ctx, weft.RoutingKeys(key(t))))
		cancel()
		_, err := m.Next()
		if !errors.Is(err, context.Canceled) || !errors.Is(err, weft.ErrCancelled) {
			t.Errorf("got %v, want ErrCancelled wrapping context.Canceled", err)
		}
	})
}

func TestListAndGet(t *testing.T) {
	c := connect(t, shared(t).Address())
	base := key(t)
	var finished []string
	for i := range 5 {
		obj := must[*weft.Context](t)(c.Context(base+".done", weft.Fields{"i": i}))
		obj.Close()
		finished = append(finished, obj.ID())
	}
	live := must[*weft.Context](t)(c.Context(base+".live", weft.Fields{"i": 99}))
	defer live.Close()
	flush(t, c)

	t.Run("pages through every match, live first", func(t *testing.T) {
		var ids []string
		for o, err := range c.ListObjects(context.Background(), weft.RoutingKeys(base+".#"), weft.PageSize(2)) {
			ok(t, err)
			ids = append(ids, o.ID)
		}
		want := append([]string{live.ID()}, finished...)
		if !reflect.DeepEqual(ids, want) {
			t.Errorf("ids %v\nwant %v", ids, want)
		}
	})

	t.Run("states and projection", func(t *testing.T) {
		var got []*weft.Object
		for o, err := range c.ListObjects(context.Background(), weft.RoutingKeys(base+".#"), weft.States(weft.StateLive), weft.Keys("i")) {
			ok(t, err)
			got = append(got, o)
		}
		if len(got) != 1 || got[0].ID != live.ID() || !reflect.DeepEqual(got[0].Fields, map[string]any{"i": 99.0}) {
			t.Errorf("got %v", got)
		}
	})

	t.Run("stopping the loop early", func(t *testing.T) {
		n := 0
		for range c.ListObjects(context.Background(), weft.RoutingKeys(base+".#"), weft.PageSize(2)) {
			n++
			if n == 3 {
				break
			}
		}
		if n != 3 {
			t.Errorf("n %d", n)
		}
	})

	t.Run("get with projection", func(t *testing.T) {
		o := getObject(t, c, finished[2], weft.Trim("i"), weft.DropEmpty())
		if len(o.Fields) != 0 || o.State != weft.StateFinished {
			t.Errorf("got %+v", o)
		}
	})

	t.Run("unknown id", func(t *testing.T) {
		_, err := c.GetObject(context.Background(), "no-such-object")
		var e *weft.Error
		if !errors.Is(err, weft.ErrUnknownObject) || !errors.As(err, &e) || e.Message == "" {
			t.Errorf("got %v, want ErrUnknownObject", err)
		}
	})
}

// TestMonitorLagged: a monitor that does not keep up loses the oldest items, and Lagged counts
// exactly what it lost.
func TestMonitorLagged(t *testing.T) {
	c := connect(t, shared(t).Address(), weft.WithBufferCapacity(50_000))
	base := key(t)
	m := must[*weft.Monitor[*weft.Event]](t)(c.Messages(context.Background(), weft.RoutingKeys(base+".#"), weft.WatchBuffer(1)))
	defer m.Close()
	awaitWatching(t, c, m, base+".probe", func(e *weft.Event) bool { return e.RoutingKey == base+".probe" })
	probesSeen := m.Lagged() // probes published after the first one may be lost too: count from here

	const sets = 20_000 // far more than gRPC's window holds while nobody reads
	obj := must[*weft.Context](t)(c.Context(base+".data", nil))
	for i := range sets {
		ok(t, obj.Set("i", i))
	}
	obj.Close()
	flush(t, c)

	received := 0
	last := next(t, m, func(e *weft.Event) bool {
		if e.RoutingKey == base+".data" {
			received++
		}
		return e.ID == obj.ID() && e.Kind == weft.KindFinished
	})
	if last.Seq != sets+2 {
		t.Errorf("last seq %d", last.Seq)
	}
	lost := int(m.Lagged() - probesSeen)
	if lost == 0 {
		t.Fatalf("nothing lost: received %d of %d (the window held them all?)", received, sets+2)
	}
	// Every event is either received or counted as lost; one more lost item is possible: a
	// probe that was on its way when awaitWatching returned.
	if total := received + lost; total < sets+2 || total > sets+3 {
		t.Errorf("received %d + lost %d = %d, want %d", received, lost, total, sets+2)
	}
}

// TestFleetView reads objects back from the bus (source BUS) through a daemon that publishes to a
// real RabbitMQ and follows the fleet. ./test-all starts RabbitMQ and sets WEFT_TEST_AMQP_URL.
func TestFleetView(t *testing.T) {
	url := os.Getenv("WEFT_TEST_AMQP_URL")
	if url == "" {
		t.Skip("WEFT_TEST_AMQP_URL is not set (./test-all sets it once RabbitMQ runs)")
	}
	base := key(t)
	// One exchange for every run (the daemon declares it and nothing here can delete it): the
	// fleet daemon's own queue sees only what is published while it runs.
	d := startOwn(t, "WEFT_BUS_URL="+url, "WEFT_BUS_EXCHANGE=weft-go-test", "WEFT_BUS_FLEET="+base+".#")
	c := connect(t, d.Address())
	m := must[*weft.Monitor[*weft.Object]](t)(c.Objects(context.Background(), weft.FromSource(weft.SourceBus), weft.RoutingKeys(base+".#")))
	defer m.Close()
	awaitWatching(t, c, m, base+".probe", func(o *weft.Object) bool { return o.RoutingKey == base+".probe" })

	obj := must[*weft.Context](t)(c.Context(base+".data", weft.Fields{"n": 1}, weft.Header("env", "prod")))
	ok(t, obj.Set("m", 2))
	obj.Close()
	got := next(t, m, func(o *weft.Object) bool { return o.ID == obj.ID() })
	if got.State != weft.StateFinished || got.Fields["n"] != 1.0 || got.Fields["m"] != 2.0 || got.Headers["env"] != "prod" || got.DaemonID == "" {
		t.Errorf("from the bus: %+v", got)
	}
	poll(t, wait, "the object in the fleet listing", func() bool {
		for o, err := range c.ListObjects(context.Background(), weft.FromSource(weft.SourceBus), weft.RoutingKeys(base+".data")) {
			if err == nil && o.ID == obj.ID() {
				return true
			}
		}
		return false
	})
}
