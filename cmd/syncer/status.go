package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

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
		return enc.Encode(map[string]any{"streams": st})
	}
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
