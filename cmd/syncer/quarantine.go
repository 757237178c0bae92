package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"syncer/internal/load"
	"syncer/internal/state"
)

// reasonWidth is how much of a reason syncer quarantine list shows.
const reasonWidth = 60

// quarantine is `syncer quarantine list|show|retry`: the records that could
// not be mapped, and mapping them again with today's transform.
func (e *env) quarantine(ctx context.Context, args []string) error {
	var f state.QuarantineFilter
	var since string
	var asJSON bool
	pos, err := e.parseCommand("quarantine", args, func(fs *flag.FlagSet) {
		fs.StringVar(&f.Source, "source", "", "only the records of source `NAME`")
		fs.StringVar(&f.Stream, "stream", "", "only the records of stream `S`")
		fs.StringVar(&since, "since", "", "only the records last seen at or after `T` (RFC 3339 or YYYY-MM-DD, UTC)")
		fs.Int64Var(&f.ID, "id", 0, "only the record `N` (required for show)")
		fs.BoolVar(&asJSON, "json", false, "list, show: print JSON")
	})
	if err != nil {
		return err
	}
	if len(pos) != 1 || (pos[0] != "list" && pos[0] != "show" && pos[0] != "retry") {
		return usagef("quarantine takes list, show or retry (see syncer quarantine --help)")
	}
	action := pos[0]
	if f.ID < 0 {
		return usagef("--id %d: want the id of a quarantined record, as syncer quarantine list shows it", f.ID)
	}
	if action == "show" && f.ID == 0 {
		return usagef("quarantine show needs --id N (syncer quarantine list shows the ids)")
	}
	if action == "show" && (f.Source != "" || f.Stream != "" || since != "") {
		return usagef("quarantine show takes --id only; --source, --stream and --since are for list and retry")
	}
	if action == "retry" && asJSON {
		return usagef("--json is for quarantine list and show")
	}
	if f.Since, err = parseWhen("--since", since); err != nil {
		return err
	}
	if err := e.loadConfig(false); err != nil {
		return err
	}
	pool, err := e.connect(ctx)
	if err != nil {
		return err
	}
	if err := e.checkMigrated(ctx); err != nil {
		return err
	}
	store := state.New(pool, e.logger)
	recs, err := store.Quarantine(ctx, f)
	if err != nil {
		return err
	}
	switch action {
	case "list":
		return e.listQuarantine(recs, asJSON)
	case "show":
		if len(recs) == 0 {
			return fmt.Errorf("no quarantined record has id %d; syncer quarantine list shows the ids", f.ID)
		}
		return e.showQuarantined(recs[0], asJSON)
	}
	return e.retryQuarantine(ctx, store, recs)
}

func (e *env) listQuarantine(recs []state.Quarantined, asJSON bool) error {
	if asJSON {
		if recs == nil {
			recs = []state.Quarantined{}
		}
		for i := range recs {
			recs[i].Reason = e.redactor.String(recs[i].Reason)
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"count": len(recs), "records": recs})
	}
	if len(recs) == 0 {
		fmt.Fprintln(e.stdout, "No quarantined records match.")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSOURCE\tSTREAM\tEXTERNAL ID\tREASON\tFIRST SEEN\tLAST SEEN")
	for _, r := range recs {
		ext := "-"
		if r.ExternalID != nil {
			ext = *r.ExternalID
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Source, r.Stream, ext, shorten(e.redactor.String(r.Reason), reasonWidth),
			r.FirstSeenAt.UTC().Format(time.RFC3339), r.SeenAt.UTC().Format(time.RFC3339))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%d record(s); syncer quarantine show --id N prints one whole.\n", len(recs))
	return nil
}

func (e *env) showQuarantined(r state.Quarantined, asJSON bool) error {
	r.Reason = e.redactor.String(r.Reason)
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	ext, run := "-", "- (the run was pruned)"
	if r.ExternalID != nil {
		ext = *r.ExternalID
	}
	if r.RunID != nil {
		run = fmt.Sprint(*r.RunID)
	}
	var payload bytes.Buffer
	if json.Indent(&payload, r.Payload, "", "  ") != nil {
		payload.Reset()
		payload.Write(r.Payload)
	}
	fmt.Fprintf(e.stdout, "ID:          %d\nSource:      %s (%s)\nStream:      %s\nExternal ID: %s\nRun:         %s\nFirst seen:  %s\nLast seen:   %s\nReason:      %s\nPayload:\n%s\n",
		r.ID, r.Source, r.Platform, r.Stream, ext, run, r.FirstSeenAt.UTC().Format(time.RFC3339), r.SeenAt.UTC().Format(time.RFC3339),
		r.Reason, payload.String())
	return nil
}

// retryLease names the runs of quarantine retries in sync_runs.lease: not
// a stream's lease (a retry takes none).
const retryLease = "quarantine retry"

// retryQuarantine maps recs again, one run (mode retry) per source and
// stream, and prints what became of them.
func (e *env) retryQuarantine(ctx context.Context, store *state.Store, recs []state.Quarantined) error {
	loader := load.New(store, e.logger)
	type key struct{ source, stream string }
	runs := map[key]*state.Run{}
	var order []key
	skipped := map[key]int{}
	var tried, mapped, superseded, failing int
	var written int64
	var firstErr error
	var failedKey key
	// Retry runs left running by a process that died (they hold no lease)
	// are failed after an hour.
	if _, err := store.FailStaleRuns(ctx, state.ModeRetry, time.Hour); err != nil {
		return err
	}
	for _, r := range recs {
		k := key{r.Source, r.Stream}
		if !load.Retryable(r.Platform, r.Stream) {
			if skipped[k] == 0 {
				order = append(order, k)
			}
			skipped[k]++
			continue
		}
		run := runs[k]
		if run == nil {
			src, err := store.Source(ctx, r.Source, r.Platform)
			if err == nil {
				// Under a lease name of its own, so that a sync taking the
				// stream's lease does not take this live run for one a dead
				// process left.
				run, err = store.StartRunLease(ctx, src, r.Stream, retryLease, state.ModeRetry, time.Time{}, time.Time{})
			}
			if err != nil {
				firstErr, failedKey = err, k
				break
			}
			runs[k] = run
		}
		tried++
		res, err := loader.Retry(ctx, run, r)
		if err != nil {
			firstErr, failedKey = fmt.Errorf("%s/%s record %d: %w", r.Source, r.Stream, r.ID, err), k
			break
		}
		if res.Mapped {
			mapped++
			written += res.Written
			continue
		}
		if res.Superseded {
			superseded++
			continue
		}
		failing++
		if res.Changed {
			fmt.Fprintf(e.stdout, "record %d (%s/%s) still fails, now for: %s\n", r.ID, r.Source, r.Stream, shorten(e.redactor.String(res.Reason), 2*reasonWidth))
		}
	}
	for k, run := range runs {
		status, runErr := state.StatusSucceeded, error(nil)
		if firstErr != nil && k == failedKey {
			status, runErr = state.StatusFailed, firstErr
		}
		if _, err := store.FinishRun(context.WithoutCancel(ctx), run, status, runErr); err != nil {
			firstErr = errors.Join(firstErr, fmt.Errorf("finish the retry run of %s/%s: %w", k.source, k.stream, err))
		}
	}
	for _, k := range order {
		fmt.Fprintf(e.stdout, "%s/%s: %d record(s) cannot be retried yet (only records of the API streams can); skipped\n", k.source, k.stream, skipped[k])
	}
	nSkipped := 0
	for _, n := range skipped {
		nSkipped += n
	}
	fmt.Fprintf(e.stdout, "Tried %d, now mapped %d (rows written %d), still failing %d", tried, mapped, written, failing)
	if superseded > 0 {
		fmt.Fprintf(e.stdout, ", superseded %d (a newer version was already in the warehouse: left as it is, the record left the quarantine)", superseded)
	}
	if nSkipped > 0 {
		fmt.Fprintf(e.stdout, ", skipped %d", nSkipped)
	}
	fmt.Fprintln(e.stdout, ".")
	if len(runs) > 0 {
		ids := make([]int64, 0, len(runs))
		for _, run := range runs {
			ids = append(ids, run.ID)
		}
		slices.Sort(ids)
		fmt.Fprintf(e.stdout, "Recorded as run(s) %s in sync_runs (mode retry); no cursor moved.\n", strings.Trim(fmt.Sprint(ids), "[]"))
	}
	if firstErr != nil {
		return firstErr
	}
	if failing > 0 || nSkipped > 0 {
		return &exitError{code: exitPartial}
	}
	return nil
}

// shorten cuts s to n runes on one line.
func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
