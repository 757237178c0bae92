// Package migrate applies the embedded warehouse migrations with goose. It
// holds a PostgreSQL session advisory lock while it works, so several syncer
// processes starting at once apply each migration exactly once. It must not
// hold any other SQL than goose's own.
package migrate

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"syncer/migrations"
)

// Status is one migration and whether it is applied.
type Status struct {
	Version int64
	Name    string
	Applied bool
}

// Migrator runs the warehouse migrations against one pool.
type Migrator struct {
	provider *goose.Provider
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
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64()>>1)), lock.WithLockTimeout(1, 300))
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
	return &Migrator{provider: p, close: db.Close}, nil
}

// Close releases the database handle; the pool stays open.
func (m *Migrator) Close() error { return m.close() }

// Up applies every pending migration and returns how many it applied.
func (m *Migrator) Up(ctx context.Context) (int, error) {
	res, err := m.provider.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("migrate up: %w", err)
	}
	return len(res), nil
}

// Down rolls back the newest applied migration and returns its version, or
// "" when none was applied.
func (m *Migrator) Down(ctx context.Context) (string, error) {
	res, err := m.provider.Down(ctx)
	if errors.Is(err, goose.ErrNoNextVersion) {
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
	return out, nil
}

// Pending reports whether any migration is not applied yet.
func (m *Migrator) Pending(ctx context.Context) (bool, error) {
	ok, err := m.provider.HasPending(ctx)
	if err != nil {
		return false, fmt.Errorf("migrate: %w", err)
	}
	return ok, nil
}
