package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
)

// A replica killed in the middle of a stream leaves its job running in
// River's table. River's rescue would wait for the job's timeout, and a
// stream's job has none (a backfill chunk may take hours). But a stream
// run by a live replica holds its lease, a session advisory lock that dies
// with the session: a job running for a while whose lease is free, seen so
// twice in a row, belongs to a dead replica. Every replica looks, every
// DeadAfter/2; the first to see one makes it available again, and the
// next replica to take it resumes the stream from its last checkpoint (a
// backfill chunk reads its window again).

// watchForDead looks for the jobs of dead replicas until ctx ends.
func (f *Fleet) watchForDead(ctx context.Context) {
	seen := map[int64]int{} // job id: the attempt seen without its lease last time
	tick := time.NewTicker(f.cfg.DeadAfter / 2)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		var err error
		if seen, err = f.rescueDead(ctx, seen); err != nil && ctx.Err() == nil {
			f.cfg.Logger.WarnContext(ctx, "could not look for the jobs of dead replicas; looking again later", slog.Any("error", err))
		}
	}
}

// rescueDead makes available the stream jobs that have run longer than
// DeadAfter with their lease free, this time and the last (seen); it
// returns what it saw this time.
func (f *Fleet) rescueDead(ctx context.Context, seen map[int64]int) (map[int64]int, error) {
	res, err := f.client.JobList(ctx, river.NewJobListParams().States(rivertype.JobStateRunning).
		Kinds(SyncArgs{}.Kind(), BackfillArgs{}.Kind()).First(10_000))
	if err != nil {
		return seen, fmt.Errorf("list running jobs: %w", err)
	}
	horizon := time.Now().Add(-f.cfg.DeadAfter)
	now := time.Now().UTC()
	free := map[int64]int{}
	params := riverdriver.JobRescueManyParams{Schema: f.cfg.Schema, StuckHorizon: horizon}
	for _, job := range res.Jobs {
		if job.AttemptedAt == nil || job.AttemptedAt.After(horizon) {
			continue
		}
		source, lease, err := jobLease(job)
		if err != nil {
			return seen, err
		}
		held, err := f.cfg.Store.LeaseHeld(ctx, source, lease)
		if err != nil {
			return seen, err
		}
		if held {
			continue
		}
		free[job.ID] = job.Attempt
		if seen[job.ID] != job.Attempt {
			continue // the first look: it may have just released its lease
		}
		msg, _ := json.Marshal(rivertype.AttemptError{At: now, Attempt: job.Attempt,
			Error: fmt.Sprintf("the replica running it (%s) is gone: the lease of %s was free; given to another replica", attemptedBy(job), lease)})
		params.ID = append(params.ID, job.ID)
		params.Error = append(params.Error, msg)
		params.FinalizedAt = append(params.FinalizedAt, nil)
		params.ScheduledAt = append(params.ScheduledAt, now)
		params.State = append(params.State, string(rivertype.JobStateAvailable))
	}
	if len(params.ID) == 0 {
		return free, nil
	}
	if _, err := f.client.Driver().GetExecutor().JobRescueMany(ctx, &params); err != nil {
		return free, fmt.Errorf("make the jobs of dead replicas available: %w", err)
	}
	f.cfg.Logger.WarnContext(ctx, "gave the streams of a dead replica to the fleet", slog.Any("jobs", params.ID))
	return free, nil
}

// jobLease is the source and lease name a stream job's run holds.
func jobLease(job *rivertype.JobRow) (source, lease string, err error) {
	switch job.Kind {
	case BackfillArgs{}.Kind():
		a, err := decodeBackfill(job)
		return a.Source, a.Lease(), err
	default:
		var a SyncArgs
		if err := json.Unmarshal(job.EncodedArgs, &a); err != nil {
			return "", "", fmt.Errorf("sync job %d: %w", job.ID, err)
		}
		return a.Source, a.Stream, nil
	}
}

func attemptedBy(job *rivertype.JobRow) string {
	if n := len(job.AttemptedBy); n > 0 {
		return job.AttemptedBy[n-1]
	}
	return "unknown"
}
