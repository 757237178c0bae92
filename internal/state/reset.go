package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"syncer/internal/state/statedb"
)

// ModeReset is the mode of the sync_runs row that records a cursor reset.
const ModeReset = "reset"

// SavedCursor is one partition's saved cursor, as stored.
type SavedCursor struct {
	Partition string          `json:"partition"`
	Cursor    json.RawMessage `json:"cursor"`
	NewestAt  *time.Time      `json:"source_newest,omitempty"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// StreamCursors lists the saved cursors of a stream, of one partition
// when partition is not nil.
func (s *Store) StreamCursors(ctx context.Context, src Source, stream string, partition *string) ([]SavedCursor, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	rows, err := s.q.StreamCursors(ctx, statedb.StreamCursorsParams{SourceID: src.ID, Stream: stream, Partition: partition})
	if err != nil {
		return nil, DBError("read cursors", err)
	}
	out := make([]SavedCursor, len(rows))
	for i, r := range rows {
		out[i] = SavedCursor{Partition: r.PartitionKey, Cursor: r.Cursor, NewestAt: r.NewestAt, UpdatedAt: r.UpdatedAt}
	}
	return out, nil
}

// Reset is a cursor reset: of a stream, of one partition when Partition is
// not nil; to nothing (the next run reads from start_date) when To is
// zero, else back to To (cursors past it go back to it).
type Reset struct {
	Source    Source
	Stream    string
	Partition *string
	To        time.Time
	Who       string // user@host, for the record
}

// ErrStreamBusy means a run of the stream is going on: its lease is held.
var ErrStreamBusy = errors.New("a run of the stream is going on (another process holds its lease); try again when it has ended")

// ResetCursors resets the cursors and records it in sync_runs, in one
// transaction, holding the stream's lease so that no run is going on (one
// would save its cursor over the reset). It returns how many cursors
// changed and the id of the record.
func (s *Store) ResetCursors(ctx context.Context, r Reset) (changed int64, runID int64, err error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	lease, ok, err := s.TryLease(ctx, r.Source, r.Stream)
	if err != nil {
		return 0, 0, err
	}
	if !ok {
		return 0, 0, ErrStreamBusy
	}
	defer lease.Release()
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lease.Hold(ctx, tx); err != nil {
			return err
		}
		q := statedb.New(tx)
		var note string
		var to *time.Time
		where := "every partition"
		if r.Partition != nil {
			where = fmt.Sprintf("partition %q", *r.Partition)
		}
		if r.To.IsZero() {
			if changed, err = q.DeleteCursors(ctx, statedb.DeleteCursorsParams{SourceID: r.Source.ID, Stream: r.Stream, Partition: r.Partition}); err != nil {
				return err
			}
			note = fmt.Sprintf("cursors reset by %s: %d deleted (%s); the next run reads from start_date", r.Who, changed, where)
		} else {
			t := r.To.UTC()
			to = &t
			if changed, err = q.RewindCursors(ctx, statedb.RewindCursorsParams{ToTs: t, SourceID: r.Source.ID, Stream: r.Stream, Partition: r.Partition}); err != nil {
				return err
			}
			note = fmt.Sprintf("cursors reset by %s: %d set back to %s (%s); the next run reads from there", r.Who, changed, t.Format(time.RFC3339), where)
		}
		// rows_written stays 0: no warehouse row changed; the note counts
		// the cursors.
		runID, err = q.RecordReset(ctx, statedb.RecordResetParams{SourceID: r.Source.ID, Stream: r.Stream, Rows: 0, ToTs: to,
			Worker: &r.Who, Note: &note})
		return err
	})
	if err != nil {
		return 0, 0, DBError("reset the cursors", err)
	}
	return changed, runID, nil
}
