package weft

import (
	"testing"
	"time"
)

func TestEventClockFollowsTheWallClock(t *testing.T) {
	var c eventClock
	for range 3 {
		before := time.Now().UnixNano()
		got := c.nowNs()
		after := time.Now().UnixNano()
		if got < before || got > after {
			t.Fatalf("stamp %d outside [%d, %d]", got, before, after)
		}
	}
	t.Run("a stale anchor is renewed", func(t *testing.T) {
		old := time.Now().Add(-2 * clockReanchor)
		c.anchor.Store(&clockAnchor{at: old, wallNs: old.UnixNano() - int64(time.Hour)}) // as if the wall clock jumped
		before := time.Now().UnixNano()
		if got := c.nowNs(); got < before {
			t.Errorf("stamp %d from the stale anchor, want at least %d", got, before)
		}
	})
}
