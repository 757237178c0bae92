package load

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
	// Lag is how far the newest cursor is behind now: how fresh the
	// stream's data is. (A partitioned stream's quiet partitions keep old
	// cursors; OldestCursor shows them.)
	LagSeconds  *float64 `json:"lag_seconds,omitempty"`
	Quarantined int64    `json:"quarantined"`
	LastRun     *RunInfo `json:"last_run,omitempty"`
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
func (l *Loader) Status(ctx context.Context) ([]StreamStatus, error) {
	rows, err := l.pool.Query(ctx, queries.Get("stream_status"))
	if err != nil {
		return nil, dbError("read status", err)
	}
	defer rows.Close()
	var out []StreamStatus
	for rows.Next() {
		var s StreamStatus
		var runID *int64
		var r RunInfo
		var mode, status *string
		var started *time.Time
		var pages, read, written, quarantined, gaps *int64
		var now time.Time
		if err := rows.Scan(&s.Source, &s.Platform, &s.Stream, &s.Partitions, &s.OldestCursor, &s.NewestCursor,
			&runID, &mode, &status, &started, &r.FinishedAt, &pages, &read, &written, &quarantined, &gaps, &r.Error,
			&s.Quarantined, &now); err != nil {
			return nil, dbError("read status", err)
		}
		if s.NewestCursor != nil {
			lag := now.Sub(*s.NewestCursor).Seconds()
			s.LagSeconds = &lag
		}
		if runID != nil {
			r.ID, r.Mode, r.Status, r.StartedAt = *runID, *mode, *status, *started
			r.Pages, r.RowsRead, r.RowsWritten, r.RowsQuarantined, r.SuspectedGaps = *pages, *read, *written, *quarantined, *gaps
			s.LastRun = &r
		}
		out = append(out, s)
	}
	return out, dbError("read status", rows.Err())
}

// TableCounts counts the rows of each warehouse table.
func (l *Loader) TableCounts(ctx context.Context) (map[string]int64, []string, error) {
	rows, err := l.pool.Query(ctx, queries.Get("table_counts"))
	if err != nil {
		return nil, nil, dbError("count rows", err)
	}
	defer rows.Close()
	counts := map[string]int64{}
	var order []string
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			return nil, nil, dbError("count rows", err)
		}
		counts[name] = n
		order = append(order, name)
	}
	return counts, order, dbError("count rows", rows.Err())
}
