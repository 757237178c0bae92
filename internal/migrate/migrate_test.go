package migrate_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"syncer/internal/dbtest"
	"syncer/internal/migrate"
)

// TestConcurrentUpAppliesEachMigrationOnce starts several migrators on one
// fresh schema at once, as replicas starting together would: all succeed,
// and the schema ends at the newest version with every migration applied
// once.
func TestConcurrentUpAppliesEachMigrationOnce(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx := context.Background()
	// Start from nothing: roll everything dbtest applied back.
	m, err := migrate.New(db.Pool, db.Schema, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for {
		v, err := m.Down(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v == "" {
			break
		}
	}
	m.Close()

	const replicas = 4
	applied := make([]int, replicas)
	var g errgroup.Group
	for i := range replicas {
		g.Go(func() error {
			pool, err := pgxpool.New(ctx, db.URL)
			if err != nil {
				return err
			}
			defer pool.Close()
			m, err := migrate.New(pool, db.Schema, slog.New(slog.DiscardHandler))
			if err != nil {
				return err
			}
			defer m.Close()
			applied[i], err = m.Up(ctx)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, n := range applied {
		total += n
	}
	st, err := migrate.New(db.Pool, db.Schema, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	list, err := st.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if total != len(list) {
		t.Fatalf("%d migrations applied across %d replicas, want %d in all", total, replicas, len(list))
	}
	for _, s := range list {
		if !s.Applied {
			t.Fatalf("migration %d not applied", s.Version)
		}
	}
}
