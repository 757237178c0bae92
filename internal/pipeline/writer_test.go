package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"syncer/internal/cursor"
	"syncer/internal/dbtest"
	"syncer/internal/load"
	"syncer/internal/state"
	"syncer/internal/transform"
)

func writerSetup(t *testing.T) (*dbtest.DB, *load.Loader, *state.Run) {
	t.Helper()
	t.Parallel()
	db := dbtest.New(t)
	store := state.New(db.Pool, nil)
	ctx := context.Background()
	src, err := store.Source(ctx, "acme-ogmma", "ogmma")
	if err != nil {
		t.Fatal(err)
	}
	run, err := store.StartRun(ctx, src, "messages", state.ModeIncremental, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return db, load.New(store, nil), run
}

var w0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// page is the commit of one page: n messages of partition p, its cursor at
// the last of them.
func page(p string, from, n int) load.Commit {
	b := &transform.Batch{}
	var last cursor.Cursor
	for i := from; i < from+n; i++ {
		id := fmt.Sprintf("%s-m%03d", p, i)
		at := w0.Add(time.Duration(i) * time.Minute)
		b.Messages = append(b.Messages, transform.Message{ExternalID: id, ConversationID: p, Direction: "inbound", Kind: "text",
			Status: "received", Body: "oi", SentAt: at, UpdatedAt: at, Raw: []byte(`{"id":"` + id + `"}`)})
		last = cursor.Cursor{TS: at, ID: id}
	}
	return load.Commit{Batch: b, Pages: 1, RowsRead: n, Checkpoints: []load.Checkpoint{{Partition: p, Cursor: last, Newest: last.TS}}}
}

func count(t *testing.T, db *dbtest.DB, q string) int {
	t.Helper()
	var n int
	if err := db.Pool.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Pages of several partitions gather into batches by rows; each batch
// moves the cursor of every partition it covers, to its latest page.
func TestWriterBatchesAcrossPartitions(t *testing.T) {
	db, l, run := writerSetup(t)
	w := newWriter(context.Background(), l, run, Limits{Rows: 25, Delay: time.Hour}, slog.New(slog.DiscardHandler), nil)
	for i := range 4 {
		for _, p := range []string{"a", "b", "c"} {
			if err := w.add(page(p, 10*i, 10), p, 100); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, "SELECT count(*) FROM messages"); n != 120 {
		t.Fatalf("%d messages, want 120", n)
	}
	for _, p := range []string{"a", "b", "c"} {
		var id string
		if err := db.Pool.QueryRow(context.Background(), "SELECT cursor->>'id' FROM sync_state WHERE partition_key = $1", p).Scan(&id); err != nil || id != p+"-m039" {
			t.Fatalf("cursor of %s: %q %v, want its last message", p, id, err)
		}
	}
	// Pages of 10 rows, batches of at least 25: 4 transactions (the
	// messages' xmin), not one per page.
	if n := count(t, db, "SELECT count(DISTINCT xmin::text) FROM messages"); n != 4 {
		t.Fatalf("the 12 pages were committed in %d transactions, want 4", n)
	}
}

// After a batch fails, no later batch commits, and the error comes back
// from add and close: a later batch may move a cursor past the rows of
// the failed one.
func TestWriterCommitsNothingAfterAFailure(t *testing.T) {
	db, l, run := writerSetup(t)
	w := newWriter(context.Background(), l, run, Limits{Rows: 10, Delay: time.Hour}, slog.New(slog.DiscardHandler), nil)
	if err := w.add(page("a", 0, 10), "a", 100); err != nil {
		t.Fatal(err)
	}
	bad := page("a", 10, 10)
	bad.Complete = &load.Completion{Table: "no such table", SeenIDs: []string{"x"}} // the commit refuses it
	_ = w.add(bad, "a", 100)
	var err error
	for i := 2; i < 6 && err == nil; i++ {
		err = w.add(page("a", 10*i, 10), "a", 100)
	}
	if cerr := w.close(); cerr == nil || !strings.Contains(cerr.Error(), "no full-refresh table") {
		t.Fatalf("close: %v, want the failed batch's error", cerr)
	}
	if n := count(t, db, "SELECT count(*) FROM messages"); n != 10 {
		t.Fatalf("%d messages, want the 10 of the batch before the failure", n)
	}
	var id string
	if err := db.Pool.QueryRow(context.Background(), "SELECT cursor->>'id' FROM sync_state WHERE partition_key = 'a'").Scan(&id); err != nil || id != "a-m009" {
		t.Fatalf("cursor %q %v, want it at the last committed message", id, err)
	}
}

// A batch waiting for its first rows is committed after Delay all the
// same: a trickle lands.
func TestWriterCommitsAfterDelay(t *testing.T) {
	db, l, run := writerSetup(t)
	w := newWriter(context.Background(), l, run, Limits{Rows: 1000, Delay: 50 * time.Millisecond}, slog.New(slog.DiscardHandler), nil)
	if err := w.add(page("a", 0, 3), "a", 100); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for count(t, db, "SELECT count(*) FROM messages") != 3 {
		if time.Now().After(deadline) {
			t.Fatal("the batch was not committed after its delay")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
}

// Two checkpoints of one partition merge into the later position, the
// later reread and the later newest record, whichever page brought them.
func TestLaterCheckpoint(t *testing.T) {
	early := load.Checkpoint{Partition: "p", Cursor: cursor.Cursor{TS: w0, ID: "a", Reread: w0.Add(time.Hour)}, Newest: w0.Add(2 * time.Hour)}
	late := load.Checkpoint{Partition: "p", Cursor: cursor.Cursor{TS: w0.Add(time.Minute), ID: "b"}, Newest: w0.Add(time.Minute)}
	for _, got := range []load.Checkpoint{laterCheckpoint(early, late), laterCheckpoint(late, early)} {
		if got.Cursor.ID != "b" || !got.Cursor.Reread.Equal(w0.Add(time.Hour)) || !got.Newest.Equal(w0.Add(2*time.Hour)) {
			t.Fatalf("%+v", got)
		}
	}
}

// Batches of one partition commit in order even with no cursor (a
// backfill, a full-refresh pass): a record the later page brings again
// is not overwritten by the earlier one.
func TestWriterKeepsAPartitionInOrder(t *testing.T) {
	db, l, run := writerSetup(t)
	w := newWriter(context.Background(), l, run, Limits{Rows: 1, Delay: time.Hour}, slog.New(slog.DiscardHandler), nil)
	for i := range 20 {
		b := &transform.Batch{Messages: []transform.Message{{ExternalID: "x", ConversationID: "c", Direction: "inbound", Kind: "text",
			Status: "received", Body: fmt.Sprintf("v%02d", i), SentAt: w0, Raw: []byte(`{"id":"x"}`)}}} // no updated_at: the last write wins
		if err := w.add(load.Commit{Batch: b, Pages: 1, RowsRead: 1}, "", 10); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	var body string
	if err := db.Pool.QueryRow(context.Background(), "SELECT body FROM messages WHERE external_id = 'x'").Scan(&body); err != nil || body != "v19" {
		t.Fatalf("body %q %v, want the last page's", body, err)
	}
}
