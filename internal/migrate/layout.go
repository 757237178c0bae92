package migrate

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Where a warehouse's version tables are.
type layout int

const (
	// layoutNew: nothing migrated yet: no goose table in the bookkeeping
	// schema (which may not exist yet) nor in the warehouse's.
	layoutNew layout = iota
	// layoutEarlier: an earlier syncer's warehouse, with goose's or
	// River's tables in the warehouse's schema and not in the
	// bookkeeping schema; Up moves them.
	layoutEarlier
	// layoutMoved: goose's table is in the bookkeeping schema. (A table
	// of the same name that an earlier syncer still running made again
	// in the warehouse's schema is left alone.)
	layoutMoved
)

// layout reads where the version tables are; it changes nothing. A
// warehouse schema that does not exist is an error: the migrations would
// go to whichever schema of the search_path exists.
func (m *Migrator) layout(ctx context.Context) (layout, error) {
	var warehouse, oldGoose, newGoose, oldRiver, newRiver bool
	err := m.pool.QueryRow(ctx, `SELECT to_regnamespace($1::text) IS NOT NULL,
		to_regclass(format('%I.goose_db_version', $1::text)) IS NOT NULL, to_regclass(format('%I.goose_db_version', $2::text)) IS NOT NULL,
		to_regclass(format('%I.river_migration', $1::text)) IS NOT NULL, to_regclass(format('%I.river_migration', $2::text)) IS NOT NULL`,
		m.schema, m.state).Scan(&warehouse, &oldGoose, &newGoose, &oldRiver, &newRiver)
	if err != nil {
		return 0, fmt.Errorf("bookkeeping schema: %w", err)
	}
	switch {
	case !warehouse:
		return 0, fmt.Errorf("schema %s does not exist: create it, or name another with schema in the config (syncer migrate up creates the configured one)", m.schema)
	case oldGoose && !newGoose || oldRiver && !newRiver:
		return layoutEarlier, nil
	case newGoose:
		return layoutMoved, nil
	}
	return layoutNew, nil
}

// relocate makes the bookkeeping schema, and moves into it what a syncer
// before it kept in the warehouse's schema: goose's version table, and
// River's tables, functions and types (migration 00011 moves syncer's own
// tables). Each move is ALTER ... SET SCHEMA: the rows, indexes and
// sequences go along, nothing is copied. Only Up and Down call it: the
// checks every command makes must leave an earlier syncer's warehouse as
// it is, for the replicas still running that syncer.
func (m *Migrator) relocate(ctx context.Context) error {
	l, err := m.layout(ctx)
	if err != nil || l == layoutMoved {
		return err
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
