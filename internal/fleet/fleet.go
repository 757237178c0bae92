// Package fleet runs syncer run's work on River, a job queue kept in the
// warehouse database, so that any number of replicas share it: each
// (source, stream) schedule is a periodic job, unique while one is queued
// or running, so ticks never stack and a hundred replicas enqueue it once;
// a backfill is split into chunk jobs that the whole fleet works at once;
// every webhook delivery has a job, inserted in the transaction that keeps
// it. Any replica works any job. It decides what runs where and when, not
// how: a stream's run is package pipeline's, its rows package load's.
//
// Three things keep the fleet fair. Per process, at most concurrency
// streams run at once (the streams queue's workers). Per source, at most
// max_streams run at once across the fleet: a run first takes one of the
// source's slots (session advisory locks); a scheduled run that finds them
// all taken looks again for a second, then its job is snoozed, and a
// backfill chunk is snoozed at once, so neither holds a worker while it
// waits. And chunks have a lower priority than scheduled runs: River takes
// every due tick before any chunk, so a backfill of thousands of chunks
// never holds back the other sources. The streams' leases stay as they
// were, so a manual syncer sync and the fleet never run one stream at once.
package fleet

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"github.com/robfig/cron/v3"

	"syncer/internal/config"
	"syncer/internal/logging"
	"syncer/internal/pipeline"
	"syncer/internal/state"
	"syncer/internal/webhook"
)

// Config of a Fleet.
type Config struct {
	Pool   *pgxpool.Pool
	Schema string // River's tables are in the bookkeeping schema (internal/schemas)
	Store  *state.Store
	Runner *pipeline.Runner
	// Sources and Jobs are what this replica can run: every configured
	// source, and one job per (source, stream).
	Sources []config.Source
	Jobs    []pipeline.Job
	// Inbox processes webhook deliveries; nil takes no delivery jobs.
	Inbox *webhook.Processor
	// Concurrency is how many streams this process runs at once.
	Concurrency int
	// DeadAfter is how long a stream's job must have been running with
	// its lease free, twice in a row, to be taken for the job of a dead
	// replica and given to another; default 30s.
	DeadAfter time.Duration
	// Schedules enqueues each stream on its schedule (syncer run); off, the
	// fleet works jobs only.
	Schedules bool
	// PollInterval is how often the queue is looked at besides River's
	// notifications; default River's (1s).
	PollInterval time.Duration
	// ID names this replica in River (and its UI); default River's.
	ID     string
	Logger *slog.Logger
	// OnOutcome, if set, sees every run that ends (metrics).
	OnOutcome func(pipeline.Outcome)
}

// Fleet is one replica's River client and the jobs it can run.
type Fleet struct {
	cfg     Config
	client  *river.Client[pgx.Tx]
	sources map[string]*config.Source
	jobs    map[[2]string]pipeline.Job
}

// slotWait is the longest a job snoozes before looking again for a free
// slot of its source (jittered by up to half as much again).
const slotWait = 5 * time.Second

// New builds the replica's River client. It runs nothing before Start.
func New(cfg Config) (*Fleet, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.DeadAfter <= 0 {
		cfg.DeadAfter = 30 * time.Second
	}
	f := &Fleet{cfg: cfg, sources: map[string]*config.Source{}, jobs: map[[2]string]pipeline.Job{}}
	for i := range cfg.Sources {
		f.sources[cfg.Sources[i].Name] = &cfg.Sources[i]
	}
	for _, j := range cfg.Jobs {
		f.jobs[[2]string{j.Source, j.Stream.Name()}] = j
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &syncWorker{f: f})
	river.AddWorker(workers, &backfillWorker{f: f})
	queues := map[string]river.QueueConfig{QueueStreams: {MaxWorkers: max(cfg.Concurrency, 1)}}
	if cfg.Inbox != nil {
		river.AddWorker(workers, &inboxWorker{p: cfg.Inbox})
		queues[QueueWebhooks] = river.QueueConfig{MaxWorkers: 2}
	}
	rc := &river.Config{
		ID:      cfg.ID,
		Schema:  cfg.Schema,
		Queues:  queues,
		Workers: workers,
		// A backfill chunk may take hours: stream jobs have no timeout, so
		// River's own rescue, which waits for a job's timeout, leaves them
		// to the fleet's (rescueDead, by their leases). Delivery jobs have
		// a timeout of their own, and River rescues them.
		JobTimeout:           -1,
		RescueStuckJobsAfter: 2 * inboxTimeout,
		FetchPollInterval:    cfg.PollInterval,
		Logger:               logging.AtLeast(cfg.Logger, slog.LevelWarn), // River is chatty at info
	}
	if cfg.Schedules {
		for _, j := range cfg.Jobs {
			pj, err := f.periodic(j)
			if err != nil {
				return nil, err
			}
			rc.PeriodicJobs = append(rc.PeriodicJobs, pj)
		}
	}
	client, err := river.NewClient(riverpgxv5.New(cfg.Pool), rc)
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	f.client = client
	return f, nil
}

// Client is the replica's River client (for the UI and for inserts).
func (f *Fleet) Client() *river.Client[pgx.Tx] { return f.client }

// KeepDelivery keeps a webhook delivery and inserts its job in one
// transaction: a delivery acknowledged to the platform always has a job,
// which any replica works, even when the one that received it dies.
func (f *Fleet) KeepDelivery(ctx context.Context, src state.Source, payload []byte) (int64, error) {
	var id int64
	err := pgx.BeginFunc(ctx, f.cfg.Pool, func(tx pgx.Tx) error {
		var err error
		if id, err = state.PutDeliveryTx(ctx, tx, src, payload); err != nil {
			return err
		}
		if _, err := f.client.InsertTx(ctx, tx, InboxArgs{Source: src.Name, Delivery: id}, nil); err != nil {
			return fmt.Errorf("enqueue the webhook delivery's job: %w", err)
		}
		return nil
	})
	return id, err
}

// QueueCounts counts the queue's unfinished jobs by state (with River's
// own query, one state at a time, by its index on state): what waits and
// what runs. Finished jobs (kept a day or more) are not counted.
func (f *Fleet) QueueCounts(ctx context.Context) (map[string]int, error) {
	exec := f.client.Driver().GetExecutor()
	out := map[string]int{}
	for _, st := range []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
		rivertype.JobStateRunning, rivertype.JobStateScheduled} {
		n, err := exec.JobCountByState(ctx, &riverdriver.JobCountByStateParams{Schema: f.cfg.Schema, State: st})
		if err != nil {
			return nil, err
		}
		out[string(st)] = n
	}
	return out, nil
}

// Run works jobs until ctx ends, then stops within shutdown: no new job
// is taken, and the runs in flight are cancelled at once; each commits the
// batches it had read (within the runner's DrainTimeout), records its run
// as stopped by shutdown, and snoozes its job, which another replica (or
// this one, restarted) takes at once: a scheduled run resumes from its
// stream's checkpoint, a backfill chunk reads its window again.
func (f *Fleet) Run(ctx context.Context, shutdown time.Duration) error {
	if err := f.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start the job queue: %w", err)
	}
	f.watchForDead(ctx)
	stop, cancel := context.WithTimeout(context.Background(), shutdown)
	defer cancel()
	if err := f.client.StopAndCancel(stop); err != nil {
		f.cfg.Logger.Warn("the job queue did not stop within shutdown_timeout; the jobs still running go to another replica once it is gone",
			slog.Any("error", err), slog.Duration("shutdown_timeout", shutdown))
	}
	return nil
}

// periodic is the periodic job of one stream, on the stream's schedule
// shifted by a jitter of its own.
func (f *Fleet) periodic(j pipeline.Job) (*river.PeriodicJob, error) {
	src := f.sources[j.Source]
	if src == nil {
		return nil, fmt.Errorf("job of source %q, which is not configured", j.Source)
	}
	stream := j.Stream.Name()
	spec := src.StreamSchedule(stream)
	sched, err := config.ParseSchedule(spec)
	if err != nil {
		return nil, fmt.Errorf("source %q stream %s: schedule %q: %w", src.Name, stream, spec, err)
	}
	args := SyncArgs{Source: src.Name, Stream: stream}
	return river.NewPeriodicJob(Jitter(sched, src.Name+"/"+stream, time.Now()),
		func() (river.JobArgs, *river.InsertOpts) { return args, nil },
		&river.PeriodicJobOpts{ID: src.Name + "/" + stream, RunOnStart: true}), nil
}

// Schedule tells when something runs next; robfig/cron's Schedule is one.
type Schedule interface {
	Next(time.Time) time.Time
}

// Jitter shifts sched by an offset that key always gets: up to a tenth of
// its interval (as seen at now), at most 30s, so that a hundred sources on
// one schedule do not all start in the same second. An @every schedule,
// which robfig/cron counts from whenever it is asked, gets fixed ticks
// instead: the offset plus whole intervals since the zero time, the same
// on every replica.
func Jitter(sched Schedule, key string, now time.Time) Schedule {
	first := sched.Next(now)
	interval := sched.Next(first).Sub(first)
	limit := min(interval/10, 30*time.Second)
	var off time.Duration
	if limit > 0 {
		h := fnv.New64a()
		h.Write([]byte(key))
		off = time.Duration(h.Sum64() % uint64(limit))
	}
	if every, ok := sched.(cron.ConstantDelaySchedule); ok {
		return phased{every.Delay, off}
	}
	return jittered{sched, off}
}

type jittered struct {
	s   Schedule
	off time.Duration
}

func (j jittered) Next(t time.Time) time.Time { return j.s.Next(t.Add(-j.off)).Add(j.off) }

// phased ticks at off + k·every.
type phased struct{ every, off time.Duration }

func (p phased) Next(t time.Time) time.Time {
	next := t.Truncate(p.every).Add(p.off)
	for !next.After(t) {
		next = next.Add(p.every)
	}
	return next
}

// job is the configured job of (source, stream) and its source.
func (f *Fleet) job(source, stream string) (pipeline.Job, *config.Source, error) {
	j, ok := f.jobs[[2]string{source, stream}]
	src := f.sources[source]
	if !ok || src == nil {
		return pipeline.Job{}, nil, fmt.Errorf("stream %s of source %q is not in this replica's config; give every replica the same config", stream, source)
	}
	return j, src, nil
}

// run runs j in one of its source's slots. When every slot is taken it
// looks again for up to patience (a source's streams are often short: the
// next one need not wait for a snooze) and then reports errSlotsTaken.
func (f *Fleet) run(ctx context.Context, src *config.Source, j pipeline.Job, patience time.Duration) (pipeline.Outcome, error) {
	s, err := f.cfg.Store.Source(ctx, src.Name, src.Platform)
	if err != nil {
		return pipeline.Outcome{}, err
	}
	slot, ok, err := f.cfg.Store.AcquireSlot(ctx, s, src.MaxStreams, patience)
	if err != nil {
		return pipeline.Outcome{}, err
	}
	if !ok {
		return pipeline.Outcome{}, errSlotsTaken
	}
	defer slot.Release()
	out := f.cfg.Runner.Run(ctx, j)
	if f.cfg.OnOutcome != nil {
		f.cfg.OnOutcome(out)
	}
	return out, nil
}

var errSlotsTaken = errors.New("every slot of the source is taken")

// slotPatience is how long a job looks for a free slot of its source
// while holding its worker; then it is snoozed.
const slotPatience = time.Second

// waitForSlot is the snooze of a job whose source has no free slot: a
// quarter of the time the job has waited so far, between half a second
// and slotWait, jittered, so that a short wait is looked at again soon
// and a long one does not keep asking.
func waitForSlot(created time.Time) error {
	d := min(max(time.Since(created)/4, slotWait/10), slotWait)
	return river.JobSnooze(d + rand.N(d/2+1))
}
