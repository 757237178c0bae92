package state

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"syncer/internal/state/statedb"
)

// ModeRetry is the mode of the sync_runs row that records a retry of
// quarantined records (syncer quarantine retry).
const ModeRetry = "retry"

// QuarantineFilter selects quarantined records; a zero field selects all.
type QuarantineFilter struct {
	Source string
	Stream string
	Since  time.Time // last seen at or after
	ID     int64
}

// Quarantined is one row of the quarantine table.
type Quarantined struct {
	ID          int64           `json:"id"`
	Source      string          `json:"source"`
	Platform    string          `json:"platform"`
	Stream      string          `json:"stream"`
	RunID       *int64          `json:"run_id"`
	ExternalID  *string         `json:"external_id"`
	Reason      string          `json:"reason"`
	Payload     json.RawMessage `json:"payload"`
	FirstSeenAt time.Time       `json:"first_seen_at"`
	SeenAt      time.Time       `json:"last_seen_at"`
}

// Quarantine lists the quarantined records f selects, oldest first.
func (s *Store) Quarantine(ctx context.Context, f QuarantineFilter) ([]Quarantined, error) {
	var p statedb.ListQuarantineParams
	if f.Source != "" {
		p.Source = &f.Source
	}
	if f.Stream != "" {
		p.Stream = &f.Stream
	}
	if !f.Since.IsZero() {
		since := f.Since.UTC()
		p.Since = &since
	}
	if f.ID != 0 {
		p.ID = &f.ID
	}
	rows, err := s.q.ListQuarantine(ctx, p)
	if err != nil {
		return nil, DBError("list quarantine", err)
	}
	out := make([]Quarantined, len(rows))
	for i, r := range rows {
		out[i] = Quarantined{ID: r.ID, Source: r.Source, Platform: r.Platform, Stream: r.Stream, RunID: r.RunID,
			ExternalID: r.ExternalID, Reason: r.Reason, Payload: r.Payload, FirstSeenAt: r.FirstSeenAt, SeenAt: r.SeenAt}
	}
	return out, nil
}

// ReleaseQuarantined deletes quarantine row id inside tx, the transaction
// that writes the rows the record now maps to. It reports whether the row
// was still there (another retry may have taken it).
func ReleaseQuarantined(ctx context.Context, tx pgx.Tx, id int64) (bool, error) {
	n, err := statedb.New(tx).DeleteQuarantined(ctx, id)
	return n == 1, err
}

// Requarantine records that quarantine row id, retried by run, still fails
// for reason (with fingerprint as the loader computes it). It reports
// false when another row of the same stream already holds that reason for
// the same payload; then the row is left as it was.
func (s *Store) Requarantine(ctx context.Context, run *Run, id int64, reason, fingerprint string) (bool, error) {
	runID := run.ID
	n, err := s.q.RequarantineReason(ctx, statedb.RequarantineReasonParams{Reason: reason, Fingerprint: fingerprint, RunID: &runID, ID: id})
	if err != nil {
		return false, DBError("update quarantine reason", err)
	}
	return n == 1, nil
}
