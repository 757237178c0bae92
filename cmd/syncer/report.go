package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"time"

	"syncer/internal/report"
)

// report is `syncer report`: one HTML file of a period of the warehouse.
func (e *env) report(ctx context.Context, args []string) error {
	var out, since, until string
	var sources listFlag
	err := e.parseFlags("report", args, func(fs *flag.FlagSet) {
		fs.StringVar(&out, "out", "", "write the report to `FILE` (HTML, one self-contained file; required)")
		fs.StringVar(&since, "since", "", "from time `T`, inclusive: a date (2024-01-15, from its midnight) or a time (2024-01-15T10:30:00) in the warehouse's time zone, or an RFC 3339 time with an offset (2024-01-15T10:30:00Z, 2024-01-15T10:30:00-03:00) as given; default the local midnight that begins the last 30 days")
		fs.StringVar(&until, "until", "", "up to time `T`, exclusive, in the forms of --since (2024-02-01: up to the local midnight that ends 31 January); default now")
		fs.Var(&sources, "source", "only the source `NAME` (repeatable, or comma-separated; default every source in the warehouse)")
	})
	if err != nil {
		return err
	}
	if out == "" {
		return usagef("report: --out FILE is required: where to write the HTML report (see syncer report --help)")
	}
	var opts report.Options
	if opts.Since, opts.SinceLocal, err = parseReportWhen("--since", since); err != nil {
		return err
	}
	if opts.Until, opts.UntilLocal, err = parseReportWhen("--until", until); err != nil {
		return err
	}
	// Two instants, or two local times, compare here; an instant and a
	// local time once the warehouse names its time zone.
	if (!opts.Since.IsZero() && !opts.Until.IsZero() && !opts.Since.Before(opts.Until)) ||
		(!opts.SinceLocal.IsZero() && !opts.UntilLocal.IsZero() && !opts.SinceLocal.Before(opts.UntilLocal)) {
		return usagef("--since %s is not before --until %s", since, until)
	}
	if err := e.loadConfig(false); err != nil {
		return err
	}
	opts.Logger = e.logger
	selected, err := e.selectSources(sources)
	if err != nil {
		return err
	}
	if len(sources) > 0 {
		for _, s := range selected {
			opts.Sources = append(opts.Sources, s.Name)
		}
	}
	pool, err := e.connect(ctx)
	if err != nil {
		return err
	}
	if err := e.checkMigrated(ctx); err != nil {
		return err
	}
	r, err := report.Write(ctx, pool, out, opts)
	if errors.Is(err, report.ErrEmptyPeriod) {
		return usagef("%v: check --since and --until (see syncer report --help)", err)
	}
	if err != nil {
		return err
	}
	where, err := filepath.Abs(out)
	if err != nil {
		where = out
	}
	fmt.Fprintf(e.stdout, "wrote %s\n%s\n", where, r.Summary())
	return nil
}

// reportLayouts are the forms of report's --since and --until without an
// offset: wall-clock times in the warehouse's time zone.
var reportLayouts = []string{"2006-01-02", "2006-01-02T15:04:05.999999999"}

// parseReportWhen reads report's --since or --until: an RFC 3339 time, with
// its offset, is that instant (at); a date or a time without an offset is
// a wall-clock time in the warehouse's time zone (local, in UTC: only its
// date and clock count), since the report's days are that zone's. Unlike
// sync's parseWhen, which reads them as UTC. "" is neither.
func parseReportWhen(flagName, s string) (at, local time.Time, err error) {
	if s == "" {
		return time.Time{}, time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), time.Time{}, nil
	}
	for _, layout := range reportLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return time.Time{}, t, nil
		}
	}
	return time.Time{}, time.Time{}, usagef("%s %q: want a date (2024-01-15) or a time (2024-01-15T10:30:00), both in the warehouse's time zone, or an RFC 3339 time with its offset (2024-01-15T10:30:00Z)", flagName, s)
}
