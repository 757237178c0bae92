package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"syncer/internal/state"
)

// The confirmation of state reset reads promptInput when stdinIsTerminal
// says a person is there; tests set both.
var (
	promptInput     io.Reader = os.Stdin
	stdinIsTerminal           = func() bool {
		fi, err := os.Stdin.Stat()
		return err == nil && fi.Mode()&os.ModeCharDevice != 0
	}
)

// stateCmd is `syncer state show|reset`: a stream's saved cursors, and
// putting them back.
func (e *env) stateCmd(ctx context.Context, args []string) error {
	var source, stream, partition, to string
	var yes, asJSON bool
	pos, err := e.parseCommand("state", args, func(fs *flag.FlagSet) {
		fs.StringVar(&source, "source", "", "the source `NAME` (required)")
		fs.StringVar(&stream, "stream", "", "the stream `S` (required)")
		fs.StringVar(&partition, "partition", "", "only the partition `P` (an Ogmma conversation id, say)")
		fs.StringVar(&to, "to", "", "reset: set the cursors back to time `T` (RFC 3339 or YYYY-MM-DD, UTC) instead of deleting them")
		fs.BoolVar(&yes, "yes", false, "reset: do not ask for confirmation (for scripts)")
		fs.BoolVar(&asJSON, "json", false, "show: print JSON")
	})
	if err != nil {
		return err
	}
	if len(pos) != 1 || (pos[0] != "show" && pos[0] != "reset") {
		return usagef("state takes show or reset (see syncer state --help)")
	}
	action := pos[0]
	if source == "" || stream == "" {
		return usagef("state %s needs --source and --stream", action)
	}
	if action == "show" && (to != "" || yes) {
		return usagef("--to and --yes are for state reset")
	}
	if action == "reset" && asJSON {
		return usagef("--json is for state show")
	}
	when, err := parseWhen("--to", to)
	if err != nil {
		return err
	}
	var part *string
	if partition != "" {
		part = &partition
	}
	if err := e.loadConfig(false); err != nil {
		return err
	}
	src, err := e.configuredStream(source, stream)
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
	store := state.New(pool, e.logger)
	s, err := store.Source(ctx, src.Name, src.Platform)
	if err != nil {
		return err
	}
	cursors, err := store.StreamCursors(ctx, s, stream, part)
	if err != nil {
		return err
	}
	if action == "show" {
		return e.showCursors(source, stream, cursors, asJSON)
	}

	what := fmt.Sprintf("delete %d cursor(s) of %s/%s; its next run reads from start_date", len(cursors), source, stream)
	if !when.IsZero() {
		past := 0
		for _, c := range cursors {
			var ts struct {
				TS time.Time `json:"ts"`
			}
			if json.Unmarshal(c.Cursor, &ts) == nil && ts.TS.After(when) {
				past++
			}
		}
		what = fmt.Sprintf("set %d cursor(s) of %s/%s back to %s (of %d saved); its next run reads from there", past, source, stream, when.Format(time.RFC3339), len(cursors))
	}
	if part != nil {
		what += fmt.Sprintf(" (partition %q only)", partition)
	}
	if !yes {
		if !stdinIsTerminal() {
			return usagef("state reset would %s; off a terminal, add --yes to do it", what)
		}
		fmt.Fprintf(e.stdout, "This will %s.\nType yes to go on: ", what)
		line, _ := bufio.NewReader(promptInput).ReadString('\n')
		if strings.TrimSpace(line) != "yes" {
			fmt.Fprintln(e.stdout, "Nothing changed.")
			return &exitError{code: exitFailed}
		}
	}
	changed, runID, err := store.ResetCursors(ctx, state.Reset{Source: s, Stream: stream, Partition: part, To: when, Who: whoAmI()})
	if errors.Is(err, state.ErrStreamBusy) {
		return fmt.Errorf("%s/%s: %w", source, stream, err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Done: %d cursor(s) changed; recorded as run %d in sync_runs (mode reset).\n", changed, runID)
	return nil
}

func (e *env) showCursors(source, stream string, cursors []state.SavedCursor, asJSON bool) error {
	if asJSON {
		if cursors == nil {
			cursors = []state.SavedCursor{}
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"source": source, "stream": stream, "cursors": cursors})
	}
	if len(cursors) == 0 {
		fmt.Fprintf(e.stdout, "%s/%s has no saved cursor: its next run reads from start_date.\n", source, stream)
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PARTITION\tCURSOR\tSOURCE NEWEST\tSAVED AT")
	for _, c := range cursors {
		p, newest := c.Partition, "-"
		if p == "" {
			p = "(whole stream)"
		}
		if c.NewestAt != nil {
			newest = c.NewestAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p, c.Cursor, newest, c.UpdatedAt.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

// whoAmI is user@host for the record of a reset.
func whoAmI() string {
	name := "unknown"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return name + "@" + host
}
