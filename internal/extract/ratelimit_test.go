package extract

import (
	"slices"
	"sync"
	"testing"
	"time"
)

func TestLimiterReserve(t *testing.T) {
	t.Parallel()
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	ms := time.Millisecond
	tests := []struct {
		name  string
		rate  float64
		burst int
		at    []time.Duration // when each request is made, from start
		want  []time.Duration // the wait each one gets
	}{
		{"spaced at the rate", 2, 1, []time.Duration{0, 0, 0}, []time.Duration{0, 500 * ms, 1000 * ms}},
		{"late requests wait less", 2, 1, []time.Duration{0, 300 * ms, 1200 * ms}, []time.Duration{0, 200 * ms, 0}},
		{"idle time does not pile up", 10, 1, []time.Duration{0, 10 * time.Second, 10 * time.Second}, []time.Duration{0, 0, 100 * ms}},
		{"burst goes through at once", 4, 3, []time.Duration{0, 0, 0, 0, 0}, []time.Duration{0, 0, 0, 250 * ms, 500 * ms}},
		{"burst comes back after idle", 4, 2, []time.Duration{0, 0, 0, 2 * time.Second, 2 * time.Second}, []time.Duration{0, 0, 250 * ms, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := newLimiter(tt.rate, tt.burst)
			var got []time.Duration
			for _, at := range tt.at {
				got = append(got, l.reserve(start.Add(at)))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("waits = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestLimiterShared checks that goroutines sharing a limiter each get their
// own slot: at a frozen clock the waits are 0, 1, 2, ... intervals.
func TestLimiterShared(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	l := newLimiter(50, 1)
	const n = 40
	var (
		mu    sync.Mutex
		waits []time.Duration
		wg    sync.WaitGroup
	)
	for range n {
		wg.Go(func() {
			d := l.reserve(now)
			mu.Lock()
			waits = append(waits, d)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(waits)
	for i, d := range waits {
		if want := time.Duration(i) * 20 * time.Millisecond; d != want {
			t.Fatalf("wait #%d = %v, want %v (all: %v)", i, d, want, waits)
		}
	}
}
