package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"

	"syncer/internal/migrate"
	"syncer/internal/report"
)

// report is `syncer report`: one HTML file of a period of the warehouse.
func (e *env) report(ctx context.Context, args []string) error {
	var out, since, until string
	var sources listFlag
	err := e.parseFlags("report", args, func(fs *flag.FlagSet) {
		fs.StringVar(&out, "out", "", "write the report to `FILE` (HTML, one self-contained file; required)")
		fs.StringVar(&since, "since", "", "from time `T`, inclusive (RFC 3339 or YYYY-MM-DD, UTC; default the start of the day 29 days ago, in the warehouse's time zone)")
		fs.StringVar(&until, "until", "", "up to time `T`, exclusive (default now)")
		fs.Var(&sources, "source", "only the source `NAME` (repeatable, or comma-separated; default every source in the warehouse)")
	})
	if err != nil {
		return err
	}
	if out == "" {
		return usagef("report: --out FILE is required: where to write the HTML report (see syncer report --help)")
	}
	var opts report.Options
	if opts.Since, err = parseWhen("--since", since); err != nil {
		return err
	}
	if opts.Until, err = parseWhen("--until", until); err != nil {
		return err
	}
	if !opts.Since.IsZero() && !opts.Until.IsZero() && !opts.Since.Before(opts.Until) {
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
	if err := e.checkReportable(ctx); err != nil {
		return err
	}
	r, err := report.Write(ctx, pool, out, opts)
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

// checkReportable refuses a warehouse whose migrations are pending. Unlike
// checkMigrated it does not hold the views to the config's time_zone: the
// report reads them as they are and names their time zone, and it needs
// no config at all.
func (e *env) checkReportable(ctx context.Context) error {
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
	tz, err := m.ViewsTimeZone(ctx)
	if err != nil {
		return err
	}
	if len(e.cfg.Sources) > 0 && tz != e.cfg.TimeZone { // a config file was read
		e.logger.WarnContext(ctx, "the views count days in another time zone than the config's time_zone; the report uses theirs (syncer migrate up makes them anew)",
			slog.String("views", tz), slog.String("config", e.cfg.TimeZone))
	}
	return nil
}
