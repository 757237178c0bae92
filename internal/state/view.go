package state

import (
	"context"
	"time"

	"syncer/internal/cursor"
	"syncer/internal/extract"
	"syncer/internal/state/statedb"
)

// The schedule of media re-checks: a media message stored without a url
// is asked for again MediaFirstWait after it was sent, then
// MediaSecondWait after that, then MediaThirdWait after that, then never.
// Only messages sent within MediaRecent are asked for a first time: an old
// message a backfill brings without a url will not get one.
const (
	MediaFirstWait  = 5 * time.Minute
	MediaSecondWait = time.Hour
	MediaThirdWait  = 24 * time.Hour
	MediaRecent     = 7 * 24 * time.Hour
)

// View is the read-only view of one source's rows that its streams may
// consult (and the record of their media re-checks).
type View struct {
	s   *Store
	src Source
}

var _ extract.Warehouse = (*View)(nil)

// View returns src's view.
func (s *Store) View(src Source) *View { return &View{s: s, src: src} }

// ConversationsWithoutMessages returns those of ids with no message stored.
func (v *View) ConversationsWithoutMessages(ctx context.Context, ids []string) ([]string, error) {
	out, err := v.s.q.ConversationsWithoutMessages(ctx, statedb.ConversationsWithoutMessagesParams{SourceID: v.src.ID, Ids: ids})
	return out, DBError("find conversations without messages", err)
}

// Cursor is the saved cursor of another stream of the source.
func (v *View) Cursor(ctx context.Context, stream string) (cursor.Cursor, bool, error) {
	all, err := v.s.Cursors(ctx, v.src, stream)
	if err != nil {
		return cursor.Cursor{}, false, err
	}
	c, ok := all[""]
	return c, ok, nil
}

// MediaDue returns up to limit ids of media messages without a url whose
// re-check is due at now, oldest first.
func (v *View) MediaDue(ctx context.Context, now time.Time, limit int) ([]string, error) {
	out, err := v.s.q.MediaDue(ctx, statedb.MediaDueParams{SourceID: v.src.ID, SentAfter: now.Add(-MediaRecent),
		SentBefore: now.Add(-MediaFirstWait), CheckedAt: now, MaxIds: int32(limit)})
	return out, DBError("find media messages without a url", err)
}

// MediaChecked records a re-check of ids at now: those that got their url
// leave the schedule, the others wait for their next re-check, or for none.
func (v *View) MediaChecked(ctx context.Context, ids []string, now time.Time) error {
	if err := v.s.q.MediaChecked(ctx, statedb.MediaCheckedParams{SourceID: v.src.ID, Ids: ids, CheckedAt: now,
		SecondAt: now.Add(MediaSecondWait), ThirdAt: now.Add(MediaThirdWait)}); err != nil {
		return DBError("record media re-checks", err)
	}
	return DBError("record media re-checks", v.s.q.MediaArrived(ctx, statedb.MediaArrivedParams{SourceID: v.src.ID, Ids: ids}))
}
