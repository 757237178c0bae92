package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/sync/errgroup"

	"syncer/internal/config"
	"syncer/internal/extract"
)

// checkRow is one request of `syncer check`.
type checkRow struct {
	Source      string `json:"source"`
	Platform    string `json:"platform"`
	Check       string `json:"check"` // what was asked: "token", "messages"...; "-" when nothing was
	Reachable   bool   `json:"reachable"`
	Credentials string `json:"credentials"` // accepted, refused or unknown
	RateLimited bool   `json:"rate_limited"`
	// RateLimit is the rate-limit headers of the platform's answer,
	// "Name: value".
	RateLimit       []string `json:"rate_limit"`
	DurationSeconds float64  `json:"duration_seconds"`
	OK              bool     `json:"ok"`
	Skipped         bool     `json:"skipped,omitempty"` // nothing to ask the platform
	Error           string   `json:"error,omitempty"`   // what went wrong, or why nothing was asked
}

// check reaches every selected source's platform with the configured
// credentials, one cheap request per kind of stream the source syncs, and
// says whether it answered, whether it took the credentials and what it
// said of its rate limit. It needs no database and writes nothing. Exit 1
// when a check failed: the platform unreachable (a 5xx counts), the
// credentials refused, or an answer a sync could not use; being rate
// limited alone fails nothing.
func (e *env) check(ctx context.Context, args []string) error {
	var sources listFlag
	var asJSON bool
	if err := e.parseFlags("check", args, func(fs *flag.FlagSet) {
		fs.Var(&sources, "source", "only the source `NAME` (repeatable, or comma-separated)")
		fs.BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	}); err != nil {
		return err
	}
	if err := e.loadConfig(true); err != nil {
		return err
	}
	selected, err := e.selectSources(sources)
	if err != nil {
		return err
	}
	if len(selected) == 0 {
		return usagef("%s configures no sources: there is nothing to check", e.globals.configPath)
	}
	perSource := make([][]checkRow, len(selected))
	var g errgroup.Group
	g.SetLimit(max(e.cfg.Concurrency, 1))
	for i, src := range selected {
		g.Go(func() error {
			perSource[i] = e.checkSource(ctx, src)
			return nil
		})
	}
	_ = g.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	rows := slices.Concat(perSource...)
	failed := 0
	for _, r := range rows {
		if !r.OK {
			failed++
		}
	}

	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"ok": failed == 0, "checks": rows}); err != nil {
			return err
		}
	} else {
		e.writeCheckTable(rows)
	}
	if failed > 0 {
		fmt.Fprintf(e.stderr, "syncer: check: %d of %d checks failed; each says why\n", failed, len(rows))
		return &exitError{code: exitFailed}
	}
	return nil
}

// checkSource runs the check of src's platform.
func (e *env) checkSource(ctx context.Context, src *config.Source) []checkRow {
	base := checkRow{Source: src.Name, Platform: src.Platform, Check: "-", Credentials: string(extract.CredentialsUnknown), RateLimit: []string{}}
	p, ok := extract.Lookup(src.Platform)
	if !ok || p.Check == nil {
		base.Error = (&extract.NotBuiltError{What: "checking " + src.Platform + " sources"}).Error()
		return []checkRow{base}
	}
	env := extract.Env{Redactor: e.redactor, Logger: e.logger.With(slog.String("source", src.Name))}
	results := p.Check(ctx, src, env)
	if len(results) == 0 {
		base.OK, base.Skipped = true, true
		base.Error = "nothing to check: the source syncs no stream that syncer asks the platform for (webhooks come from the platform)"
		return []checkRow{base}
	}
	rows := make([]checkRow, 0, len(results))
	for _, r := range results {
		row := base
		row.Check, row.Reachable, row.Credentials, row.RateLimited = r.Check, r.Reachable, string(r.Credentials), r.RateLimited
		for _, h := range r.RateLimit {
			row.RateLimit = append(row.RateLimit, e.redactor.String(h))
		}
		row.DurationSeconds = r.Took.Seconds()
		row.OK = !r.Failed()
		if r.Err != nil {
			row.Error = e.redactor.String(r.Err.Error())
		}
		rows = append(rows, row)
	}
	return rows
}

// writeCheckTable prints the checks as a table, then what went wrong.
func (e *env) writeCheckTable(rows []checkRow) {
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tPLATFORM\tCHECK\tREACHABLE\tCREDENTIALS\tRATE LIMIT\tTOOK")
	for _, r := range rows {
		reachable, creds, limit, took := "no", r.Credentials, "-", "-"
		switch {
		case r.Skipped:
			reachable, creds = "-", "-"
		case r.Reachable:
			reachable = "yes"
		}
		switch {
		case r.RateLimited:
			creds = "unknown (rate limited)"
		case r.Credentials == string(extract.CredentialsUnknown):
			creds = "-"
		}
		if len(r.RateLimit) > 0 {
			limit = strings.Join(r.RateLimit, ", ")
		}
		if !r.Skipped {
			took = checkTook(time.Duration(r.DurationSeconds * float64(time.Second)))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Source, r.Platform, r.Check, reachable, creds, limit, took)
	}
	tw.Flush()
	said := false
	for _, r := range rows {
		if r.Error == "" {
			continue
		}
		if !said {
			fmt.Fprintln(e.stdout)
			said = true
		}
		fmt.Fprintf(e.stdout, "%s %s: %s\n", r.Source, r.Check, r.Error)
	}
}

// checkTook is how long a check took, to the millisecond.
func checkTook(d time.Duration) string {
	if d < time.Millisecond {
		return "<1ms"
	}
	return d.Round(time.Millisecond).String()
}
