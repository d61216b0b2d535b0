package weft

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	weftv1 "github.com/weft-dev/weft/sdk-go/internal/gen/weft/v1"
	"google.golang.org/protobuf/types/known/structpb"
)

// Stats is this client's statistics (DESIGN §7), from Client.Stats: namespaces of counters,
// scalars, collections of records and derived values that weftd keeps and reports
// (StatsService.Snapshot, /stats.json, /metrics, the dashboard).
//
// Recording never blocks and never fails because weftd is absent or slow. Add and Set on one
// scalar are coalesced locally (any number of increments between two sends cost one op on the
// wire); Put, Append, Remove and Derive are queued. One background goroutine sends what changed
// every WithStatsInterval on one StatsService.Record stream, and follows
// StatsService.WatchEnabled so that a namespace switched off costs no work. Everything is
// bounded: queued ops (WithStatsQueueCapacity, newest dropped when full), namespaces (10,000),
// scalars kept (100,000), batches sent and not yet acknowledged (64 of at most 4,096 ops);
// every loss is counted in Dropped.
type Stats struct {
	stub     weftv1.StatsServiceClient
	clientID string
	cfg      *config

	mu         sync.Mutex // guards namespaces and switches
	namespaces map[string]*Namespace
	switches   map[string]bool
	cells      atomic.Int64 // scalars kept, over every namespace

	queueMu  sync.Mutex // guards queue
	queue    []*weftv1.StatsOp
	queueCap int

	dropped  atomic.Uint64
	rejected atomic.Uint64
	sent     atomic.Uint64
	lastRej  atomic.Pointer[Error]

	wake    chan struct{}
	flushes chan chan error
	closing chan struct{}
	done    chan struct{}
	rootCtx context.Context
	cancel  context.CancelFunc
	stop    sync.Once

	// The worker's own state.
	stream  *statsStream
	pending []*weftv1.StatsOp
	unacked []sentBatch
	waiting []waitingFlush
	// retryFlushes waited on a stream that broke without losing anything: they wait again.
	retryFlushes []chan error
	seq          uint64
}

const (
	// maxStatsBatchOps bounds the ops of one Record message.
	maxStatsBatchOps = 4096
	// maxStatsUnacked bounds the batches sent and not yet acknowledged.
	maxStatsUnacked = 64
	// maxStatsCells bounds the scalars (counters) one client keeps handles for; past it,
	// Add and Set on a new scalar are dropped and counted.
	maxStatsCells = 100_000
	// maxStatsNamespaces bounds the namespaces one client keeps (and the switches it follows).
	maxStatsNamespaces = 10_000
	// maxStatsNameBytes is weftd's limit for namespace, entry, collection and record names.
	maxStatsNameBytes = 200
	// maxStatsFlushes bounds the flushes waiting at once.
	maxStatsFlushes = 64
)

type sentBatch struct {
	seq uint64
	ops int
}

type waitingFlush struct {
	result chan error
	target uint64
}

// statsStream is one Record stream and what its receiver learnt.
type statsStream struct {
	s      weftv1.StatsService_RecordClient
	cancel context.CancelFunc
	acked  atomic.Uint64
	broken atomic.Bool
}

// Stats returns the client's statistics, starting their background goroutines on first use.
// After Close they record nothing (every op counts in Dropped).
func (c *Client) Stats() *Stats {
	c.serversMu.Lock()
	defer c.serversMu.Unlock()
	if c.stats != nil {
		return c.stats
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Stats{
		stub:       weftv1.NewStatsServiceClient(c.conn),
		clientID:   c.clientID,
		cfg:        &c.cfg,
		namespaces: map[string]*Namespace{},
		switches:   map[string]bool{},
		queueCap:   c.cfg.statsQueueCap,
		wake:       make(chan struct{}, 1),
		flushes:    make(chan chan error, maxStatsFlushes),
		closing:    make(chan struct{}),
		done:       make(chan struct{}),
		rootCtx:    ctx,
		cancel:     cancel,
	}
	c.stats = s
	if c.closed {
		s.stop.Do(func() {
			close(s.closing)
			close(s.done)
			cancel()
		})
		return s
	}
	go s.run()
	go s.watchEnabled()
	return s
}

// Namespace returns the namespace name (1 to 200 bytes of UTF-8 without control characters),
// created on first use. The error is an *Error with ErrInvalidArgument for a bad name, or
// ErrStatsFull when this client has 10,000 namespaces already.
func (s *Stats) Namespace(name string) (*Namespace, error) {
	if !validStatsName(name) {
		return nil, invalid(ErrInvalidArgument, "a namespace name is 1 to %d bytes without control characters: %q", maxStatsNameBytes, name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ns, ok := s.namespaces[name]
	if !ok {
		if len(s.namespaces) >= maxStatsNamespaces {
			return nil, &Error{Reason: ErrStatsFull, Message: fmt.Sprintf("this client has %d statistics namespaces already", maxStatsNamespaces)}
		}
		ns = &Namespace{stats: s, name: name}
		on, known := s.switches[name]
		ns.enabled.Store(!known || on)
		s.namespaces[name] = ns
	}
	return ns, nil
}

// Flush sends everything recorded before it and waits until weftd has applied it (or refused
// it: see Rejected). It returns an *Error with ErrDeadlineExceeded or ErrCancelled (wrapping
// ctx.Err()) when ctx ends first (weftd absent or slow), ErrFlushIncomplete when a broken
// stream lost ops that had been sent, ErrTooManyFlushes when 64 flushes wait already, and
// ErrClosed after Close.
func (s *Stats) Flush(ctx context.Context) error {
	closed := &Error{Reason: ErrClosed, Message: "stats flush: the client is closed"}
	if s.isClosing() {
		return closed
	}
	result := make(chan error, 1)
	select {
	case s.flushes <- result:
	default:
		return &Error{Reason: ErrTooManyFlushes, Message: fmt.Sprintf("stats flush: %d flushes wait already", maxStatsFlushes)}
	}
	s.signal()
	select {
	case err := <-result:
		return err
	case <-ctx.Done():
		return contextError(ctx, "stats flush")
	case <-s.done:
		select {
		case err := <-result:
			return err
		default:
			return closed
		}
	}
}

// Dropped counts ops lost: the queue or the scalar bound was full, the client was closed, weftd's
// queue was full, or a stream broke before weftd acknowledged them.
func (s *Stats) Dropped() uint64 { return s.dropped.Load() }

// Rejected counts ops refused: by weftd (a bad Derive expression, a conflict such as Add to a
// string, a bound reached; each logged at debug level, the last one kept in LastRejection) or by
// this client (a bad name or a non-finite number given to Add).
func (s *Stats) Rejected() uint64 { return s.rejected.Load() }

// LastRejection is the most recent refusal counted in Rejected, as an *Error with weftd's reason
// (e.g. ErrBadExpression, with Metadata "position" for an expression) and description; nil
// when there was none.
func (s *Stats) LastRejection() error {
	if e := s.lastRej.Load(); e != nil {
		return e
	}
	return nil
}

// Sent counts ops sent to weftd (after coalescing).
func (s *Stats) Sent() uint64 { return s.sent.Load() }

// SetEnabled switches collection of a namespace on or off in weftd (creating it there when
// absent) and returns the previous switch. Every client following WatchEnabled, this one
// included, then records nothing for it (or records again).
func (s *Stats) SetEnabled(ctx context.Context, namespace string, enabled bool) (bool, error) {
	if !validStatsName(namespace) {
		return false, invalid(ErrInvalidArgument, "a namespace name is 1 to %d bytes without control characters: %q", maxStatsNameBytes, namespace)
	}
	ctx, cancel := withDefaultTimeout(ctx, s.cfg.callTimeout)
	defer cancel()
	r, err := s.stub.SetEnabled(ctx, &weftv1.SetEnabledRequest{Namespace: namespace, Enabled: enabled})
	if err != nil {
		return false, fromRPC(ctx, err)
	}
	return r.GetWasEnabled(), nil
}

// StatsReport is weftd's statistics report (StatsService.Snapshot).
type StatsReport struct {
	// Namespaces maps a namespace to its entries: scalars (float64, string, bool, nil),
	// collections (map[string]any of records, or []any of records), evaluated derived values,
	// and "Enabled".
	Namespaces map[string]map[string]any
	// Errors are the derived values that could not be evaluated (reported as nil).
	Errors []DerivedError
	// Time is when weftd made the report.
	Time time.Time
}

// DerivedError is a derived value weftd could not evaluate.
type DerivedError struct {
	Namespace, Collection, Record, Key, Expression, Error string
}

// Snapshot returns weftd's report of the namespaces named (all when none are).
func (s *Stats) Snapshot(ctx context.Context, namespaces ...string) (*StatsReport, error) {
	ctx, cancel := withDefaultTimeout(ctx, s.cfg.callTimeout)
	defer cancel()
	r, err := s.stub.Snapshot(ctx, &weftv1.SnapshotRequest{Namespaces: namespaces})
	if err != nil {
		return nil, fromRPC(ctx, err)
	}
	report := &StatsReport{Namespaces: map[string]map[string]any{}, Time: unixNanos(r.GetTimeUnixNanos())}
	for name, v := range r.GetNamespaces().GetFields() {
		report.Namespaces[name] = v.GetStructValue().AsMap()
	}
	for _, e := range r.GetErrors() {
		report.Errors = append(report.Errors, DerivedError{e.GetNamespace(), e.GetCollection(), e.GetRecord(),
			e.GetKey(), e.GetExpression(), e.GetError()})
	}
	return report, nil
}

// close stops the goroutines, first flushing for at most wait (when positive).
func (s *Stats) close(wait time.Duration) {
	s.stop.Do(func() {
		if wait > 0 {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			_ = s.Flush(ctx)
			cancel()
		}
		close(s.closing)
		s.cancel()
		<-s.done
	})
}

func (s *Stats) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// enqueue queues a structural op, or drops and counts it when the queue is full or closed.
func (s *Stats) enqueue(op *weftv1.StatsOp) {
	s.queueMu.Lock()
	full := len(s.queue) >= s.queueCap || s.isClosing()
	if !full {
		s.queue = append(s.queue, op)
	}
	n := len(s.queue)
	s.queueMu.Unlock()
	if full {
		s.dropped.Add(1)
	} else if n >= maxStatsBatchOps {
		s.signal()
	}
}

func (s *Stats) isClosing() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}

// rejectLocally counts an op refused by this client.
func (s *Stats) rejectLocally(e *Error) {
	s.rejected.Add(1)
	s.lastRej.Store(e)
	s.cfg.logger.Debug("weft: stats op refused", "reason", string(e.Reason), "error", e.Message)
}

// ---------------------------------------------------------------- worker

func (s *Stats) run() {
	defer close(s.done)
	ticker := time.NewTicker(s.cfg.statsInterval)
	defer ticker.Stop()
	backoff := s.cfg.initialBackoff
	retryAt := time.Time{}
	for {
		newFlushes := s.retryFlushes
		s.retryFlushes = nil
		select {
		case <-s.closing:
			s.shutdown()
			return
		case <-ticker.C:
		case <-s.wake:
		}
		for more := true; more; {
			select {
			case f := <-s.flushes:
				newFlushes = append(newFlushes, f)
			default:
				more = false
			}
		}
		now := time.Now()
		if s.stream != nil && s.stream.broken.Load() {
			s.onBroken()
			retryAt = now.Add(backoff)
			backoff = min(2*backoff, s.cfg.maxBackoff)
		}
		if s.stream == nil && !now.Before(retryAt) {
			if !s.open() {
				retryAt = now.Add(backoff)
				backoff = min(2*backoff, s.cfg.maxBackoff)
			}
		} else if s.stream != nil && s.stream.acked.Load() > 0 {
			backoff = s.cfg.initialBackoff
		}
		s.collect()
		s.send()
		target := s.seq + uint64((len(s.pending)+maxStatsBatchOps-1)/maxStatsBatchOps)
		for _, f := range newFlushes {
			s.waiting = append(s.waiting, waitingFlush{result: f, target: target})
		}
		s.completeFlushes()
	}
}

// collect moves queued ops, then each namespace's coalesced scalars, into pending. A scalar
// change made before a queued op of its namespace was queued ahead of it (Namespace.structural),
// so each namespace keeps its order.
func (s *Stats) collect() {
	if len(s.pending) >= 4*maxStatsBatchOps {
		return
	}
	s.queueMu.Lock()
	s.pending = append(s.pending, s.queue...)
	clear(s.queue)
	s.queue = s.queue[:0]
	s.queueMu.Unlock()
	s.mu.Lock()
	namespaces := make([]*Namespace, 0, len(s.namespaces))
	for _, ns := range s.namespaces {
		namespaces = append(namespaces, ns)
	}
	s.mu.Unlock()
	for _, ns := range namespaces {
		ns.drainCells(func(op *weftv1.StatsOp) { s.pending = append(s.pending, op) })
	}
}

func (s *Stats) send() {
	st := s.stream
	if st == nil || st.broken.Load() {
		return
	}
	from := 0
	for from < len(s.pending) && len(s.unacked) < maxStatsUnacked {
		to := min(len(s.pending), from+maxStatsBatchOps)
		s.seq++
		req := &weftv1.RecordRequest{BatchSeq: s.seq, Ops: s.pending[from:to]}
		if s.seq == 1 {
			req.ClientId = s.clientID
		}
		if err := st.s.Send(req); err != nil {
			// The ops of this batch never left: they are sent again on the next stream.
			s.seq--
			st.broken.Store(true)
			break
		}
		s.unacked = append(s.unacked, sentBatch{seq: s.seq, ops: to - from})
		s.sent.Add(uint64(to - from))
		from = to
	}
	clear(s.pending[:from])
	s.pending = append(s.pending[:0], s.pending[from:]...)
}

func (s *Stats) completeFlushes() {
	var acked uint64
	if s.stream != nil {
		acked = s.stream.acked.Load()
	}
	i := 0
	for i < len(s.unacked) && s.unacked[i].seq <= acked {
		i++
	}
	s.unacked = append(s.unacked[:0], s.unacked[i:]...)
	kept := s.waiting[:0]
	for _, w := range s.waiting {
		if w.target <= acked {
			w.result <- nil
		} else {
			kept = append(kept, w)
		}
	}
	clear(s.waiting[len(kept):])
	s.waiting = kept
}

// open starts a Record stream and its receiver; false when it could not.
func (s *Stats) open() bool {
	ctx, cancel := context.WithCancel(s.rootCtx)
	stream, err := s.stub.Record(ctx)
	if err != nil {
		cancel()
		s.cfg.logger.Debug("weft: stats stream not opened", "error", err)
		return false
	}
	st := &statsStream{s: stream, cancel: cancel}
	s.stream, s.seq = st, 0
	go s.receive(st)
	return true
}

// receive reads the acks of one stream; the counts in them are cumulative per stream.
func (s *Stats) receive(st *statsStream) {
	var seenRejected, seenDropped uint64
	for {
		r, err := st.s.Recv()
		if err != nil {
			st.broken.Store(true)
			s.signal()
			return
		}
		for _, rej := range r.GetRejections() {
			e := &Error{Reason: Reason(strings.TrimPrefix(rej.GetReason().String(), "ERROR_REASON_")), Message: rej.GetDescription()}
			if rej.GetPosition() > 0 {
				e.Metadata = map[string]string{"position": fmt.Sprint(rej.GetPosition())}
			}
			s.lastRej.Store(e)
			s.cfg.logger.Debug("weft: stats op refused by weftd", "reason", string(e.Reason), "error", e.Message)
		}
		s.rejected.Add(r.GetRejected() - seenRejected)
		seenRejected = r.GetRejected()
		s.dropped.Add(r.GetDropped() - seenDropped)
		seenDropped = r.GetDropped()
		st.acked.Store(r.GetLastBatchSeq())
		s.signal()
	}
}

// onBroken forgets a broken stream. What it did not acknowledge is counted as lost (weftd may
// or may not have applied it); waiting flushes fail when something was lost, else they wait
// for the next stream (whose batch numbers start again).
func (s *Stats) onBroken() {
	acked := s.stream.acked.Load()
	lost := 0
	for _, b := range s.unacked {
		if b.seq > acked {
			lost += b.ops
		}
	}
	s.dropped.Add(uint64(lost))
	s.unacked = s.unacked[:0]
	for _, w := range s.waiting {
		if lost > 0 {
			w.result <- &Error{Reason: ErrFlushIncomplete, Message: fmt.Sprintf("the stats stream broke; %d ops sent were not acknowledged", lost)}
		} else {
			s.retryFlushes = append(s.retryFlushes, w.result)
		}
	}
	clear(s.waiting)
	s.waiting = s.waiting[:0]
	s.seq = 0
	s.stream.cancel()
	s.stream = nil
}

// shutdown ends the stream; what was not sent is counted as dropped, waiting flushes fail.
func (s *Stats) shutdown() {
	s.queueMu.Lock()
	s.dropped.Add(uint64(len(s.queue) + len(s.pending)))
	s.queue = nil
	s.queueMu.Unlock()
	for _, w := range s.waiting {
		w.result <- &Error{Reason: ErrClosed, Message: "stats flush: the client closed first"}
	}
	for _, f := range s.retryFlushes {
		f <- &Error{Reason: ErrClosed, Message: "stats flush: the client closed first"}
	}
	for more := true; more; {
		select {
		case f := <-s.flushes:
			f <- &Error{Reason: ErrClosed, Message: "stats flush: the client closed first"}
		default:
			more = false
		}
	}
	if s.stream != nil {
		_ = s.stream.s.CloseSend()
		s.stream.cancel()
	}
}

// watchEnabled follows every namespace's switch until the client closes. A (re)started watch
// first receives every switch weftd knows; namespaces it does not know (a restarted daemon)
// collect again.
func (s *Stats) watchEnabled() {
	backoff := s.cfg.initialBackoff
	for {
		started := time.Now()
		s.followSwitches()
		if time.Since(started) > 10*time.Second {
			backoff = s.cfg.initialBackoff
		}
		timer := time.NewTimer(backoff)
		select {
		case <-s.closing:
			timer.Stop()
			return
		case <-timer.C:
		}
		backoff = min(2*backoff, s.cfg.maxBackoff)
	}
}

func (s *Stats) followSwitches() {
	stream, err := s.stub.WatchEnabled(s.rootCtx, &weftv1.WatchEnabledRequest{})
	if err != nil {
		return
	}
	s.mu.Lock()
	clear(s.switches)
	for _, ns := range s.namespaces {
		ns.enabled.Store(true)
	}
	s.mu.Unlock()
	for {
		r, err := stream.Recv()
		if err != nil {
			return
		}
		s.mu.Lock()
		if _, known := s.switches[r.GetNamespace()]; known || len(s.switches) < maxStatsNamespaces {
			s.switches[r.GetNamespace()] = r.GetEnabled()
		}
		if ns, ok := s.namespaces[r.GetNamespace()]; ok {
			ns.enabled.Store(r.GetEnabled())
		}
		s.mu.Unlock()
	}
}

func validStatsName(name string) bool {
	return name != "" && len(name) <= maxStatsNameBytes && utf8.ValidString(name) && !hasControl(name)
}

// withDefaultTimeout bounds a unary call by timeout when ctx has no deadline of its own.
func withDefaultTimeout(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, timeout)
}

// scalarProto converts a statistic's value: a number, string, bool or nil.
func scalarProto(key string, v any) (*structpb.Value, error) {
	val, err := toValue(v)
	if err != nil {
		return nil, err
	}
	if val.kind == kindNested {
		return nil, invalid(ErrTooDeep, "%q: a statistic is a scalar; records go into collections with Put or Append", key)
	}
	return val.proto(), nil
}

// recordProto converts a record: named scalars (a struct or list would be a 5th level).
func recordProto(record map[string]any) (*structpb.Struct, error) {
	fields := make(map[string]*structpb.Value, len(record))
	for k, v := range record {
		val, err := toValue(v)
		if err != nil {
			return nil, err
		}
		if val.kind == kindNested {
			return nil, invalid(ErrTooDeep, "statistics have 4 levels (namespace, collection, record, value): %q would be a 5th", k)
		}
		fields[k] = val.proto()
	}
	return &structpb.Struct{Fields: fields}, nil
}
