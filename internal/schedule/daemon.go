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

// Entry is one source on its schedule.
type Entry struct {
	Source   string
	Schedule Schedule
	Jobs     []pipeline.Job
}

// Daemon runs each entry's jobs when its schedule says, all entries sharing
// one bound on streams running at once. An entry still running at its next
// tick skips that tick: a source never runs twice at the same time here, and
// the stream leases keep other replicas off it too.
type Daemon struct {
	Runner      *pipeline.Runner
	Entries     []Entry
	Concurrency int
	Logger      *slog.Logger
	Now         func() time.Time
	// OnOutcome, if set, sees every finished job (metrics).
	OnOutcome func(pipeline.Outcome)
}

// Run runs every entry once at start, then on its schedule, until ctx ends.
// It returns when ctx is done and the runs in flight have stopped (each
// records what it committed).
func (d *Daemon) Run(ctx context.Context) error {
	slots := make(chan struct{}, max(1, d.Concurrency))
	var wg sync.WaitGroup
	for _, e := range d.Entries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.loop(ctx, e, slots)
		}()
	}
	wg.Wait()
	return nil
}

func (d *Daemon) loop(ctx context.Context, e Entry, slots chan struct{}) {
	log := d.Logger.With(slog.String("source", e.Source))
	for {
		d.runEntry(ctx, e, slots)
		next := e.Schedule.Next(d.Now())
		log.InfoContext(ctx, "next run scheduled", slog.Time("at", next))
		timer := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
	}
}

func (d *Daemon) runEntry(ctx context.Context, e Entry, slots chan struct{}) {
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
