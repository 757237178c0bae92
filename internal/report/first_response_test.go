package report_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"syncer/internal/dbtest"
	"syncer/internal/report"
	"syncer/sql/queries"
)

// firstResponseStatements are the report's statements that begin with the
// period_conversations and first_responses CTEs.
var firstResponseStatements = []string{"report_first_response_buckets", "report_first_response_stats", "report_agent_load"}

// firstResponsesCTE is the WITH clause the statement name begins with, up
// to the end of its first_responses CTE.
func firstResponsesCTE(t *testing.T, name string) string {
	t.Helper()
	q := queries.Get(name)
	start := strings.Index(q, "WITH period_conversations AS (")
	i := strings.Index(q, "), first_responses AS (")
	if start < 0 || i < start {
		t.Fatalf("%s does not begin with the period_conversations and first_responses CTEs", name)
	}
	end := strings.Index(q[i+1:], "\n)")
	if end < 0 {
		t.Fatalf("%s: no end to its first_responses CTE", name)
	}
	return q[start : i+1+end+2]
}

// TestReportFirstResponseCTEIsShared: the statements that count first responses
// work them out with one text, so that they cannot drift apart.
func TestReportFirstResponseCTEIsShared(t *testing.T) {
	t.Parallel()
	want := firstResponsesCTE(t, firstResponseStatements[0])
	for _, name := range firstResponseStatements[1:] {
		if got := firstResponsesCTE(t, name); got != want {
			t.Errorf("%s works out first responses otherwise than %s:\n%s\n\nwant\n%s", name, firstResponseStatements[0], got, want)
		}
	}
}

// addEdgeCases adds to the fixture's week the conversations where a first
// response is easy to get wrong.
func addEdgeCases(t *testing.T, db *dbtest.DB) {
	t.Helper()
	ctx := context.Background()
	conv := func(id, opened string) {
		t.Helper()
		if _, err := db.Pool.Exec(ctx, `INSERT INTO conversations (source_id, external_id, kind, opened_at, raw)
			SELECT id, $1, 'ticket', $2::timestamptz, '{}'::jsonb FROM sources WHERE name = 'acme-digisac'`, id, opened); err != nil {
			t.Fatal(err)
		}
	}
	msg := func(conv, id, dir, kind, at, agent string, bot bool) {
		t.Helper()
		var a *string
		if agent != "" {
			a = &agent
		}
		if _, err := db.Pool.Exec(ctx, `INSERT INTO messages (source_id, external_id, conversation_external_id, direction, kind, body, sent_at, agent_external_id, is_bot, raw)
			SELECT id, $2, $1, $3, $4, 'x', $5::timestamptz, $6, $7, '{}'::jsonb FROM sources WHERE name = 'acme-digisac'`,
			conv, id, dir, kind, at, a, bot); err != nil {
			t.Fatal(err)
		}
	}
	// The agent writes first; then come a system event, an internal note
	// and a bot before a person answers, 5 minutes after the customer.
	conv("x1", "2024-03-05T09:00:00Z")
	msg("x1", "x1-1", "outbound", "text", "2024-03-05T09:00:00Z", "a1", false)
	msg("x1", "x1-2", "inbound", "text", "2024-03-05T09:05:00Z", "", false)
	msg("x1", "x1-3", "outbound", "system", "2024-03-05T09:06:00Z", "", false)
	msg("x1", "x1-4", "internal", "comment", "2024-03-05T09:07:00Z", "a1", false)
	msg("x1", "x1-5", "outbound", "text", "2024-03-05T09:08:00Z", "", true)
	msg("x1", "x1-6", "outbound", "text", "2024-03-05T09:10:00Z", "a2", false)
	// Two answers at the same instant: the first by message id.
	conv("x2", "2024-03-06T11:00:00Z")
	msg("x2", "x2-1", "inbound", "text", "2024-03-06T11:00:00Z", "", false)
	msg("x2", "x2-b", "outbound", "text", "2024-03-06T12:00:00Z", "a1", false)
	msg("x2", "x2-a", "outbound", "text", "2024-03-06T12:00:00Z", "a2", false)
	// Asked before the week, answered in it: the period holds the answer,
	// not the question.
	conv("x3", "2024-03-01T10:00:00Z")
	msg("x3", "x3-1", "inbound", "text", "2024-03-01T10:00:00Z", "", false)
	msg("x3", "x3-2", "outbound", "text", "2024-03-04T01:00:00Z", "a1", false)
	msg("x3", "x3-3", "inbound", "text", "2024-03-04T01:30:00Z", "", false)
	// Asked late in the week, answered after it.
	conv("x4", "2024-03-10T23:00:00Z")
	msg("x4", "x4-1", "inbound", "text", "2024-03-10T23:00:00Z", "", false)
	msg("x4", "x4-2", "outbound", "text", "2024-03-11T01:00:00Z", "a2", false)
	// Messages of a conversation not loaded (yet): no row in the view.
	msg("ghost", "g-1", "inbound", "text", "2024-03-07T10:00:00Z", "", false)
	msg("ghost", "g-2", "outbound", "text", "2024-03-07T10:01:00Z", "a1", false)
}

// conversationFirsts is one conversation's first inbound message and first
// response, as text to compare.
type conversationFirsts map[string]string

func readFirsts(t *testing.T, db *dbtest.DB, sql string, args ...any) conversationFirsts {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, sql)
	}
	defer rows.Close()
	out := conversationFirsts{}
	for rows.Next() {
		var sourceID int
		var conv string
		var inbound, response *time.Time
		var agent *string
		var seconds *float64
		if err := rows.Scan(&sourceID, &conv, &inbound, &response, &agent, &seconds); err != nil {
			t.Fatal(err)
		}
		out[fmt.Sprint(sourceID, "/", conv)] = fmt.Sprint(orNil(inbound), " ", orNil(response), " ", orNil(agent), " ", orNil(seconds))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestReportFirstResponsesAgreeWithTheView: conversation by conversation, the
// report's first_responses are v_conversation_metrics' first inbound
// message and first response; and the report's figures (the histogram,
// the median, the 90th percentile, the unanswered, each agent's first
// responses) are those the view gives over the same period. In UTC and in
// São Paulo's time, over the fixture's week, part of it and all of it.
func TestReportFirstResponsesAgreeWithTheView(t *testing.T) {
	t.Parallel()
	db := fixture(t)
	addEdgeCases(t, db)
	ctx := context.Background()
	cte := firstResponsesCTE(t, "report_first_response_buckets")
	periods := [][2]time.Time{
		{weekStart, weekEnd},
		{weekStart.Add(36 * time.Hour), weekStart.AddDate(0, 0, 3)},
		{time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tz := range []string{"UTC", "America/Sao_Paulo"} {
		if _, err := db.Pool.Exec(ctx, `SELECT syncer_apply_time_zone($1)`, tz); err != nil {
			t.Fatal(err)
		}
		for _, p := range periods {
			name := fmt.Sprintf("%s %s..%s", tz, p[0].Format(time.RFC3339), p[1].Format(time.RFC3339))
			report := readFirsts(t, db, cte+`
				SELECT f.source_id, f.conversation_id, f.first_inbound_at, f.first_response_at, f.first_response_agent_id, f.first_response_seconds
				FROM first_responses f`, p[0], p[1], []string{})
			view := readFirsts(t, db, `
				SELECT v.source_id, v.conversation_id, v.first_inbound_at, v.first_response_at, v.first_response_agent_id, v.first_response_seconds
				FROM v_conversation_metrics v
				WHERE (v.source_id, v.conversation_id) IN (SELECT m.source_id, m.conversation_external_id FROM messages m
				                                           WHERE m.sent_at >= $1 AND m.sent_at < $2)`, p[0], p[1])
			if len(view) == 0 || len(report) != len(view) {
				t.Errorf("%s: %d conversations in the report, %d in the view", name, len(report), len(view))
			}
			for k, v := range view {
				if report[k] != v {
					t.Errorf("%s: conversation %s: report %q, view %q", name, k, report[k], v)
				}
			}
			compareFigures(t, db, name, p)
		}
	}
}

// compareFigures holds the report's first-response figures of period p to
// those worked out from v_conversation_metrics.
func compareFigures(t *testing.T, db *dbtest.DB, name string, p [2]time.Time) {
	t.Helper()
	ctx := context.Background()
	r, err := report.Load(ctx, db.Pool, report.Options{Since: p[0], Until: p[1], Now: clock, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	var want report.FirstResponse
	rows, err := db.Pool.Query(ctx, `
		SELECT width_bucket(first_response_seconds, ARRAY[60, 300, 900, 3600, 14400, 86400]::float8[]), count(*)
		FROM v_conversation_metrics
		WHERE first_response_at >= $1 AND first_response_at < $2
		GROUP BY 1`, p[0], p[1])
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var b int
		var n int64
		if err := rows.Scan(&b, &n); err != nil {
			t.Fatal(err)
		}
		want.Buckets[b] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	err = db.Pool.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE first_response_at >= $1 AND first_response_at < $2),
		       percentile_cont(0.5) WITHIN GROUP (ORDER BY first_response_seconds) FILTER (WHERE first_response_at >= $1 AND first_response_at < $2),
		       percentile_cont(0.9) WITHIN GROUP (ORDER BY first_response_seconds) FILTER (WHERE first_response_at >= $1 AND first_response_at < $2),
		       count(*) FILTER (WHERE first_response_at IS NULL AND first_inbound_at >= $1 AND first_inbound_at < $2)
		FROM v_conversation_metrics`, p[0], p[1]).Scan(&want.Responded, &want.Median, &want.P90, &want.Unanswered)
	if err != nil {
		t.Fatal(err)
	}
	got := r.FirstResponse
	if got.Buckets != want.Buckets || got.Responded != want.Responded || got.Unanswered != want.Unanswered ||
		!sameSeconds(got.Median, want.Median) || !sameSeconds(got.P90, want.P90) {
		t.Errorf("%s: report's first responses %+v (median %v, p90 %v); the view's %+v (median %v, p90 %v)",
			name, got, deref(got.Median), deref(got.P90), want, deref(want.Median), deref(want.P90))
	}
	if want.Responded == 0 {
		t.Errorf("%s: no first responses to compare", name)
	}

	type agent struct {
		n      int64
		median *float64
	}
	wantAgents := map[string]agent{}
	rows, err = db.Pool.Query(ctx, `
		SELECT source || '/' || first_response_agent_id, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY first_response_seconds)
		FROM v_conversation_metrics
		WHERE first_response_agent_id IS NOT NULL AND first_response_at >= $1 AND first_response_at < $2
		GROUP BY 1`, p[0], p[1])
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		var a agent
		if err := rows.Scan(&k, &a.n, &a.median); err != nil {
			t.Fatal(err)
		}
		wantAgents[k] = a
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, a := range r.Agents {
		k := a.Source + "/" + a.AgentID
		w := wantAgents[k]
		if a.FirstResponses != w.n || !sameSeconds(a.MedianFirstResponse, w.median) {
			t.Errorf("%s: agent %s: report %d first responses (median %v), view %d (median %v)", name, k, a.FirstResponses, deref(a.MedianFirstResponse), w.n, deref(w.median))
		}
		delete(wantAgents, k)
	}
	for k, w := range wantAgents {
		t.Errorf("%s: agent %s: not in the report; the view has %d first responses", name, k, w.n)
	}
}

// orNil is *p, or nil.
func orNil[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func sameSeconds(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return math.Abs(*a-*b) < 1e-9
}
