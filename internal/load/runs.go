package load

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"syncer/sql/queries"
)

// Run modes and statuses, as in sync_runs.
const (
	ModeIncremental = "incremental"
	ModeBackfill    = "backfill"
	ModeImport      = "import"
	ModeWebhook     = "webhook"

	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusPartial   = "partial"
	StatusFailed    = "failed"
)

// Run is one sync_runs row in progress. Its counters grow with every
// commit and are written to the row as progress (every few seconds, outside
// the batch transactions so that concurrent batches never queue on this
// row) and when the run finishes.
type Run struct {
	ID        int64
	Source    Source
	Stream    string
	Mode      string
	StartedAt time.Time

	mu        sync.Mutex
	totals    Totals
	lastFlush time.Time
}

// Totals returns the counters so far.
func (r *Run) Totals() Totals {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.totals
}

// count adds a committed batch and reports whether progress is due.
func (r *Run) count(c Commit, res Result) (Totals, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.totals.Pages += int64(c.Pages)
	r.totals.RowsRead += int64(c.RowsRead)
	r.totals.RowsWritten += res.Written
	r.totals.RowsQuarantined += res.Quarantined
	r.totals.SuspectedGaps += int64(c.SuspectedGaps)
	due := time.Since(r.lastFlush) >= progressEvery
	if due {
		r.lastFlush = time.Now()
	}
	return r.totals, due
}

const progressEvery = 5 * time.Second

func (l *Loader) progress(ctx context.Context, run *Run, t Totals) {
	if _, err := l.pool.Exec(ctx, queries.Get("put_run_counts"), run.ID, t.Pages, t.RowsRead, t.RowsWritten, t.RowsQuarantined, t.SuspectedGaps); err != nil && ctx.Err() == nil {
		l.logger.WarnContext(ctx, "could not record the run's progress", slog.String("source", run.Source.Name),
			slog.String("stream", run.Stream), slog.Int64("run_id", run.ID), slog.Any("error", err))
	}
}

// Totals are a finished run's counters.
type Totals struct {
	Status          string
	Pages           int64
	RowsRead        int64
	RowsWritten     int64
	RowsQuarantined int64
	SuspectedGaps   int64
	FinishedAt      time.Time
}

// StartRun records a new run. since and until are the backfill window, zero
// when unbounded.
func (l *Loader) StartRun(ctx context.Context, src Source, stream, mode string, since, until time.Time) (*Run, error) {
	r := &Run{Source: src, Stream: stream, Mode: mode, lastFlush: time.Now()}
	err := l.pool.QueryRow(ctx, queries.Get("start_run"), src.ID, stream, mode, ts(since), ts(until), l.worker).Scan(&r.ID, &r.StartedAt)
	if err != nil {
		return nil, dbError("start run", err)
	}
	return r, nil
}

// FailAbandonedRuns marks as failed the runs of a stream that a dead process
// left running. Call it only while holding the stream's lease.
func (l *Loader) FailAbandonedRuns(ctx context.Context, src Source, stream string) (int64, error) {
	tag, err := l.pool.Exec(ctx, queries.Get("fail_abandoned_runs"), src.ID, stream)
	if err != nil {
		return 0, dbError("close abandoned runs", err)
	}
	return tag.RowsAffected(), nil
}

// FinishRun records how a run ended; a run that would have succeeded but
// quarantined records or suspects a gap ends partial (Totals.Status). It writes even when ctx is already
// cancelled (a shutdown still records the run), within a short deadline.
func (l *Loader) FinishRun(ctx context.Context, run *Run, status string, runErr error) (Totals, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	var msg any
	if runErr != nil {
		msg = runErr.Error()
	}
	t := run.Totals()
	err := l.pool.QueryRow(ctx, queries.Get("finish_run"), run.ID, status, msg,
		t.Pages, t.RowsRead, t.RowsWritten, t.RowsQuarantined, t.SuspectedGaps).Scan(&t.Status, &t.FinishedAt)
	if err != nil {
		return t, dbError("finish run", err)
	}
	return t, nil
}
