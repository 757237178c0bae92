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

// BenchmarkCommitVsCopy loads batches of new messages through load.Commit
// (staging COPY, merge, checkpoint, one transaction each) and, in the same
// run, the same rows with a bare COPY into a copy of the messages table
// with the same indexes. It reports both rates and their ratio: how close
// the loader comes to what PostgreSQL can take. Batches of 500 rows (an API
// page) against 10,000 (the pipeline's write batches).
func BenchmarkCommitVsCopy(b *testing.B) {
	for _, size := range []int{500, 10_000} {
		b.Run(fmt.Sprintf("rows=%d", size), func(b *testing.B) { benchCommitVsCopy(b, size) })
	}
}

// BenchmarkCommitUnchanged commits the same 10,000 messages again and
// again: what a sync with nothing new costs the database per batch (the
// prefilter leaves every row alone).
func BenchmarkCommitUnchanged(b *testing.B) {
	_, l, run := benchSetup(b)
	ctx := context.Background()
	bt := benchBatch(0, 10_000)
	if _, err := l.Commit(ctx, run, load.Commit{Batch: bt}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res, err := l.Commit(ctx, run, load.Commit{Batch: bt})
		if err != nil || res.Written != 0 {
			b.Fatalf("written %d, %v; want nothing written", res.Written, err)
		}
	}
	b.ReportMetric(float64(b.N*len(bt.Messages))/b.Elapsed().Seconds(), "rows/s")
}

// benchSetup is a warehouse of its own, a loader and a run to commit on.
func benchSetup(b *testing.B) (*dbtest.DB, *load.Loader, *state.Run) {
	db := dbtest.New(b)
	store := state.New(db.Pool, nil)
	ctx := context.Background()
	src, err := store.Source(ctx, "bench", "ogmma")
	if err != nil {
		b.Fatal(err)
	}
	run, err := store.StartRun(ctx, src, "messages", state.ModeIncremental, time.Time{}, time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	return db, load.New(store, nil), run
}

func benchBatch(round, size int) *transform.Batch {
	bt := &transform.Batch{}
	for i := range size {
		id := fmt.Sprintf("m-%d-%d", round, i)
		raw, _ := json.Marshal(map[string]string{"id": id, "content": "Olá, preciso de ajuda com meu pedido 😊"})
		bt.Messages = append(bt.Messages, transform.Message{ExternalID: id, ConversationID: fmt.Sprintf("c%d", i%50), ChannelID: "ch",
			ContactID: "5511977776666", Direction: "inbound", Kind: "text", Status: "received",
			Body: "Olá, preciso de ajuda com meu pedido 😊", SentAt: time.Unix(int64(1700000000+i), 0), UpdatedAt: time.Unix(int64(1700000000+i), 0), Raw: raw})
	}
	return bt
}

func benchCommitVsCopy(b *testing.B, batch int) {
	db, l, run := benchSetup(b)
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, "CREATE TABLE bare (LIKE messages INCLUDING ALL)"); err != nil {
		b.Fatal(err)
	}
	cols := []string{"source_id", "external_id", "conversation_external_id", "channel_external_id", "contact_external_id", "direction", "kind", "status", "body", "sent_at", "updated_at", "is_bot", "raw"}

	var commitTime, copyTime time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for round := range b.N {
		bt := benchBatch(round, batch)
		start := time.Now()
		if _, err := l.Commit(ctx, run, load.Commit{Batch: bt}); err != nil {
			b.Fatal(err)
		}
		commitTime += time.Since(start)

		start = time.Now()
		_, err := db.Pool.CopyFrom(ctx, pgx.Identifier{"bare"}, cols, pgx.CopyFromSlice(len(bt.Messages), func(i int) ([]any, error) {
			m := &bt.Messages[i]
			return []any{run.Source.ID, m.ExternalID + "-bare", m.ConversationID, m.ChannelID, m.ContactID, m.Direction, m.Kind, m.Status, m.Body, m.SentAt, m.UpdatedAt, false, []byte(m.Raw)}, nil
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
