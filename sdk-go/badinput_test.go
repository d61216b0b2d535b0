package weft_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	weft "github.com/weft-dev/weft/sdk-go"
	"github.com/weft-dev/weft/sdk-go/internal/daemontest"
)

func wantReason(t *testing.T, err error, reason weft.Reason) {
	t.Helper()
	var e *weft.Error
	if !errors.As(err, &e) || !errors.Is(err, reason) {
		t.Fatalf("got %v, want an *Error with reason %s", err, reason)
	}
	if e.Message == "" {
		t.Errorf("%v: the error does not say what was wrong", err)
	}
}

// TestBadInputRefusedLocally: bad input fails at the call, with a reason, and sends nothing.
func TestBadInputRefusedLocally(t *testing.T) {
	d, err := daemontest.New() // never launched: whatever is queued stays countable in Pending
	ok(t, err)
	t.Cleanup(d.Close)
	c := connect(t, d.Address())
	obj := must[*weft.Context](t)(c.Context("app.ok", nil))
	sent := c.Pending()

	cases := []struct {
		name   string
		call   func() error
		reason weft.Reason
	}{
		{"empty routing key", func() error { _, err := c.Context("", nil); return err }, weft.ErrInvalidRoutingKey},
		{"routing key with a space", func() error { _, err := c.Context("shop checkout", nil); return err }, weft.ErrInvalidRoutingKey},
		{"routing key with a wildcard", func() error { _, err := c.Context("shop.*", nil); return err }, weft.ErrInvalidRoutingKey},
		{"routing key too long", func() error { _, err := c.Context(strings.Repeat("k", 256), nil); return err }, weft.ErrInvalidRoutingKey},
		{"NaN at birth", func() error { _, err := c.Context("app.ok", weft.Fields{"x": math.NaN()}); return err }, weft.ErrNotJSON},
		{"empty id", func() error { _, err := c.Context("app.ok", nil, weft.ID("")); return err }, weft.ErrInvalidID},
		{"id with a newline", func() error { _, err := c.Context("app.ok", nil, weft.ID("a\nb")); return err }, weft.ErrInvalidID},
		{"header with an empty name", func() error { _, err := c.Context("app.ok", nil, weft.Header("", "v")); return err }, weft.ErrInvalidHeader},
		{"Set NaN", func() error { return obj.Set("x", math.NaN()) }, weft.ErrNotJSON},
		{"Set +Inf", func() error { return obj.Set("x", math.Inf(1)) }, weft.ErrNotJSON},
		{"Set a channel", func() error { return obj.Set("x", make(chan int)) }, weft.ErrNotJSON},
		{"Set a cycle", func() error { m := map[string]any{}; m["m"] = m; return obj.Set("x", m) }, weft.ErrTooDeep},
		{"Update with one bad value", func() error { return obj.Update(weft.Fields{"good": 1, "bad": math.Inf(-1)}) }, weft.ErrNotJSON},
		{"Log with a bad value", func() error { return obj.Log(weft.LevelInfo, "x", weft.Fields{"bad": math.NaN()}) }, weft.ErrNotJSON},
		{"Log with no level", func() error { return obj.Log(0, "x") }, weft.ErrInvalidArgument},
		{"Log with an invalid template", func() error { return obj.Log(weft.LevelInfo, "\xff") }, weft.ErrNotJSON},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantReason(t, tc.call(), tc.reason)
			if c.Pending() != sent {
				t.Errorf("pending %d, want %d: a refused call queued something", c.Pending(), sent)
			}
		})
	}

	t.Run("the error names the field", func(t *testing.T) {
		err := obj.Set("ratio", math.NaN())
		if !strings.Contains(err.Error(), `"ratio"`) {
			t.Errorf("%q does not name the field", err)
		}
	})
}

func TestBadOptions(t *testing.T) {
	cases := map[string]weft.Option{
		"malformed address":     weft.WithAddress("nowhere"),
		"relative unix address": weft.WithAddress("unix://weftd.sock"),
		"zero buffer":           weft.WithBufferCapacity(0),
		"zero batch":            weft.WithMaxBatchEvents(0),
		"huge events":           weft.WithMaxEventBytes(64 << 20),
		"client id too long":    weft.WithClientID(strings.Repeat("c", 129)),
		"negative wait":         weft.WithWaitOnClose(-1),
		"backoff max < initial": weft.WithReconnectBackoff(2, 1),
		"zero call timeout":     weft.WithCallTimeout(0),
		"zero channel buffer":   weft.WithChannelBuffer(0),
		"nil logger":            weft.WithLogger(nil),
		"nil conn":              weft.WithConn(nil),
	}
	for name, opt := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := weft.Connect(context.Background(), opt)
			if c != nil {
				_ = c.Close()
			}
			wantReason(t, err, weft.ErrInvalidArgument)
		})
	}
	t.Run("bad WEFT_ADDR", func(t *testing.T) {
		t.Setenv("WEFT_ADDR", "unix://relative")
		_, err := weft.Connect(context.Background())
		wantReason(t, err, weft.ErrInvalidArgument)
	})
	t.Run("ended context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := weft.Connect(ctx)
		wantReason(t, err, weft.ErrCancelled)
	})
	t.Run("bad view options", func(t *testing.T) {
		c := connect(t, shared(t).Address())
		_, err := c.GetObject(context.Background(), "x", weft.PageSize(0))
		wantReason(t, err, weft.ErrInvalidArgument)
		_, err = c.Objects(context.Background(), weft.WatchBuffer(-1))
		wantReason(t, err, weft.ErrInvalidArgument)
	})
}

// TestBadInputRefusedByDaemon: what only weftd can judge comes back with its reason: counted in
// Rejected for published events, returned for views.
func TestBadInputRefusedByDaemon(t *testing.T) {
	c := connect(t, shared(t).Address())

	t.Run("too many headers: the event is rejected and counted", func(t *testing.T) {
		headers := map[string]string{}
		for i := range 65 { // weftd's default limit is 64
			headers[fmt.Sprintf("h%d", i)] = "v"
		}
		before := c.Rejected()
		obj := must[*weft.Context](t)(c.Context(key(t), nil, weft.Headers(headers)))
		flush(t, c)
		if c.Rejected() != before+1 {
			t.Errorf("rejected %d, want %d", c.Rejected(), before+1)
		}
		obj.Close() // the FINISHED that follows is accepted: a partial object
		flush(t, c)
		if got := getObject(t, c, obj.ID()); !got.Partial {
			t.Errorf("got %+v, want a partial object (its birth was refused)", got)
		}
	})

	t.Run("event over the client's size limit is not sent", func(t *testing.T) {
		small := connect(t, shared(t).Address(), weft.WithMaxEventBytes(1024))
		obj := must[*weft.Context](t)(small.Context(key(t), nil))
		ok(t, obj.Set("big", strings.Repeat("x", 2000)))
		ok(t, obj.Set("small", 1))
		obj.Close()
		flush(t, small)
		got := getObject(t, small, obj.ID())
		if small.Rejected() != 1 || got.Fields["small"] != 1.0 || got.Fields["big"] != nil || small.Pending() != 0 {
			t.Errorf("rejected %d pending %d fields %v", small.Rejected(), small.Pending(), got.Fields)
		}
	})

	t.Run("malformed routing-key pattern", func(t *testing.T) {
		wantReason(t, listError(c, weft.RoutingKeys("a.b#")), weft.ErrInvalidPattern)
		m := must[*weft.Monitor[*weft.Event]](t)(c.Messages(context.Background(), weft.RoutingKeys("a.b#")))
		defer m.Close()
		_, err := m.Next()
		wantReason(t, err, weft.ErrInvalidPattern)
		var seen error
		for _, err := range m.All() {
			seen = err
		}
		wantReason(t, seen, weft.ErrInvalidPattern)
	})

	t.Run("page size over the daemon's maximum", func(t *testing.T) {
		wantReason(t, listError(c, weft.PageSize(5000)), weft.ErrInvalidArgument)
	})

	t.Run("bus source on a daemon without a bus", func(t *testing.T) {
		_, err := c.GetObject(context.Background(), "x", weft.FromSource(weft.SourceBus))
		wantReason(t, err, weft.ErrBusUnavailable)
	})
}

// listError is the error that ends a listing (nil when it ends without one).
func listError(c *weft.Client, opts ...weft.ViewOption) error {
	for _, err := range c.ListObjects(context.Background(), opts...) {
		if err != nil {
			return err
		}
	}
	return nil
}
