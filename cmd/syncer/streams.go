package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"syncer/internal/extract"
	"syncer/internal/state"
)

// catalogEntry is one stream of `syncer streams`.
type catalogEntry struct {
	Source     string          `json:"source"`
	Platform   string          `json:"platform"`
	Stream     string          `json:"stream"`
	Mode       string          `json:"mode"`
	Table      string          `json:"completes_table,omitempty"` // a full refresh marks this table's missing rows deleted
	Schedule   string          `json:"schedule"`
	Enabled    bool            `json:"enabled"` // listed in the source's streams
	Partitions int64           `json:"partitions"`
	Cursor     *time.Time      `json:"cursor,omitempty"` // the newest of its partitions' cursors
	LastRun    *state.RunInfo  `json:"last_run,omitempty"`
	Webhooks   *catalogWebhook `json:"webhooks,omitempty"`
}

type catalogWebhook struct {
	Path string `json:"path"`
}

// streams prints the catalog: every stream each configured source's
// platform has, enabled or not, how it reads, its schedule and where it
// stands. It writes nothing.
func (e *env) streams(ctx context.Context, args []string) error {
	var sources listFlag
	var asJSON bool
	if err := e.parseFlags("streams", args, func(fs *flag.FlagSet) {
		fs.Var(&sources, "source", "only the source `NAME` (repeatable, or comma-separated)")
		fs.BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	}); err != nil {
		return err
	}
	if err := e.loadConfig(false); err != nil {
		return err
	}
	selected, err := e.selectSources(sources)
	if err != nil {
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
	known := map[[2]string]state.StreamStatus{}
	for _, s := range st {
		known[[2]string{s.Source, s.Stream}] = s
	}
	var out []catalogEntry
	for _, src := range selected {
		p, ok := extract.Lookup(src.Platform)
		if !ok {
			continue
		}
		for _, spec := range p.Streams {
			c := catalogEntry{Source: src.Name, Platform: src.Platform, Stream: spec.Name, Mode: string(spec.Mode), Table: spec.Table,
				Schedule: src.StreamSchedule(spec.Name), Enabled: src.HasStream(spec.Name)}
			if s, ok := known[[2]string{src.Name, spec.Name}]; ok {
				c.Partitions, c.Cursor, c.LastRun = s.Partitions, s.NewestCursor, s.LastRun
				if c.LastRun != nil && c.LastRun.Error != nil {
					clean := e.redactor.String(*c.LastRun.Error)
					c.LastRun.Error = &clean
				}
			}
			out = append(out, c)
		}
		if src.WebhookSecret != "" {
			c := catalogEntry{Source: src.Name, Platform: src.Platform, Stream: extract.WebhookStream, Mode: string(extract.ModeWebhook),
				Schedule: "as deliveries come", Enabled: true, Webhooks: &catalogWebhook{Path: "/webhooks/" + src.Name}}
			if s, ok := known[[2]string{src.Name, extract.WebhookStream}]; ok {
				c.LastRun = s.LastRun
			}
			out = append(out, c)
		}
	}
	if asJSON {
		if out == nil {
			out = []catalogEntry{}
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"streams": out})
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tPLATFORM\tSTREAM\tMODE\tSCHEDULE\tPARTITIONS\tCURSOR\tLAST RUN")
	for _, c := range out {
		mode, sched := c.Mode, c.Schedule
		if !c.Enabled {
			sched = "off (not in streams)"
		}
		if c.Table != "" {
			mode += " → " + c.Table
		}
		cur, last := "-", "never"
		if c.Cursor != nil {
			cur = c.Cursor.UTC().Format(time.RFC3339)
		}
		if r := c.LastRun; r != nil {
			st := r.Status
			if r.Mode == state.ModeReset || r.Mode == state.ModeRetry {
				st = r.Mode + " " + r.Status // syncer state reset, or syncer quarantine retry: not a sync
			}
			last = st + " " + r.StartedAt.UTC().Format(time.RFC3339)
		}
		parts := "-"
		if c.Partitions > 0 {
			parts = fmt.Sprint(c.Partitions)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Source, c.Platform, c.Stream, mode, sched, parts, cur, last)
	}
	tw.Flush()
	fmt.Fprintln(e.stdout, "\nMODE: incremental reads what changed since the cursor; full refresh reads everything and marks\n"+
		"the rows of the table after → that it no longer lists as deleted; export reads files the platform\n"+
		"exports; webhook takes what the platform sends to /webhooks/<source>. Times are UTC.")
	return nil
}
