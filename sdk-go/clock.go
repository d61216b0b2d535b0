package weft

import (
	"sync/atomic"
	"time"
)

// eventClock stamps events. time.Now reads two clocks (wall and monotonic); this reads only
// the monotonic one and adds it to a wall-clock anchor, which halves the cost of the most
// frequent call in the SDK. The anchor is renewed every second, so the stamps follow
// wall-clock adjustments within a second.
type eventClock struct {
	anchor atomic.Pointer[clockAnchor]
}

type clockAnchor struct {
	at     time.Time // with its monotonic reading
	wallNs int64
}

const clockReanchor = time.Second

var clock eventClock

// nowNs is the current time in Unix nanoseconds.
func (c *eventClock) nowNs() int64 {
	a := c.anchor.Load()
	if a != nil {
		if d := time.Since(a.at); d >= 0 && d < clockReanchor {
			return a.wallNs + int64(d)
		}
	}
	now := time.Now()
	c.anchor.Store(&clockAnchor{at: now, wallNs: now.UnixNano()})
	return now.UnixNano()
}
