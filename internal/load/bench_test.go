package load_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"syncer/internal/dbtest"
	"syncer/internal/load"
	"syncer/internal/state"
	"syncer/internal/transform"
)

// BenchmarkCommitVsCopy loads batches of 500 new messages through
// load.Commit (staging COPY, merge, checkpoint, one transaction each) and,
// in the same run, the same rows with a bare COPY into a copy of the
// messages table with the same indexes. It reports both rates and their
// ratio: how close the loader comes to what PostgreSQL can take.
func BenchmarkCommitVsCopy(b *testing.B) {
	db := dbtest.New(b)
	store := state.New(db.Pool, nil)
	l := load.New(store, nil)
	ctx := context.Background()
	src, err := store.Source(ctx, "bench", "ogmma")
	if err != nil {
		b.Fatal(err)
	}
	run, err := store.StartRun(ctx, src, "messages", state.ModeIncremental, time.Time{}, time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, "CREATE TABLE bare (LIKE messages INCLUDING ALL)"); err != nil {
		b.Fatal(err)
	}
	const batch = 500
	batches := func(round int) *transform.Batch {
		bt := &transform.Batch{}
		for i := range batch {
			id := fmt.Sprintf("m-%d-%d", round, i)
			raw, _ := json.Marshal(map[string]string{"id": id, "content": "Olá, preciso de ajuda com meu pedido 😊"})
			bt.Messages = append(bt.Messages, transform.Message{ExternalID: id, ConversationID: fmt.Sprintf("c%d", i%50), ChannelID: "ch",
				ContactID: "5511977776666", Direction: "inbound", Kind: "text", Status: "received",
				Body: "Olá, preciso de ajuda com meu pedido 😊", SentAt: time.Unix(int64(1700000000+i), 0), UpdatedAt: time.Unix(int64(1700000000+i), 0), Raw: raw})
		}
		return bt
	}
	cols := []string{"source_id", "external_id", "conversation_external_id", "channel_external_id", "contact_external_id", "direction", "kind", "status", "body", "sent_at", "updated_at", "is_bot", "raw"}

	var commitTime, copyTime time.Duration
	b.ResetTimer()
	for round := range b.N {
		bt := batches(round)
		start := time.Now()
		if _, err := l.Commit(ctx, run, load.Commit{Batch: bt}); err != nil {
			b.Fatal(err)
		}
		commitTime += time.Since(start)

		start = time.Now()
		_, err := db.Pool.CopyFrom(ctx, pgx.Identifier{"bare"}, cols, pgx.CopyFromSlice(len(bt.Messages), func(i int) ([]any, error) {
			m := &bt.Messages[i]
			return []any{src.ID, m.ExternalID + "-bare", m.ConversationID, m.ChannelID, m.ContactID, m.Direction, m.Kind, m.Status, m.Body, m.SentAt, m.UpdatedAt, false, []byte(m.Raw)}, nil
		}))
		if err != nil {
			b.Fatal(err)
		}
		copyTime += time.Since(start)
	}
	rows := float64(b.N * batch)
	b.ReportMetric(rows/commitTime.Seconds(), "commit_rows/s")
	b.ReportMetric(rows/copyTime.Seconds(), "copy_rows/s")
	b.ReportMetric(copyTime.Seconds()/commitTime.Seconds(), "commit/copy_speed")
}
