package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
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
	var entries []schedule.Entry
	for i := range e.cfg.Sources {
		src := &e.cfg.Sources[i]
		sched, err := config.ParseSchedule(src.Schedule)
		if err != nil {
			return usagef("source %q: schedule %q: %v", src.Name, src.Schedule, err)
		}
		jobs, err := pipeline.Jobs(src, pipeline.Options{Redactor: e.redactor, Logger: e.logger})
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

	reg := newMetrics()
	reg.Set("syncer_up", 1)
	store := state.New(pool, e.logger)
	daemon := &schedule.Daemon{
		Runner:      pipeline.NewRunner(store, e.logger, e.cfg.SafetyLag.Std()),
		Entries:     entries,
		Chores:      append(e.chores(store), inboxGauge(store, reg)),
		Concurrency: e.cfg.Concurrency,
		Logger:      e.logger,
		OnOutcome:   func(o pipeline.Outcome) { recordOutcome(reg, o) },
	}
	hooks, err := webhook.Sources(ctx, store, e.logger, e.cfg.Sources)
	if err != nil {
		ln.Close()
		return err
	}
	processor := &webhook.Processor{Store: store, Loader: load.New(store, e.logger), Logger: e.logger}
	srv := &serve.Server{Listener: ln, Metrics: reg, Logger: e.logger, Ready: func(ctx context.Context) error {
		if err := pool.Ping(ctx); err != nil {
			return errors.New("the database does not answer")
		}
		return e.checkMigrated(ctx)
	}, Webhooks: &webhook.Handler{Store: store, Sources: hooks, Logger: e.logger, Received: processor.Wake,
		Answered: func(source string, status int) {
			reg.Add("syncer_webhook_deliveries_total", 1, source, strconv.Itoa(status))
		}}}
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

func newMetrics() *metrics.Registry {
	r := metrics.New()
	r.Define("syncer_up", metrics.Gauge, "1 while syncer run is up.")
	r.Define("syncer_runs_total", metrics.Counter, "Stream runs by how they ended.", "source", "stream", "status")
	r.Define("syncer_rows_read_total", metrics.Counter, "Records read from the platform.", "source", "stream")
	r.Define("syncer_rows_written_total", metrics.Counter, "Rows inserted or changed in the warehouse.", "source", "stream")
	r.Define("syncer_rows_quarantined_total", metrics.Counter, "Records sent to quarantine.", "source", "stream")
	r.Define("syncer_suspected_gaps_total", metrics.Counter, "Partitions where records may have been missed.", "source", "stream")
	r.Define("syncer_last_run_duration_seconds", metrics.Gauge, "How long the latest run took.", "source", "stream")
	r.Define("syncer_last_success_timestamp_seconds", metrics.Gauge, "Unix time the latest succeeded run ended.", "source", "stream")
	r.Define("syncer_webhook_deliveries_total", metrics.Counter, "Webhook deliveries by answer (200: kept).", "source", "code")
	r.Define("syncer_webhook_inbox_waiting", metrics.Gauge, "Webhook deliveries kept and not processed yet.", "source")
	return r
}

func recordOutcome(r *metrics.Registry, o pipeline.Outcome) {
	r.Add("syncer_runs_total", 1, o.Source, o.Stream, o.Status)
	r.Add("syncer_rows_read_total", float64(o.Totals.RowsRead), o.Source, o.Stream)
	r.Add("syncer_rows_written_total", float64(o.Totals.RowsWritten), o.Source, o.Stream)
	r.Add("syncer_rows_quarantined_total", float64(o.Totals.RowsQuarantined), o.Source, o.Stream)
	r.Add("syncer_suspected_gaps_total", float64(o.Totals.SuspectedGaps), o.Source, o.Stream)
	r.Set("syncer_last_run_duration_seconds", o.Duration.Seconds(), o.Source, o.Stream)
	if o.Status == state.StatusSucceeded {
		r.Set("syncer_last_success_timestamp_seconds", float64(time.Now().Unix()), o.Source, o.Stream)
	}
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

// inboxGauge keeps syncer_webhook_inbox_waiting up to date.
func inboxGauge(store *state.Store, reg *metrics.Registry) schedule.Chore {
	seen := map[string]bool{}
	return schedule.Chore{Name: "inbox gauge", Every: 15 * time.Second, Do: func(ctx context.Context) error {
		backlog, err := store.InboxBacklog(ctx)
		if err != nil {
			return err
		}
		now := map[string]bool{}
		for _, b := range backlog {
			reg.Set("syncer_webhook_inbox_waiting", float64(b.Waiting), b.Source)
			now[b.Source] = true
		}
		for s := range seen {
			if !now[s] {
				reg.Set("syncer_webhook_inbox_waiting", 0, s)
			}
		}
		for s := range now {
			seen[s] = true
		}
		return nil
	}}
}
