package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"syncer/internal/fleet"
	"syncer/internal/schemas"
	"syncer/internal/state"
	"syncer/internal/version"
)

func versionString() string { return "syncer " + version.Version }

func (e *env) status(ctx context.Context, args []string) error {
	var asJSON bool
	if err := e.parseFlags("status", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	}); err != nil {
		return err
	}
	if err := e.loadConfig(false); err != nil {
		return err
	}
	pool, err := e.connect(ctx)
	if err != nil {
		return err
	}
	st, err := state.New(pool, e.logger).Status(ctx)
	if err != nil {
		return err
	}
	st = e.withConfiguredStreams(st)
	backfills, err := e.backfills(ctx, pool)
	if err != nil {
		return err
	}
	for _, s := range st {
		if s.LastRun != nil && s.LastRun.Error != nil {
			clean := e.redactor.String(*s.LastRun.Error)
			s.LastRun.Error = &clean
		}
	}
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if st == nil {
			st = []state.StreamStatus{}
		}
		if backfills == nil {
			backfills = []backfillStatus{}
		}
		return enc.Encode(map[string]any{"streams": st, "backfills": backfills})
	}
	defer e.printBackfills(backfills)
	if len(st) == 0 {
		fmt.Fprintln(e.stdout, "nothing synced yet: run `syncer sync`")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tSTREAM\tLAST SUCCESS\tBEHIND SOURCE\tCURSOR\tLAST RUN\tSTATUS\tREAD\tWRITTEN\tQUARANTINED\tGAPS")
	for _, s := range st {
		success, behind, cur := "never", "-", "-"
		if s.SinceSuccessSeconds != nil {
			success = humanDuration(seconds(*s.SinceSuccessSeconds)) + " ago"
		}
		if s.BehindSeconds != nil {
			behind = humanDuration(seconds(*s.BehindSeconds))
		}
		if s.NewestCursor != nil {
			cur = s.NewestCursor.UTC().Format(time.RFC3339)
			if s.Partitions > 1 {
				cur += fmt.Sprintf(" (newest of %d)", s.Partitions)
			}
		}
		last, status := "never", "-"
		var read, written, quarantined, gaps int64
		if r := s.LastRun; r != nil {
			last = r.StartedAt.UTC().Format(time.RFC3339)
			status = r.Status
			if r.Mode == state.ModeReset || r.Mode == state.ModeRetry {
				status = r.Mode + " " + r.Status // syncer state reset, or syncer quarantine retry: not a sync
			}
			read, written, quarantined, gaps = r.RowsRead, r.RowsWritten, r.RowsQuarantined, r.SuspectedGaps
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\n", s.Source, s.Stream, success, behind, cur, last, status,
			read, written, quarantined, gaps)
	}
	tw.Flush()
	fmt.Fprintln(e.stdout, "\nLAST SUCCESS: when a run of the stream last succeeded. BEHIND SOURCE: how far the cursor is behind\n"+
		"the newest record the source has shown (the next run reads from the cursor). Times are UTC.")
	for _, s := range st {
		if s.LastRun != nil && s.LastRun.Error != nil {
			fmt.Fprintf(e.stdout, "%s/%s last error: %s\n", s.Source, s.Stream, *s.LastRun.Error)
		}
		if s.MediaMissing > 0 {
			fmt.Fprintf(e.stdout, "%s/%s: %d media message(s) still have no file url after being asked for again 5 minutes, 1 hour and 1 day after they arrived; syncer no longer asks (see docs/operations.md)\n",
				s.Source, s.Stream, s.MediaMissing)
		}
	}
	return nil
}

// backfillStatus is a backfill's progress as status prints it.
type backfillStatus struct {
	ID      string    `json:"id"`
	Source  string    `json:"source"`
	Stream  string    `json:"stream"`
	Since   time.Time `json:"since"`
	Until   time.Time `json:"until"`
	Chunks  int       `json:"chunks"`
	Done    int       `json:"done"`
	Running int       `json:"running"`
	Waiting int       `json:"waiting"`
	Failed  int       `json:"given_up"`
	Gone    int       `json:"ended_no_longer_kept"`
	Errors  []string  `json:"errors,omitempty"`
}

// backfills lists the backfills whose jobs River keeps; none before
// River's tables exist.
func (e *env) backfills(ctx context.Context, pool *pgxpool.Pool) ([]backfillStatus, error) {
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Schema: schemas.State(e.schema)})
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	list, err := fleet.Backfills(ctx, client, "")
	if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) && pgErr.Code == "42P01" {
		return nil, nil // undefined_table: migrate up has not run yet
	}
	if err != nil {
		// The streams are what status is for: say why the backfills are
		// missing (a role that may not read River's tables, say), go on.
		e.logger.WarnContext(ctx, "could not list the backfills; showing the streams only", slog.String("error", e.redactor.String(err.Error())))
		return nil, nil
	}
	out := make([]backfillStatus, len(list))
	for i, p := range list {
		errs := make([]string, len(p.Errors))
		for j, msg := range p.Errors {
			errs[j] = e.redactor.String(msg)
		}
		out[i] = backfillStatus{ID: p.ID, Source: p.Source, Stream: p.Stream, Since: p.Since, Until: p.Until, Chunks: p.Chunks,
			Done: p.Done, Running: p.Running, Waiting: p.Waiting, Failed: p.Failed, Gone: p.Gone, Errors: errs}
	}
	return out, nil
}

func (e *env) printBackfills(list []backfillStatus) {
	if len(list) == 0 {
		return
	}
	fmt.Fprintln(e.stdout, "\nBackfills (newest first; River keeps finished jobs for a day):")
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSOURCE\tSTREAM\tWINDOW\tDONE\tRUNNING\tWAITING\tGIVEN UP\tENDED, NOT KEPT")
	for _, b := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s to %s\t%d/%d\t%d\t%d\t%d\t%d\n", b.ID, b.Source, b.Stream,
			b.Since.UTC().Format(time.RFC3339), b.Until.UTC().Format(time.RFC3339), b.Done, b.Chunks, b.Running, b.Waiting, b.Failed, b.Gone)
	}
	tw.Flush()
	for _, b := range list {
		for _, msg := range b.Errors {
			fmt.Fprintf(e.stdout, "backfill %s: %s\n", b.ID, msg)
		}
	}
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// withConfiguredStreams adds the configured streams that never ran.
func (e *env) withConfiguredStreams(st []state.StreamStatus) []state.StreamStatus {
	seen := map[[2]string]bool{}
	for _, s := range st {
		seen[[2]string{s.Source, s.Stream}] = true
	}
	for _, src := range e.cfg.Sources {
		for _, stream := range src.Streams {
			if !seen[[2]string{src.Name, stream}] {
				st = append(st, state.StreamStatus{Source: src.Name, Platform: src.Platform, Stream: stream})
			}
		}
	}
	return st
}

// humanDuration prints a lag the way a person reads it: 45s, 12m, 5h20m, 3d4h.
func humanDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
	}
}
