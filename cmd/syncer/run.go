package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"golang.org/x/sync/errgroup"

	"syncer/internal/fleet"
	"syncer/internal/load"
	"syncer/internal/metrics"
	"syncer/internal/pipeline"
	"syncer/internal/schedule"
	"syncer/internal/schemas"
	"syncer/internal/serve"
	"syncer/internal/state"
	"syncer/internal/webhook"
)

// run is the daemon, one replica of a fleet on River: it works the jobs
// every replica shares in the database (each stream on its schedule,
// backfill chunks, webhook deliveries), and answers /healthz, /readyz,
// /metrics, /webhooks/{source} and /ui on listen.
func (e *env) run(ctx context.Context, args []string) error {
	if err := e.parseFlags("run", args, nil); err != nil {
		return err
	}
	if err := e.loadConfig(true); err != nil {
		return err
	}
	if len(e.cfg.Sources) == 0 {
		return usagef("%s configures no sources", e.globals.configPath)
	}
	m := metrics.New(metrics.Options{Sources: e.cfg.Sources, Logger: e.logger})
	var jobs []pipeline.Job
	for i := range e.cfg.Sources {
		src := &e.cfg.Sources[i]
		js, err := pipeline.Jobs(src, pipeline.Options{Redactor: e.redactor, Logger: e.logger, Observer: m.HTTP,
			RateShare: src.MaxStreams, MaxRetryAfter: fleet.LongRetryAfter})
		if err != nil {
			return err
		}
		jobs = append(jobs, js...)
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", e.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s (listen in the config): %w", e.cfg.Listen, err)
	}
	defer ln.Close()
	pool, err := e.connect(ctx)
	if err != nil {
		return err
	}
	if err := e.checkMigrated(ctx); err != nil {
		return err
	}

	store := state.New(pool, e.logger)
	m.Watch(store)
	runner := pipeline.NewRunner(store, e.logger, e.cfg.SafetyLag.Std())
	runner.Loader.OnCommit = m.ObserveCommit
	// The batches read when shutdown begins must commit before the
	// deadline, with time left to record the runs.
	shutdown := e.cfg.ShutdownTimeout.Std()
	runner.DrainTimeout = max(shutdown-shutdown/5, shutdown-5*time.Second)
	// shutdown_timeout is a hard bound. The job queue stops a second (or a
	// tenth) before it; what still runs at the deadline (a commit, or the
	// record of a run, waiting on a slow database) is left behind: the
	// next process to take the stream marks its run interrupted, another
	// replica takes its job (see fleet.rescueDead), and a statement that
	// still reaches the database after the exit is fenced by the stream's
	// lease generation.
	queueStop := shutdown - min(time.Second, shutdown/10)
	if hardExit != nil {
		stopWatch := context.AfterFunc(ctx, func() {
			time.AfterFunc(shutdown, func() {
				e.logger.Warn("shutdown_timeout passed with work still in flight; exiting now (its streams go to another replica)",
					slog.Duration("shutdown_timeout", shutdown))
				hardExit(exitOK)
			})
		})
		// A start that fails has no deadline. Once shutdown has begun, the
		// deadline also bounds what comes after this function: closing the
		// pool waits for connections still in use.
		defer stopWatch()
	}
	hooks, err := webhook.Sources(ctx, store, e.logger, e.cfg.Sources)
	if err != nil {
		return err
	}
	var processor *webhook.Processor
	if len(hooks) > 0 {
		// Deliveries are processed by their jobs; the processor's own
		// look at the inbox, once a minute, only catches what a job gave up.
		processor = &webhook.Processor{Store: store, Loader: load.New(store, e.logger), Logger: e.logger, Poll: time.Minute}
	}
	host, _ := os.Hostname()
	fl, err := fleet.New(fleet.Config{Pool: pool, Schema: schemas.State(e.schema), Store: store, Runner: runner, Sources: e.cfg.Sources,
		Jobs: jobs, Inbox: processor, Concurrency: e.cfg.Concurrency, Schedules: true,
		ID: fmt.Sprintf("%s:%d", host, os.Getpid()), Logger: e.logger, OnOutcome: m.RecordOutcome})
	if err != nil {
		return err
	}
	m.WatchQueue(fl.QueueCounts)
	ui, err := e.uiHandler(ctx, fl.Client())
	if err != nil {
		return fmt.Errorf("job UI: %w", err)
	}
	srv := &serve.Server{Listener: ln, Metrics: m.Gatherer(), Logger: e.logger, UI: ui, Ready: func(ctx context.Context) error {
		if err := pool.Ping(ctx); err != nil {
			return errors.New("the database does not answer")
		}
		return e.checkMigrated(ctx)
	}, Webhooks: &webhook.Handler{Store: store, Sources: hooks, Logger: e.logger, Keep: fl.KeepDelivery, Answered: m.WebhookAnswered}}
	chores := &schedule.Daemon{Chores: e.chores(store), Logger: e.logger}
	e.logger.InfoContext(ctx, "syncer running", slog.String("listen", ln.Addr().String()), slog.Int("sources", len(e.cfg.Sources)),
		slog.Int("streams", len(jobs)), slog.Int("webhook_sources", len(hooks)), slog.Bool("ui", ui != nil))
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Run(gctx) })
	g.Go(func() error { return fl.Run(gctx, queueStop) })
	g.Go(func() error { return chores.Run(gctx) })
	if processor != nil {
		g.Go(func() error { return processor.Run(gctx) })
	}
	err = g.Wait()
	e.logger.Info("syncer stopped")
	return err
}

// chores is the daemon's housekeeping: pruning runs, and webhook
// deliveries processed, older than run_retention (0 keeps them all), every
// hour.
func (e *env) chores(store *state.Store) []schedule.Chore {
	keep := e.cfg.RunRetention.Std()
	if keep <= 0 {
		return nil
	}
	return []schedule.Chore{{Name: "prune runs", Every: time.Hour, Do: func(ctx context.Context) error {
		before := time.Now().Add(-keep)
		n, err := store.PruneRuns(ctx, before)
		if err != nil {
			return err
		}
		if n > 0 {
			e.logger.InfoContext(ctx, "pruned old runs", slog.Int64("runs", n), slog.Duration("retention", keep))
		}
		n, err = store.PruneInbox(ctx, before)
		if n > 0 {
			e.logger.InfoContext(ctx, "pruned old webhook deliveries", slog.Int64("deliveries", n), slog.Duration("retention", keep))
		}
		return err
	}}}
}
