package state

import (
	"context"
	"time"

	"syncer/sql/queries"
)

// StreamStatus is where one (source, stream) stands.
type StreamStatus struct {
	Source       string     `json:"source"`
	Platform     string     `json:"platform"`
	Stream       string     `json:"stream"`
	Partitions   int64      `json:"partitions"`
	OldestCursor *time.Time `json:"oldest_cursor,omitempty"`
	NewestCursor *time.Time `json:"newest_cursor,omitempty"`
	// SourceNewest is the newest record time the source has shown.
	SourceNewest *time.Time `json:"source_newest,omitempty"`
	// BehindSeconds is how far a cursor is behind the newest record the
	// source has shown for its partition (the most of any partition): what
	// the next run has left to read, as far as syncer knows.
	BehindSeconds *float64 `json:"behind_source_seconds,omitempty"`
	// LastSuccessAt is when a run of the stream last succeeded.
	LastSuccessAt *time.Time `json:"last_success_at,omitempty"`
	// SinceSuccessSeconds is how long ago that was.
	SinceSuccessSeconds *float64 `json:"since_success_seconds,omitempty"`
	Quarantined         int64    `json:"quarantined"`
	// MediaMissing counts, for a messages stream, media messages still
	// without a url after every re-check: syncer no longer asks for them.
	MediaMissing int64    `json:"media_missing,omitempty"`
	LastRun      *RunInfo `json:"last_run,omitempty"`
}

// RunInfo is a sync_runs row.
type RunInfo struct {
	ID              int64      `json:"id"`
	Mode            string     `json:"mode"`
	Status          string     `json:"status"`
	StartedAt       time.Time  `json:"started_at"`
	FinishedAt      *time.Time `json:"finished_at,omitempty"`
	Pages           int64      `json:"pages"`
	RowsRead        int64      `json:"rows_read"`
	RowsWritten     int64      `json:"rows_written"`
	RowsQuarantined int64      `json:"rows_quarantined"`
	SuspectedGaps   int64      `json:"suspected_gaps"`
	Error           *string    `json:"error,omitempty"`
}

// Status reports every (source, stream) the warehouse has seen.
func (s *Store) Status(ctx context.Context) ([]StreamStatus, error) {
	rows, err := s.pool.Query(ctx, queries.Get("stream_status"))
	if err != nil {
		return nil, DBError("read status", err)
	}
	defer rows.Close()
	var out []StreamStatus
	for rows.Next() {
		var st StreamStatus
		var r RunInfo
		var runID *int64
		var mode, status *string
		var started *time.Time
		var pages, read, written, quarantined, gaps *int64
		var now time.Time
		if err := rows.Scan(&st.Source, &st.Platform, &st.Stream, &st.Partitions, &st.OldestCursor, &st.NewestCursor,
			&st.SourceNewest, &st.BehindSeconds, &runID, &mode, &status, &started, &r.FinishedAt, &pages, &read, &written,
			&quarantined, &gaps, &r.Error, &st.LastSuccessAt, &st.Quarantined, &st.MediaMissing, &now); err != nil {
			return nil, DBError("read status", err)
		}
		if st.BehindSeconds != nil && *st.BehindSeconds < 0 {
			zero := 0.0
			st.BehindSeconds = &zero
		}
		if st.LastSuccessAt != nil {
			since := now.Sub(*st.LastSuccessAt).Seconds()
			st.SinceSuccessSeconds = &since
		}
		if runID != nil {
			r.ID, r.Mode, r.Status, r.StartedAt = *runID, *mode, *status, *started
			r.Pages, r.RowsRead, r.RowsWritten, r.RowsQuarantined, r.SuspectedGaps = *pages, *read, *written, *quarantined, *gaps
			st.LastRun = &r
		}
		out = append(out, st)
	}
	return out, DBError("read status", rows.Err())
}

// TableCounts counts the rows of each warehouse table, in a fixed order.
func (s *Store) TableCounts(ctx context.Context) (map[string]int64, []string, error) {
	rows, err := s.q.TableCounts(ctx)
	if err != nil {
		return nil, nil, DBError("count rows", err)
	}
	counts := make(map[string]int64, len(rows))
	order := make([]string, 0, len(rows))
	for _, r := range rows {
		counts[r.Tbl] = r.N
		order = append(order, r.Tbl)
	}
	return counts, order, nil
}

// SourceCounts are the rows of one source in the main tables.
type SourceCounts struct {
	Messages, Conversations, Contacts int64
	// Inbound and Outbound count the messages of those directions.
	Inbound, Outbound int64
	// Sessions counts Wavy's sessions: the conversations
	// session:<phone>:<ms>, not the per-user ones that hold the messages.
	Sessions int64
	// Channels counts every channel, ChannelsDeleted those marked deleted.
	Channels, ChannelsDeleted int64
}

// CountsBySource counts each source's rows in the main tables.
func (s *Store) CountsBySource(ctx context.Context) (map[string]SourceCounts, error) {
	rows, err := s.q.SourceCounts(ctx)
	if err != nil {
		return nil, DBError("count rows per source", err)
	}
	out := make(map[string]SourceCounts, len(rows))
	for _, r := range rows {
		out[r.Name] = SourceCounts{Messages: r.Messages, Conversations: r.Conversations, Contacts: r.Contacts,
			Inbound: r.Inbound, Outbound: r.Outbound, Sessions: r.Sessions, Channels: r.Channels, ChannelsDeleted: r.ChannelsDeleted}
	}
	return out, nil
}

// DeletedChannels lists the external ids of the source's channels marked
// deleted, sorted.
func (s *Store) DeletedChannels(ctx context.Context, source string) ([]string, error) {
	ids, err := s.q.DeletedChannels(ctx, source)
	return ids, DBError("list deleted channels", err)
}
