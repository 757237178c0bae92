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
	// reader is provider without the lock, for Status: a migrate up
	// that holds it for long does not hold up a look.
	reader *goose.Provider
	// legacy and legacyRiver read a warehouse that an earlier syncer
	// made, with its version tables in the warehouse's schema, for Status.
	legacy      *goose.Provider
	legacyRiver *rivermigrate.Migrator[pgx.Tx]
	schema      string // the warehouse's
	state       string // the bookkeeping schema
	lockID      int64
	close       func() error
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
	m := &Migrator{pool: pool, schema: schema, state: state, lockID: lockID, close: db.Close}
	provider := func(table string, opts ...goose.ProviderOption) (*goose.Provider, error) {
		return goose.NewProvider(goose.DialectPostgres, db, migrations.FS, append([]goose.ProviderOption{
			goose.WithSlog(logger), goose.WithDisableGlobalRegistry(true), goose.WithTableName(table + ".goose_db_version"),
		}, opts...)...)
	}
	river := func(schema string) (*rivermigrate.Migrator[pgx.Tx], error) {
		return rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: logging.AtLeast(logger, slog.LevelWarn), Schema: schema})
	}
	var errs [5]error
	m.provider, errs[0] = provider(state, goose.WithSessionLocker(locker))
	m.reader, errs[1] = provider(state)
	m.legacy, errs[2] = provider(schema)
	m.river, errs[3] = river(state) // River's tables are bookkeeping too
	m.legacyRiver, errs[4] = river(schema)
	if err := errors.Join(errs[:]...); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return m, nil
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
// It changes nothing: on a warehouse an earlier syncer made, it reads the
// version tables where that syncer kept them; on a new one, everything is
// pending.
func (m *Migrator) Status(ctx context.Context) ([]Status, error) {
	l, err := m.layout(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate status: %w", err)
	}
	var noGoose bool
	provider, river := m.reader, m.river
	if l == layoutEarlier {
		provider, river = m.legacy, m.legacyRiver
		// Only River's tables left behind: goose's is nowhere yet.
		if err := m.pool.QueryRow(ctx, "SELECT to_regclass(format('%I.goose_db_version', $1::text)) IS NULL", m.schema).Scan(&noGoose); err != nil {
			return nil, fmt.Errorf("migrate status: %w", err)
		}
	}
	var out []Status
	if l == layoutNew || noGoose {
		// Goose would make its table to say so.
		for _, src := range m.provider.ListSources() {
			out = append(out, Status{Version: src.Version, Name: src.Path})
		}
	} else {
		st, err := provider.Status(ctx)
		if err != nil {
			return nil, fmt.Errorf("migrate status: %w", err)
		}
		for _, s := range st {
			out = append(out, Status{Version: s.Source.Version, Name: s.Source.Path, Applied: s.State == goose.StateApplied})
		}
	}
	applied, err := riverApplied(ctx, river)
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
func riverApplied(ctx context.Context, river *rivermigrate.Migrator[pgx.Tx]) (map[int]bool, error) {
	existing, err := river.ExistingVersions(ctx)
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
// not applied yet, or the bookkeeping of a warehouse an earlier syncer
// made is still to move. It changes nothing.
func (m *Migrator) Pending(ctx context.Context) (bool, error) {
	l, err := m.layout(ctx)
	if err != nil {
		return false, fmt.Errorf("migrate: %w", err)
	}
	if l != layoutMoved {
		return true, nil
	}
	ok, err := m.provider.HasPending(ctx)
	if err != nil || ok {
		if err != nil {
			return false, fmt.Errorf("migrate: %w", err)
		}
		return true, nil
	}
	applied, err := riverApplied(ctx, m.river)
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
