package migrate_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"syncer/internal/dbtest"
	"syncer/internal/migrate"
)

// TestADateRangeOnTenMillionMessagesUsesAnIndex fills a warehouse with ten
// million messages over six years and asks the planner how it would count
// one week of them through each view with a date (by local day, and by UTC
// time): through an index on the day or time filtered, never reading the
// whole table. (Skipped with -short: loading takes
// about a minute.)
func TestADateRangeOnTenMillionMessagesUsesAnIndex(t *testing.T) {
	if testing.Short() {
		t.Skip("loads ten million messages")
	}
	t.Parallel()
	ctx := context.Background()
	db := dbtest.New(t)
	m, err := migrate.New(db.Pool, db.Schema, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.ApplyTimeZone(ctx, "America/Sao_Paulo"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	// The load goes faster into this test's own tables without WAL, and
	// with the indexes of messages made again after it, the same ones.
	var indexes []string
	rows, err := db.Pool.Query(ctx, `SELECT pg_get_indexdef(indexrelid) FROM pg_index
		WHERE indrelid = 'messages'::regclass AND NOT indisprimary`)
	if err != nil {
		t.Fatal(err)
	}
	indexes, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(indexes) < 3 {
		t.Fatalf("indexes of messages: %v, %v", indexes, err)
	}
	load := []string{
		`ALTER TABLE messages SET UNLOGGED`,
		`ALTER TABLE conversations SET UNLOGGED`,
		`ALTER TABLE messages DROP CONSTRAINT messages_pkey`,
	}
	for _, def := range indexes {
		name := strings.Fields(def)[2] // CREATE INDEX name ON ...
		load = append(load, "DROP INDEX "+name)
	}
	load = append(load,
		`INSERT INTO sources (name, platform) VALUES ('acme', 'digisac')`,
		// One message every 19 seconds from 2020, a conversation per 20;
		// every other one outbound, from one of 50 agents.
		`INSERT INTO messages (source_id, external_id, conversation_external_id, direction, kind, sent_at,
		     agent_external_id, raw)
		 SELECT 1, g::text, (g / 20)::text, CASE WHEN g % 2 = 0 THEN 'inbound' ELSE 'outbound' END, 'text',
		        timestamptz '2020-01-01 00:00Z' + g * interval '19 seconds',
		        CASE WHEN g % 2 = 1 THEN 'a' || g % 50 END, '{}'
		 FROM generate_series(1, 10000000) g`,
		`INSERT INTO conversations (source_id, external_id, kind, opened_at, raw)
		 SELECT 1, c::text, 'ticket', timestamptz '2020-01-01 00:00Z' + c * 20 * interval '19 seconds', '{}'
		 FROM generate_series(0, 500000) c`,
		`ALTER TABLE messages ADD PRIMARY KEY (source_id, external_id)`)
	load = append(load, indexes...)
	load = append(load, `ANALYZE messages`, `ANALYZE conversations`)
	for _, stmt := range load {
		if _, err := db.Pool.Exec(ctx, stmt); err != nil {
			t.Fatalf("%.60s: %v", stmt, err)
		}
	}
	t.Logf("loaded ten million messages in %s", time.Since(start).Round(time.Second))

	for _, tc := range []struct {
		query, index, table string
	}{
		{`SELECT count(*), count(DISTINCT contact_name) FROM v_messages
		  WHERE sent_date >= '2023-03-01' AND sent_date < '2023-03-08'`, "messages_sent_date_idx", "messages"},
		{`SELECT sent_date, direction, count(*) FROM v_messages
		  WHERE sent_at >= '2023-03-01 00:00-03' AND sent_at < '2023-03-08 00:00-03' GROUP BY 1, 2`, "messages_sent_at_idx", "messages"},
		{`SELECT channel_id, sum(messages) FROM v_daily_volume
		  WHERE day BETWEEN '2023-03-01' AND '2023-03-07' GROUP BY 1`, "messages_sent_date_idx", "messages"},
		{`SELECT agent_name, sum(messages_sent), avg(median_first_response_seconds) FROM v_agent_load
		  WHERE day BETWEEN '2023-03-01' AND '2023-03-07' GROUP BY 1`, "messages_sent_date_idx", "messages"},
		{`SELECT avg(first_response_seconds) FROM v_conversation_metrics
		  WHERE opened_date BETWEEN '2023-03-01' AND '2023-03-07'`, "conversations_opened_date_idx", "conversations"},
	} {
		var plan []struct{ Plan planNode }
		if err := db.Pool.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+tc.query).Scan(&plan); err != nil {
			t.Fatal(err)
		}
		var indexed, seq bool
		plan[0].Plan.walk(func(n *planNode) {
			indexed = indexed || n.IndexName == tc.index
			seq = seq || n.NodeType == "Seq Scan" && n.RelationName == tc.table
		})
		if !indexed || seq {
			text, _ := json.MarshalIndent(plan, "", " ")
			t.Errorf("%s\nreads %s by %s? %v; reads all of it? %v\n%s", tc.query, tc.table, tc.index, indexed, seq, text)
		}
	}
}

// planNode is what the test reads of a node of EXPLAIN (FORMAT JSON).
type planNode struct {
	NodeType     string     `json:"Node Type"`
	RelationName string     `json:"Relation Name"`
	IndexName    string     `json:"Index Name"`
	Plans        []planNode `json:"Plans"`
}

func (n *planNode) walk(f func(*planNode)) {
	f(n)
	for i := range n.Plans {
		n.Plans[i].walk(f)
	}
}
