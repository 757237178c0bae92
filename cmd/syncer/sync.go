package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"syncer/internal/config"
	"syncer/internal/extract"
	"syncer/internal/load"
	"syncer/internal/migrate"
	"syncer/internal/pipeline"
	"syncer/internal/platforms"
	"syncer/internal/schedule"
)

type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error {
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*l = append(*l, part)
		}
	}
	return nil
}

type syncFlags struct {
	sources, streams listFlag
	since, until     string
	full             bool
}

func (e *env) sync(ctx context.Context, args []string) error {
	var f syncFlags
	_, err := e.parseCommand("sync", "sync [--source NAME]... [--stream S]... [--since T] [--until T] [--full]", args, func(fs *flag.FlagSet) {
		fs.Var(&f.sources, "source", "sync only this source (repeatable, or comma-separated)")
		fs.Var(&f.streams, "stream", "sync only this stream (repeatable, or comma-separated)")
		fs.StringVar(&f.since, "since", "", "backfill from this time (RFC 3339 or YYYY-MM-DD, UTC); moves no cursor")
		fs.StringVar(&f.until, "until", "", "backfill up to this time, exclusive; moves no cursor")
		fs.BoolVar(&f.full, "full", false, "ignore the saved cursors and read again from start_date")
	})
	if err != nil {
		return err
	}
	if err := e.loadConfig(true); err != nil {
		return err
	}
	req, err := f.request()
	if err != nil {
		return err
	}
	jobs, err := e.plan(f, req)
	if err != nil {
		return err
	}
	pool, err := e.connect(ctx)
	if err != nil {
		return err
	}
	if err := e.checkMigrated(ctx); err != nil {
		return err
	}
	runner := &pipeline.Runner{Loader: load.New(pool, e.logger), Logger: e.logger, Now: time.Now, SafetyLag: e.cfg.SafetyLag.Std()}
	outcomes := schedule.RunAll(ctx, runner, jobs, e.cfg.Concurrency)
	e.printOutcomes(outcomes)
	return &exitError{code: outcomeCode(outcomes)}
}

func (f *syncFlags) request() (extract.Request, error) {
	var req extract.Request
	var err error
	if req.Since, err = parseWhen("--since", f.since); err != nil {
		return req, err
	}
	if req.Until, err = parseWhen("--until", f.until); err != nil {
		return req, err
	}
	req.Backfill = f.since != "" || f.until != ""
	if req.Backfill && f.full {
		return req, usagef("--full re-reads from start_date and moves the cursors; it cannot be combined with a --since/--until backfill")
	}
	if !req.Since.IsZero() && !req.Until.IsZero() && !req.Since.Before(req.Until) {
		return req, usagef("--since %s is not before --until %s", f.since, f.until)
	}
	req.Full = f.full
	return req, nil
}

func parseWhen(flagName, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, usagef("%s %q: want an RFC 3339 time (2024-01-15T10:30:00Z) or a date (2024-01-15), in UTC", flagName, s)
}

// plan turns the selected sources and streams into jobs.
func (e *env) plan(f syncFlags, req extract.Request) ([]pipeline.Job, error) {
	var selected []*config.Source
	for _, name := range f.sources {
		s, ok := e.cfg.Source(name)
		if !ok {
			return nil, usagef("--source %q is not in %s (configured: %s)", name, e.globals.configPath, strings.Join(sourceNames(e.cfg), ", "))
		}
		selected = append(selected, s)
	}
	if len(f.sources) == 0 {
		for i := range e.cfg.Sources {
			selected = append(selected, &e.cfg.Sources[i])
		}
	}
	if len(selected) == 0 {
		return nil, usagef("%s configures no sources", e.globals.configPath)
	}
	var streams []string
	if len(f.streams) > 0 {
		streams = f.streams
		for _, st := range streams {
			if !slices.ContainsFunc(selected, func(s *config.Source) bool { return s.HasStream(st) }) {
				return nil, usagef("--stream %q is not a configured stream of the selected sources", st)
			}
		}
	}
	var jobs []pipeline.Job
	for _, s := range selected {
		j, err := platforms.Jobs(s, platforms.Options{Streams: streams, Request: req, Redactor: e.redactor, Logger: e.logger})
		if err != nil {
			return nil, usagef("%v", err)
		}
		jobs = append(jobs, j...)
	}
	return jobs, nil
}

func sourceNames(c *config.Config) []string {
	var out []string
	for _, s := range c.Sources {
		out = append(out, s.Name)
	}
	return out
}

func (e *env) checkMigrated(ctx context.Context) error {
	m, err := migrate.New(e.pool, e.cfg.Schema, e.logger)
	if err != nil {
		return err
	}
	defer m.Close()
	pending, err := m.Pending(ctx)
	if err != nil {
		return err
	}
	if pending {
		return errors.New("the warehouse schema is not up to date with this syncer: run `syncer migrate up` first")
	}
	return nil
}

func (e *env) printOutcomes(outcomes []pipeline.Outcome) {
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tSTREAM\tSTATUS\tPAGES\tREAD\tWRITTEN\tQUARANTINED\tGAPS\tTOOK")
	for _, o := range outcomes {
		t := o.Totals
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", o.Source, o.Stream, o.Status,
			t.Pages, t.RowsRead, t.RowsWritten, t.RowsQuarantined, t.SuspectedGaps, o.Duration.Round(time.Millisecond))
	}
	tw.Flush()
	for _, o := range outcomes {
		if o.Err != nil {
			fmt.Fprintf(e.stderr, "%s/%s %s: %s\n", o.Source, o.Stream, o.Status, e.redactor.String(o.Err.Error()))
		}
		if o.Totals.RowsQuarantined > 0 {
			fmt.Fprintf(e.stderr, "%s/%s: %d record(s) could not be mapped and are in the quarantine table (see docs/operations.md)\n", o.Source, o.Stream, o.Totals.RowsQuarantined)
		}
		if o.Totals.SuspectedGaps > 0 {
			fmt.Fprintf(e.stderr, "%s/%s: %d partition(s) may have missed older records (suspected gaps); sync more often\n", o.Source, o.Stream, o.Totals.SuspectedGaps)
		}
	}
}

// outcomeCode: 0 when every stream succeeded, 1 when none got anywhere,
// 3 otherwise.
func outcomeCode(outcomes []pipeline.Outcome) int {
	failed, ok := 0, 0
	for _, o := range outcomes {
		switch o.Status {
		case load.StatusSucceeded:
			ok++
		case load.StatusFailed, pipeline.StatusSkipped:
			failed++
		}
	}
	switch {
	case ok == len(outcomes):
		return exitOK
	case failed == len(outcomes):
		return exitFailed
	default:
		return exitPartial
	}
}
