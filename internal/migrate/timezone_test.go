package migrate_test

import (
	"context"
	"log/slog"
	"testing"

	"syncer/internal/dbtest"
	"syncer/internal/migrate"
)

// TestALargeTablesIndexIsBuiltConcurrently changes the time zone of a
// warehouse whose messages are too many to index at once: the local-day
// index is built concurrently and swapped in, in the new zone, valid, with
// nothing left of the build; a build left half done (an invalid index
// under the building name) is built again.
func TestALargeTablesIndexIsBuiltConcurrently(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 100,000 messages")
	}
	t.Parallel()
	ctx := context.Background()
	// A database of its own: a concurrent build waits for every older
	// transaction of its database, the other tests' too.
	db := dbtest.NewDatabase(t)
	if _, err := db.Pool.Exec(ctx, `
		INSERT INTO sources (name, platform) VALUES ('acme', 'ogmma');
		INSERT INTO messages (source_id, external_id, direction, kind, sent_at, raw)
		SELECT 1, g::text, 'inbound', 'text', timestamptz '2026-01-01 00:00Z' + g * interval '1 minute', '{}'
		FROM generate_series(1, 100000) g;
		-- What an interrupted CREATE INDEX CONCURRENTLY leaves.
		CREATE INDEX messages_sent_date_idx_building ON messages (sent_at);
		UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'messages_sent_date_idx_building'::regclass`); err != nil {
		t.Fatal(err)
	}
	m, err := migrate.New(db.Pool, db.Schema, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if ch, err := m.ApplyTimeZone(ctx, "America/Sao_Paulo"); err != nil || len(ch.Indexes) != 2 {
		t.Fatalf("ApplyTimeZone = %+v, %v", ch, err)
	}
	checkRows(t, "indexes of messages", rowsOf(t, db, `
		SELECT c.relname, i.indisvalid, obj_description(c.oid, 'pg_class'), pg_get_indexdef(c.oid) LIKE '%''America/Sao_Paulo''%'
		FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		WHERE i.indrelid = 'messages'::regclass AND c.relname LIKE 'messages_sent_date%'`), []string{
		"messages_sent_date_idx | true | time_zone=America/Sao_Paulo | true",
	})
	// A build interrupted after its index was made, before the swap:
	// ApplyTimeZone only swaps it in.
	if _, err := db.Pool.Exec(ctx, `
		CREATE INDEX messages_sent_date_idx_building ON messages (((sent_at AT TIME ZONE 'UTC')::date));
		COMMENT ON INDEX messages_sent_date_idx_building IS 'time_zone=UTC'`); err != nil {
		t.Fatal(err)
	}
	var oid int64
	if err := db.Pool.QueryRow(ctx, `SELECT 'messages_sent_date_idx_building'::regclass::oid::int8`).Scan(&oid); err != nil {
		t.Fatal(err)
	}
	if ch, err := m.ApplyTimeZone(ctx, "UTC"); err != nil || len(ch.Indexes) != 2 {
		t.Fatalf("ApplyTimeZone(UTC) = %+v, %v", ch, err)
	}
	var swapped int64
	if err := db.Pool.QueryRow(ctx, `SELECT 'messages_sent_date_idx'::regclass::oid::int8`).Scan(&swapped); err != nil || swapped != oid {
		t.Errorf("messages_sent_date_idx is %d (%v), want the finished build %d swapped in", swapped, err, oid)
	}
	if _, err := m.ApplyTimeZone(ctx, "America/Sao_Paulo"); err != nil {
		t.Fatal(err)
	}
	// The day filter reads it.
	var n int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM v_messages WHERE sent_date = '2026-01-02'`).Scan(&n); err != nil || n != 1440 {
		t.Errorf("messages of 2 January, local: %d, %v; want 1440", n, err)
	}
}
