package load

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"syncer/internal/state"
	"syncer/internal/transform"
	"syncer/sql/queries"
)

// ErrNotRetryable is returned by Retry for a quarantined record whose
// stream has no mapping over single JSON records (a file format's lines,
// a webhook delivery, a Wavy sessions page): it cannot be retried yet.
var ErrNotRetryable = errors.New("records of this stream cannot be retried yet")

// Retried is what Retry did with one quarantined record.
type Retried struct {
	Mapped bool // it now maps: its rows are written and it left the quarantine
	// Superseded: it now maps, but a version of it was read since (its
	// row is in the warehouse): nothing is written over that, and it left
	// the quarantine.
	Superseded bool
	Written    int64  // rows written
	Reason     string // why it still fails, when it does
	Changed    bool   // the reason is not the one it was quarantined with
}

// Retry maps a quarantined record again with today's transform of its
// platform and stream. When it now maps, its rows are written and its
// quarantine row deleted in one transaction; when it still fails, its row
// stays, with its reason updated if it changed. No cursor moves. run is
// the retry's run, of rec's source and stream; Retry counts into it.
func (l *Loader) Retry(ctx context.Context, run *state.Run, rec state.Quarantined) (Retried, error) {
	f, ok := transform.LookupRecords(rec.Platform, rec.Stream)
	if !ok {
		return Retried{}, ErrNotRetryable
	}
	mapped := f([]json.RawMessage{rec.Payload})
	b := screen(&mapped)
	if len(b.Rejections) > 0 {
		reason := cleanText(b.Rejections[0].Reason)
		out := Retried{Reason: reason, Changed: reason != rec.Reason}
		if out.Changed {
			if _, err := l.store.Requarantine(ctx, run, rec.ID, reason, fingerprint(reason, cleanJSON(rec.Payload))); err != nil {
				return Retried{}, err
			}
		}
		l.store.Count(ctx, run, state.Totals{RowsRead: 1, RowsQuarantined: 1})
		return out, nil
	}

	ctx, cancel := context.WithTimeout(ctx, l.batchTimeout)
	defer cancel()
	var res Result
	var superseded bool
	var err error
	for attempt := 1; ; attempt++ {
		res = Result{}
		err = pgx.BeginFunc(ctx, l.pool, func(tx pgx.Tx) error {
			var err error
			if superseded, err = supersededIn(ctx, tx, run.Source.ID, b); err != nil {
				return fmt.Errorf("retry_superseded: %w", err)
			}
			if !superseded {
				if err := l.write(ctx, tx, run, b, Commit{Batch: b, RowsRead: 1}, &res); err != nil {
					return err
				}
			}
			_, err = state.ReleaseQuarantined(ctx, tx, rec.ID)
			return err
		})
		if err == nil || !retryable(err) || attempt == 3 {
			break
		}
		select {
		case <-ctx.Done():
			return Retried{}, ctx.Err()
		case <-time.After(time.Duration(attempt*50) * time.Millisecond):
		}
	}
	if err != nil {
		return Retried{}, state.DBError(fmt.Sprintf("retry quarantined record %d of %s %s", rec.ID, rec.Source, rec.Stream), err)
	}
	l.store.Count(ctx, run, state.Totals{RowsRead: 1, RowsWritten: res.Written})
	return Retried{Mapped: !superseded, Superseded: superseded, Written: res.Written}, nil
}

// supersededIn reports, inside tx, whether a record of b (leaving out the
// rows derived from others, and status-only messages) is already stored.
func supersededIn(ctx context.Context, tx pgx.Tx, src int32, b *transform.Batch) (bool, error) {
	var msgs, convs, contacts, channels, agents, depts []string
	for _, m := range b.Messages {
		if !m.StatusOnly {
			msgs = append(msgs, cleanText(m.ExternalID))
		}
	}
	for _, c := range b.Conversations {
		if !c.Derived && !c.ByProtocol {
			convs = append(convs, cleanText(c.ExternalID))
		}
	}
	for _, c := range b.Contacts {
		if !c.Derived {
			contacts = append(contacts, cleanText(c.ExternalID))
		}
	}
	for _, c := range b.Channels {
		if !c.Derived {
			channels = append(channels, cleanText(c.ExternalID))
		}
	}
	for _, a := range b.Agents {
		agents = append(agents, cleanText(a.ExternalID))
	}
	for _, d := range b.Departments {
		depts = append(depts, cleanText(d.ExternalID))
	}
	var found bool
	err := tx.QueryRow(ctx, queries.Get("retry_superseded"), src, msgs, convs, contacts, channels, agents, depts).Scan(&found)
	return found, err
}

// Retryable reports whether Retry can map the quarantined records of a
// platform's stream: its mapping takes single JSON records.
func Retryable(platform, stream string) bool {
	_, ok := transform.LookupRecords(platform, stream)
	return ok
}
