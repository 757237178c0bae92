package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"syncer/internal/config"
	"syncer/internal/extract"
	"syncer/internal/migrate"
	"syncer/internal/pipeline"
	"syncer/internal/schedule"
	"syncer/internal/state"
)

type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error {
	n := len(*l)
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*l = append(*l, part)
		}
	}
	if len(*l) == n {
		// An empty --source "$SRC" must not select everything.
		return errors.New("want a name")
	}
	return nil
}

type syncFlags struct {
	sources, streams listFlag
	since, until     string
	full, json       bool
}

func (e *env) sync(ctx context.Context, args []string) error {
	var f syncFlags
	err := e.parseFlags("sync", args, func(fs *flag.FlagSet) {
		fs.Var(&f.sources, "source", "sync only the source `NAME` (repeatable, or comma-separated)")
		fs.Var(&f.streams, "stream", "sync only the stream `S` (repeatable, or comma-separated)")
		fs.StringVar(&f.since, "since", "", "backfill from time `T` (RFC 3339 or YYYY-MM-DD, UTC); moves no cursor")
		fs.StringVar(&f.until, "until", "", "backfill up to time `T`, exclusive; moves no cursor")
		fs.BoolVar(&f.full, "full", false, "ignore the saved cursors and read again from start_date")
		fs.BoolVar(&f.json, "json", false, "print one JSON summary on stdout instead of the table (errors stay on stderr)")
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
	runner := pipeline.NewRunner(state.New(pool, e.logger), e.logger, e.cfg.SafetyLag.Std())
	display := e.startProgress()
	runner.Progress = syncProgress(display)
	began := time.Now()
	outcomes := schedule.RunAll(ctx, runner, jobs, e.cfg.Concurrency)
	took := time.Since(began)
	display.Close()
	code := outcomeCode(outcomes)
	if f.json {
		if err := e.printOutcomesJSON(outcomes, code, took); err != nil {
			return err
		}
	} else {
		e.printOutcomes(outcomes)
	}
	return &exitError{code: code}
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

// plan turns the selected sources and streams into jobs. Every platform the
// config accepts is built (a test in internal/platforms holds the registry
// to the config contract), so a source that cannot be opened is an error
// for the whole command, not one source skipped.
func (e *env) plan(f syncFlags, req extract.Request) ([]pipeline.Job, error) {
	selected, err := e.selectSources(f.sources)
	if err != nil {
		return nil, err
	}
	if len(selected) == 0 {
		return nil, usagef("%s configures no sources", e.globals.configPath)
	}
	var streams []string
	if len(f.streams) > 0 {
		streams = f.streams
		for _, st := range streams {
			if !slices.ContainsFunc(selected, func(s *config.Source) bool { return s.HasStream(st) }) {
				return nil, usagef("--stream %q is not a stream of the selected sources (their streams: %s)", st, strings.Join(streamNames(selected), ", "))
			}
		}
	}
	var jobs []pipeline.Job
	for _, s := range selected {
		j, err := pipeline.Jobs(s, pipeline.Options{Streams: streams, Request: req, Redactor: e.redactor, Logger: e.logger})
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, j...)
	}
	return jobs, nil
}

// streamNames lists the configured streams of sources, each once.
func streamNames(sources []*config.Source) []string {
	var out []string
	for _, s := range sources {
		for _, st := range s.Streams {
			if !slices.Contains(out, st) {
				out = append(out, st)
			}
		}
	}
	return out
}

// configuredSource is the source named by --source, or a usage error that
// lists the configured ones.
func (e *env) configuredSource(name string) (*config.Source, error) {
	s, ok := e.cfg.Source(name)
	if !ok {
		return nil, usagef("--source %q is not in %s (configured: %s)", name, e.globals.configPath, strings.Join(sourceNames(e.cfg), ", "))
	}
	return s, nil
}

// configuredStream is configuredSource's source, when it syncs stream.
func (e *env) configuredStream(source, stream string) (*config.Source, error) {
	s, err := e.configuredSource(source)
	if err != nil {
		return nil, err
	}
	if !s.HasStream(stream) {
		return nil, usagef("--stream %s is not among the streams of source %q (%s)", stream, source, strings.Join(s.Streams, ", "))
	}
	return s, nil
}

// selectSources is the sources named by --source, each once (a source named
// twice would find its own leases taken), or every configured source when
// none is named.
func (e *env) selectSources(names []string) ([]*config.Source, error) {
	var selected []*config.Source
	for _, name := range names {
		s, err := e.configuredSource(name)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(selected, s) {
			selected = append(selected, s)
		}
	}
	if len(names) == 0 {
		for i := range e.cfg.Sources {
			selected = append(selected, &e.cfg.Sources[i])
		}
	}
	return selected, nil
}

func sourceNames(c *config.Config) []string {
	var out []string
	for _, s := range c.Sources {
		out = append(out, s.Name)
	}
	return out
}

func (e *env) checkMigrated(ctx context.Context) error {
	m, err := migrate.New(e.pool, e.schema, e.logger)
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
	// Views in another zone than the config's are the analysts' concern,
	// not the sync's: said, not refused, so that replicas still running
	// with the earlier config keep syncing (and answering /readyz) while
	// migrate up makes the views anew. (Without a config, as report may
	// run, there is no zone to compare with.)
	tz, err := m.ViewsTimeZone(ctx)
	if err != nil {
		return err
	}
	if tz != e.cfg.TimeZone && len(e.cfg.Sources) > 0 && e.warnedTimeZone.CompareAndSwap(false, true) {
		e.logger.Warn("the views count days in another time zone than the config's: run `syncer migrate up` to make them anew",
			"views_time_zone", tz, "time_zone", e.cfg.TimeZone)
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
	// One line per source for each kind of note, naming its streams: a
	// wrong key fails every stream of a source with the same error, and
	// saying it once is enough.
	for _, src := range bySource(outcomes) {
		// Skipping is normal: a note on stdout, not an error.
		if skipped := streamsWhere(src.outcomes, func(o pipeline.Outcome) bool { return o.Status == pipeline.StatusSkipped }); len(skipped) > 0 {
			fmt.Fprintf(e.stdout, "%s: %s skipped (another syncer process is running %s)\n", src.source, strings.Join(skipped, ", "), pick(len(skipped), "it", "them"))
		}
		for _, f := range e.failures(src.outcomes) {
			fmt.Fprintf(e.stderr, "%s: %s %s: %s\n", src.source, strings.Join(f.streams, ", "), f.status, f)
		}
		if n, where := countBy(src.outcomes, func(t state.Totals) int64 { return t.RowsQuarantined }); n > 0 {
			fmt.Fprintf(e.stderr, "%s: %d record(s) could not be mapped and are in the quarantine table (%s; see docs/operations.md)\n", src.source, n, where)
		}
		if n, where := countBy(src.outcomes, func(t state.Totals) int64 { return t.SuspectedGaps }); n > 0 {
			fmt.Fprintf(e.stderr, "%s: %d partition(s) may have missed older records (suspected gaps: %s); sync more often\n", src.source, n, where)
		}
	}
}

// syncCounts are the counts of sync --json, for one stream or in total.
type syncCounts struct {
	Pages           int64   `json:"pages"`
	RowsRead        int64   `json:"rows_read"`
	RowsWritten     int64   `json:"rows_written"`
	RowsQuarantined int64   `json:"rows_quarantined"`
	SuspectedGaps   int64   `json:"suspected_gaps"`
	DurationSeconds float64 `json:"duration_seconds"`
}

func (c *syncCounts) add(o syncCounts) {
	c.Pages += o.Pages
	c.RowsRead += o.RowsRead
	c.RowsWritten += o.RowsWritten
	c.RowsQuarantined += o.RowsQuarantined
	c.SuspectedGaps += o.SuspectedGaps
}

// streamSummary is one stream's line of sync --json.
type streamSummary struct {
	Source string `json:"source"`
	Stream string `json:"stream"`
	RunID  int64  `json:"run_id,omitempty"`
	Status string `json:"status"`
	syncCounts
	Error string `json:"error,omitempty"`
}

// printOutcomesJSON prints sync --json's summary: every stream, the exit
// code it leads to, and totals. Errors are redacted like everywhere else.
func (e *env) printOutcomesJSON(outcomes []pipeline.Outcome, code int, took time.Duration) error {
	out := struct {
		Status  string          `json:"status"`
		Exit    int             `json:"exit_code"`
		Streams []streamSummary `json:"streams"`
		Totals  syncCounts      `json:"totals"`
	}{Exit: code, Streams: make([]streamSummary, 0, len(outcomes))}
	out.Status = map[int]string{exitOK: "succeeded", exitFailed: "failed", exitPartial: "partial"}[code]
	// Skipped streams (another process runs them) change no exit code.
	for _, o := range outcomes {
		t := o.Totals
		s := streamSummary{Source: o.Source, Stream: o.Stream, RunID: o.RunID, Status: o.Status, syncCounts: syncCounts{
			Pages: t.Pages, RowsRead: t.RowsRead, RowsWritten: t.RowsWritten, RowsQuarantined: t.RowsQuarantined,
			SuspectedGaps: t.SuspectedGaps, DurationSeconds: o.Duration.Seconds()}}
		if o.Err != nil && o.Status != pipeline.StatusSkipped {
			s.Error = e.redactor.String(o.Err.Error())
		}
		out.Streams = append(out.Streams, s)
		out.Totals.add(s.syncCounts)
	}
	out.Totals.DurationSeconds = took.Seconds() // the streams run at once: the whole sync's time
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// failure is the streams of one source that ended with the same status
// and error.
type failure struct {
	streams []string
	status  string
	text    string // what the streams share
	full    string // the first stream's whole error
}

func (f failure) String() string {
	if len(f.streams) == 1 {
		return f.full
	}
	return f.text
}

// failures groups the outcomes that carry an error (skipped ones aside)
// by status and redacted error, in the order they first appear.
func (e *env) failures(outcomes []pipeline.Outcome) []failure {
	var out []failure
	for _, o := range outcomes {
		if o.Err == nil || o.Status == pipeline.StatusSkipped {
			continue
		}
		text := e.redactor.String(sharedText(o.Err, o.Stream))
		i := slices.IndexFunc(out, func(f failure) bool { return f.status == o.Status && f.text == text })
		if i < 0 {
			out = append(out, failure{status: o.Status, text: text, full: e.redactor.String(o.Err.Error())})
			i = len(out) - 1
		}
		out[i].streams = append(out[i].streams, o.Stream)
	}
	return out
}

// sharedText is an error's text without the wrapping that only names the
// stream ("list digisac users: "), so that a key the platform refuses
// gives every stream of the source the same text.
func sharedText(err error, stream string) string {
	text := err.Error()
	for {
		inner := errors.Unwrap(err)
		if inner == nil {
			return text
		}
		prefix, ok := strings.CutSuffix(text, ": "+inner.Error())
		if !ok || !strings.Contains(prefix, stream) {
			return text
		}
		err, text = inner, inner.Error()
	}
}

// countBy sums a counter over the outcomes and says where it came from:
// "5 in messages, 3 in tickets".
func countBy(outcomes []pipeline.Outcome, counter func(state.Totals) int64) (int64, string) {
	var total int64
	var where []string
	for _, o := range outcomes {
		if n := counter(o.Totals); n > 0 {
			total += n
			where = append(where, fmt.Sprintf("%d in %s", n, o.Stream))
		}
	}
	return total, strings.Join(where, ", ")
}

// sourceOutcomes are the outcomes of one source.
type sourceOutcomes struct {
	source   string
	outcomes []pipeline.Outcome
}

// bySource groups outcomes by source, in the order the sources first
// appear.
func bySource(outcomes []pipeline.Outcome) []sourceOutcomes {
	var out []sourceOutcomes
	for _, o := range outcomes {
		i := slices.IndexFunc(out, func(s sourceOutcomes) bool { return s.source == o.Source })
		if i < 0 {
			out = append(out, sourceOutcomes{source: o.Source})
			i = len(out) - 1
		}
		out[i].outcomes = append(out[i].outcomes, o)
	}
	return out
}

// streamsWhere names the streams of the outcomes that match.
func streamsWhere(outcomes []pipeline.Outcome, match func(pipeline.Outcome) bool) []string {
	var out []string
	for _, o := range outcomes {
		if match(o) {
			out = append(out, o.Stream)
		}
	}
	return out
}

func pick(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// outcomeCode is the exit code of a sync. A stream skipped because another
// process is running it counts for nothing: 0 when every stream that ran
// succeeded (or none ran), 1 when every stream that ran failed, 3
// otherwise.
func outcomeCode(outcomes []pipeline.Outcome) int {
	ran, ok, failed := 0, 0, 0
	for _, o := range outcomes {
		switch o.Status {
		case pipeline.StatusSkipped:
			continue
		case state.StatusSucceeded:
			ok++
		case state.StatusFailed:
			failed++
		}
		ran++
	}
	switch {
	case ok == ran:
		return exitOK
	case failed == ran:
		return exitFailed
	default:
		return exitPartial
	}
}
