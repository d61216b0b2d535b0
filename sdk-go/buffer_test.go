package weft

import (
	"sync"
	"testing"
)

func TestEventBuffer(t *testing.T) {
	t.Run("every event once, in each producer's order, within the bound", func(t *testing.T) {
		const producers, perProducer, capacity = 4, 20_000, 64
		b := newEventBuffer(capacity)
		objs := make([]*objectInfo, producers)
		for i := range objs {
			objs[i] = &objectInfo{id: string(rune('a' + i))}
		}
		var wg sync.WaitGroup
		for p := range producers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for seq := uint64(1); seq <= perProducer; {
					if b.offer(&event{obj: objs[p], seq: seq}) {
						seq++ // dropped ones are offered again: this test wants them all
					}
				}
			}()
		}
		last := make(map[*objectInfo]uint64)
		received := 0
		for received < producers*perProducer {
			var e event
			if !b.poll(&e) {
				continue
			}
			if e.seq != last[e.obj]+1 {
				t.Fatalf("%s: seq %d after %d", e.obj.id, e.seq, last[e.obj])
			}
			last[e.obj] = e.seq
			received++
			if queued := b.tail.Load() - b.head; queued > capacity {
				t.Fatalf("%d queued, over the capacity %d", queued, capacity)
			}
			b.release(1)
		}
		wg.Wait()
		var e event
		if b.poll(&e) {
			t.Error("an event too many")
		}
	})

	t.Run("drops and counts past the bound, and after close", func(t *testing.T) {
		b := newEventBuffer(3)
		for i := range 5 {
			b.offer(&event{seq: uint64(i)})
		}
		if b.held.Load() != 3 || b.dropped.Load() != 2 {
			t.Errorf("held %d dropped %d", b.held.Load(), b.dropped.Load())
		}
		var e event
		b.poll(&e)
		if b.offer(&event{}) {
			t.Error("polled but unacknowledged events still count against the bound")
		}
		b.release(1)
		if !b.offer(&event{}) {
			t.Error("no room after a release")
		}
		b.closed.Store(true)
		if b.offer(&event{}) || b.dropped.Load() != 4 {
			t.Errorf("after close: dropped %d", b.dropped.Load())
		}
	})

	t.Run("a producer wakes a sleeping consumer", func(t *testing.T) {
		b := newEventBuffer(4)
		b.sleeping.Store(true)
		b.offer(&event{})
		select {
		case <-b.wake:
		default:
			t.Error("no wake-up")
		}
		b.sleeping.Store(false)
		b.offer(&event{})
		select {
		case <-b.wake:
			t.Error("woke a consumer that was not sleeping")
		default:
		}
	})
}
