package schedule

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"syncer/internal/pipeline"
)

// Schedule tells when something runs next; robfig/cron's Schedule
// satisfies it.
type Schedule interface {
	Next(time.Time) time.Time
}

// Clock is the daemon's time: what time it is, and a wait until a moment
// that gives up when ctx ends.
type Clock interface {
	Now() time.Time
	SleepUntil(ctx context.Context, t time.Time) error
}

// RealClock is the wall clock.
type RealClock struct{}

// Now is time.Now.
func (RealClock) Now() time.Time { return time.Now() }

// SleepUntil waits until t or until ctx ends.
func (RealClock) SleepUntil(ctx context.Context, t time.Time) error {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// Entry is one source on its schedule.
type Entry struct {
	Source   string
	Schedule Schedule
	Jobs     []pipeline.Job
}

// Chore is housekeeping the daemon does every Every (pruning old runs).
type Chore struct {
	Name  string
	Every time.Duration
	Do    func(ctx context.Context) error
}

// Runner runs one job to its end; *pipeline.Runner is one.
type Runner interface {
	Run(ctx context.Context, job pipeline.Job) pipeline.Outcome
}

var _ Runner = (*pipeline.Runner)(nil)

// Daemon runs each entry's jobs when its schedule says, all entries sharing
// one bound on streams running at once. An entry still running at its next
// tick skips that tick: a source never runs twice at the same time here, and
// the stream leases keep other replicas off it too.
type Daemon struct {
	Runner      Runner
	Entries     []Entry
	Chores      []Chore
	Concurrency int
	Logger      *slog.Logger
	Clock       Clock // nil: RealClock
	// OnOutcome, if set, sees every finished job (metrics).
	OnOutcome func(pipeline.Outcome)
}

// Run runs every entry once at start, then on its schedule, and every
// chore at start and then every Every, until ctx ends. It returns when ctx
// is done and the runs in flight have stopped (each records what it
// committed).
func (d *Daemon) Run(ctx context.Context) error {
	if d.Clock == nil {
		d.Clock = RealClock{}
	}
	slots := make(chan struct{}, max(1, d.Concurrency))
	var wg sync.WaitGroup
	for _, e := range d.Entries {
		wg.Go(func() { d.loop(ctx, e, slots) })
	}
	for _, c := range d.Chores {
		wg.Go(func() { d.chore(ctx, c) })
	}
	wg.Wait()
	return nil
}

func (d *Daemon) loop(ctx context.Context, e Entry, slots chan struct{}) {
	log := d.Logger.With(slog.String("source", e.Source))
	for {
		d.runEntry(ctx, e, slots)
		next := e.Schedule.Next(d.Clock.Now())
		log.InfoContext(ctx, "next run scheduled", slog.Time("at", next))
		if d.Clock.SleepUntil(ctx, next) != nil {
			return
		}
	}
}

func (d *Daemon) runEntry(ctx context.Context, e Entry, slots chan struct{}) {
	ctx = pipeline.WithFailureMemo(ctx)
	var g errgroup.Group
	for _, job := range e.Jobs {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			_ = g.Wait()
			return
		}
		g.Go(func() error {
			defer func() { <-slots }()
			out := d.Runner.Run(ctx, job)
			if d.OnOutcome != nil {
				d.OnOutcome(out)
			}
			return nil
		})
	}
	_ = g.Wait() // jobs report through outcomes
}

func (d *Daemon) chore(ctx context.Context, c Chore) {
	log := d.Logger.With(slog.String("chore", c.Name))
	for {
		if err := c.Do(ctx); err != nil && ctx.Err() == nil {
			log.WarnContext(ctx, "housekeeping failed; trying again later", slog.Any("error", err))
		}
		if d.Clock.SleepUntil(ctx, d.Clock.Now().Add(c.Every)) != nil {
			return
		}
	}
}
