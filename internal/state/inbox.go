package state

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"syncer/internal/state/statedb"
)

// Delivery is a webhook delivery waiting in webhook_inbox.
type Delivery struct {
	ID       int64
	Source   Source
	Payload  []byte
	Received time.Time
}

// PutDelivery appends a webhook delivery to the inbox, in one short
// transaction, and returns its id: once it returns, the delivery is kept.
func (s *Store) PutDelivery(ctx context.Context, src Source, payload []byte) (int64, error) {
	id, err := s.q.PutInbox(ctx, statedb.PutInboxParams{SourceID: src.ID, Payload: payload})
	return id, DBError("keep the webhook delivery", err)
}

// ClaimDeliveries takes, inside tx, up to limit of the oldest deliveries
// that are not processed and that no other transaction holds, all of one
// source (that of the oldest). The rows stay locked until tx ends, so two
// processors never process one twice.
func ClaimDeliveries(ctx context.Context, tx pgx.Tx, limit int) ([]Delivery, error) {
	rows, err := statedb.New(tx).ClaimInbox(ctx, int32(limit))
	if err != nil {
		return nil, DBError("claim webhook deliveries", err)
	}
	out := make([]Delivery, len(rows))
	for i, r := range rows {
		out[i] = Delivery{ID: r.ID, Source: Source{ID: r.SourceID, Name: r.Name, Platform: r.Platform}, Payload: r.Payload}
	}
	return out, nil
}

// MarkInbox marks deliveries processed inside tx, the transaction of the
// rows they became; notes[i] says why ids[i] became none ("" when it did).
func MarkInbox(ctx context.Context, tx pgx.Tx, ids []int64, notes []string) error {
	return statedb.New(tx).MarkInbox(ctx, statedb.MarkInboxParams{Ids: ids, Notes: notes})
}

// Backlog is how many deliveries of a source wait, and since when.
type Backlog struct {
	Source  string
	Waiting int64
	Oldest  time.Time
}

// InboxBacklog lists the sources with deliveries waiting.
func (s *Store) InboxBacklog(ctx context.Context) ([]Backlog, error) {
	rows, err := s.q.InboxBacklog(ctx)
	if err != nil {
		return nil, DBError("read the webhook inbox", err)
	}
	out := make([]Backlog, len(rows))
	for i, r := range rows {
		out[i] = Backlog{Source: r.Name, Waiting: r.Waiting, Oldest: r.Oldest}
	}
	return out, nil
}

// PruneInbox deletes the deliveries processed and received before before,
// 5,000 in each transaction, and returns how many went. Deliveries not yet
// processed stay, however old.
func (s *Store) PruneInbox(ctx context.Context, before time.Time) (int64, error) {
	const batch = 5000
	var total int64
	for {
		n, err := s.q.PruneInbox(ctx, statedb.PruneInboxParams{Before: before, MaxRows: batch})
		total += n
		if err != nil || n < batch {
			return total, DBError("prune the webhook inbox", err)
		}
	}
}

// PutDeliveryTx is PutDelivery inside tx, so that what else tx writes (the
// job that will process the delivery) commits with it or not at all.
func PutDeliveryTx(ctx context.Context, tx pgx.Tx, src Source, payload []byte) (int64, error) {
	id, err := statedb.New(tx).PutInbox(ctx, statedb.PutInboxParams{SourceID: src.ID, Payload: payload})
	return id, DBError("keep the webhook delivery", err)
}
