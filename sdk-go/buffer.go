package weft

import (
	"sync/atomic"

	weftv1 "github.com/weft-dev/weft/sdk-go/internal/gen/weft/v1"
)

// objectInfo is what every event of one object shares; immutable once the object exists.
type objectInfo struct {
	id         string
	routingKey string
	headers    map[string]string
}

// namedValue is one field of a several-field event.
type namedValue struct {
	name string
	val  value
}

// event is one queued context event in compact form (96 bytes): the common single-field
// UPDATE carries its field inline, so queuing it allocates nothing; what other kinds need goes
// in `more`. The publisher encodes it to the wire.
type event struct {
	obj         *objectInfo
	seq         uint64
	timeNs      int64
	kind        weftv1.EventKind
	level       uint8 // a weftv1.LogLevel, for LOG
	withHeaders bool  // BORN and TRANSIENT carry the object's headers
	hasField    bool  // a single-field event: its field is `field`
	field       namedValue
	more        *eventMore
}

// eventMore is the part of an event that the single-field UPDATE does without.
type eventMore struct {
	fields  []namedValue // several fields
	deleted []string     // DELETE
	message string       // LOG
}

func (e *event) fields() []namedValue {
	if e.more == nil {
		return nil
	}
	return e.more.fields
}

func (e *event) deleted() []string {
	if e.more == nil {
		return nil
	}
	return e.more.deleted
}

func (e *event) message() string {
	if e.more == nil {
		return ""
	}
	return e.more.message
}

// eventBuffer is the bounded buffer between application goroutines and the publisher.
//
// The bound covers every event the SDK holds: those queued here and those the publisher has
// sent but weftd has not acknowledged yet (kept for resending after a reconnect), so memory
// stays bounded by capacity events however long the daemon is away. When the bound is
// reached the newest event is dropped and counted; the application is never blocked.
//
// The queue is a ring of capacity slots holding events by value (Vyukov's bounded queue: a
// producer claims a position with one CAS and publishes its slot with a sequence number; the
// one consumer reads slots in order). `held` admits at most capacity events, so a producer
// always finds its slot free. offer is safe from any goroutine; poll belongs to the publisher.
//
// Wake-ups: the publisher sets `sleeping` before it waits and polls once more; a producer
// signals `wake` only when it sees `sleeping`. Either the publisher's last poll sees the event
// or the producer sees the flag (Go's atomics are sequentially consistent), so no event waits
// unnoticed, and a busy publisher costs producers one atomic load.
type eventBuffer struct {
	capacity int64
	held     atomic.Int64
	dropped  atomic.Uint64
	closed   atomic.Bool
	sleeping atomic.Bool
	tail     atomic.Uint64 // the next position a producer claims
	slots    []slot
	head     uint64 // the next position to read; consumer only
	// wake tells the publisher there is work: events (when it sleeps) or news from elsewhere.
	wake chan struct{}
}

type slot struct {
	// seq is pos when the slot is free for the producer of position pos, pos+1 once that
	// producer has written it, and pos+capacity once the consumer has read it.
	seq atomic.Uint64
	ev  event
}

func newEventBuffer(capacity int) *eventBuffer {
	b := &eventBuffer{capacity: int64(capacity), slots: make([]slot, capacity), wake: make(chan struct{}, 1)}
	for i := range b.slots {
		b.slots[i].seq.Store(uint64(i))
	}
	return b
}

// offer queues e, or drops and counts it when the SDK holds capacity events already or the
// client is closed.
func (b *eventBuffer) offer(e *event) bool {
	if b.closed.Load() {
		b.dropped.Add(1)
		return false
	}
	if b.held.Add(1) > b.capacity {
		b.held.Add(-1)
		b.dropped.Add(1)
		return false
	}
	b.push(e)
	if b.sleeping.Load() {
		b.signal()
	}
	return true
}

// push writes e into the next position. The caller holds room in `held`, so at most capacity
// positions are claimed and unread: the slot is free or about to be (its reader is done with it).
func (b *eventBuffer) push(e *event) {
	size := uint64(len(b.slots))
	for {
		pos := b.tail.Load()
		s := &b.slots[pos%size]
		if s.seq.Load() == pos && b.tail.CompareAndSwap(pos, pos+1) {
			s.ev = *e
			s.seq.Store(pos + 1)
			return
		}
	}
}

// poll moves the next event into out; false when none is ready. Consumer only.
func (b *eventBuffer) poll(out *event) bool {
	s := &b.slots[b.head%uint64(len(b.slots))]
	if s.seq.Load() != b.head+1 {
		return false
	}
	*out = s.ev
	s.ev = event{} // let go of what the event references
	s.seq.Store(b.head + uint64(len(b.slots)))
	b.head++
	return true
}

// signal wakes the publisher if it waits; never blocks.
func (b *eventBuffer) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// release gives back room for events that left the SDK (acknowledged or discarded).
func (b *eventBuffer) release(events int) {
	b.held.Add(-int64(events))
}
