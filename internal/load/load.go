// Package load writes batches to the warehouse: one transaction per batch
// that proves the run still holds its stream's lease, stages the rows with
// COPY, merges them into the tables, keeps transcript lines and API
// messages of a conversation from standing side by side, quarantines
// rejections and moves the stream's checkpoint (or an import's progress).
// All of it lands, or none of it does. It must not fetch or interpret
// platform data, nor keep the books around a run (that is package state);
// every statement it runs lives in sql/queries.
package load

import (
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"syncer/internal/cursor"
	"syncer/internal/state"
	"syncer/internal/transform"
)

// Loader writes batches to one warehouse.
type Loader struct {
	// OnCommit, if set, hears of every batch Commit wrote: its run's
	// source and stream, and how long its transaction took (with the
	// retries after a deadlock, if any). Set it before the first commit;
	// it is called from every goroutine that commits (metrics).
	OnCommit func(source, stream string, took time.Duration)

	pool         *pgxpool.Pool
	store        *state.Store
	logger       *slog.Logger
	batchTimeout time.Duration

	statsMu sync.Mutex
	counted map[string]bool // tables PostgreSQL has statistics for
}

// New returns a loader that writes through store's pool and counts each
// batch on its run. logger may be nil.
func New(store *state.Store, logger *slog.Logger) *Loader {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Loader{pool: store.Pool(), store: store, logger: logger, batchTimeout: 10 * time.Minute}
}

// Commit is one batch and what committing it means for the stream.
type Commit struct {
	Batch *transform.Batch
	// Checkpoints move the stream's cursors, one per partition, in the
	// same transaction as the rows. None leaves sync_state alone
	// (backfills and imports never move it); a cursor never moves back.
	Checkpoints []Checkpoint
	// Complete marks the end of a full-refresh pass: rows of Complete.Table
	// not among SeenIDs get deleted_at. A pass that saw nothing marks
	// nothing.
	Complete *Completion
	// File records how far the import of a file got, in imported_files:
	// its Bad counts the records quarantined before this commit, and the
	// commit adds its own.
	File *state.ImportedFileRecord
	// Inbox marks webhook deliveries processed (each with a note when it
	// mapped to nothing or could not be read).
	Inbox []Inbox
	// What the batch adds to the run's counters.
	Pages         int
	RowsRead      int
	SuspectedGaps int
}

// Checkpoint is where a partition of the stream continues.
type Checkpoint struct {
	Partition string // "" for a stream with one cursor
	Cursor    cursor.Cursor
	// Newest is the newest record time the source has shown for the
	// partition, kept beside the cursor for status.
	Newest time.Time
}

// Inbox is a webhook_inbox row a commit processes.
type Inbox struct {
	ID   int64
	Note string // "" when it mapped to rows
}

// Completion is a full-refresh pass that saw every row of its table.
type Completion struct {
	Table   string // channels, agents or departments
	SeenIDs []string
}

// Result is what one commit wrote.
type Result struct {
	Written     int64 // rows inserted, changed or deleted, over all tables
	Quarantined int64 // rejections stored (new or seen again)
}

// retryable reports errors after which a whole transaction may be tried
// again: deadlocks and serialization failures.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}
