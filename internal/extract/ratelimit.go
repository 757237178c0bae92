package extract

import (
	"sync"
	"time"
)

// limiter is a token bucket shared by every goroutine that uses one Client.
// It lets burst requests through at once, then one every 1/rate.
//
// It never sleeps itself: reserve books the next slot and says how long the
// caller must wait for it, so that the Client's Sleep and Now (fakes in tests)
// decide how time passes. It is the GCRA form of a token bucket: instead of
// counting tokens it keeps the time at which the next request is due.
type limiter struct {
	interval time.Duration // time between two requests at the steady rate
	slack    time.Duration // (burst-1)*interval: how far ahead of now requests may be booked without waiting

	mu   sync.Mutex
	next time.Time // when the next request is due at the steady rate
}

// newLimiter returns a limiter for perSecond requests per second (> 0) with
// the given burst (>= 1).
func newLimiter(perSecond float64, burst int) *limiter {
	interval := time.Duration(float64(time.Second) / perSecond)
	return &limiter{interval: interval, slack: time.Duration(burst-1) * interval}
}

// reserve books a slot for one request made at now and returns how long the
// caller must wait before sending it (0: send at once). A booked slot is used
// up even if the caller gives up waiting; that only makes the limiter err on
// the slow side.
func (l *limiter) reserve(now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.next.Before(now) {
		l.next = now // idle long enough: the whole burst is available again
	}
	wait := l.next.Sub(now) - l.slack
	l.next = l.next.Add(l.interval)
	return max(wait, 0)
}
