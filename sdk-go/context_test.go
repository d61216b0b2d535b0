package weft_test

import (
	"fmt"
	"reflect"
	"sync"
	"testing"

	weft "github.com/weft-dev/weft/sdk-go"
)

// TestContext publishes contexts to a real weftd and reads the collated objects back.
func TestContext(t *testing.T) {
	d := shared(t)
	c := connect(t, d.Address())

	t.Run("born updated logged deleted finished", func(t *testing.T) {
		obj := must[*weft.Context](t)(c.Context(key(t), weft.Fields{"url": "http://x", "password": "p"},
			weft.Header("env", "prod"), weft.Ignore("password")))
		ok(t, obj.Set("status", 200))
		ok(t, obj.Update(weft.Fields{"bytes": 512, "cached": false, "password": "q"}))
		ok(t, obj.Log(weft.LevelInfo, "fetched {url} with {status}, {password}"))
		obj.Delete("cached", "password")
		obj.Close()
		obj.Close() // idempotent
		flush(t, c)

		got := getObject(t, c, obj.ID())
		want := map[string]any{"url": "http://x", "status": 200.0, "bytes": 512.0}
		if !reflect.DeepEqual(got.Fields, want) {
			t.Errorf("fields %v, want %v", got.Fields, want)
		}
		if got.State != weft.StateFinished || got.Partial || got.RoutingKey != obj.RoutingKey() {
			t.Errorf("state %v partial %v key %q", got.State, got.Partial, got.RoutingKey)
		}
		if got.Headers["env"] != "prod" {
			t.Errorf("headers %v", got.Headers)
		}
		if got.LastMessage != "fetched http://x with 200, {password}" {
			t.Errorf("message %q: an ignored name must not be rendered", got.LastMessage)
		}
		// BORN, UPDATE, UPDATE, LOG, DELETE, FINISHED: the second Close sends nothing.
		if got.LastSeq != 6 || got.EventCount != 6 {
			t.Errorf("last seq %d, events %d; want 6 and 6", got.LastSeq, got.EventCount)
		}
		if got.End.Before(got.Start) || got.Elapsed < 0 || got.End.IsZero() {
			t.Errorf("start %v end %v elapsed %v", got.Start, got.End, got.Elapsed)
		}
	})

	t.Run("log fields are merged before rendering and travel with the log", func(t *testing.T) {
		obj := must[*weft.Context](t)(c.Context(key(t), nil))
		ok(t, obj.Log(weft.LevelWarning, "retry {n} of {max}", weft.Fields{"n": 2}, weft.Fields{"max": 3}))
		obj.Close()
		flush(t, c)
		got := getObject(t, c, obj.ID())
		if got.LastMessage != "retry 2 of 3" || got.Fields["n"] != 2.0 || got.Fields["max"] != 3.0 {
			t.Errorf("message %q fields %v", got.LastMessage, got.Fields)
		}
	})

	t.Run("custom id", func(t *testing.T) {
		id := fmt.Sprintf("order-%s", key(t))
		obj := must[*weft.Context](t)(c.Context(key(t), weft.Fields{"n": 1}, weft.ID(id)))
		if obj.ID() != id {
			t.Fatalf("id %q", obj.ID())
		}
		obj.Close()
		flush(t, c)
		if got := getObject(t, c, id); got.Fields["n"] != 1.0 {
			t.Errorf("fields %v", got.Fields)
		}
	})

	t.Run("transient is one event, born and finished", func(t *testing.T) {
		obj := must[*weft.Context](t)(c.Context(key(t), weft.Fields{"user": "ann"}, weft.Transient(), weft.Headers(map[string]string{"a": "1"})))
		if !obj.Closed() {
			t.Error("a transient context should be closed at once")
		}
		ok(t, obj.Set("late", 1)) // does nothing
		obj.Close()
		flush(t, c)
		got := getObject(t, c, obj.ID())
		if got.State != weft.StateTransient || got.LastSeq != 1 || got.Fields["user"] != "ann" || got.Headers["a"] != "1" {
			t.Errorf("got %+v", got)
		}
		if _, ok := got.Fields["late"]; ok {
			t.Error("a field set after the object finished was sent")
		}
	})

	t.Run("a context as a value links by id", func(t *testing.T) {
		parent := must[*weft.Context](t)(c.Context(key(t), nil))
		child := must[*weft.Context](t)(c.Context(key(t), weft.Fields{"parent": parent}))
		ok(t, child.Set("siblings", []any{parent, "x"}))
		child.Close()
		parent.Close()
		flush(t, c)
		got := getObject(t, c, child.ID())
		if got.Fields["parent"] != parent.ID() || !reflect.DeepEqual(got.Fields["siblings"], []any{parent.ID(), "x"}) {
			t.Errorf("fields %v, want parent %s", got.Fields, parent.ID())
		}
	})

	t.Run("a routing key that names the caller", func(t *testing.T) {
		obj := must[*weft.Context](t)(c.Context(weft.Here(), nil))
		obj.Close()
		flush(t, c)
		if got := getObject(t, c, obj.ID()); got.RoutingKey != "github_com.weft-dev.weft.sdk-go_test" {
			t.Errorf("routing key %q", got.RoutingKey)
		}
	})

	t.Run("concurrent use keeps each object's events in order", func(t *testing.T) {
		obj := must[*weft.Context](t)(c.Context(key(t), nil))
		const goroutines, sets = 8, 100
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range sets {
					_ = obj.Set(fmt.Sprintf("g%d", g), i)
				}
			}()
		}
		wg.Wait()
		obj.Close()
		flush(t, c)
		got := getObject(t, c, obj.ID())
		// A seq that reached the daemon out of order would be dropped as a duplicate.
		if want := uint64(goroutines*sets + 2); got.LastSeq != want || got.EventCount != want {
			t.Errorf("last seq %d, events %d; want %d", got.LastSeq, got.EventCount, want)
		}
		for g := range goroutines {
			if v := got.Fields[fmt.Sprintf("g%d", g)]; v != float64(sets-1) {
				t.Errorf("g%d = %v, want %d", g, v, sets-1)
			}
		}
	})

	if c.Dropped() != 0 || c.Rejected() != 0 || c.DroppedByDaemon() != 0 {
		t.Errorf("dropped %d, rejected %d, dropped by daemon %d", c.Dropped(), c.Rejected(), c.DroppedByDaemon())
	}
}

func TestContextString(t *testing.T) {
	c := connect(t, shared(t).Address())
	obj := must[*weft.Context](t)(c.Context("shop.checkout", nil, weft.ID("o-1"), weft.Header("h", "v")))
	defer obj.Close()
	if obj.String() != "shop.checkout[o-1]" || obj.RoutingKey() != "shop.checkout" {
		t.Errorf("String %q", obj.String())
	}
	h := obj.Headers()
	h["h"] = "changed"
	if obj.Headers()["h"] != "v" {
		t.Error("Headers returned the object's own map")
	}
}
