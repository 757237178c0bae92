package queries_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"syncer/internal/dbtest"
	"syncer/sql/queries"
)

// TestEveryQueryParses prepares every statement against a migrated
// warehouse, so a typo or a column that does not exist fails here rather
// than in a sync.
func TestEveryQueryParses(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		for _, name := range queries.Names() {
			if strings.HasPrefix(name, "stage_") {
				if _, err := tx.Exec(ctx, queries.Get(name)); err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}
		}
		for _, name := range queries.Names() {
			if _, err := tx.Prepare(ctx, name, queries.Get(name)); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(queries.Names()) < 30 {
		t.Fatalf("only %d statements found", len(queries.Names()))
	}
}

func TestGetPanicsOnAnUnknownName(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	queries.Get("no_such_statement")
}
