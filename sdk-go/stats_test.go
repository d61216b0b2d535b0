package weft_test

import (
	"context"
	"errors"
	"math"
	"reflect"
	"sort"
	"strconv"
	"testing"
	"time"

	weft "github.com/weft-dev/weft/sdk-go"
	"github.com/weft-dev/weft/sdk-go/internal/daemontest"
)

// snapshot is one namespace of weftd's report.
func snapshot(t *testing.T, c *weft.Client, ns string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	r, err := c.Stats().Snapshot(ctx, ns)
	if err != nil {
		t.Fatalf("Snapshot(%s): %v", ns, err)
	}
	got, found := r.Namespaces[ns]
	if !found {
		t.Fatalf("Snapshot: no namespace %q in %v", ns, r.Namespaces)
	}
	return got
}

func flushStats(t testing.TB, c *weft.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := c.Stats().Flush(ctx); err != nil {
		t.Fatalf("Stats().Flush: %v (dropped %d)", err, c.Stats().Dropped())
	}
}

func TestStats(t *testing.T) {
	d := shared(t)

	t.Run("every kind of op reaches weftd and increments are coalesced", func(t *testing.T) {
		c := connect(t, d.Address())
		my := must[*weft.Namespace](t)(c.Stats().Namespace("My Stuff " + key(t)))
		events := must[*weft.Counter](t)(my.Counter("Important Events"))
		for range 10_000 {
			events.Inc()
		}
		my.Add("Bytes", 512)
		my.Add("Bytes", 512)
		ok(t, my.Set("Start Time", 1000))
		ok(t, my.Set("Host", "web-1"))
		ok(t, my.Put("Table Statistics", "widgets", map[string]any{"Rows": 30, "Inserts": 3}))
		my.AddRecord("Table Statistics", "widgets", "Inserts", 2)
		ok(t, my.Append("Slow Queries", map[string]any{"Query": "SELECT 1", "Seconds": 2.5}, 10))
		ok(t, my.Derive("Per Kilobyte", "[Important Events] / (Bytes / 1024)"))
		ok(t, my.DeriveRecord("Table Statistics", "Rows/Insert", "Rows / Inserts"))
		handled := my.Counted("Handled", func() {})
		for range 7 {
			handled()
		}
		double := weft.CountedFunc(my, "Doubled", func(x int) int { return 2 * x })
		if got := double(3); got != 6 {
			t.Fatalf("CountedFunc changed the result: %d", got)
		}
		flushStats(t, c)

		s := snapshot(t, c, my.Name())
		want := map[string]any{
			"Enabled": true, "Important Events": 10_000.0, "Bytes": 1024.0, "Start Time": 1000.0,
			"Host": "web-1", "Per Kilobyte": 10_000.0, "Handled": 7.0, "Doubled": 1.0,
			"Table Statistics": map[string]any{"widgets": map[string]any{"Rows": 30.0, "Inserts": 5.0, "Rows/Insert": 6.0}},
			"Slow Queries":     []any{map[string]any{"Query": "SELECT 1", "Seconds": 2.5}},
		}
		if !reflect.DeepEqual(s, want) {
			t.Fatalf("snapshot:\n got %v\nwant %v", s, want)
		}
		if sent := c.Stats().Sent(); sent > 100 {
			t.Errorf("10,000 increments should be coalesced; %d ops were sent", sent)
		}
		if c.Stats().Dropped() != 0 || c.Stats().Rejected() != 0 {
			t.Errorf("dropped %d, rejected %d; want 0, 0", c.Stats().Dropped(), c.Stats().Rejected())
		}
	})

	t.Run("remove takes entries and records away", func(t *testing.T) {
		c := connect(t, d.Address())
		ns := must[*weft.Namespace](t)(c.Stats().Namespace(key(t)))
		ns.Inc("gone")
		ns.Inc("kept")
		ok(t, ns.Put("C", "a", map[string]any{"v": 1}))
		ok(t, ns.Put("C", "b", map[string]any{"v": 2}))
		ok(t, ns.Remove("gone"))
		ok(t, ns.RemoveRecord("C", "a"))
		flushStats(t, c)
		want := map[string]any{"Enabled": true, "kept": 1.0, "C": map[string]any{"b": map[string]any{"v": 2.0}}}
		if s := snapshot(t, c, ns.Name()); !reflect.DeepEqual(s, want) {
			t.Fatalf("snapshot: got %v, want %v", s, want)
		}
	})

	t.Run("a bad Derive expression is counted with the daemon's reason", func(t *testing.T) {
		c := connect(t, d.Address())
		ns := must[*weft.Namespace](t)(c.Stats().Namespace(key(t)))
		ok(t, ns.Derive("Bad", "1 + * 2"))
		ok(t, ns.Set("text", "x"))
		ns.Add("ok", 1)
		flushStats(t, c)
		if got := c.Stats().Rejected(); got != 1 {
			t.Fatalf("Rejected() = %d, want 1", got)
		}
		var e *weft.Error
		if err := c.Stats().LastRejection(); !errors.As(err, &e) || !errors.Is(err, weft.ErrBadExpression) {
			t.Fatalf("LastRejection() = %v, want BAD_EXPRESSION", err)
		}
		if e.Metadata["position"] == "" {
			t.Errorf("a bad expression names its position: %+v", e)
		}
		s := snapshot(t, c, ns.Name())
		keys := make([]string, 0, len(s))
		for k := range s {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if !reflect.DeepEqual(keys, []string{"Enabled", "ok", "text"}) {
			t.Fatalf("entries %v, want Enabled, ok, text", keys)
		}
	})

	t.Run("a conflict the daemon sees is counted, the rest applied", func(t *testing.T) {
		c := connect(t, d.Address())
		ns := must[*weft.Namespace](t)(c.Stats().Namespace(key(t)))
		ok(t, ns.Set("name", "x"))
		flushStats(t, c)
		ns.Add("name", 1) // adding to a string
		ns.Add("n", 2)
		flushStats(t, c)
		if !errors.Is(c.Stats().LastRejection(), weft.ErrStatsConflict) || c.Stats().Rejected() != 1 {
			t.Fatalf("rejected %d, last %v; want 1 STATS_CONFLICT", c.Stats().Rejected(), c.Stats().LastRejection())
		}
		if s := snapshot(t, c, ns.Name()); s["n"] != 2.0 || s["name"] != "x" {
			t.Fatalf("snapshot %v", s)
		}
	})

	t.Run("a namespace switched off costs nothing and resumes when switched on", func(t *testing.T) {
		c := connect(t, d.Address())
		admin := connect(t, d.Address())
		web := must[*weft.Namespace](t)(c.Stats().Namespace(key(t)))
		hits := must[*weft.Counter](t)(web.Counter("Hits"))
		hits.Add(5)
		flushStats(t, c)
		ctx := context.Background()
		was, err := admin.Stats().SetEnabled(ctx, web.Name(), false)
		ok(t, err)
		if !was {
			t.Errorf("SetEnabled returned was_enabled=false for an enabled namespace")
		}
		poll(t, wait, "the SDK to see the namespace switched off", func() bool { return !web.Enabled() })
		sentBefore := c.Stats().Sent()
		hits.Add(100)
		web.Inc("Other")
		ok(t, web.Set("Mode", "off"))
		ok(t, web.Append("Log", map[string]any{"a": 1}, 0))
		flushStats(t, c)
		if sent := c.Stats().Sent(); sent != sentBefore {
			t.Errorf("%d ops sent while switched off; want none", sent-sentBefore)
		}
		want := map[string]any{"Enabled": false, "Hits": 5.0}
		if s := snapshot(t, c, web.Name()); !reflect.DeepEqual(s, want) {
			t.Fatalf("switched off: got %v, want %v", s, want)
		}
		_, err = admin.Stats().SetEnabled(ctx, web.Name(), true)
		ok(t, err)
		poll(t, wait, "the SDK to see the namespace switched on", web.Enabled)
		hits.Inc()
		flushStats(t, c)
		if s := snapshot(t, c, web.Name()); s["Hits"] != 6.0 {
			t.Fatalf("switched on again: Hits = %v, want 6", s["Hits"])
		}
	})

	t.Run("bad input is refused locally", func(t *testing.T) {
		c := connect(t, "unix:///nonexistent/weftd.sock")
		if _, err := c.Stats().Namespace(""); !errors.Is(err, weft.ErrInvalidArgument) {
			t.Errorf("Namespace(\"\"): %v, want INVALID_ARGUMENT", err)
		}
		if _, err := c.Stats().Namespace("a\nb"); !errors.Is(err, weft.ErrInvalidArgument) {
			t.Errorf("Namespace with a newline: %v, want INVALID_ARGUMENT", err)
		}
		ns := must[*weft.Namespace](t)(c.Stats().Namespace("ns"))
		err := ns.Put("C", "r", map[string]any{"v": map[string]any{"deeper": 1}})
		if !errors.Is(err, weft.ErrTooDeep) {
			t.Errorf("Put with a nested record: %v, want TOO_DEEP", err)
		}
		if err := ns.Set("k", []int{1}); !errors.Is(err, weft.ErrTooDeep) {
			t.Errorf("Set of a list: %v, want TOO_DEEP", err)
		}
		if err := ns.Set("k", math.NaN()); !errors.Is(err, weft.ErrNotJSON) {
			t.Errorf("Set of NaN: %v, want NOT_JSON", err)
		}
		if err := ns.Append("L", nil, -1); !errors.Is(err, weft.ErrInvalidArgument) {
			t.Errorf("Append with maxLen -1: %v, want INVALID_ARGUMENT", err)
		}
		if err := ns.Derive("d", ""); !errors.Is(err, weft.ErrBadExpression) {
			t.Errorf("Derive with no expression: %v, want BAD_EXPRESSION", err)
		}
		if _, err := ns.Counter(""); !errors.Is(err, weft.ErrInvalidArgument) {
			t.Errorf("Counter(\"\"): %v, want INVALID_ARGUMENT", err)
		}
		ns.Add("", 1)
		ns.Add("x", math.Inf(1))
		if got := c.Stats().Rejected(); got != 2 {
			t.Errorf("Rejected() = %d after a bad key and an infinite delta, want 2", got)
		}
		if _, err := c.Stats().SetEnabled(context.Background(), "", true); !errors.Is(err, weft.ErrInvalidArgument) {
			t.Errorf("SetEnabled(\"\"): %v, want INVALID_ARGUMENT", err)
		}
	})

	t.Run("nothing blocks or fails while no daemon listens; delivered once it is up", func(t *testing.T) {
		own, err := daemontest.New()
		ok(t, err)
		t.Cleanup(own.Close)
		c := connect(t, own.Address(), fastReconnect())
		ns := must[*weft.Namespace](t)(c.Stats().Namespace("ns"))
		for i := range 1000 {
			ns.Inc("n")
			ok(t, ns.Put("C", "r"+strconv.Itoa(i), map[string]any{"v": i}))
		}
		short, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		err = c.Stats().Flush(short)
		cancel()
		if !errors.Is(err, weft.ErrDeadlineExceeded) {
			t.Fatalf("Flush without a daemon: %v, want DEADLINE_EXCEEDED", err)
		}
		ok(t, own.Launch())
		flushStats(t, c)
		s := snapshot(t, c, "ns")
		if s["n"] != 1000.0 || len(s["C"].(map[string]any)) != 1000 {
			t.Fatalf("after the daemon came: n = %v, %d records", s["n"], len(s["C"].(map[string]any)))
		}
	})

	t.Run("a daemon killed and restarted: recording goes on and a switch it forgot is on again", func(t *testing.T) {
		own := startOwn(t)
		c := connect(t, own.Address(), fastReconnect())
		ns := must[*weft.Namespace](t)(c.Stats().Namespace("ns"))
		ns.Add("n", 1)
		flushStats(t, c)
		_, err := c.Stats().SetEnabled(context.Background(), "ns", false)
		ok(t, err)
		poll(t, wait, "the namespace to be switched off", func() bool { return !ns.Enabled() })

		own.Kill()
		ns.Add("n", 100) // switched off: not recorded
		other := must[*weft.Namespace](t)(c.Stats().Namespace("other"))
		other.Add("m", 1) // recorded while no daemon listens
		short, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err = c.Stats().Flush(short)
		cancel()
		// Sent on the dying stream before the client saw it break, the op is lost and the flush
		// fails at once (FLUSH_INCOMPLETE); else it waits for the next daemon (DEADLINE_EXCEEDED).
		if !errors.Is(err, weft.ErrDeadlineExceeded) && !errors.Is(err, weft.ErrFlushIncomplete) {
			t.Fatalf("Flush without a daemon: %v, want DEADLINE_EXCEEDED or FLUSH_INCOMPLETE", err)
		}
		ok(t, own.Launch())
		poll(t, wait, "the namespace to be on again (the new daemon never switched it off)", ns.Enabled)
		ns.Add("n", 5)
		flushStats(t, c)
		if s := snapshot(t, c, "ns"); s["n"] != 5.0 {
			t.Fatalf("the new daemon: n = %v, want 5", s["n"])
		}
		// Every op is accounted for: delivered to the new daemon, or counted as dropped.
		delivered := snapshot(t, c, "other")["m"] == 1.0
		if delivered == (c.Stats().Dropped() == 1) {
			t.Fatalf("the op recorded while no daemon listened: delivered %v, dropped %d", delivered, c.Stats().Dropped())
		}
	})

	t.Run("the queue bound drops the newest and counts them", func(t *testing.T) {
		c := connect(t, "unix:///nonexistent/weftd.sock", weft.WithStatsQueueCapacity(10))
		ns := must[*weft.Namespace](t)(c.Stats().Namespace("ns"))
		for i := range 25 {
			ok(t, ns.Put("C", strconv.Itoa(i), map[string]any{"v": i}))
		}
		// The worker may have taken some of the queue already; at least 25 - 10 - what it took
		// are dropped, and none is dropped while the queue has room.
		if got := c.Stats().Dropped(); got == 0 || got > 15 {
			t.Fatalf("Dropped() = %d, want 1..15", got)
		}
	})

	t.Run("after Close ops are dropped and Flush says closed", func(t *testing.T) {
		c := connect(t, d.Address())
		ns := must[*weft.Namespace](t)(c.Stats().Namespace(key(t)))
		ok(t, c.Close())
		ok(t, ns.Put("C", "r", map[string]any{"v": 1}))
		if c.Stats().Dropped() != 1 {
			t.Errorf("Dropped() = %d after Close, want 1", c.Stats().Dropped())
		}
		if err := c.Stats().Flush(context.Background()); !errors.Is(err, weft.ErrClosed) {
			t.Errorf("Flush after Close: %v, want CLOSED", err)
		}
	})
}
