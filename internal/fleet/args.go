package fleet

import (
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// The queues: streams run on one (at most concurrency at once per
// process), webhook deliveries on another, so that long syncs never keep
// deliveries waiting.
const (
	QueueStreams  = "streams"
	QueueWebhooks = "webhooks"
)

// waitingOrRunning are the job states in which a unique job blocks another
// like it: a tick never stacks on a queued or running one. River's default
// also holds completed, which would make a periodic job run once ever.
var waitingOrRunning = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStateScheduled,
}

// SyncArgs is one scheduled run of a stream.
type SyncArgs struct {
	Source string `json:"source"`
	Stream string `json:"stream"`
}

// Kind is River's name for the job.
func (SyncArgs) Kind() string { return "sync" }

// InsertOpts: unique while queued or running; one attempt (a failed run is
// recorded in sync_runs, and the next tick is its retry; the job shows the
// error in the UI as discarded).
func (SyncArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueStreams, MaxAttempts: 1, Priority: prioritySchedule,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: waitingOrRunning}}
}

// BackfillArgs is one chunk of a backfill: [Since, Until) of a stream.
type BackfillArgs struct {
	Backfill string    `json:"backfill"` // the id shared by the chunks of one backfill
	Source   string    `json:"source"`
	Stream   string    `json:"stream"`
	Since    time.Time `json:"since"`
	Until    time.Time `json:"until"`
	Chunk    int       `json:"chunk"` // 1..Chunks
	Chunks   int       `json:"chunks"`
}

// Kind is River's name for the job.
func (BackfillArgs) Kind() string { return "backfill" }

// BackfillAttempts is how many times a chunk is tried before it is given
// up (discarded); each retry starts its window again.
const BackfillAttempts = 10

// InsertOpts: a chunk that fails is retried alone, with River's backoff.
// Chunks come after scheduled runs: River takes every due tick before any
// chunk, so thousands of waiting chunks do not hold back the sources'
// ticks (chunks already running keep their workers until their window is
// read).
func (BackfillArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueStreams, MaxAttempts: BackfillAttempts, Priority: priorityBackfill}
}

// River's priorities (1 is taken first).
const (
	prioritySchedule = 1
	priorityBackfill = 3
)

// Lease is the chunk's own lease name, so that the chunks of one stream
// (and its incremental runs) run at once.
func (a BackfillArgs) Lease() string {
	return fmt.Sprintf("%s backfill [%s, %s)", a.Stream, a.Since.UTC().Format(time.RFC3339), a.Until.UTC().Format(time.RFC3339))
}

// InboxArgs is one webhook delivery to process. It is inserted in the
// transaction that keeps the delivery, so the delivery is never kept
// without a job to process it.
type InboxArgs struct {
	Source   string `json:"source"`
	Delivery int64  `json:"delivery"`
}

// Kind is River's name for the job.
func (InboxArgs) Kind() string { return "webhook_delivery" }

// InboxAttempts bounds the retries of a delivery that fails for a reason
// not in its data (a lock or statement timeout); a delivery whose data
// cannot be mapped goes to quarantine at once.
const InboxAttempts = 10

// InsertOpts of a delivery's job.
func (InboxArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueWebhooks, MaxAttempts: InboxAttempts}
}
