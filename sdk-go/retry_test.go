package weft

import (
	"slices"
	"testing"
	"time"
)

func TestRetryDelay(t *testing.T) {
	ms := time.Millisecond
	advance := func(r *retryDelay, n int) []time.Duration {
		out := make([]time.Duration, n)
		for i := range out {
			out[i] = r.advance()
		}
		return out
	}

	t.Run("starts at initial and doubles per attempt", func(t *testing.T) {
		r := newRetryDelay(50*ms, 5*time.Second)
		want := []time.Duration{50 * ms, 100 * ms, 200 * ms, 400 * ms, 800 * ms}
		if got := advance(&r, 5); !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
	})
	t.Run("is capped at max", func(t *testing.T) {
		r := newRetryDelay(50*ms, 300*ms)
		want := []time.Duration{50 * ms, 100 * ms, 200 * ms, 300 * ms, 300 * ms, 300 * ms}
		if got := advance(&r, 6); !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
	})
	t.Run("a max that is no power of two times initial is reached exactly", func(t *testing.T) {
		r := newRetryDelay(20*ms, 70*ms)
		want := []time.Duration{20 * ms, 40 * ms, 70 * ms, 70 * ms}
		if got := advance(&r, 4); !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
	})
	t.Run("reset starts again at initial", func(t *testing.T) {
		r := newRetryDelay(10*ms, 1*time.Second)
		advance(&r, 7)
		r.reset()
		want := []time.Duration{10 * ms, 20 * ms}
		if got := advance(&r, 2); !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
	})
	t.Run("initial equal to max stays constant", func(t *testing.T) {
		r := newRetryDelay(5*time.Second, 5*time.Second)
		want := []time.Duration{5 * time.Second, 5 * time.Second, 5 * time.Second}
		if got := advance(&r, 3); !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
	})
}
