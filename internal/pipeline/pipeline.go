// Package pipeline runs one stream of one source from end to end: it takes
// the stream's lease, reads the saved cursors, lets the extractor page
// through the platform, maps each page with its transform and commits it
// with its checkpoint through the loader, then records how the run ended.
// It also joins each platform's streams with their mappings (Jobs). It
// decides nothing about when streams run; that is package schedule.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"syncer/internal/extract"
	"syncer/internal/load"
	"syncer/internal/state"
)

// ErrBusy means another process holds the stream's lease.
var ErrBusy = errors.New("another syncer process is running this stream; it was skipped")

// Outcome is how a job ended.
type Outcome struct {
	Source   string
	Stream   string
	RunID    int64
	Status   string // succeeded, partial, failed, or skipped
	Err      error
	Totals   state.Totals
	Duration time.Duration
}

// DefaultDrainTimeout is how long a batch in flight may take to commit
// once shutdown has begun, unless Runner.DrainTimeout says otherwise.
const DefaultDrainTimeout = 30 * time.Second

// StatusSkipped is an Outcome status for a stream another process holds.
const StatusSkipped = "skipped"

// Runner runs jobs against one warehouse.
type Runner struct {
	Store     *state.Store
	Loader    *load.Loader
	Logger    *slog.Logger
	Now       func() time.Time
	SafetyLag time.Duration // the saved cursor never passes Now() - SafetyLag
	Limits    Limits        // of the write batches; zero takes DefaultLimits
	// DrainTimeout is how long, once ctx ends, the batches already read
	// may take to commit; zero takes DefaultDrainTimeout.
	DrainTimeout time.Duration
	// Progress, when set, gives each run that starts (past its lease) the
	// Progress it reports its pages, commits and end to; nil: none.
	Progress ProgressFunc
}

// NewRunner returns a runner on store, with a loader of its own.
func NewRunner(store *state.Store, logger *slog.Logger, safetyLag time.Duration) *Runner {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Runner{Store: store, Loader: load.New(store, logger), Logger: logger, Now: time.Now, SafetyLag: safetyLag}
}

// Run runs one job to its end and records it in sync_runs. It never
// returns an error of its own: everything is in the Outcome.
func (r *Runner) Run(ctx context.Context, job Job) Outcome {
	start := time.Now()
	name := job.Stream.Name()
	out := Outcome{Source: job.Source, Stream: name}
	log := r.Logger.With(slog.String("source", job.Source), slog.String("stream", name))
	fail := func(err error) Outcome {
		out.Status, out.Err, out.Duration = state.StatusFailed, err, time.Since(start)
		r.logFailure(ctx, log, job, err, nil)
		return out
	}

	// The bookkeeping before the run proper gets a deadline of its own.
	setup, cancelSetup := context.WithTimeout(ctx, time.Minute)
	defer cancelSetup()
	src, err := r.Store.Source(setup, job.Source, job.Platform)
	if err != nil {
		return fail(err)
	}
	leaseName := name
	if job.Lease != "" {
		leaseName = job.Lease
	}
	lease, ok, err := r.Store.TryLease(setup, src, leaseName)
	if err != nil {
		return fail(err)
	}
	if !ok {
		log.InfoContext(ctx, "stream skipped: another syncer process holds its lease")
		out.Status, out.Err, out.Duration = StatusSkipped, ErrBusy, time.Since(start)
		return out
	}
	defer lease.Release()
	if n, err := r.Store.FailAbandonedRunsLease(setup, src, name, job.Lease); err != nil {
		return fail(err)
	} else if n > 0 {
		log.WarnContext(ctx, "earlier runs of this stream were interrupted; marked failed, their commits are kept", slog.Int64("runs", n))
	}

	req := job.Request
	mode := state.ModeIncremental
	if req.Backfill {
		mode = state.ModeBackfill
	} else if req.Cursors, err = r.Store.Cursors(setup, src, name); err != nil {
		return fail(err)
	}
	req.Warehouse = r.Store.View(src)
	run, err := r.Store.StartRunLease(setup, src, name, job.Lease, mode, req.Since, req.Until)
	if err != nil {
		return fail(err)
	}
	run.Lease = lease
	out.RunID = run.ID
	log = log.With(slog.Int64("run_id", run.ID))
	log.InfoContext(ctx, "run started", slog.String("mode", mode), slog.Bool("full", req.Full))
	var prog Progress = nopProgress{}
	if r.Progress != nil {
		prog = r.Progress(job.Source, name, run.ID)
	}

	// Pages go to a writer that commits them in batches of many pages
	// while the extractor reads on. Once shutdown begins, what was read
	// is still committed, within drainTimeout; then the extractor sees
	// ctx and stops.
	drain, cancelDrain := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelDrain()
	drainTimeout := r.DrainTimeout
	if drainTimeout <= 0 {
		drainTimeout = DefaultDrainTimeout
	}
	stopDrain := context.AfterFunc(ctx, func() { time.AfterFunc(drainTimeout, cancelDrain) })
	defer stopDrain()
	w := newWriter(drain, r.Loader, run, r.Limits, log, prog)
	// pages counts the pages emitted, for prog.
	var pages atomic.Int64
	emit := func(ctx context.Context, p extract.Page) error { // called from several goroutines
		// A lost lease stops the extractor at its next page (a ping of the
		// lease's connection; every commit proves the lease again).
		if err := lease.Check(context.WithoutCancel(ctx)); err != nil {
			return err
		}
		batch, n, err := job.Transform(p.Records)
		if err != nil {
			return err
		}
		prog.Page(n)
		if read := pages.Add(1); p.Pages > 0 {
			prog.Position(read, int64(p.Pages))
		}
		c := load.Commit{Batch: &batch, Pages: 1, RowsRead: n}
		if p.SuspectedGap {
			c.SuspectedGaps = 1
		}
		if p.Complete && job.Spec.Table != "" {
			c.Complete = &load.Completion{Table: job.Spec.Table, SeenIDs: p.Seen}
		}
		if p.Cursor != nil && !req.Backfill {
			c.Checkpoints = []load.Checkpoint{{Partition: p.Partition, Cursor: p.Cursor.Cap(r.Now().Add(-r.SafetyLag)), Newest: p.Newest}}
		}
		return w.add(c, p.Partition, rawSize(batch))
	}
	runErr := job.Stream.Extract(ctx, req, emit)
	writeErr := w.close()
	if writeErr != nil && (runErr == nil || !errors.Is(runErr, writeErr)) {
		runErr = errors.Join(writeErr, runErr)
	}
	// A batch the database refused fails the run, whatever else the
	// stream reported (a partial read, a rate limit).
	writeFailed := writeErr != nil && !errors.Is(writeErr, state.ErrLeaseLost) && ctx.Err() == nil

	status := state.StatusSucceeded
	switch {
	case runErr == nil:
	case writeFailed:
		status = state.StatusFailed
	case ctx.Err() != nil && errors.Is(runErr, ctx.Err()):
		status = state.StatusPartial
		runErr = fmt.Errorf("stopped by shutdown; the next run resumes from the last checkpoint")
	case errors.Is(runErr, state.ErrLeaseLost), extract.IsPartial(runErr):
		status = state.StatusPartial
	default:
		status = state.StatusFailed
	}
	totals, err := r.Store.FinishRun(ctx, run, status, runErr)
	if err != nil {
		log.ErrorContext(ctx, "could not record the end of the run", slog.Any("error", err))
	} else {
		status = totals.Status
	}
	out.Status, out.Err, out.Totals, out.Duration = status, runErr, totals, time.Since(start)
	prog.Finish(status)

	attrs := []any{slog.String("status", status), slog.Int64("pages", totals.Pages), slog.Int64("rows_read", totals.RowsRead),
		slog.Int64("rows_written", totals.RowsWritten), slog.Int64("rows_quarantined", totals.RowsQuarantined),
		slog.Int64("suspected_gaps", totals.SuspectedGaps), slog.Duration("took", out.Duration)}
	switch {
	case status == state.StatusFailed:
		r.logFailure(ctx, log, job, runErr, attrs)
	case runErr != nil:
		log.WarnContext(ctx, "run partial", append(attrs, slog.String("error", runErr.Error()))...)
	default:
		log.InfoContext(ctx, "run finished", attrs...)
	}
	return out
}
