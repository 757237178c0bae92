package state

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"syncer/internal/state/statedb"
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
	// Lease is the lease the run holds (of its stream, or for an import of
	// its source and format); every commit of the run checks it still holds
	// it. nil: no check (tests).
	Lease *Lease

	mu        sync.Mutex
	totals    Totals
	lastFlush time.Time
}

// Totals are a run's counters.
type Totals struct {
	Status          string
	Pages           int64
	RowsRead        int64
	RowsWritten     int64
	RowsQuarantined int64
	SuspectedGaps   int64
	FinishedAt      time.Time
}

// Totals returns the counters so far.
func (r *Run) Totals() Totals {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.totals
}

// progressEvery is how often a run's counters are written while it goes.
const progressEvery = 5 * time.Second

// Count adds what a committed batch did to the run, and writes the
// counters to its row when they were last written progressEvery ago.
func (s *Store) Count(ctx context.Context, run *Run, add Totals) {
	run.mu.Lock()
	run.totals.Pages += add.Pages
	run.totals.RowsRead += add.RowsRead
	run.totals.RowsWritten += add.RowsWritten
	run.totals.RowsQuarantined += add.RowsQuarantined
	run.totals.SuspectedGaps += add.SuspectedGaps
	due := time.Since(run.lastFlush) >= progressEvery
	if due {
		run.lastFlush = time.Now()
	}
	t := run.totals
	run.mu.Unlock()
	if !due {
		return
	}
	err := s.q.PutRunCounts(ctx, statedb.PutRunCountsParams{ID: run.ID, Pages: int32(t.Pages), RowsRead: t.RowsRead,
		RowsWritten: t.RowsWritten, RowsQuarantined: t.RowsQuarantined, SuspectedGaps: int32(t.SuspectedGaps)})
	if err != nil && ctx.Err() == nil {
		s.logger.WarnContext(ctx, "could not record the run's progress", slog.String("source", run.Source.Name),
			slog.String("stream", run.Stream), slog.Int64("run_id", run.ID), slog.Any("error", err))
	}
}

// StartRun records a new run. since and until are the backfill window, zero
// when unbounded.
func (s *Store) StartRun(ctx context.Context, src Source, stream, mode string, since, until time.Time) (*Run, error) {
	return s.StartRunLease(ctx, src, stream, "", mode, since, until)
}

// StartRunLease is StartRun for a run under a lease other than the
// stream's own (lease ""): a backfill chunk's.
func (s *Store) StartRunLease(ctx context.Context, src Source, stream, lease, mode string, since, until time.Time) (*Run, error) {
	r := &Run{Source: src, Stream: stream, Mode: mode, lastFlush: time.Now()}
	row, err := s.q.StartRun(ctx, statedb.StartRunParams{SourceID: src.ID, Stream: stream, Mode: mode,
		RangeSince: timePtr(since), RangeUntil: timePtr(until), Worker: &s.worker, Lease: strPtr(lease)})
	if err != nil {
		return nil, DBError("start run", err)
	}
	r.ID, r.StartedAt = row.ID, row.StartedAt
	return r, nil
}

// FailAbandonedRuns marks as failed the runs of a stream that a dead process
// left running. Call it only while holding the stream's lease.
func (s *Store) FailAbandonedRuns(ctx context.Context, src Source, stream string) (int64, error) {
	return s.FailAbandonedRunsLease(ctx, src, stream, "")
}

// FailAbandonedRunsLease is FailAbandonedRuns for the runs that held lease
// ("" the stream's own); call it only while holding that lease.
func (s *Store) FailAbandonedRunsLease(ctx context.Context, src Source, stream, lease string) (int64, error) {
	n, err := s.q.FailAbandonedRuns(ctx, statedb.FailAbandonedRunsParams{SourceID: src.ID, Stream: stream, Lease: strPtr(lease)})
	return n, DBError("close abandoned runs", err)
}

// strPtr is s, or nil when s is empty.
func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// FailStaleRuns marks as failed the runs of mode (one without a lease:
// webhook) still running that started longer than age ago by the
// database's clock: a process that died left them.
func (s *Store) FailStaleRuns(ctx context.Context, mode string, age time.Duration) (int64, error) {
	n, err := s.q.FailStaleRuns(ctx, statedb.FailStaleRunsParams{Mode: mode, AgeSeconds: age.Seconds()})
	return n, DBError("close stale runs", err)
}

// FinishRun records how a run ended; a run that would have succeeded but
// quarantined records or suspects a gap ends partial (Totals.Status). It
// writes even when ctx is already cancelled (a shutdown still records the
// run), within a short deadline.
func (s *Store) FinishRun(ctx context.Context, run *Run, status string, runErr error) (Totals, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	var msg *string
	if runErr != nil {
		m := runErr.Error()
		msg = &m
	}
	t := run.Totals()
	row, err := s.q.FinishRun(ctx, statedb.FinishRunParams{ID: run.ID, Status: status, Error: msg, Pages: int32(t.Pages),
		RowsRead: t.RowsRead, RowsWritten: t.RowsWritten, RowsQuarantined: t.RowsQuarantined, SuspectedGaps: int32(t.SuspectedGaps)})
	if err != nil {
		return t, DBError("finish run", err)
	}
	t.Status = row.Status
	if row.FinishedAt != nil {
		t.FinishedAt = *row.FinishedAt
	}
	return t, nil
}

// PruneRuns deletes the runs that finished before before, except the newest
// run of each stream, and returns how many went. Quarantined records of
// those runs stay (their run_id becomes NULL).
func (s *Store) PruneRuns(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.q.PruneRuns(ctx, &before)
	return n, DBError("prune old runs", err)
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
