package weft

import (
	"context"
	"io"
	"iter"
	"sync/atomic"

	weftv1 "github.com/weft-dev/weft/sdk-go/internal/gen/weft/v1"
	"google.golang.org/grpc"
)

// Monitor is a live feed from weftd's ViewService.Watch: raw events (Client.Messages) or
// collated objects (Client.Objects), as Contexture's monitor iterators.
//
//	objects, err := client.Objects(ctx, weft.RoutingKeys("shop.#"))
//	if err != nil { ... }
//	defer objects.Close()
//	for obj, err := range objects.All() {
//	    if err != nil { ... } // the daemon ended the feed with an error
//	    fmt.Println(obj.ID, obj.Fields)
//	}
//
// Next blocks until an item arrives. The feed ends with io.EOF after Close or when the daemon
// ends it; with an *Error wrapping ctx.Err() when the ctx given to Messages/Objects ends; with
// the daemon's *Error otherwise (ErrInvalidPattern, ErrShuttingDown, ErrUnavailable...).
//
// Flow control reaches the daemon: gRPC reads only a window ahead of the consumer, so a slow
// consumer makes weftd drop the oldest items for it. Those losses are not items; Lagged
// counts them.
//
// Consume from one goroutine at a time; Close is safe from any goroutine.
type Monitor[T any] struct {
	ctx     context.Context
	stream  grpc.ServerStreamingClient[weftv1.WatchResponse]
	cancel  context.CancelFunc
	extract func(*weftv1.WatchResponse) (T, bool)
	lagged  atomic.Uint64
	closed  atomic.Bool
	err     error // consumer only: how the feed ended
}

// Next returns the next item, blocking until one arrives or the feed ends (see Monitor).
func (m *Monitor[T]) Next() (T, error) {
	var zero T
	if m.err != nil {
		return zero, m.err
	}
	for {
		r, err := m.stream.Recv()
		if err != nil {
			m.err = m.ended(err)
			m.cancel()
			return zero, m.err
		}
		if l := r.GetLagged(); l != nil {
			m.lagged.Add(l.GetDropped())
			continue
		}
		if item, ok := m.extract(r); ok {
			return item, nil
		}
	}
}

// ended turns the stream's final error into the feed's.
func (m *Monitor[T]) ended(err error) error {
	if err == io.EOF || m.closed.Load() {
		return io.EOF
	}
	err = fromRPC(m.ctx, err)
	if isCancellation(err) && m.ctx.Err() != nil {
		return contextError(m.ctx, "monitor")
	}
	return err
}

// All ranges over the items until the feed ends: after Close or when the daemon completes
// the feed, the loop simply ends; any other end is yielded as a final (zero, error) pair.
func (m *Monitor[T]) All() iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			item, err := m.Next()
			if err == io.EOF {
				return
			}
			if !yield(item, err) || err != nil {
				return
			}
		}
	}
}

// Lagged counts the items weftd dropped for this monitor because it fell behind.
func (m *Monitor[T]) Lagged() uint64 { return m.lagged.Load() }

// Close ends the feed and cancels the watch; a Next blocked in another goroutine returns
// io.EOF. Idempotent.
func (m *Monitor[T]) Close() {
	m.closed.Store(true)
	m.cancel()
}
