package fleet

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"

	"syncer/internal/extract"
	"syncer/internal/pipeline"
	"syncer/internal/state"
	"syncer/internal/webhook"
)

// LongRetryAfter is the shortest Retry-After that snoozes a job instead
// of keeping its worker waiting.
const LongRetryAfter = 30 * time.Second

// syncWorker runs a stream's scheduled run.
type syncWorker struct {
	river.WorkerDefaults[SyncArgs]
	f *Fleet
}

func (w *syncWorker) Work(ctx context.Context, job *river.Job[SyncArgs]) error {
	j, src, err := w.f.job(job.Args.Source, job.Args.Stream)
	if err != nil {
		return river.JobCancel(err)
	}
	out, err := w.f.run(ctx, src, j)
	switch {
	case errors.Is(err, errSlotsTaken):
		return waitForSlot(job.CreatedAt)
	case ctx.Err() != nil:
		return river.JobSnooze(0) // shutdown: the next replica to look resumes it
	case err != nil:
		return err
	}
	if d, ok := longRateLimit(out.Err); ok {
		return river.JobSnooze(d)
	}
	if out.Status == state.StatusFailed {
		return out.Err
	}
	return nil // succeeded, partial, or skipped (another process runs the stream)
}

// backfillWorker runs one chunk of a backfill under a lease of its own.
type backfillWorker struct {
	river.WorkerDefaults[BackfillArgs]
	f *Fleet
}

func (w *backfillWorker) Work(ctx context.Context, job *river.Job[BackfillArgs]) error {
	a := job.Args
	j, src, err := w.f.job(a.Source, a.Stream)
	if err != nil {
		return river.JobCancel(err)
	}
	j.Lease = a.Lease()
	j.Request.Backfill, j.Request.Since, j.Request.Until = true, a.Since, a.Until
	j.Request.Full = false
	out, err := w.f.run(ctx, src, j)
	switch {
	case errors.Is(err, errSlotsTaken):
		return waitForSlot(job.CreatedAt)
	case ctx.Err() != nil:
		return river.JobSnooze(0)
	case err != nil:
		return err
	}
	if d, ok := longRateLimit(out.Err); ok {
		return river.JobSnooze(d)
	}
	switch {
	case out.Status == pipeline.StatusSkipped:
		// Another process holds this chunk's lease: a try River rescued
		// while the first still runs. Look again later.
		return river.JobSnooze(time.Minute)
	case out.Err != nil:
		// Failed, or stopped early (rate limited, lease lost): the chunk
		// is not whole; it is tried again, alone.
		return out.Err
	}
	return nil // whole (partial only for quarantined records or suspected gaps)
}

// longRateLimit reports how long to snooze for a run the platform stopped
// with a long Retry-After.
func longRateLimit(err error) (time.Duration, bool) {
	var rl *extract.RateLimitError
	if errors.As(err, &rl) && rl.RetryAfter >= LongRetryAfter {
		return rl.RetryAfter, true
	}
	return 0, false
}

// inboxWorker processes webhook deliveries. Each job stands for one
// delivery, but takes whatever is waiting, in batches, oldest first (its
// own delivery among them, unless another job took it already).
type inboxWorker struct {
	river.WorkerDefaults[InboxArgs]
	p *webhook.Processor
}

// maxInboxBatches bounds the batches one delivery's job processes; the
// deliveries left have jobs of their own.
const maxInboxBatches = 50

// inboxTimeout bounds a delivery's job; a job of a dead replica is given
// to another by River after twice as long.
const inboxTimeout = time.Minute

// Timeout of a delivery's job.
func (w *inboxWorker) Timeout(*river.Job[InboxArgs]) time.Duration { return inboxTimeout }

func (w *inboxWorker) Work(ctx context.Context, job *river.Job[InboxArgs]) error {
	for range maxInboxBatches {
		did, err := w.p.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return river.JobSnooze(0)
			}
			return err
		}
		if !did {
			return nil
		}
	}
	return nil
}
