// Package migrate applies the embedded warehouse migrations with goose, then
// River's own (the job queue of syncer run, in the same schema) with
// rivermigrate. It holds a PostgreSQL session advisory lock while it works,
// so several syncer processes starting at once apply each migration exactly
// once. It must not hold any other SQL than goose's and River's own.
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
	lockID   int64
	close    func() error
}

// New prepares a migrator. schema names the schema the warehouse lives in
// ("" for the connection's search_path); it only changes the lock id, so that
// separate warehouses in one database do not wait on each other.
func New(pool *pgxpool.Pool, schema string, logger *slog.Logger) (*Migrator, error) {
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
	)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	// River's tables go where the warehouse's go: schema, else the
	// connection's search_path.
	rm, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: logging.AtLeast(logger, slog.LevelWarn), Schema: schema})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate: river: %w", err)
	}
	return &Migrator{pool: pool, provider: p, river: rm, lockID: lockID, close: db.Close}, nil
}

// riverLocked runs f holding the migrations' advisory lock on a connection
// of its own (goose holds the same lock only while it works), so that
// replicas starting at once apply River's migrations once.
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
