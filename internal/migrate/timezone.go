package migrate

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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

// TimeZoneChange says what ApplyTimeZone did.
type TimeZoneChange struct {
	Views   bool     // the views were made anew in the zone
	Indexes []string // the local-day indexes built in it
	// Busy: another process was building the local-day indexes, which
	// this one left to it.
	Busy bool
}

// ApplyTimeZone makes the analysts' views count days and hours in time
// zone tz when they were made in another, and builds the local-day
// indexes in tz where they are missing or in another zone. Run after Up.
//
// The views are made under the migrations' lock, quickly. The indexes are
// built under a lock of their own, which another process finding taken
// leaves to its holder (Busy) rather than wait: on a large warehouse a
// build takes long, and must not hold up another migrate up. A table of
// concurrentFrom rows or more is indexed with CREATE INDEX CONCURRENTLY
// under a new name, the old index is dropped (concurrently too) and the
// new one takes its name: syncs and analysts' queries go on meanwhile. A
// smaller one is indexed in one short transaction, which waits at most a
// few seconds for its lock, else goes the concurrent way. A build that
// was interrupted is taken up where it can be: a finished index under the
// new name only takes the old one's place.
func (m *Migrator) ApplyTimeZone(ctx context.Context, tz string) (TimeZoneChange, error) {
	var ch TimeZoneChange
	err := m.riverLocked(ctx, func() error {
		return m.pool.QueryRow(ctx, "SELECT syncer_apply_time_zone($1)", tz).Scan(&ch.Views)
	})
	if err != nil {
		return ch, fmt.Errorf("migrate: make the views in time zone %s: %w", tz, err)
	}
	conn, err := m.pool.Acquire(ctx)
	if err != nil {
		return ch, fmt.Errorf("migrate: local-day indexes: %w", err)
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", m.lockID+1).Scan(&locked); err != nil {
		return ch, fmt.Errorf("migrate: local-day indexes: %w", err)
	}
	if !locked {
		ch.Busy = true
		return ch, nil
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", m.lockID+1); err != nil {
			conn.Conn().Close(context.WithoutCancel(ctx)) // a closed session drops its locks
		}
	}()
	for _, ix := range localIndexes {
		built, err := m.localIndex(ctx, ix.name, ix.table, ix.expr, tz)
		if err != nil {
			return ch, fmt.Errorf("migrate: local-day index %s in time zone %s: %w", ix.name, tz, err)
		}
		if built {
			ch.Indexes = append(ch.Indexes, ix.name)
		}
	}
	return ch, nil
}

// localIndex builds index name on table by expr (a format with %s for the
// quoted zone) in time zone tz, unless a valid one in tz is there, and
// reports whether it built one. An index's comment names its zone.
func (m *Migrator) localIndex(ctx context.Context, name, table, expr, tz string) (bool, error) {
	building := name + "_building"
	zoneOf := func(index string) (string, error) {
		var zone string
		err := m.pool.QueryRow(ctx, `SELECT coalesce(obj_description(i.indexrelid, 'pg_class'), '')
			FROM pg_index i WHERE i.indexrelid = to_regclass(format('%I.%I', $1::text, $2::text)) AND i.indisvalid`,
			m.schema, index).Scan(&zone)
		if errors.Is(err, pgx.ErrNoRows) {
			return "", nil
		}
		return zone, err
	}
	want := "time_zone=" + tz
	if zone, err := zoneOf(name); err != nil || zone == want {
		return false, err
	}
	quote := func(id string) string { return pgx.Identifier{m.schema, id}.Sanitize() }
	var zone, comment string
	if err := m.pool.QueryRow(ctx, "SELECT quote_literal($1::text), quote_literal($2::text)", tz, want).Scan(&zone, &comment); err != nil {
		return false, err
	}
	create := func(concurrently, index string) string {
		return fmt.Sprintf("CREATE INDEX %s%s ON %s %s", concurrently, pgx.Identifier{index}.Sanitize(), quote(table), fmt.Sprintf(expr, zone))
	}
	swap := []string{
		"DROP INDEX CONCURRENTLY IF EXISTS " + quote(name),
		fmt.Sprintf("ALTER INDEX %s RENAME TO %s", quote(building), pgx.Identifier{name}.Sanitize()),
	}
	// A build interrupted after its index was made: only the swap is left.
	switch zone, err := zoneOf(building); {
	case err != nil:
		return false, err
	case zone == want:
		return true, m.exec(ctx, swap...)
	}

	var rows int
	if err := m.pool.QueryRow(ctx, fmt.Sprintf("SELECT count(*) FROM (SELECT FROM %s LIMIT %d) t", quote(table), concurrentFrom)).Scan(&rows); err != nil {
		return false, err
	}
	if rows < concurrentFrom {
		err := pgx.BeginFunc(ctx, m.pool, func(tx pgx.Tx) error {
			for _, stmt := range []string{
				"SET LOCAL lock_timeout = '5s'",
				"DROP INDEX IF EXISTS " + quote(building),
				"DROP INDEX IF EXISTS " + quote(name),
				create("", name),
				fmt.Sprintf("COMMENT ON INDEX %s IS %s", quote(name), comment),
			} {
				if _, err := tx.Exec(ctx, stmt); err != nil {
					return fmt.Errorf("%s: %w", stmt, err)
				}
			}
			return nil
		})
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "55P03" { // lock_not_available: go the concurrent way
			return err == nil, err
		}
	}
	return true, m.exec(ctx, append([]string{
		"DROP INDEX CONCURRENTLY IF EXISTS " + quote(building), // invalid, or in another zone
		create("CONCURRENTLY ", building),
		fmt.Sprintf("COMMENT ON INDEX %s IS %s", quote(building), comment),
	}, swap...)...)
}

// exec runs each statement on its own, outside a transaction (as CREATE
// INDEX CONCURRENTLY must be).
func (m *Migrator) exec(ctx context.Context, stmts ...string) error {
	for _, stmt := range stmts {
		if _, err := m.pool.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	return nil
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
