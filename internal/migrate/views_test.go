package migrate_test

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"syncer/internal/dbtest"
	"syncer/internal/migrate"
)

// viewsFixture is a small warehouse whose figures are worked out by hand
// below. In America/Sao_Paulo (UTC-3 all year since 2019), conversation
// c1 opens on Sunday 1 March 2026 at 22:30 local time, which is already
// Monday 2 March in UTC; its last message falls on the Monday local too.
const viewsFixture = `
INSERT INTO sources (name, platform) VALUES ('acme', 'digisac');
INSERT INTO channels (source_id, external_id, name, kind, raw) SELECT id, 'ch1', 'Vendas', 'whatsapp', '{}' FROM sources;
INSERT INTO channels (source_id, external_id, name, kind, raw) SELECT id, 'ch2', 'Suporte', 'whatsapp', '{}' FROM sources;
INSERT INTO contacts (source_id, external_id, name, phone, raw) SELECT id, 'k1', 'Ana', '5511990000001', '{}' FROM sources;
INSERT INTO agents (source_id, external_id, name, raw) SELECT id, 'a1', 'Bruno', '{}' FROM sources;
INSERT INTO agents (source_id, external_id, name, raw) SELECT id, 'a2', 'Carla', '{}' FROM sources;
INSERT INTO departments (source_id, external_id, name, raw) SELECT id, 'd1', 'Financeiro', '{}' FROM sources;
INSERT INTO conversations (source_id, external_id, kind, channel_external_id, contact_external_id, protocol, is_open,
    opened_at, closed_at, agent_external_id, department_external_id, raw)
SELECT id, 'c1', 'ticket', 'ch1', 'k1', '2026030100001', false, '2026-03-02 01:30Z', '2026-03-02 02:30Z', 'a1', 'd1',
       '{"ticketTransfers": [{"action": "opened"}, {"action": "transferred"}, {"action": "closed"}]}'
FROM sources;
INSERT INTO conversations (source_id, external_id, kind, channel_external_id, contact_external_id, is_open, opened_at, raw)
SELECT id, 'c2', 'conversation', 'ch2', 'k1', true, '2026-03-02 12:00Z', '{}' FROM sources;
INSERT INTO messages (source_id, external_id, conversation_external_id, channel_external_id, contact_external_id,
    direction, kind, body, sent_at, is_bot, agent_external_id, raw)
SELECT s.id, m.id, m.conv, m.ch, 'k1', m.dir, m.kind, m.body, m.at::timestamptz, m.bot, m.agent, '{}'
FROM sources s, (VALUES
    ('m1', 'c1', 'ch1', 'inbound',  'text',   'Oi',             '2026-03-02 01:30Z', false, NULL),
    ('m2', 'c1', 'ch1', 'outbound', 'text',   'Menu',           '2026-03-02 01:31Z', true,  NULL),
    ('m3', 'c1', 'ch1', 'outbound', 'text',   'Bom dia',        '2026-03-02 01:35Z', false, 'a1'),
    ('m4', 'c1', 'ch1', 'inbound',  'text',   'Quero pagar',    '2026-03-02 01:40Z', false, NULL),
    ('m5', 'c1', 'ch1', 'internal', 'system', 'ticketTransfer', '2026-03-02 01:50Z', false, NULL),
    ('m6', 'c1', 'ch1', 'outbound', 'text',   'Pronto',         '2026-03-02 03:10Z', false, 'a2'),
    ('n1', 'c2', NULL,  'inbound',  'text',   'Ajuda',          '2026-03-02 12:00Z', false, NULL),
    ('n2', 'c2', NULL,  'outbound', 'text',   'Claro',          '2026-03-02 12:10Z', false, NULL)
) AS m (id, conv, ch, dir, kind, body, at, bot, agent);
`

// rowsOf runs q and gives each row as its columns' text joined by " | ".
func rowsOf(t *testing.T, db *dbtest.DB, q string) []string {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		vals, err := r.Values()
		if err != nil {
			return "", err
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			switch v := v.(type) {
			case nil:
				parts[i] = "NULL"
			case time.Time:
				parts[i] = v.UTC().Format("2006-01-02 15:04")
			case float64:
				parts[i] = strconv.FormatFloat(v, 'f', -1, 64)
			default:
				parts[i] = fmt.Sprint(v)
			}
		}
		return strings.Join(parts, " | "), nil
	})
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

func checkRows(t *testing.T, name string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\ngot\n  %s\nwant\n  %s", name, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestViewsCountInTheWarehousesTimeZone checks every view against figures
// worked out by hand on viewsFixture, in America/Sao_Paulo, then in UTC
// after the time zone changes.
func TestViewsCountInTheWarehousesTimeZone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.New(t)
	if _, err := db.Pool.Exec(ctx, viewsFixture); err != nil {
		t.Fatal(err)
	}
	m, err := migrate.New(db.Pool, db.Schema, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if ch, err := m.ApplyTimeZone(ctx, "America/Sao_Paulo"); err != nil || !ch.Views || len(ch.Indexes) != 2 || ch.Busy {
		t.Fatalf("ApplyTimeZone = %+v, %v", ch, err)
	}
	if ch, err := m.ApplyTimeZone(ctx, "America/Sao_Paulo"); err != nil || ch.Views || len(ch.Indexes) != 0 {
		t.Fatalf("ApplyTimeZone again = %+v, %v; want nothing to do", ch, err)
	}

	checkRows(t, "the views' comments", rowsOf(t, db, `SELECT obj_description('v_messages'::regclass)`), []string{
		"Every message; local times and days in America/Sao_Paulo",
	})
	checkRows(t, "v_messages", rowsOf(t, db, `
		SELECT message_id, source, platform, conversation_protocol, channel_name, channel_kind, contact_name, contact_phone,
		       agent_name, department_name, to_char(sent_at_local, 'YYYY-MM-DD HH24:MI'), to_char(sent_at_utc, 'YYYY-MM-DD HH24:MI'),
		       sent_date::text, sent_hour, sent_weekday
		FROM v_messages WHERE message_id IN ('m3', 'n2') ORDER BY 1`), []string{
		"m3 | acme | digisac | 2026030100001 | Vendas | whatsapp | Ana | 5511990000001 | Bruno | Financeiro | 2026-03-01 22:35 | 2026-03-02 01:35 | 2026-03-01 | 22 | 7",
		// n2 has no channel of its own: its conversation's.
		"n2 | acme | digisac | NULL | Suporte | whatsapp | Ana | 5511990000001 | NULL | NULL | 2026-03-02 09:10 | 2026-03-02 12:10 | 2026-03-02 | 9 | 1",
	})

	checkRows(t, "v_daily_volume", rowsOf(t, db, `
		SELECT day::text, day_start, channel_name, direction, messages, bot_messages, conversations, contacts
		FROM v_daily_volume ORDER BY day, channel_name, direction`), []string{
		"2026-03-01 | 2026-03-01 03:00 | Vendas | inbound | 2 | 0 | 1 | 1",
		"2026-03-01 | 2026-03-01 03:00 | Vendas | internal | 1 | 0 | 1 | 1",
		"2026-03-01 | 2026-03-01 03:00 | Vendas | outbound | 2 | 1 | 1 | 1",
		"2026-03-02 | 2026-03-02 03:00 | Suporte | inbound | 1 | 0 | 1 | 1",
		"2026-03-02 | 2026-03-02 03:00 | Suporte | outbound | 1 | 0 | 1 | 1",
		"2026-03-02 | 2026-03-02 03:00 | Vendas | outbound | 1 | 0 | 1 | 1",
	})

	checkRows(t, "v_conversation_metrics", rowsOf(t, db, `
		SELECT conversation_id, kind, channel_name, agent_name, department_name, opened_date::text,
		       to_char(opened_at_local, 'HH24:MI'), to_char(closed_at_local, 'HH24:MI'), first_inbound_at, first_response_at,
		       first_response_agent_id, first_response_seconds::float8, handling_seconds::float8, messages_in, messages_out,
		       bot_messages_out, transfers
		FROM v_conversation_metrics ORDER BY 1`), []string{
		// First response: m3 (m2 is a bot's), 5 minutes after m1.
		"c1 | ticket | Vendas | Bruno | Financeiro | 2026-03-01 | 22:30 | 23:30 | 2026-03-02 01:30 | 2026-03-02 01:35 | a1 | 300 | 3600 | 2 | 3 | 1 | 1",
		"c2 | conversation | Suporte | NULL | NULL | 2026-03-02 | 09:00 | NULL | 2026-03-02 12:00 | 2026-03-02 12:10 | NULL | 600 | NULL | 1 | 1 | 0 | 0",
	})

	checkRows(t, "v_agent_load", rowsOf(t, db, `
		SELECT day::text, agent_name, conversations, messages_sent, first_responses, median_first_response_seconds
		FROM v_agent_load ORDER BY day, agent_name`), []string{
		"2026-03-01 | Bruno | 1 | 1 | 1 | 300",
		// m6 went out at 00:10 on Monday, local time.
		"2026-03-02 | Carla | 1 | 1 | 0 | NULL",
	})

	checkRows(t, "v_hourly_heatmap", rowsOf(t, db, `
		SELECT weekday, hour, direction, messages FROM v_hourly_heatmap ORDER BY 1, 2, 3`), []string{
		"1 | 0 | outbound | 1",
		"1 | 9 | inbound | 1",
		"1 | 9 | outbound | 1",
		"7 | 22 | inbound | 2",
		"7 | 22 | internal | 1",
		"7 | 22 | outbound | 2",
	})

	// In UTC, everything of c1 falls on Monday 2 March.
	if ch, err := m.ApplyTimeZone(ctx, "UTC"); err != nil || !ch.Views {
		t.Fatalf("ApplyTimeZone(UTC) = %+v, %v", ch, err)
	}
	checkRows(t, "v_daily_volume in UTC", rowsOf(t, db, `
		SELECT day::text, direction, sum(messages)::int FROM v_daily_volume GROUP BY 1, 2 ORDER BY 1, 2`), []string{
		"2026-03-02 | inbound | 3",
		"2026-03-02 | internal | 1",
		"2026-03-02 | outbound | 4",
	})
	checkRows(t, "the local-day indexes", rowsOf(t, db, `
		SELECT c.relname, obj_description(c.oid, 'pg_class'), pg_get_indexdef(c.oid) LIKE '%''UTC''%'
		FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid
		WHERE c.relname IN ('messages_sent_date_idx', 'conversations_opened_date_idx') AND c.relnamespace = current_schema()::regnamespace
		ORDER BY 1`), []string{
		"conversations_opened_date_idx | time_zone=UTC | true",
		"messages_sent_date_idx | time_zone=UTC | true",
	})
	// An agent's answer in a conversation not stored (its ticket not
	// synced yet) counts as sent, not as a first response, as in
	// v_conversation_metrics, which has no row for it.
	if _, err := db.Pool.Exec(ctx, `
		INSERT INTO messages (source_id, external_id, conversation_external_id, direction, kind, sent_at, agent_external_id, raw)
		VALUES (1, 'x1', 'c9', 'inbound', 'text', '2026-03-05 10:00Z', NULL, '{}'),
		       (1, 'x2', 'c9', 'outbound', 'text', '2026-03-05 10:05Z', 'a1', '{}')`); err != nil {
		t.Fatal(err)
	}
	checkRows(t, "v_agent_load of a conversation not stored", rowsOf(t, db, `
		SELECT day::text, agent_name, conversations, messages_sent, first_responses, median_first_response_seconds
		FROM v_agent_load WHERE day = '2026-03-05'`), []string{
		"2026-03-05 | Bruno | 1 | 1 | 0 | NULL",
	})
	if tz, err := m.ViewsTimeZone(ctx); err != nil || tz != "UTC" {
		t.Errorf("ViewsTimeZone = %q, %v", tz, err)
	}
	if _, err := m.ApplyTimeZone(ctx, "Mars/Olympus"); err == nil {
		t.Error("ApplyTimeZone accepted an unknown time zone")
	}
}
