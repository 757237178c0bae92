package schedule

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"syncer/internal/config"
	"syncer/internal/extract"
	"syncer/internal/pipeline"
)

// fakeClock is a clock the test moves: SleepUntil blocks until Advance
// passes its moment.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
}

type waiter struct {
	at   time.Time
	wake chan struct{}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) SleepUntil(ctx context.Context, t time.Time) error {
	c.mu.Lock()
	if !t.After(c.now) {
		c.mu.Unlock()
		return nil
	}
	w := waiter{at: t, wake: make(chan struct{})}
	c.waiters = append(c.waiters, w)
	c.mu.Unlock()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-w.wake:
		return nil
	}
}

// settle waits until n sleepers wait: everything due has run.
func (c *fakeClock) settle(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		got := len(c.waiters)
		c.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sleepers, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// next waits until n sleepers wait, then moves the clock to the earliest
// of their moments and wakes those whose moment it is.
func (c *fakeClock) next(t *testing.T, n int) time.Time {
	t.Helper()
	c.settle(t, n)
	c.mu.Lock()
	defer c.mu.Unlock()
	earliest := c.waiters[0].at
	for _, w := range c.waiters {
		if w.at.Before(earliest) {
			earliest = w.at
		}
	}
	c.now = earliest
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			kept = append(kept, w)
		} else {
			close(w.wake)
		}
	}
	c.waiters = kept
	return earliest
}

// recorder is a Runner that records when each job ran.
type recorder struct {
	clock *fakeClock
	mu    sync.Mutex
	runs  map[string][]time.Duration // source → offsets from start
	start time.Time
	now   int // jobs running now
	most  int // most jobs running at once
}

func (r *recorder) Run(_ context.Context, job pipeline.Job) pipeline.Outcome {
	r.mu.Lock()
	r.runs[job.Source] = append(r.runs[job.Source], r.clock.Now().Sub(r.start))
	r.now++
	r.most = max(r.most, r.now)
	r.mu.Unlock()
	time.Sleep(time.Millisecond) // let the other jobs of the round overlap if they may
	r.mu.Lock()
	r.now--
	r.mu.Unlock()
	return pipeline.Outcome{Source: job.Source, Status: "succeeded"}
}

type namedStream string

func (s namedStream) Name() string { return string(s) }
func (s namedStream) Extract(context.Context, extract.Request, extract.Emit) error {
	return nil
}

func entry(t *testing.T, source, spec string, streams ...string) Entry {
	t.Helper()
	sched, err := config.ParseSchedule(spec)
	if err != nil {
		t.Fatal(err)
	}
	e := Entry{Source: source, Schedule: sched}
	for _, s := range streams {
		e.Jobs = append(e.Jobs, pipeline.Job{Source: source, Stream: namedStream(s)})
	}
	return e
}

// The daemon runs every source at start, then when its own schedule says
// (by the injected clock, not the wall clock), and its chores on theirs,
// never more streams at once than its concurrency.
func TestDaemonFollowsTheSchedulesOnItsClock(t *testing.T) {
	start := time.Date(2024, 3, 1, 10, 10, 0, 0, time.UTC)
	clock := &fakeClock{now: start}
	rec := &recorder{clock: clock, runs: map[string][]time.Duration{}, start: start}
	var chores []time.Duration
	var choreMu sync.Mutex
	d := &Daemon{
		Runner: rec,
		Entries: []Entry{
			entry(t, "hourly", "@every 1h", "a", "b", "c"),
			entry(t, "half-hours", "*/30 * * * *", "x"),
		},
		Chores: []Chore{{Name: "prune", Every: 90 * time.Minute, Do: func(context.Context) error {
			choreMu.Lock()
			chores = append(chores, clock.Now().Sub(start))
			choreMu.Unlock()
			return nil
		}}},
		Concurrency: 2,
		Logger:      slog.New(slog.DiscardHandler),
		Clock:       clock,
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	for clock.Now().Sub(start) < 3*time.Hour {
		clock.next(t, 3) // two entries and one chore sleep between rounds
	}
	clock.settle(t, 3)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	m := time.Minute
	three := func(ds ...time.Duration) []time.Duration { // a source with three streams runs each
		var out []time.Duration
		for _, d := range ds {
			out = append(out, d, d, d)
		}
		return out
	}
	want := map[string][]time.Duration{
		"hourly":     three(0, 60*m, 120*m, 180*m),
		"half-hours": {0, 20 * m, 50 * m, 80 * m, 110 * m, 140 * m, 170 * m},
	}
	for source, w := range want {
		if got := rec.runs[source]; !slices.Equal(got, w) {
			t.Errorf("%s ran at %v, want %v", source, got, w)
		}
	}
	if w := []time.Duration{0, 90 * m, 180 * m}; !slices.Equal(chores, w) {
		t.Errorf("the chore ran at %v, want %v", chores, w)
	}
	if rec.most > 2 {
		t.Errorf("%d jobs ran at once, concurrency is 2", rec.most)
	}
}

// RunAll runs every job once, at most limit at a time, and gives the
// outcomes in the order of the jobs.
func TestRunAllKeepsOrderAndLimit(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	rec := &recorder{clock: clock, runs: map[string][]time.Duration{}, start: clock.now}
	var jobs []pipeline.Job
	for _, s := range []string{"a", "b", "c", "d", "e", "f"} {
		jobs = append(jobs, pipeline.Job{Source: s, Stream: namedStream("messages")})
	}
	out := RunAll(context.Background(), rec, jobs, 2)
	for i, o := range out {
		if o.Source != jobs[i].Source {
			t.Fatalf("outcome %d is %s, want %s", i, o.Source, jobs[i].Source)
		}
	}
	if rec.most > 2 || len(rec.runs) != 6 {
		t.Fatalf("%d jobs at once (limit 2), %d sources ran (want 6)", rec.most, len(rec.runs))
	}
}
