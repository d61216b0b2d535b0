package weft_test

import (
	"context"
	"errors"
	"io"
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
