package queries_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
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
			if strings.HasPrefix(name, "analyze_") { // ANALYZE cannot be prepared
				if _, err := tx.Exec(ctx, queries.Get(name)); err != nil {
					t.Errorf("%s: %v", name, err)
				}
				continue
			}
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

// TestEveryNameInTheCodeExists: every queries.Get("name") in the program
// names a statement that exists (a missing one panics at run time).
func TestEveryNameInTheCodeExists(t *testing.T) {
	re := regexp.MustCompile(`queries\.Get\("([a-z_]+)"\)`)
	known := map[string]bool{}
	for _, n := range queries.Names() {
		known[n] = true
	}
	found := 0
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != "../.." || d.Name() == "testdata" || d.Name() == "bin") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "queries/queries_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			found++
			if !known[m[1]] {
				t.Errorf("%s: queries.Get(%q) names no statement", path, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 10 {
		t.Fatalf("only %d queries.Get calls found; is the walk looking in the right place?", found)
	}
}
