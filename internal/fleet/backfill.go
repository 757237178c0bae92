package fleet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Chunks splits [since, until) into windows of chunk (the last one
// shorter), one job's args each, under a new backfill id.
func Chunks(source, stream string, since, until time.Time, chunk time.Duration) ([]BackfillArgs, error) {
	if !since.Before(until) {
		return nil, fmt.Errorf("since %s is not before until %s", since.Format(time.RFC3339), until.Format(time.RFC3339))
	}
	if chunk <= 0 {
		return nil, fmt.Errorf("chunk %s is not a positive duration", chunk)
	}
	window := until.Sub(since) // saturates past about 292 years: then far more than MaxChunks
	n := window / chunk
	if window%chunk != 0 {
		n++
	}
	if n > MaxChunks || window == math.MaxInt64 {
		return nil, fmt.Errorf("%s to %s in chunks of %s is %d chunks; at most %d: take a longer --chunk",
			since.Format(time.RFC3339), until.Format(time.RFC3339), chunk, n, MaxChunks)
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	id := since.UTC().Format("20060102") + "-" + hex.EncodeToString(b[:])
	out := make([]BackfillArgs, 0, int(n))
	for i, from := 0, since; from.Before(until); i, from = i+1, from.Add(chunk) {
		to := from.Add(chunk)
		if to.After(until) {
			to = until
		}
		out = append(out, BackfillArgs{Backfill: id, Source: source, Stream: stream,
			Since: from.UTC(), Until: to.UTC(), Chunk: i + 1, Chunks: int(n)})
	}
	return out, nil
}

// MaxChunks bounds the chunks of one backfill.
const MaxChunks = 10_000

// maxListed is the most jobs River lists at once (its limit).
const maxListed = 10_000

// Tag is the River tag of a backfill's jobs.
func Tag(id string) string { return "backfill-" + id }

// EnqueueBackfill inserts every chunk's job in one transaction: all or
// none.
func EnqueueBackfill(ctx context.Context, client *river.Client[pgx.Tx], tx pgx.Tx, chunks []BackfillArgs) error {
	params := make([]river.InsertManyParams, len(chunks))
	for i, c := range chunks {
		params[i] = river.InsertManyParams{Args: c, InsertOpts: &river.InsertOpts{Tags: []string{Tag(c.Backfill)}}}
	}
	if _, err := client.InsertManyTx(ctx, tx, params); err != nil {
		return fmt.Errorf("enqueue the backfill's chunks: %w", err)
	}
	return nil
}

// Progress is where a backfill's chunks stand.
type Progress struct {
	ID             string
	Source, Stream string
	Since, Until   time.Time
	Chunks         int
	Done           int // completed
	Running        int
	Waiting        int // available, scheduled, retryable, pending
	Failed         int // discarded or cancelled: given up
	// Gone counts the chunks whose jobs River no longer keeps: it deletes
	// finished ones (completed ones after a day), so they ended, most
	// likely done (River keeps given-up ones a week).
	Gone   int
	Errors []string
}

// Finished reports whether no chunk is left to run.
func (p Progress) Finished() bool { return p.Running+p.Waiting == 0 }

// Backfills gives the progress of every backfill whose jobs River still
// keeps (completed jobs go after River's retention, a day by default),
// newest first; id "" lists all, else that one.
func Backfills(ctx context.Context, client *river.Client[pgx.Tx], id string) ([]Progress, error) {
	params := river.NewJobListParams().Kinds(BackfillArgs{}.Kind()).First(maxListed).
		States(rivertype.JobStates()...).OrderBy(river.JobListOrderByID, river.SortOrderDesc)
	if id != "" {
		params = params.TagsAll(Tag(id))
	}
	res, err := client.JobList(ctx, params)
	if err != nil {
		return nil, fmt.Errorf("list backfill jobs: %w", err)
	}
	byID := map[string]*Progress{}
	var order []string
	for _, row := range res.Jobs {
		a, err := decodeBackfill(row)
		if err != nil {
			return nil, err
		}
		p := byID[a.Backfill]
		if p == nil {
			p = &Progress{ID: a.Backfill, Source: a.Source, Stream: a.Stream, Since: a.Since, Until: a.Until, Chunks: a.Chunks}
			byID[a.Backfill] = p
			order = append(order, a.Backfill)
		}
		if a.Since.Before(p.Since) {
			p.Since = a.Since
		}
		if a.Until.After(p.Until) {
			p.Until = a.Until
		}
		switch row.State {
		case rivertype.JobStateCompleted:
			p.Done++
		case rivertype.JobStateRunning:
			p.Running++
		case rivertype.JobStateDiscarded, rivertype.JobStateCancelled:
			p.Failed++
		default:
			p.Waiting++
		}
		if n := len(row.Errors); n > 0 && row.State != rivertype.JobStateCompleted {
			p.Errors = append(p.Errors, fmt.Sprintf("chunk %d/%d [%s, %s): %s", a.Chunk, a.Chunks,
				a.Since.Format(time.RFC3339), a.Until.Format(time.RFC3339), row.Errors[n-1].Error))
		}
	}
	// A chunk not listed has ended and River no longer keeps it, unless
	// the list was cut at its limit: then it may merely be past it.
	whole := len(res.Jobs) < maxListed
	out := make([]Progress, 0, len(order))
	for _, id := range order {
		p := byID[id]
		if whole {
			p.Gone = max(p.Chunks-p.Done-p.Running-p.Waiting-p.Failed, 0)
		}
		out = append(out, *p)
	}
	return out, nil
}

func decodeBackfill(row *rivertype.JobRow) (BackfillArgs, error) {
	var a BackfillArgs
	if err := json.Unmarshal(row.EncodedArgs, &a); err != nil {
		return a, fmt.Errorf("backfill job %d: %w", row.ID, err)
	}
	return a, nil
}
