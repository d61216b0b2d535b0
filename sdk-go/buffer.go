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
// offer is safe from any goroutine and never blocks: `held` admits at most capacity events,
// and the channel has room for capacity, so the send always finds space.
type eventBuffer struct {
	capacity int64
	held     atomic.Int64
	dropped  atomic.Uint64
	closed   atomic.Bool
	queue    chan event
}

func newEventBuffer(capacity int) *eventBuffer {
	return &eventBuffer{capacity: int64(capacity), queue: make(chan event, capacity)}
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
	select {
	case b.queue <- *e:
		return true
	default: // cannot happen while held <= capacity == cap(queue); kept total for safety
		b.held.Add(-1)
		b.dropped.Add(1)
		return false
	}
}

// release gives back room for events that left the SDK (acknowledged or discarded).
func (b *eventBuffer) release(events int) {
	b.held.Add(-int64(events))
}
