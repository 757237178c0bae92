package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"golang.org/x/sync/errgroup"

	"syncer/internal/config"
	"syncer/internal/load"
	"syncer/internal/metrics"
	"syncer/internal/pipeline"
	"syncer/internal/schedule"
	"syncer/internal/serve"
	"syncer/internal/state"
	"syncer/internal/webhook"
)

// run is the daemon: every source on its schedule, and /healthz, /readyz,
// /metrics on listen.
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
	var entries []schedule.Entry
	for i := range e.cfg.Sources {
		src := &e.cfg.Sources[i]
		sched, err := config.ParseSchedule(src.Schedule)
		if err != nil {
			return usagef("source %q: schedule %q: %v", src.Name, src.Schedule, err)
		}
		jobs, err := pipeline.Jobs(src, pipeline.Options{Redactor: e.redactor, Logger: e.logger, Observer: m.HTTP})
		if err != nil {
			return err
		}
		entries = append(entries, schedule.Entry{Source: src.Name, Schedule: sched, Jobs: jobs})
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", e.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s (listen in the config): %w", e.cfg.Listen, err)
	}
	pool, err := e.connect(ctx)
	if err != nil {
		ln.Close()
		return err
	}
	if err := e.checkMigrated(ctx); err != nil {
		ln.Close()
		return err
	}

	store := state.New(pool, e.logger)
	m.Watch(store)
	runner := pipeline.NewRunner(store, e.logger, e.cfg.SafetyLag.Std())
	runner.Loader.OnCommit = m.ObserveCommit
	daemon := &schedule.Daemon{
		Runner:      runner,
		Entries:     entries,
		Chores:      e.chores(store),
		Concurrency: e.cfg.Concurrency,
		Logger:      e.logger,
		OnOutcome:   m.RecordOutcome,
	}
	hooks, err := webhook.Sources(ctx, store, e.logger, e.cfg.Sources)
	if err != nil {
		ln.Close()
		return err
	}
	processor := &webhook.Processor{Store: store, Loader: load.New(store, e.logger), Logger: e.logger}
	srv := &serve.Server{Listener: ln, Metrics: m.Gatherer(), Logger: e.logger, Ready: func(ctx context.Context) error {
		if err := pool.Ping(ctx); err != nil {
			return errors.New("the database does not answer")
		}
		return e.checkMigrated(ctx)
	}, Webhooks: &webhook.Handler{Store: store, Sources: hooks, Logger: e.logger, Received: processor.Wake, Answered: m.WebhookAnswered}}
	e.logger.InfoContext(ctx, "syncer running", slog.String("listen", ln.Addr().String()), slog.Int("sources", len(entries)),
		slog.Int("webhook_sources", len(hooks)))
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Run(gctx) })
	g.Go(func() error { return daemon.Run(gctx) })
	g.Go(func() error { return processor.Run(gctx) })
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
