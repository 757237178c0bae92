package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

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
		return err // discarded; the leader's next tick enqueues it again, for a replica that knows it
	}
	out, err := w.f.run(ctx, src, j, slotPatience)
	switch {
	case errors.Is(err, errSlotsTaken):
		return waitForSlot(job.CreatedAt)
	case ctx.Err() != nil:
		return river.JobSnooze(0) // shutdown: the next replica to look takes it, from the stream's checkpoint
	case err != nil:
		return err
	}
	if d, ok := w.f.longRateLimit(ctx, job.JobRow, out.Err); ok {
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
		return err // retried, perhaps by a replica that knows the source
	}
	j.Lease = a.Lease()
	j.Request.Backfill, j.Request.Since, j.Request.Until = true, a.Since, a.Until
	j.Request.Full = false
	// A chunk does not wait for a slot holding its worker: it snoozes at
	// once, for longer than a scheduled run would.
	out, err := w.f.run(ctx, src, j, 0)
	switch {
	case errors.Is(err, errSlotsTaken):
		// Each look opens a connection: a chunk that keeps finding the
		// slots taken looks less often, up to about once a minute.
		d := slotWait + min(time.Duration(snoozes(job.JobRow))*time.Second, time.Minute)
		return river.JobSnooze(d + rand.N(d/2))
	case ctx.Err() != nil:
		return river.JobSnooze(0)
	case err != nil:
		return err
	}
	// A chunk stopped by a rate limit, however long the Retry-After, is a
	// failed try: River tries it again with its backoff (1 s, 16 s, 81 s,
	// ... 1.8 h: 4.3 hours over the 10 attempts), and gives it up in the
	// end, since a chunk has no checkpoint and each try reads its window
	// again.
	switch {
	case out.Status == pipeline.StatusSkipped:
		// Another process holds this chunk's lease: a try given to this
		// replica while the first still runs. Look again later.
		return river.JobSnooze(time.Minute)
	case out.Err != nil:
		// Failed, or stopped early (rate limited, lease lost): the chunk
		// is not whole; it is tried again, alone, with River's backoff.
		return out.Err
	}
	return nil // whole (partial only for quarantined records or suspected gaps)
}

// MaxSnooze bounds the snooze a Retry-After asks for: a platform that
// asks for days (or years) is asked again after this.
const MaxSnooze = time.Hour

// longRateLimit reports how long to snooze for a run the platform stopped
// with a long Retry-After: that long, at most MaxSnooze.
func (f *Fleet) longRateLimit(ctx context.Context, job *rivertype.JobRow, err error) (time.Duration, bool) {
	var rl *extract.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter < LongRetryAfter {
		return 0, false
	}
	d := rl.RetryAfter
	if d > MaxSnooze {
		f.cfg.Logger.WarnContext(ctx, "the platform asked to wait longer than syncer waits; asking again sooner",
			slog.String("kind", job.Kind), slog.Int64("job_id", job.ID), slog.Duration("retry_after", d), slog.Duration("asking_again_in", MaxSnooze))
		d = MaxSnooze
	}
	return d, true
}

// snoozes is how many times River has snoozed the job.
func snoozes(job *rivertype.JobRow) int {
	var m struct {
		Snoozes int `json:"snoozes"`
	}
	_ = json.Unmarshal(job.Metadata, &m) // no such key, or none at all: 0
	return m.Snoozes
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
