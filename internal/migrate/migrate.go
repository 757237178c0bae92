// Package migrate applies the embedded warehouse migrations with goose, then
// River's own (the job queue of syncer run) with rivermigrate, then makes
// the analysts' views in the configured time zone. Goose's version table
// and River's tables live in the bookkeeping schema (internal/schemas); the
// package moves them there from a warehouse made by an earlier syncer. It
// holds a PostgreSQL session advisory lock while it works, so several
// syncer processes starting at once apply each migration exactly once. It
// must not hold any other SQL than goose's, River's, and those moves.
package migrate

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"syncer/internal/logging"
	"syncer/internal/schemas"
	"syncer/migrations"
)

// Status is one migration and whether it is applied.
type Status struct {
	Line    string // "" for the warehouse's own, RiverLine for River's
	Version int64
	Name    string
	Applied bool
}

// RiverLine names River's migrations in Status.
const RiverLine = "river"

// Migrator runs the warehouse migrations against one pool.
type Migrator struct {
	pool     *pgxpool.Pool
	provider *goose.Provider
	river    *rivermigrate.Migrator[pgx.Tx]
	schema   string // the warehouse's
	state    string // the bookkeeping schema
	lockID   int64
	close    func() error
}

// New prepares a migrator for the warehouse in schema ("" for public).
// The pool's connections must have schemas.SearchPath(schema) as their
// search_path. Separate warehouses in one database take separate locks.
func New(pool *pgxpool.Pool, schema string, logger *slog.Logger) (*Migrator, error) {
	if schema == "" {
		schema = schemas.Default
	}
	state := schemas.State(schema)
	h := fnv.New64a()
	h.Write([]byte("syncer migrations " + schema))
	// A process that finds the lock taken looks again every second, for up
	// to five minutes (goose's default looks every five seconds).
	lockID := int64(h.Sum64() >> 1)
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(lockID), lock.WithLockTimeout(1, 300))
	if err != nil {
		return nil, fmt.Errorf("migrate: session locker: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS,
		goose.WithSessionLocker(locker),
		goose.WithSlog(logger),
		goose.WithDisableGlobalRegistry(true),
		goose.WithTableName(state+".goose_db_version"),
	)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	// River's tables are bookkeeping too.
	rm, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: logging.AtLeast(logger, slog.LevelWarn), Schema: state})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate: river: %w", err)
	}
	return &Migrator{pool: pool, provider: p, river: rm, schema: schema, state: state, lockID: lockID, close: db.Close}, nil
}

// riverLocked runs f holding the migrations' advisory lock on a connection
// of its own (goose holds the same lock only while it works), so that
// replicas starting at once apply River's migrations, and move the
// bookkeeping, once.
func (m *Migrator) riverLocked(ctx context.Context, f func() error) error {
	conn, err := m.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate: river: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", m.lockID); err != nil {
		return fmt.Errorf("migrate: river: take the migrations lock: %w", err)
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", m.lockID); err != nil {
			conn.Conn().Close(context.WithoutCancel(ctx)) // a closed session drops its locks
		}
	}()
	return f()
}

// Close releases the database handle; the pool stays open.
func (m *Migrator) Close() error { return m.close() }

// Up applies every pending migration, the warehouse's then River's, and
// returns how many it applied.
func (m *Migrator) Up(ctx context.Context) (int, error) {
	if err := m.relocate(ctx); err != nil {
		return 0, fmt.Errorf("migrate up: %w", err)
	}
	res, err := m.provider.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("migrate up: %w", err)
	}
	n := len(res)
	err = m.riverLocked(ctx, func() error {
		rres, err := m.river.Migrate(ctx, rivermigrate.DirectionUp, nil)
		if rres != nil {
			n += len(rres.Versions)
		}
		return err
	})
	if err != nil {
		return n, fmt.Errorf("migrate up: river: %w", err)
	}
	return n, nil
}

// ApplyTimeZone makes the analysts' views count days and hours in time
// zone tz, and the local-time indexes follow, when they were made in
// another; it reports whether it did. Run after Up.
func (m *Migrator) ApplyTimeZone(ctx context.Context, tz string) (bool, error) {
	var changed bool
	err := m.riverLocked(ctx, func() error {
		return m.pool.QueryRow(ctx, "SELECT syncer_apply_time_zone($1)", tz).Scan(&changed)
	})
	if err != nil {
		return false, fmt.Errorf("migrate: make the views in time zone %s: %w", tz, err)
	}
	return changed, nil
}

// Down rolls back the newest applied warehouse migration and returns its
// version, or "" when none was applied. River's tables go with the last:
// once no warehouse migration is left, Down removes them all ("river").
func (m *Migrator) Down(ctx context.Context) (string, error) {
	if err := m.relocate(ctx); err != nil {
		return "", fmt.Errorf("migrate down: %w", err)
	}
	res, err := m.provider.Down(ctx)
	if errors.Is(err, goose.ErrNoNextVersion) {
		removed := false
		err := m.riverLocked(ctx, func() error {
			rres, err := m.river.Migrate(ctx, rivermigrate.DirectionDown, &rivermigrate.MigrateOpts{TargetVersion: -1})
			removed = rres != nil && len(rres.Versions) > 0
			return err
		})
		if err != nil {
			return "", fmt.Errorf("migrate down: river: %w", err)
		}
		if removed {
			return RiverLine, nil
		}
		return "", nil // nothing applied
	}
	if err != nil {
		return "", fmt.Errorf("migrate down: %w", err)
	}
	if res == nil || res.Source == nil {
		return "", nil
	}
	return fmt.Sprintf("%05d", res.Source.Version), nil
}

// Status lists every known migration in order.
func (m *Migrator) Status(ctx context.Context) ([]Status, error) {
	if err := m.relocate(ctx); err != nil {
		return nil, fmt.Errorf("migrate status: %w", err)
	}
	st, err := m.provider.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate status: %w", err)
	}
	out := make([]Status, 0, len(st))
	for _, s := range st {
		out = append(out, Status{Version: s.Source.Version, Name: s.Source.Path, Applied: s.State == goose.StateApplied})
	}
	applied, err := m.riverApplied(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate status: %w", err)
	}
	for _, r := range m.river.AllVersions() {
		out = append(out, Status{Line: RiverLine, Version: int64(r.Version), Name: r.Name, Applied: applied[r.Version]})
	}
	return out, nil
}

// riverApplied gives the River versions applied; none before River's
// tables exist.
func (m *Migrator) riverApplied(ctx context.Context) (map[int]bool, error) {
	existing, err := m.river.ExistingVersions(ctx)
	if err != nil {
		return nil, fmt.Errorf("river: %w", err)
	}
	out := make(map[int]bool, len(existing))
	for _, v := range existing {
		out[v.Version] = true
	}
	return out, nil
}

// Pending reports whether any migration, the warehouse's or River's, is
// not applied yet.
func (m *Migrator) Pending(ctx context.Context) (bool, error) {
	if err := m.relocate(ctx); err != nil {
		return false, fmt.Errorf("migrate: %w", err)
	}
	ok, err := m.provider.HasPending(ctx)
	if err != nil || ok {
		if err != nil {
			return false, fmt.Errorf("migrate: %w", err)
		}
		return true, nil
	}
	applied, err := m.riverApplied(ctx)
	if err != nil {
		return false, fmt.Errorf("migrate: %w", err)
	}
	for _, r := range m.river.AllVersions() {
		if !applied[r.Version] {
			return true, nil
		}
	}
	return false, nil
}

// ViewsTimeZone is the time zone the analysts' views were made in, on a
// warehouse with no migration pending.
func (m *Migrator) ViewsTimeZone(ctx context.Context) (string, error) {
	var tz string
	if err := m.pool.QueryRow(ctx, "SELECT time_zone FROM warehouse_settings").Scan(&tz); err != nil {
		return "", fmt.Errorf("migrate: the views' time zone: %w", err)
	}
	return tz, nil
}

// relocate makes the bookkeeping schema, and moves into it what a syncer
// before it kept in the warehouse's schema: goose's version table, and
// River's tables, functions and types (migration 00011 moves syncer's own
// tables). Each move is ALTER ... SET SCHEMA: the rows, indexes and
// sequences go along, nothing is copied. A warehouse already moved, or
// new, only has its schema checked.
func (m *Migrator) relocate(ctx context.Context) error {
	var done bool
	err := m.pool.QueryRow(ctx, `SELECT to_regnamespace($2::text) IS NOT NULL
		AND to_regclass(format('%I.goose_db_version', $1::text)) IS NULL AND to_regclass(format('%I.river_migration', $1::text)) IS NULL`,
		m.schema, m.state).Scan(&done)
	if err != nil {
		return fmt.Errorf("bookkeeping schema: %w", err)
	}
	if done {
		return nil
	}
	return m.riverLocked(ctx, func() error { return m.relocateLocked(ctx) })
}

// relocateLocked is relocate under the migrations' lock.
func (m *Migrator) relocateLocked(ctx context.Context) error {
	tx, err := m.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("bookkeeping schema: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var exists, oldGoose, newGoose, oldRiver, newRiver bool
	err = tx.QueryRow(ctx, `SELECT to_regnamespace($2::text) IS NOT NULL,
		to_regclass(format('%I.goose_db_version', $1::text)) IS NOT NULL, to_regclass(format('%I.goose_db_version', $2::text)) IS NOT NULL,
		to_regclass(format('%I.river_migration', $1::text)) IS NOT NULL, to_regclass(format('%I.river_migration', $2::text)) IS NOT NULL`,
		m.schema, m.state).Scan(&exists, &oldGoose, &newGoose, &oldRiver, &newRiver)
	if err != nil {
		return fmt.Errorf("bookkeeping schema: %w", err)
	}
	if exists && !oldGoose && !oldRiver {
		return nil
	}
	var stmts []string
	if !exists {
		// Only when missing: CREATE SCHEMA IF NOT EXISTS needs the right
		// to create schemas even when there is nothing to create.
		stmts = append(stmts, "CREATE SCHEMA "+pgx.Identifier{m.state}.Sanitize())
	}
	if oldGoose && !newGoose {
		stmts = append(stmts, fmt.Sprintf("ALTER TABLE %s SET SCHEMA %s",
			pgx.Identifier{m.schema, "goose_db_version"}.Sanitize(), pgx.Identifier{m.state}.Sanitize()))
	}
	if oldRiver && !newRiver {
		// Tables first (their sequences go with them), then functions,
		// then types; array and row types go with theirs.
		rows, err := tx.Query(ctx, `
			SELECT format('ALTER TABLE %I.%I SET SCHEMA %I', n.nspname, c.relname, $2::text)
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = $1::text AND c.relkind IN ('r', 'p') AND c.relname LIKE 'river\_%'
			UNION ALL
			SELECT format('ALTER FUNCTION %I.%I(%s) SET SCHEMA %I', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), $2)
			FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
			WHERE n.nspname = $1 AND p.proname LIKE 'river\_%'
			UNION ALL
			SELECT format('ALTER TYPE %I.%I SET SCHEMA %I', n.nspname, t.typname, $2)
			FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
			WHERE n.nspname = $1 AND t.typname LIKE 'river\_%' AND t.typrelid = 0 AND t.typelem = 0`,
			m.schema, m.state)
		if err != nil {
			return fmt.Errorf("bookkeeping schema: list River's objects: %w", err)
		}
		moves, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("bookkeeping schema: list River's objects: %w", err)
		}
		stmts = append(stmts, moves...)
	}
	for _, stmt := range stmts {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("bookkeeping schema: %s: %w", stmt, err)
		}
	}
	return tx.Commit(ctx)
}
