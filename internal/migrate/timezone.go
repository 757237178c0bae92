package migrate

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// concurrentFrom is the size of table from which its local-day index is
// built concurrently.
const concurrentFrom = 100_000

// localIndexes are the indexes on the local day that the views' date
// filters read; each follows the views' time zone.
var localIndexes = []struct{ name, table, expr string }{
	{"messages_sent_date_idx", "messages", "(((sent_at AT TIME ZONE %s)::date))"},
	{"conversations_opened_date_idx", "conversations", "(((opened_at AT TIME ZONE %s)::date))"},
}

// ApplyTimeZone makes the analysts' views count days and hours in time
// zone tz when they were made in another, and builds the local-day
// indexes in tz where they are missing or in another zone; it reports
// whether it changed anything. Run after Up.
//
// On a table of concurrentFrom rows or more, the index is built with
// CREATE INDEX CONCURRENTLY under a new name, then the old one is dropped
// (concurrently too) and the new one takes its name: syncs and analysts'
// queries go on while a large warehouse builds them. An index whose build
// was interrupted is built again.
func (m *Migrator) ApplyTimeZone(ctx context.Context, tz string) (bool, error) {
	var changed bool
	err := m.riverLocked(ctx, func() error {
		if err := m.pool.QueryRow(ctx, "SELECT syncer_apply_time_zone($1)", tz).Scan(&changed); err != nil {
			return err
		}
		for _, ix := range localIndexes {
			built, err := m.localIndex(ctx, ix.name, ix.table, ix.expr, tz)
			if err != nil {
				return fmt.Errorf("index %s: %w", ix.name, err)
			}
			changed = changed || built
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("migrate: make the views in time zone %s: %w", tz, err)
	}
	return changed, nil
}

// localIndex builds index name on table by expr (a format with %s for the
// quoted zone) in time zone tz, unless a valid one in tz is there; the
// index's comment names its zone.
func (m *Migrator) localIndex(ctx context.Context, name, table, expr, tz string) (bool, error) {
	var current string
	err := m.pool.QueryRow(ctx, `SELECT coalesce(obj_description(i.indexrelid, 'pg_class'), '')
		FROM pg_index i WHERE i.indexrelid = to_regclass(format('%I.%I', $1::text, $2::text)) AND i.indisvalid`,
		m.schema, name).Scan(&current)
	if err != nil && err != pgx.ErrNoRows {
		return false, err
	}
	if current == "time_zone="+tz {
		return false, nil
	}
	quote := func(id string) string { return pgx.Identifier{m.schema, id}.Sanitize() }
	var zone, comment string
	if err := m.pool.QueryRow(ctx, "SELECT quote_literal($1::text), quote_literal('time_zone=' || $1::text)", tz).Scan(&zone, &comment); err != nil {
		return false, err
	}
	// A small table is indexed at once, in one transaction: the lock is
	// short, and CREATE INDEX CONCURRENTLY would wait for every older
	// transaction in the database.
	var rows int
	if err := m.pool.QueryRow(ctx, fmt.Sprintf("SELECT count(*) FROM (SELECT FROM %s LIMIT %d) t", quote(table), concurrentFrom)).Scan(&rows); err != nil {
		return false, err
	}
	if rows < concurrentFrom {
		return true, pgx.BeginFunc(ctx, m.pool, func(tx pgx.Tx) error {
			for _, stmt := range []string{
				"DROP INDEX IF EXISTS " + quote(name),
				fmt.Sprintf("CREATE INDEX %s ON %s %s", pgx.Identifier{name}.Sanitize(), quote(table), fmt.Sprintf(expr, zone)),
				fmt.Sprintf("COMMENT ON INDEX %s IS %s", quote(name), comment),
			} {
				if _, err := tx.Exec(ctx, stmt); err != nil {
					return fmt.Errorf("%s: %w", stmt, err)
				}
			}
			return nil
		})
	}
	building := name + "_building"
	for _, stmt := range []string{
		"DROP INDEX CONCURRENTLY IF EXISTS " + quote(building), // left by an interrupted build
		fmt.Sprintf("CREATE INDEX CONCURRENTLY %s ON %s %s", pgx.Identifier{building}.Sanitize(), quote(table), fmt.Sprintf(expr, zone)),
		"DROP INDEX CONCURRENTLY IF EXISTS " + quote(name),
		fmt.Sprintf("ALTER INDEX %s RENAME TO %s", quote(building), pgx.Identifier{name}.Sanitize()),
		fmt.Sprintf("COMMENT ON INDEX %s IS %s", quote(name), comment),
	} {
		if _, err := m.pool.Exec(ctx, stmt); err != nil {
			return false, fmt.Errorf("%s: %w", stmt, err)
		}
	}
	return true, nil
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
