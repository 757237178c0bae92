package migrate_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"syncer/internal/dbtest"
	"syncer/internal/migrate"
	"syncer/internal/schemas"
	"syncer/migrations"
)

// relations lists the tables and views of schema.
func relations(t *testing.T, pool *pgxpool.Pool, schema string) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `
		SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind IN ('r', 'v', 'p') ORDER BY 1`, schema)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// analystTables is what the warehouse's schema shows: the entity tables,
// sources and the views, nothing of syncer's bookkeeping.
var analystTables = []string{
	"agent_daily_load", "agents", "channels", "contacts", "conversation_first_response",
	"conversation_handling_time", "conversations", "daily_message_volume", "departments",
	"messages", "sources", "v_agent_load", "v_conversation_metrics", "v_daily_volume",
	"v_hourly_heatmap", "v_messages",
}

var bookkeepingTables = []string{
	"goose_db_version", "imported_files", "media_rechecks", "quarantine", "river_job",
	"river_leader", "river_migration", "river_notification", "river_queue", "sync_leases", "sync_runs", "sync_state", "warehouse_settings", "webhook_inbox",
}

// TestBookkeepingHasASchemaOfItsOwn checks where a new warehouse's tables
// are: the analysts' in the warehouse's schema, syncer's own (goose's and
// River's included) in the bookkeeping schema beside it.
func TestBookkeepingHasASchemaOfItsOwn(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	if got := relations(t, db.Pool, db.Schema); !slices.Equal(got, analystTables) {
		t.Errorf("warehouse schema holds\n%v\nwant\n%v", got, analystTables)
	}
	if got := relations(t, db.Pool, schemas.State(db.Schema)); !slices.Equal(got, bookkeepingTables) {
		t.Errorf("bookkeeping schema holds\n%v\nwant\n%v", got, bookkeepingTables)
	}
}

// TestUpMovesAnEarlierWarehousesBookkeeping migrates a warehouse the way
// syncer did before the bookkeeping schema (everything in one schema, up
// to migration 00009, River's tables beside them), with a cursor and a
// queued job and Digisac messages in it; Up moves goose's, River's and
// syncer's tables to the bookkeeping schema with their rows, names the
// messages' authors, and the second Up finds nothing to do.
func TestUpMovesAnEarlierWarehousesBookkeeping(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.New(t)
	state := schemas.State(db.Schema)
	// Start from nothing, then make the old layout.
	if _, err := db.Pool.Exec(ctx, "DROP SCHEMA "+state+" CASCADE; DROP SCHEMA "+db.Schema+" CASCADE; CREATE SCHEMA "+db.Schema); err != nil {
		t.Fatal(err)
	}
	sqlDB := stdlib.OpenDBFromPool(db.Pool)
	defer sqlDB.Close()
	old, err := goose.NewProvider(goose.DialectPostgres, sqlDB, migrations.FS, goose.WithDisableGlobalRegistry(true),
		goose.WithTableName(db.Schema+".goose_db_version"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.UpTo(ctx, 9); err != nil {
		t.Fatal(err)
	}
	rm, err := rivermigrate.New(riverpgxv5.New(db.Pool), &rivermigrate.Config{Schema: db.Schema, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rm.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `
		INSERT INTO sources (name, platform) VALUES ('acme', 'oxenty');
		INSERT INTO sync_state (source_id, stream, cursor) SELECT id, 'sessions', '{"ts": "2026-01-02T03:04:05Z"}' FROM sources;
		INSERT INTO river_job (args, kind, max_attempts, queue, state) VALUES ('{}', 'sync', 5, 'default', 'available');
		INSERT INTO sources (name, platform) VALUES ('acme-digisac', 'digisac');
		INSERT INTO messages (source_id, external_id, direction, kind, sent_at, raw)
		SELECT s.id, m.id, m.dir, m.kind, now(), m.raw::jsonb FROM sources s, (VALUES
		    ('out', 'outbound', 'text', '{"isFromMe": true, "type": "chat", "userId": "u1"}'),
		    ('note', 'internal', 'comment', '{"isFromMe": false, "type": "comment", "userId": "u2"}'),
		    ('event', 'internal', 'system', '{"isFromMe": true, "type": "ticket", "userId": "u3"}'),
		    ('in', 'inbound', 'text', '{"isFromMe": false, "type": "chat", "userId": "u4"}')
		) AS m (id, dir, kind, raw) WHERE s.name = 'acme-digisac'`); err != nil {
		t.Fatal(err)
	}

	m, err := migrate.New(db.Pool, db.Schema, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	// The checks every command makes see it as it is, and move nothing:
	// replicas of the earlier syncer may still be working on it.
	if pending, err := m.Pending(ctx); err != nil || !pending {
		t.Errorf("Pending on an earlier warehouse = %v, %v; want true", pending, err)
	}
	st, err := m.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var applied, riverApplied int
	for _, s := range st {
		switch {
		case s.Applied && s.Line == migrate.RiverLine:
			riverApplied++
		case s.Applied && s.Version > 9:
			t.Errorf("migration %d applied on the earlier warehouse", s.Version)
		case s.Applied:
			applied++
		}
	}
	if applied != 9 || riverApplied == 0 {
		t.Errorf("Status of the earlier warehouse: %d of ours and %d of River's applied, want 9 and all", applied, riverApplied)
	}
	if got := relations(t, db.Pool, state); len(got) != 0 {
		t.Errorf("Pending and Status made %v in the bookkeeping schema", got)
	}
	n, err := m.Up(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n < 2 {
		t.Errorf("Up applied %d migrations, want 00010 and later", n)
	}
	if got := relations(t, db.Pool, db.Schema); !slices.Equal(got, analystTables) {
		t.Errorf("warehouse schema holds\n%v\nwant\n%v", got, analystTables)
	}
	if got := relations(t, db.Pool, state); !slices.Equal(got, bookkeepingTables) {
		t.Errorf("bookkeeping schema holds\n%v\nwant\n%v", got, bookkeepingTables)
	}
	var cursor string
	var jobs int
	err = db.Pool.QueryRow(ctx, `SELECT (SELECT cursor->>'ts' FROM `+state+`.sync_state), (SELECT count(*) FROM `+state+`.river_job)`).Scan(&cursor, &jobs)
	if err != nil {
		t.Fatal(err)
	}
	if cursor != "2026-01-02T03:04:05Z" || jobs != 1 {
		t.Errorf("after the move: cursor %q, %d River jobs; want the cursor kept and 1 job", cursor, jobs)
	}
	// Migration 00010 names the authors of the messages already loaded.
	var agents string
	err = db.Pool.QueryRow(ctx, `SELECT string_agg(external_id || '=' || coalesce(agent_external_id, '-'), ' ' ORDER BY external_id) FROM messages`).Scan(&agents)
	if err != nil || agents != "event=- in=- note=u2 out=u1" {
		t.Errorf("agents of the messages loaded before: %q, %v", agents, err)
	}
	if pending, err := m.Pending(ctx); err != nil || pending {
		t.Errorf("Pending = %v, %v after Up", pending, err)
	}
	if n, err := m.Up(ctx); err != nil || n != 0 {
		t.Errorf("second Up applied %d, %v", n, err)
	}
	// A replica of the earlier syncer still running makes its version
	// table again in the warehouse's schema: ignored.
	if _, err := db.Pool.Exec(ctx, "CREATE TABLE "+db.Schema+".goose_db_version (id int)"); err != nil {
		t.Fatal(err)
	}
	if pending, err := m.Pending(ctx); err != nil || pending {
		t.Errorf("Pending with a stray goose_db_version = %v, %v", pending, err)
	}
}

// TestChecksOfANewWarehouseWriteNothing: on a warehouse never migrated,
// whose two schemas exist (migrate roles makes them), Pending and Status
// say everything is pending and make nothing (goose would make its
// version table to say so).
func TestChecksOfANewWarehouseWriteNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.New(t)
	state := schemas.State(db.Schema)
	if _, err := db.Pool.Exec(ctx, "DROP SCHEMA "+state+", "+db.Schema+" CASCADE; CREATE SCHEMA "+db.Schema+"; CREATE SCHEMA "+state); err != nil {
		t.Fatal(err)
	}
	m, err := migrate.New(db.Pool, db.Schema, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if pending, err := m.Pending(ctx); err != nil || !pending {
		t.Errorf("Pending = %v, %v", pending, err)
	}
	st, err := m.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.Applied {
			t.Errorf("%s %d applied on a new warehouse", s.Line, s.Version)
		}
	}
	if len(st) < 11 {
		t.Errorf("Status lists %d migrations", len(st))
	}
	for _, schema := range []string{db.Schema, state} {
		if got := relations(t, db.Pool, schema); len(got) != 0 {
			t.Errorf("the checks made %v in %s", got, schema)
		}
	}
}

// TestAWarehouseSchemaThatDoesNotExistIsAnError: migrations into a schema
// that is not there would go to the next schema of the search_path.
func TestAWarehouseSchemaThatDoesNotExistIsAnError(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	m, err := migrate.New(db.Pool, db.Schema+"_missing", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for name, f := range map[string]func() error{
		"Up":      func() error { _, err := m.Up(context.Background()); return err },
		"Pending": func() error { _, err := m.Pending(context.Background()); return err },
		"Status":  func() error { _, err := m.Status(context.Background()); return err },
	} {
		if err := f(); err == nil || !strings.Contains(err.Error(), "_missing does not exist") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
