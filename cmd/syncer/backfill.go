package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"syncer/internal/config"
	"syncer/internal/extract"
	"syncer/internal/fleet"
	"syncer/internal/progress"
	"syncer/internal/schemas"
	"syncer/internal/state"
)

// backfill splits a window of one stream into chunk jobs for the fleet
// (syncer run replicas) and returns, or follows them with --wait.
func (e *env) backfill(ctx context.Context, args []string) error {
	var source, stream, since, until string
	chunk := config.Duration(30 * 24 * time.Hour)
	var wait bool
	err := e.parseFlags("backfill", args, func(fs *flag.FlagSet) {
		fs.StringVar(&source, "source", "", "the source `NAME` (required)")
		fs.StringVar(&stream, "stream", "", "the stream `S` (required; an incremental one, such as messages)")
		fs.StringVar(&since, "since", "", "from time `T` (RFC 3339 or YYYY-MM-DD, UTC; required)")
		fs.StringVar(&until, "until", "", "up to time `T`, exclusive (required)")
		fs.TextVar(&chunk, "chunk", chunk, "the window of one job: a `duration` such as 720h or 30d")
		fs.BoolVar(&wait, "wait", false, "follow the chunks until every one has ended; exit 1 if any was given up")
	})
	if err != nil {
		return err
	}
	if source == "" || stream == "" || since == "" || until == "" {
		return usagef("backfill needs --source, --stream, --since and --until (see syncer backfill --help)")
	}
	from, err := parseWhen("--since", since)
	if err != nil {
		return err
	}
	to, err := parseWhen("--until", until)
	if err != nil {
		return err
	}
	if err := e.loadConfig(true); err != nil {
		return err
	}
	src, err := e.configuredStream(source, stream)
	if err != nil {
		return err
	}
	if p, ok := extract.Lookup(src.Platform); ok {
		if spec, ok := p.Stream(stream); ok && spec.Mode != extract.ModeIncremental {
			return usagef("--stream %s of %s is read %s; a backfill takes a time window of an incremental stream", stream, src.Platform, spec.Mode)
		}
	}
	chunks, err := fleet.Chunks(source, stream, from, to, chunk.Std())
	if err != nil {
		return usagef("%v", err)
	}
	pool, err := e.connect(ctx)
	if err != nil {
		return err
	}
	if err := e.checkMigrated(ctx); err != nil {
		return err
	}
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Schema: schemas.State(e.schema)})
	if err != nil {
		return fmt.Errorf("job queue: %w", err)
	}
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return fleet.EnqueueBackfill(ctx, client, tx, chunks) }); err != nil {
		return err
	}
	id := chunks[0].Backfill
	fmt.Fprintf(e.stdout, "backfill %s: %d chunk(s) of %s enqueued for %s/%s, %s to %s.\n", id, len(chunks), humanDuration(chunk.Std()),
		source, stream, from.Format(time.RFC3339), to.Format(time.RFC3339))
	if !wait {
		fmt.Fprintln(e.stdout, "The syncer run replicas work them; follow with `syncer status`.")
		return nil
	}
	display := e.startProgress()
	shown := display.Start(progress.Task{Source: source, Stream: stream, Unit: progress.Chunks})
	err = e.followBackfill(ctx, client, id, len(chunks), shown)
	display.Close()
	return err
}

// followBackfill prints the backfill's progress whenever it changes, until
// every chunk has ended; shown hears how many have.
func (e *env) followBackfill(ctx context.Context, client *river.Client[pgx.Tx], id string, chunks int, shown *progress.Stream) error {
	start, last := time.Now(), ""
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		list, err := fleet.Backfills(ctx, client, id)
		if err != nil {
			return err
		}
		p := fleet.Progress{ID: id, Chunks: chunks, Gone: chunks} // River keeps none of its jobs any more: all ended
		if len(list) > 0 {
			p = list[0]
		}
		shown.Position(int64(p.Done+p.Failed+p.Gone), int64(chunks))
		line := progressLine(p)
		if line != last {
			fmt.Fprintf(e.stdout, "%s  %s\n", humanDuration(time.Since(start)), line)
			last = line
		}
		if p.Finished() {
			shown.Finish(backfillEnd(p))
			for _, msg := range p.Errors {
				fmt.Fprintln(e.stdout, "  "+e.redactor.String(msg))
			}
			if p.Failed > 0 {
				return &exitError{code: 1}
			}
			return nil
		}
		select {
		case <-ctx.Done():
			fmt.Fprintln(e.stdout, "stopped following; the chunks go on in the fleet")
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// backfillEnd is how a finished backfill ended: failed when a chunk
// was given up.
func backfillEnd(p fleet.Progress) string {
	if p.Failed > 0 {
		return state.StatusFailed
	}
	return state.StatusSucceeded
}

func progressLine(p fleet.Progress) string {
	line := fmt.Sprintf("%d/%d chunks done, %d running, %d waiting, %d given up", p.Done, p.Chunks, p.Running, p.Waiting, p.Failed)
	if p.Gone > 0 {
		line += fmt.Sprintf(", %d ended and no longer kept by River", p.Gone)
	}
	return line
}
