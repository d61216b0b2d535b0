package weft

import (
	"math"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	weftv1 "github.com/weft-dev/weft/sdk-go/internal/gen/weft/v1"
	"google.golang.org/protobuf/types/known/structpb"
)

// Namespace is one statistics namespace (logging.statistics' second level), from
// Stats.Namespace. Safe for concurrent use.
//
//	my, _ := client.Stats().Namespace("My Stuff")
//	my.Set("Start Time", float64(time.Now().Unix()))
//	events, _ := my.Counter("Important Events")
//	events.Inc()                                                // no RPC: summed locally
//	my.Derive("Events/Second", "[Important Events] / (now() - [Start Time])")
//	my.Put("Table Statistics", "widgets", map[string]any{"Rows": 1300000, "Inserts": 400})
//	my.Append("Slow Queries", map[string]any{"Query": sql, "Processing Time": 47.8}, 100)
//
// Nothing here blocks or fails because weftd is absent or slow. The ops of one namespace
// reach weftd in the order they were made (concurrent callers in some order). While weftd has
// the namespace switched off (Enabled, followed through StatsService.WatchEnabled) every call
// returns at once and records nothing. Invalid input that this client can see (a struct inside
// a record: a 5th level; NaN; a bad name) is returned as an *Error by the methods that return
// one, and counted in Stats.Rejected by Add and Inc; what only weftd can judge (a Derive
// expression that does not parse, Add to a string) is counted in Stats.Rejected, logged at
// debug level and kept in Stats.LastRejection.
type Namespace struct {
	stats   *Stats
	name    string
	enabled atomic.Bool
	top     sync.Map // key -> *Counter: the namespace's own scalars (one string to hash)
	cells   sync.Map // statsPath -> *Counter: scalars of records

	// opMu orders a structural op after the scalar changes made before it.
	opMu    sync.Mutex
	dirtyMu sync.Mutex // guards dirty; taken inside a Counter's lock
	dirty   []*Counter
}

type statsPath struct{ collection, record, key string }

// Name is the namespace's name.
func (ns *Namespace) Name() string { return ns.name }

// Enabled is false while weftd has this namespace switched off: calls then record nothing.
func (ns *Namespace) Enabled() bool { return ns.enabled.Load() }

// Counter returns the handle of the number key of the namespace: the cheapest way to count
// (no lookup per increment). The error is an *Error with ErrInvalidArgument for a bad name, or
// ErrStatsFull when this client keeps handles for 100,000 scalars already.
func (ns *Namespace) Counter(key string) (*Counter, error) {
	return ns.counter(statsPath{key: key})
}

// RecordCounter returns the handle of the number key of record record of the map collection
// collection.
func (ns *Namespace) RecordCounter(collection, record, key string) (*Counter, error) {
	return ns.counter(statsPath{collection: collection, record: record, key: key})
}

// Add adds delta to the number key (absent counts as 0). A bad key or a delta that is not
// finite is counted in Stats.Rejected instead.
func (ns *Namespace) Add(key string, delta float64) {
	if !ns.enabled.Load() {
		return
	}
	if c, ok := ns.top.Load(key); ok {
		c.(*Counter).Add(delta)
	} else if c := ns.cellOrCount(statsPath{key: key}); c != nil {
		c.Add(delta)
	}
}

// Inc adds 1 to the number key.
func (ns *Namespace) Inc(key string) { ns.Add(key, 1) }

// AddRecord adds delta to the number key of record record of the map collection collection.
func (ns *Namespace) AddRecord(collection, record, key string, delta float64) {
	if ns.enabled.Load() {
		if c := ns.cellOrCount(statsPath{collection: collection, record: record, key: key}); c != nil {
			c.Add(delta)
		}
	}
}

// Set sets the scalar key: a number, string, bool or nil. The error is an *Error with
// ErrTooDeep for a map or slice (records go into collections with Put or Append),
// ErrNotJSON for NaN or ±Inf, ErrInvalidArgument for a bad key, ErrStatsFull past the bound.
func (ns *Namespace) Set(key string, value any) error {
	return ns.set(statsPath{key: key}, value)
}

// SetRecord sets the scalar key of record record of the map collection collection.
func (ns *Namespace) SetRecord(collection, record, key string, value any) error {
	return ns.set(statsPath{collection: collection, record: record, key: key}, value)
}

// Put replaces record record of the map collection collection (created when absent) with
// fields, which must be scalars.
func (ns *Namespace) Put(collection, record string, fields map[string]any) error {
	if !ns.enabled.Load() {
		return nil
	}
	if err := checkNames(collection, record); err != nil {
		return err
	}
	r, err := recordProto(fields)
	if err != nil {
		return err
	}
	ns.structural(&weftv1.StatsOp{Namespace: ns.name, Op: &weftv1.StatsOp_Put{Put: &weftv1.PutOp{
		Collection: collection, RecordKey: record, Record: r}}})
	return nil
}

// Append appends a record to the list collection collection, which keeps the last maxLen
// records (0: weftd's default, stats.list-max).
func (ns *Namespace) Append(collection string, fields map[string]any, maxLen int) error {
	if !ns.enabled.Load() {
		return nil
	}
	if err := checkNames(collection); err != nil {
		return err
	}
	if maxLen < 0 || maxLen > math.MaxUint32 {
		return invalid(ErrInvalidArgument, "Append: maxLen must be 0 (the daemon's default) or positive, got %d", maxLen)
	}
	r, err := recordProto(fields)
	if err != nil {
		return err
	}
	ns.structural(&weftv1.StatsOp{Namespace: ns.name, Op: &weftv1.StatsOp_Append{Append: &weftv1.AppendOp{
		Collection: collection, Record: r, MaxLen: uint32(maxLen)}}})
	return nil
}

// Remove removes the entry key: a scalar, a derived value or a whole collection.
func (ns *Namespace) Remove(key string) error {
	if !ns.enabled.Load() {
		return nil
	}
	if err := checkNames(key); err != nil {
		return err
	}
	if _, ok := ns.top.LoadAndDelete(key); ok {
		ns.stats.cells.Add(-1)
	}
	ns.structural(&weftv1.StatsOp{Namespace: ns.name, Op: &weftv1.StatsOp_Remove{Remove: &weftv1.RemoveOp{
		Path: &weftv1.StatsPath{Key: key}}}})
	return nil
}

// RemoveRecord removes record record of the map collection collection.
func (ns *Namespace) RemoveRecord(collection, record string) error {
	if !ns.enabled.Load() {
		return nil
	}
	if err := checkNames(collection, record); err != nil {
		return err
	}
	ns.structural(&weftv1.StatsOp{Namespace: ns.name, Op: &weftv1.StatsOp_Remove{Remove: &weftv1.RemoveOp{
		Path: &weftv1.StatsPath{Collection: collection, RecordKey: record}}}})
	return nil
}

// Derive defines key as an expression weftd evaluates when it reports, against the namespace
// (grammar in the README): e.g. "[Important Events] / uptime()", "sum(Table Statistics, Rows)".
// weftd parses it when the op arrives, after this call returned: an expression it refuses
// (ErrBadExpression, with the 1-based "position" of the fault) is counted in Stats.Rejected
// and kept in Stats.LastRejection; the error here is only for a bad name or an empty
// expression.
func (ns *Namespace) Derive(key, expression string) error {
	return ns.DeriveRecord("", key, expression)
}

// DeriveRecord defines key of every record of the collection collection as an expression
// evaluated against that record.
func (ns *Namespace) DeriveRecord(collection, key, expression string) error {
	if !ns.enabled.Load() {
		return nil
	}
	if err := checkNames(key); err != nil {
		return err
	}
	if collection != "" {
		if err := checkNames(collection); err != nil {
			return err
		}
	}
	if expression == "" || !utf8.ValidString(expression) {
		return invalid(ErrBadExpression, "Derive %q: the expression must be non-empty UTF-8", key)
	}
	ns.structural(&weftv1.StatsOp{Namespace: ns.name, Op: &weftv1.StatsOp_Derive{Derive: &weftv1.DeriveOp{
		Collection: collection, Key: key, Expression: expression}}})
	return nil
}

// Counted wraps fn so that each call adds 1 to the number key first (SuPPort's counted). A
// bad key is counted in Stats.Rejected on each call.
func (ns *Namespace) Counted(key string, fn func()) func() {
	return func() {
		ns.Inc(key)
		fn()
	}
}

// CountedFunc wraps fn so that each call adds 1 to the number key of ns first.
func CountedFunc[A, R any](ns *Namespace, key string, fn func(A) R) func(A) R {
	return func(a A) R {
		ns.Inc(key)
		return fn(a)
	}
}

func (ns *Namespace) set(p statsPath, value any) error {
	if !ns.enabled.Load() {
		return nil
	}
	v, err := scalarProto(p.key, value)
	if err != nil {
		return err
	}
	c, err := ns.counter(p)
	if err != nil {
		return err
	}
	c.set(v)
	return nil
}

// structural queues op behind every scalar change of this namespace made before it.
func (ns *Namespace) structural(op *weftv1.StatsOp) {
	ns.opMu.Lock()
	defer ns.opMu.Unlock()
	ns.drainCellsLocked(ns.stats.enqueue)
	ns.stats.enqueue(op)
}

// drainCells moves every pending scalar change into out, as ops.
func (ns *Namespace) drainCells(out func(*weftv1.StatsOp)) {
	ns.opMu.Lock()
	defer ns.opMu.Unlock()
	ns.drainCellsLocked(out)
}

func (ns *Namespace) drainCellsLocked(out func(*weftv1.StatsOp)) {
	ns.dirtyMu.Lock()
	dirty := ns.dirty
	ns.dirty = nil
	ns.dirtyMu.Unlock()
	for _, c := range dirty {
		c.drainTo(out)
	}
}

func (ns *Namespace) markDirty(c *Counter) {
	ns.dirtyMu.Lock()
	ns.dirty = append(ns.dirty, c)
	ns.dirtyMu.Unlock()
}

// cellOrCount is the counter of p, or nil after counting why there is none.
func (ns *Namespace) cellOrCount(p statsPath) *Counter {
	c, err := ns.counter(p)
	if err != nil {
		if e := err.(*Error); e.Reason == ErrStatsFull {
			ns.stats.dropped.Add(1)
		} else {
			ns.stats.rejectLocally(e)
		}
		return nil
	}
	return c
}

func (ns *Namespace) counter(p statsPath) (*Counter, error) {
	cells := &ns.cells
	var k any = p
	if p.collection == "" && p.record == "" {
		cells, k = &ns.top, p.key
	}
	if c, ok := cells.Load(k); ok {
		return c.(*Counter), nil
	}
	if err := checkNames(p.key); err != nil {
		return nil, err
	}
	if p.collection != "" || p.record != "" {
		if err := checkNames(p.collection, p.record); err != nil {
			return nil, err
		}
	}
	if ns.stats.cells.Add(1) > maxStatsCells {
		ns.stats.cells.Add(-1)
		return nil, &Error{Reason: ErrStatsFull, Message: "this client keeps 100,000 statistics scalars already"}
	}
	c := &Counter{ns: ns, path: &weftv1.StatsPath{Key: p.key, Collection: p.collection, RecordKey: p.record}}
	actual, loaded := cells.LoadOrStore(k, c)
	if loaded {
		ns.stats.cells.Add(-1)
	}
	return actual.(*Counter), nil
}

func checkNames(names ...string) error {
	for _, n := range names {
		if !validStatsName(n) {
			return invalid(ErrInvalidArgument, "a statistics name is 1 to %d bytes without control characters: %q", maxStatsNameBytes, n)
		}
	}
	return nil
}

// Counter is the handle of one number of a namespace (Namespace.Counter): adds are summed
// locally and a Set replaces what came before, so any number of changes between two sends
// cost one op on the wire. Does nothing while the namespace is switched off. Safe for
// concurrent use.
type Counter struct {
	ns   *Namespace
	path *weftv1.StatsPath

	mu       sync.Mutex
	delta    float64
	added    bool
	setValue *structpb.Value
	isDirty  bool
}

// Inc adds 1.
func (c *Counter) Inc() { c.Add(1) }

// Add adds delta (which may be negative). A delta that is not finite is counted in
// Stats.Rejected instead.
func (c *Counter) Add(delta float64) {
	if !c.ns.enabled.Load() {
		return
	}
	if math.IsNaN(delta) || math.IsInf(delta, 0) {
		c.ns.stats.rejectLocally(invalid(ErrNotJSON, "Add %q: %v is not a JSON number", c.path.GetKey(), delta))
		return
	}
	c.mu.Lock()
	if c.setValue != nil {
		if n, ok := c.setValue.GetKind().(*structpb.Value_NumberValue); ok {
			c.setValue = structpb.NewNumberValue(n.NumberValue + delta)
		} else {
			c.delta += delta // weftd refuses adding to a string: counted there
			c.added = true
		}
	} else {
		c.delta += delta
		c.added = true
	}
	c.markDirtyLocked()
	c.mu.Unlock()
}

func (c *Counter) set(v *structpb.Value) {
	c.mu.Lock()
	c.setValue, c.delta, c.added = v, 0, false
	c.markDirtyLocked()
	c.mu.Unlock()
}

// markDirtyLocked queues the counter for the next drain of its namespace, once per drain.
func (c *Counter) markDirtyLocked() {
	if !c.isDirty {
		c.isDirty = true
		c.ns.markDirty(c)
	}
}

// drainTo moves the pending changes into out as ops and forgets them.
func (c *Counter) drainTo(out func(*weftv1.StatsOp)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.isDirty = false
	if c.setValue != nil {
		out(&weftv1.StatsOp{Namespace: c.ns.name, Op: &weftv1.StatsOp_Set{Set: &weftv1.SetOp{Path: c.path, Value: c.setValue}}})
		c.setValue = nil
	}
	if c.added {
		out(&weftv1.StatsOp{Namespace: c.ns.name, Op: &weftv1.StatsOp_Add{Add: &weftv1.AddOp{Path: c.path, Delta: c.delta}}})
		c.delta, c.added = 0, false
	}
}
