package weft

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	weftv1 "github.com/weft-dev/weft/sdk-go/internal/gen/weft/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
)

// publisher drains the eventBuffer into batches on one ContextService.Publish stream.
//
// Single writer: one goroutine (run) owns the stream and all the state below the "worker only"
// line. The stream's receiving goroutine and Flush callers reach it through a small inbox and
// a bounded channel, never by touching that state.
//
//   - Acknowledgement: a batch stays in unacked until an ack's cumulative last_batch_seq
//     covers it; only then is its room in the buffer given back.
//   - Reconnect: when the stream breaks (or never starts: no daemon) the unacknowledged
//     batches and flush markers go back, in order, in front of anything newer and are sent
//     again on the next stream, after a backoff doubling from the initial to the maximum
//     delay. Resending is safe: weftd drops events whose per-object seq it has seen.
//   - Flow control: gRPC's SendMsg blocks the worker (never the application) while the
//     daemon's window is full; events wait in the bounded buffer meanwhile.
type publisher struct {
	buf            *eventBuffer
	client         weftv1.ContextServiceClient
	clientID       string
	target         string
	maxBatchEvents int
	maxEventBytes  int
	initialBackoff time.Duration
	maxBackoff     time.Duration
	log            *slog.Logger
	codec          publishCodec

	// flushes carries Flush requests to the worker; bounded, callers wait for room.
	flushes         chan *flushMarker
	tokens          atomic.Uint64
	rejected        atomic.Uint64
	droppedByDaemon atomic.Uint64

	rootCtx  context.Context
	cancel   context.CancelFunc
	closing  chan struct{}
	done     chan struct{}
	stopOnce sync.Once

	// The inbox holds what receiving goroutines report. It stays small: consecutive acks of a
	// stream merge (they are cumulative), and flush results are bounded by the flush markers
	// in flight.
	inboxMu sync.Mutex
	inbox   []signal

	// Worker only.
	batchBytes  int // the size of the last batch: the next one's initial capacity
	stream      *pubStream
	toSend      []outgoing
	unacked     []outgoing
	backoff     time.Duration
	nextAttempt time.Time
	outage      bool
	enc         encoder
}

const (
	// maxPendingFlushes bounds Flush requests waiting for the worker to pick them up.
	maxPendingFlushes = 64
	// closeGrace is how long Close lets the worker end its stream cleanly before cancelling it.
	closeGrace = 300 * time.Millisecond
)

// outgoing is what goes out on the stream, in order: a batch of events or a flush marker.
type outgoing struct {
	batch *batch
	flush *flushMarker
}

// batch is encoded events (PublishRequest.events elements), kept until acknowledged.
type batch struct {
	data   []byte
	events int
	seq    uint64 // the batch_seq on the stream it was last sent on
}

type flushOutcome int

const (
	flushComplete flushOutcome = iota
	flushIncomplete
	flushClosed
)

// flushMarker is one Flush call: a token sent after everything published before it.
type flushMarker struct {
	token     uint64
	result    chan flushOutcome // capacity 1, written once
	abandoned atomic.Bool       // the caller stopped waiting: nothing to send
}

func (m *flushMarker) complete(o flushOutcome) {
	select {
	case m.result <- o:
	default:
	}
}

// signal is news from a stream's receiving goroutine.
type signal struct {
	stream        *pubStream
	broken        error // non-nil: the stream ended
	lastBatchSeq  uint64
	flushedToken  uint64
	flushComplete bool
}

// pubStream is one Publish stream. The counters belong to its receiving goroutine; the rest
// to the worker.
type pubStream struct {
	s           grpc.BidiStreamingClient[weftv1.PublishRequest, weftv1.PublishResponse]
	cancel      context.CancelFunc
	started     time.Time
	received    chan struct{} // closed when the receiving goroutine ends
	helloSent   bool
	batchSeq    uint64
	sawResponse bool
	rejected    uint64 // receiver only
	dropped     uint64 // receiver only
}

func newPublisher(cfg *config, buf *eventBuffer, conn *grpc.ClientConn, clientID, target string) *publisher {
	ctx, cancel := context.WithCancel(context.Background())
	return &publisher{
		buf:            buf,
		client:         weftv1.NewContextServiceClient(conn),
		clientID:       clientID,
		target:         target,
		maxBatchEvents: cfg.maxBatchEvents,
		maxEventBytes:  cfg.maxEventBytes,
		initialBackoff: cfg.initialBackoff,
		maxBackoff:     cfg.maxBackoff,
		log:            cfg.logger,
		codec:          newPublishCodec(),
		flushes:        make(chan *flushMarker, maxPendingFlushes),
		rootCtx:        ctx,
		cancel:         cancel,
		closing:        make(chan struct{}),
		done:           make(chan struct{}),
	}
}

func (p *publisher) start() {
	p.nextAttempt = time.Now()
	go p.run()
}

// flush waits until every event offered before it reached every sink of the daemon.
func (p *publisher) flush(ctx context.Context) error {
	if p.buf.closed.Load() {
		return &Error{Reason: ErrClosed, Message: "flush: the client is closed"}
	}
	m := &flushMarker{token: p.tokens.Add(1), result: make(chan flushOutcome, 1)}
	select {
	case p.flushes <- m:
	case <-ctx.Done():
		return contextError(ctx, "flush")
	case <-p.done:
		return &Error{Reason: ErrClosed, Message: "flush: the client is closed"}
	}
	select {
	case o := <-m.result:
		return flushError(o)
	case <-ctx.Done():
		m.abandoned.Store(true)
		return contextError(ctx, "flush")
	case <-p.done:
		select {
		case o := <-m.result:
			return flushError(o)
		default:
			return flushError(flushClosed)
		}
	}
}

func flushError(o flushOutcome) error {
	switch o {
	case flushComplete:
		return nil
	case flushIncomplete:
		return &Error{Reason: ErrFlushIncomplete, Message: "weftd could not deliver everything to its sinks in time"}
	}
	return &Error{Reason: ErrClosed, Message: "flush: the client closed first"}
}

// stop ends the worker: it half-closes its stream; what was not delivered is abandoned and
// waiting flushes fail with ErrClosed.
func (p *publisher) stop() {
	p.stopOnce.Do(func() {
		p.buf.closed.Store(true)
		close(p.closing)
		select {
		case <-p.done:
		case <-time.After(closeGrace):
		}
		p.cancel() // unblocks a worker stuck in SendMsg or a stream that will not end
		<-p.done
	})
}

func (p *publisher) post(s signal) {
	p.inboxMu.Lock()
	if n := len(p.inbox); n > 0 && s.broken == nil && s.flushedToken == 0 {
		if last := &p.inbox[n-1]; last.stream == s.stream && last.broken == nil && last.flushedToken == 0 {
			last.lastBatchSeq = max(last.lastBatchSeq, s.lastBatchSeq)
			p.inboxMu.Unlock()
			return
		}
	}
	p.inbox = append(p.inbox, s)
	p.inboxMu.Unlock()
	p.buf.signal()
}

// ---------------------------------------------------------------- worker

func (p *publisher) run() {
	defer close(p.done)
	defer p.shutdown()
	for {
		if p.stream == nil {
			if !p.waitToConnect() {
				return
			}
			p.open()
			continue
		}
		if !p.pump() {
			return
		}
	}
}

// waitToConnect waits out the backoff, queuing flushes meanwhile; false when closing.
func (p *publisher) waitToConnect() bool {
	wait := time.Until(p.nextAttempt)
	if wait <= 0 {
		return !p.isClosing()
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
			return true
		case m := <-p.flushes:
			p.queueFlush(m)
		case <-p.buf.wake:
			p.drainInbox() // late news from streams already given up
		case <-p.closing:
			return false
		}
	}
}

func (p *publisher) isClosing() bool {
	select {
	case <-p.closing:
		return true
	default:
		return false
	}
}

func (p *publisher) open() {
	ctx, cancel := context.WithCancel(p.rootCtx)
	started := time.Now()
	s, err := p.client.Publish(ctx, grpc.ForceCodecV2(p.codec))
	if err != nil {
		cancel()
		p.failed(started, false, err)
		return
	}
	ps := &pubStream{s: s, cancel: cancel, started: started, received: make(chan struct{})}
	p.stream = ps
	go p.receive(ps)
}

// pump does one unit of work on a live stream; false when closing.
func (p *publisher) pump() bool {
	p.drainInbox()
	if p.stream == nil {
		return true
	}
	if len(p.toSend) > 0 {
		o := p.toSend[0]
		p.toSend[0] = outgoing{}
		p.toSend = p.toSend[1:]
		p.send(o)
		return true
	}
	var e event
	if !p.buf.poll(&e) {
		// Nothing queued: sleep until a producer, a receiver, a flush or Close wakes us.
		p.buf.sleeping.Store(true)
		if !p.buf.poll(&e) {
			select {
			case <-p.buf.wake:
			case m := <-p.flushes:
				p.queueFlush(m)
			case <-p.closing:
				p.buf.sleeping.Store(false)
				return false
			}
			p.buf.sleeping.Store(false)
			return true
		}
		p.buf.sleeping.Store(false)
	}
	if b := p.batchFrom(&e); b != nil {
		p.send(outgoing{batch: b})
	}
	return true
}

// batchFrom encodes first and whatever else is queued, up to the batch limits; nil when every
// event was too large.
func (p *publisher) batchFrom(first *event) *batch {
	data := make([]byte, 0, max(4096, min(p.batchBytes+p.batchBytes/4, maxBatchBytes+p.maxEventBytes)))
	n := 0
	e := first
	var next event
	for {
		var size int
		var err error
		data, size, err = p.enc.appendEvent(data, e)
		switch {
		case err != nil:
			p.discard(e, "cannot be encoded: "+err.Error())
		case size > p.maxEventBytes:
			data = data[:len(data)-size-sizeOfEventPrefix(size)]
			p.discard(e, "is larger than the limit (EVENT_TOO_LARGE)")
		default:
			n++
		}
		if n >= p.maxBatchEvents || len(data) >= maxBatchBytes {
			break
		}
		if !p.buf.poll(&next) {
			break
		}
		e = &next
	}
	if n == 0 {
		return nil
	}
	p.batchBytes = len(data)
	return &batch{data: data, events: n}
}

func (p *publisher) discard(e *event, why string) {
	p.buf.release(1)
	p.rejected.Add(1)
	p.log.Debug("weft: event not sent", "id", e.obj.id, "seq", e.seq, "why", why)
}

// queueFlush puts everything offered before the flush in front of its marker.
func (p *publisher) queueFlush(m *flushMarker) {
	if m.abandoned.Load() {
		return
	}
	kept := p.toSend[:0]
	for _, o := range p.toSend {
		if o.flush == nil || !o.flush.abandoned.Load() {
			kept = append(kept, o)
		}
	}
	clear(p.toSend[len(kept):])
	p.toSend = kept
	for e := (event{}); p.buf.poll(&e); {
		if b := p.batchFrom(&e); b != nil {
			p.toSend = append(p.toSend, outgoing{batch: b})
		}
	}
	p.toSend = append(p.toSend, outgoing{flush: m})
}

func (p *publisher) send(o outgoing) {
	if o.flush != nil && o.flush.abandoned.Load() {
		return // its caller gave up: nothing to send
	}
	s := p.stream
	var header []byte
	if !s.helloSent {
		header = appendString(header, requestClientID, p.clientID) // read from the first message only
		s.helloSent = true
	}
	req := &rawRequest{}
	if o.batch != nil {
		s.batchSeq++
		o.batch.seq = s.batchSeq
		req.events = o.batch.data
		header = appendRequestHeader(header, "", s.batchSeq, 0)
	} else {
		// Repeat the last batch_seq: a message without events must not move the ack's
		// cumulative last_batch_seq back.
		header = appendRequestHeader(header, "", s.batchSeq, o.flush.token)
	}
	req.header = header
	p.unacked = append(p.unacked, o) // first: if the write fails, broken() requeues it
	if err := s.s.SendMsg(req); err != nil {
		p.broken(s, err)
	}
}

func (p *publisher) drainInbox() {
	p.inboxMu.Lock()
	signals := p.inbox
	p.inbox = nil
	p.inboxMu.Unlock()
	for _, sig := range signals {
		switch {
		case sig.stream != p.stream:
			// late news from a stream already given up
		case sig.broken != nil:
			p.broken(sig.stream, sig.broken)
		default:
			p.acked(sig)
		}
	}
}

func (p *publisher) acked(sig signal) {
	s := sig.stream
	if !s.sawResponse && p.outage {
		p.log.Info("weft: connected to weftd", "address", p.target)
		p.outage = false
	}
	s.sawResponse = true
	kept := p.unacked[:0]
	covered := true
	for _, o := range p.unacked {
		if o.batch != nil && covered {
			if o.batch.seq <= sig.lastBatchSeq {
				p.buf.release(o.batch.events)
				continue
			}
			covered = false
		}
		if o.flush != nil && sig.flushedToken != 0 && o.flush.token == sig.flushedToken {
			if sig.flushComplete {
				o.flush.complete(flushComplete)
			} else {
				o.flush.complete(flushIncomplete)
			}
			continue
		}
		kept = append(kept, o)
	}
	clear(p.unacked[len(kept):])
	p.unacked = kept
}

// broken gives up stream s: what it did not acknowledge goes back in front of the queue.
func (p *publisher) broken(s *pubStream, err error) {
	if s != p.stream {
		return
	}
	p.stream = nil
	s.cancel()
	requeue := make([]outgoing, 0, len(p.unacked)+len(p.toSend))
	for _, o := range p.unacked {
		if o.flush == nil || !o.flush.abandoned.Load() {
			requeue = append(requeue, o)
		}
	}
	p.toSend = append(requeue, p.toSend...)
	p.unacked = nil
	p.failed(s.started, s.sawResponse, err)
}

// failed schedules the next attempt after a stream that ended or never started.
func (p *publisher) failed(started time.Time, sawResponse bool, err error) {
	now := time.Now()
	healthy := sawResponse || now.Sub(started) >= p.maxBackoff
	if healthy || p.backoff == 0 {
		p.backoff = p.initialBackoff
	} else {
		p.backoff = min(2*p.backoff, p.maxBackoff)
	}
	p.nextAttempt = now.Add(p.backoff)
	st := status.Convert(err)
	if !p.outage {
		p.outage = true
		p.log.Info("weft: weftd unavailable; buffering and reconnecting in the background",
			"address", p.target, "code", st.Code().String(), "error", st.Message(), "buffer", p.buf.capacity)
	} else {
		p.log.Debug("weft: publish stream failed", "code", st.Code().String(), "error", st.Message(), "retry_in", p.backoff)
	}
}

// receive reads one stream's acks until it ends.
func (p *publisher) receive(s *pubStream) {
	defer close(s.received)
	for {
		r, err := s.s.Recv()
		if err != nil {
			p.post(signal{stream: s, broken: err})
			return
		}
		if r.GetRejected() > s.rejected {
			p.rejected.Add(r.GetRejected() - s.rejected)
			s.rejected = r.GetRejected()
		}
		if r.GetDropped() > s.dropped {
			p.droppedByDaemon.Add(r.GetDropped() - s.dropped)
			p.log.Debug("weft: weftd dropped events (its queue was full)", "events", r.GetDropped()-s.dropped)
			s.dropped = r.GetDropped()
		}
		for _, x := range r.GetRejections() {
			p.log.Debug("weft: weftd rejected an event", "id", x.GetId(), "batch", x.GetBatchSeq(),
				"index", x.GetIndex(), "reason", x.GetReason().String(), "description", x.GetDescription())
		}
		p.post(signal{stream: s, lastBatchSeq: r.GetLastBatchSeq(),
			flushedToken: r.GetFlushedToken(), flushComplete: r.GetFlushComplete()})
	}
}

// shutdown half-closes the stream, lets it end for a moment, and fails waiting flushes.
func (p *publisher) shutdown() {
	if s := p.stream; s != nil {
		if err := s.s.CloseSend(); err == nil {
			select {
			case <-s.received:
			case <-time.After(closeGrace):
			}
		}
		s.cancel()
		p.stream = nil
	}
	for {
		select {
		case m := <-p.flushes:
			m.complete(flushClosed)
			continue
		default:
		}
		break
	}
	for _, list := range [][]outgoing{p.toSend, p.unacked} {
		for _, o := range list {
			if o.flush != nil {
				o.flush.complete(flushClosed)
			}
		}
	}
}

// sizeOfEventPrefix is the tag and length in front of an encoded event of this size.
func sizeOfEventPrefix(size int) int {
	return protowire.SizeTag(requestEvents) + protowire.SizeVarint(uint64(size))
}
