// Package schedule decides when streams run and how many at once. RunAll
// runs a set of jobs once with bounded concurrency (syncer sync); Daemon
// runs each source on its schedule (syncer run) and does the warehouse's
// housekeeping on the side. Each job holds its stream's lease while it runs
// (package pipeline), so replicas never run one stream twice at the same
// time. It must not talk to the platforms or write rows itself.
package schedule

import (
	"context"

	"golang.org/x/sync/errgroup"

	"syncer/internal/pipeline"
)

// RunAll runs every job once, at most limit at a time, and returns their
// outcomes in the order of jobs. One job failing does not stop the others;
// cancelling ctx stops them all (each records what it committed). A
// failure the jobs of one source share is logged once.
func RunAll(ctx context.Context, r Runner, jobs []pipeline.Job, limit int) []pipeline.Outcome {
	ctx = pipeline.WithFailureMemo(ctx)
	out := make([]pipeline.Outcome, len(jobs))
	var g errgroup.Group
	g.SetLimit(max(limit, 1))
	for i, job := range jobs {
		g.Go(func() error {
			out[i] = r.Run(ctx, job)
			return nil
		})
	}
	_ = g.Wait() // jobs report through their outcomes, never through the group
	return out
}
