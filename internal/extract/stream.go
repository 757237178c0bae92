package extract

import (
	"context"
	"errors"
	"time"

	"syncer/internal/cursor"
)

// Request says what part of a stream to read.
type Request struct {
	// Backfill reads [Since, Until) and moves no cursor. Otherwise the run is
	// incremental from Cursors (or StartDate where a partition has none).
	Backfill     bool
	Since, Until time.Time
	// Full ignores the saved cursors and reads from StartDate.
	Full      bool
	StartDate time.Time
	Cursors   map[string]cursor.Cursor
	// Warehouse answers the few questions a stream may ask of what is
	// already stored; set by the runner.
	Warehouse Warehouse
}

// Warehouse is the read-only view of the warehouse a stream may consult,
// always about the stream's own source.
type Warehouse interface {
	// ConversationsWithoutMessages returns those of ids (conversation
	// external ids) that have no message stored.
	ConversationsWithoutMessages(ctx context.Context, ids []string) ([]string, error)
	// Cursor is the saved cursor of another stream of the same source
	// (partition ""), and whether it has one.
	Cursor(ctx context.Context, stream string) (cursor.Cursor, bool, error)
	// MediaDue returns up to limit ids of media messages stored without a
	// media_url whose next re-check is due at now, oldest first.
	MediaDue(ctx context.Context, now time.Time, limit int) ([]string, error)
	// MediaChecked records that the messages were asked for again at now
	// (and still lacked their media where they are still without one), so
	// that each is asked again only after a longer wait, then no more.
	MediaChecked(ctx context.Context, ids []string, now time.Time) error
}

// Lower is where an incremental read of partition starts: its saved cursor,
// else StartDate.
func (r Request) Lower(partition string) cursor.Cursor {
	if c, ok := r.Cursors[partition]; ok && !r.Full {
		return c
	}
	return cursor.Cursor{TS: r.StartDate}
}

// InWindow reports whether t falls in the backfill window, or at or after
// StartDate for other reads.
func (r Request) InWindow(t time.Time) bool {
	if r.Backfill {
		return (r.Since.IsZero() || !t.Before(r.Since)) && (r.Until.IsZero() || t.Before(r.Until))
	}
	return r.StartDate.IsZero() || !t.Before(r.StartDate)
}

// Page is one response's records and where the stream continues once they
// are committed.
type Page struct {
	// Partition names the part of the stream the cursor belongs to (an
	// Ogmma conversation, say); "" for a stream with one cursor.
	Partition string
	// Records are the page's records, a slice of the stream's record type
	// ([]json.RawMessage for most JSON APIs; Ogmma's pages carry what the
	// config says of their channel); the stream's transform takes that
	// same type.
	Records any
	// Cursor is the partition's checkpoint after this page; nil leaves it.
	Cursor *cursor.Cursor
	// Newest is the time of the newest record the source has shown for the
	// partition so far (zero when unknown): how far the source is ahead of
	// the cursor, for status.
	Newest time.Time
	// Pages is how many pages the pass this page belongs to has in all, as
	// far as the source tells (Digisac's lastPage of what remains, plus the
	// pages read before), for the progress display; 0 when it does not.
	Pages int
	// SuspectedGap says records may have been missed before this page
	// (the API cannot reach back far enough).
	SuspectedGap bool
	// Complete ends a full-refresh pass that read every record: Seen holds
	// the ids of all of them, so rows not among them are marked deleted. A
	// complete pass that saw nothing marks nothing.
	Complete bool
	Seen     []string
}

// Emit hands a page to the loader; it returns once the page is committed.
// It is safe for concurrent use.
type Emit func(ctx context.Context, p Page) error

// Stream reads one stream of one source.
type Stream interface {
	Name() string
	Extract(ctx context.Context, req Request, emit Emit) error
}

// PartialError means a stream stopped before the end, or left parts unread,
// with everything it did read committed: the run is partial and the next one
// resumes.
type PartialError struct{ Err error }

func (e *PartialError) Error() string { return e.Err.Error() }
func (e *PartialError) Unwrap() error { return e.Err }

// IsPartial reports whether err leaves a run partial rather than failed:
// a PartialError, or a rate limit that outlasted the retry budget.
func IsPartial(err error) bool {
	var p *PartialError
	return errors.As(err, &p) || errors.Is(err, ErrRateLimited)
}
