package weft

import "time"

// retryDelay is the wait before each attempt of a retry loop (WithReconnectBackoff): initial
// before the first, doubling per failed attempt up to max, and initial again after a success.
// Not safe for concurrent use: one goroutine owns each.
type retryDelay struct {
	initial, max, next time.Duration
}

func newRetryDelay(initial, max time.Duration) retryDelay {
	return retryDelay{initial: initial, max: max, next: initial}
}

// advance returns the wait before the next attempt and doubles the one after it (up to max).
func (r *retryDelay) advance() time.Duration {
	d := r.next
	r.next = min(2*d, r.max)
	return d
}

// reset starts the next series of attempts at initial again (after a success).
func (r *retryDelay) reset() { r.next = r.initial }
