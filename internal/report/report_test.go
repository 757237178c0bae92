package report_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"syncer/internal/dbtest"
	"syncer/internal/golden"
	"syncer/internal/report"
)

// The fixture's week: Monday 4 March 2024 to Monday 11 March, UTC.
var (
	weekStart = time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)
	weekEnd   = weekStart.AddDate(0, 0, 7)
	// clock is the report's fixed "now".
	clock = func() time.Time { return time.Date(2024, 3, 11, 12, 0, 0, 0, time.UTC) }
)

// evil is an agent's name as a platform might send it.
const evil = `<script>alert("x")</script> & Ana`

// fixture fills a warehouse with a week of two sources:
//
//   - acme-digisac: tickets c1..c5 answered by agents a1 and a2 in 30 s,
//     3 min (after a bot's answer, which does not count), 20 min and 25 h,
//     and c5 not answered; a run of its messages stream that succeeded;
//   - acme-ogmma: conversation o1 answered in 10 min by nobody the platform
//     names, a message after the week, a failed run and a quarantined
//     record.
//
// Messages by (ISO weekday, hour): Mon 09: 2, Mon 10: 3, Tue 14: 2, Wed
// 08: 1, Thu 09: 1, Thu 20: 1, Fri 11: 2; 12 in the week.
func fixture(t *testing.T) *dbtest.DB {
	t.Helper()
	db := dbtest.New(t)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := db.Pool.Exec(context.Background(), sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`INSERT INTO sources (name, platform) VALUES ('acme-digisac', 'digisac'), ('acme-ogmma', 'ogmma')`)
	exec(`INSERT INTO agents (source_id, external_id, name, raw)
	      SELECT id, 'a1', 'Bruno Lima', '{}'::jsonb FROM sources WHERE name = 'acme-digisac'
	      UNION ALL SELECT id, 'a2', $1, '{}'::jsonb FROM sources WHERE name = 'acme-digisac'`, evil)
	conv := func(source, id, opened string) {
		exec(`INSERT INTO conversations (source_id, external_id, kind, opened_at, raw)
		      SELECT id, $2, 'ticket', $3::timestamptz, '{}'::jsonb FROM sources WHERE name = $1`, source, id, opened)
	}
	msg := func(source, conv, id, dir, at, agent string, bot bool) {
		var a *string
		if agent != "" {
			a = &agent
		}
		exec(`INSERT INTO messages (source_id, external_id, conversation_external_id, direction, kind, sent_at, agent_external_id, is_bot, raw)
		      SELECT id, $3, $2, $4, 'text', $5::timestamptz, $6, $7, '{}'::jsonb FROM sources WHERE name = $1`, source, conv, id, dir, at, a, bot)
	}
	conv("acme-digisac", "c1", "2024-03-04T09:00:00Z")
	msg("acme-digisac", "c1", "m1", "inbound", "2024-03-04T09:00:00Z", "", false)
	msg("acme-digisac", "c1", "m2", "outbound", "2024-03-04T09:00:30Z", "a1", false)
	conv("acme-digisac", "c2", "2024-03-04T10:00:00Z")
	msg("acme-digisac", "c2", "m3", "inbound", "2024-03-04T10:00:00Z", "", false)
	msg("acme-digisac", "c2", "m4", "outbound", "2024-03-04T10:00:05Z", "", true)
	msg("acme-digisac", "c2", "m5", "outbound", "2024-03-04T10:03:00Z", "a1", false)
	conv("acme-digisac", "c3", "2024-03-05T14:00:00Z")
	msg("acme-digisac", "c3", "m6", "inbound", "2024-03-05T14:00:00Z", "", false)
	msg("acme-digisac", "c3", "m7", "outbound", "2024-03-05T14:20:00Z", "a2", false)
	conv("acme-digisac", "c4", "2024-03-06T08:00:00Z")
	msg("acme-digisac", "c4", "m8", "inbound", "2024-03-06T08:00:00Z", "", false)
	msg("acme-digisac", "c4", "m9", "outbound", "2024-03-07T09:00:00Z", "a2", false)
	conv("acme-digisac", "c5", "2024-03-07T20:00:00Z")
	msg("acme-digisac", "c5", "m10", "inbound", "2024-03-07T20:00:00Z", "", false)
	conv("acme-ogmma", "o1", "2024-03-08T11:00:00Z")
	msg("acme-ogmma", "o1", "n1", "inbound", "2024-03-08T11:00:00Z", "", false)
	msg("acme-ogmma", "o1", "n2", "outbound", "2024-03-08T11:10:00Z", "", false)
	msg("acme-ogmma", "o1", "n3", "inbound", "2024-03-12T11:00:00Z", "", false)

	exec(`INSERT INTO sync_runs (source_id, stream, mode, started_at, finished_at, status)
	      SELECT id, 'messages', 'incremental', '2024-03-11T09:00:00Z'::timestamptz, '2024-03-11T09:01:00Z'::timestamptz, 'succeeded' FROM sources WHERE name = 'acme-digisac'
	      UNION ALL
	      SELECT id, 'messages', 'incremental', '2024-03-11T10:00:00Z'::timestamptz, '2024-03-11T10:00:10Z'::timestamptz, 'failed' FROM sources WHERE name = 'acme-ogmma'`)
	exec(`INSERT INTO quarantine (source_id, stream, reason, payload, fingerprint, first_seen_at, seen_at)
	      SELECT id, 'messages', 'createdAt missing', '{}'::jsonb, 'f1', '2024-03-09T00:00:00Z', '2024-03-09T00:00:00Z' FROM sources WHERE name = 'acme-ogmma'`)
	return db
}

func weekOptions() report.Options {
	return report.Options{Since: weekStart, Until: weekEnd, Now: clock, Version: "test"}
}

func render(t *testing.T, r *report.Report) string {
	t.Helper()
	var b strings.Builder
	if err := report.Render(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestReportFigures(t *testing.T) {
	t.Parallel()
	db := fixture(t)
	r, err := report.Load(context.Background(), db.Pool, weekOptions())
	if err != nil {
		t.Fatal(err)
	}
	if r.TimeZone != "UTC" || !r.Since.Equal(weekStart) || !r.Until.Equal(weekEnd) || len(r.Daily) != 7 {
		t.Fatalf("period: %s %s..%s, %d days", r.TimeZone, r.Since, r.Until, len(r.Daily))
	}
	if got := r.Messages(); got != 12 {
		t.Errorf("messages in the week: %d, want 12", got)
	}
	fr := r.FirstResponse
	if fr.Buckets != [7]int64{1, 1, 1, 1, 0, 0, 1} || fr.Responded != 5 || fr.Unanswered != 1 {
		t.Errorf("first responses: %+v", fr)
	}
	if fr.Median == nil || *fr.Median != 600 || fr.P90 == nil || math.Abs(*fr.P90-(1200+0.6*(90000-1200))) > 1e-6 {
		t.Errorf("median %v, p90 %v; want 600 and 54480", deref(fr.Median), deref(fr.P90))
	}
	want := map[[2]int]int64{{1, 9}: 2, {1, 10}: 3, {2, 14}: 2, {3, 8}: 1, {4, 9}: 1, {4, 20}: 1, {5, 11}: 2}
	for d := range 7 {
		for h := range 24 {
			if got := r.Heatmap[d][h]; got != want[[2]int{d + 1, h}] {
				t.Errorf("heatmap weekday %d hour %d: %d, want %d", d+1, h, got, want[[2]int{d + 1, h}])
			}
		}
	}
	if len(r.Agents) != 2 {
		t.Fatalf("agents: %+v", r.Agents)
	}
	a1, a2 := r.Agents[0], r.Agents[1]
	if a1.AgentID != "a1" || a1.MessagesSent != 2 || a1.Conversations != 2 || a1.FirstResponses != 2 || *a1.MedianFirstResponse != 105 {
		t.Errorf("a1: %+v", a1)
	}
	if a2.AgentID != "a2" || a2.DisplayName() != evil || a2.FirstResponses != 2 || *a2.MedianFirstResponse != (1200+90000)/2 {
		t.Errorf("a2: %+v", a2)
	}
	if len(r.Sources) != 2 {
		t.Fatalf("sources: %+v", r.Sources)
	}
	ds, og := r.Sources[0], r.Sources[1]
	if ds.Name != "acme-digisac" || ds.Messages != 10 || ds.ConversationsOpened != 5 || ds.Quarantined != 0 || ds.LastSuccess == nil ||
		ds.Stalest != "messages" || ds.StalestAt == nil {
		t.Errorf("acme-digisac: %+v", ds)
	}
	if og.Name != "acme-ogmma" || og.Messages != 2 || og.TotalMessages != 3 || og.Quarantined != 1 || og.QuarantinedInPeriod != 1 ||
		og.LastSuccess != nil || og.Stalest != "messages" || og.StalestAt != nil {
		t.Errorf("acme-ogmma: %+v", og)
	}

	html := render(t, r)
	for _, w := range []string{
		`data-chart="daily-volume" data-points="5"`,
		`data-chart="first-response" data-points="5"`,
		`data-chart="busiest-hours" data-points="7"`,
		`data-chart="agent-load" data-points="2"`,
		`data-bucket="lt-1m" data-count="1"`, `data-bucket="1h-4h" data-count="0"`, `data-bucket="ge-24h" data-count="1"`,
		`data-figure="median">10.0 min<`, `data-figure="unanswered">1<`,
		`data-weekday="1" data-hour="10" data-count="3"`, `data-weekday="5" data-hour="11" data-count="2"`, `data-weekday="7" data-hour="0" data-count="0"`,
		`data-day="2024-03-04" data-series="digisac/outbound" data-count="3"`,
		`data-source="acme-ogmma" class="warn"`, `data-quarantined="1"`, "never succeeded",
		"days and hours in <b>UTC</b>", "2024-03-04 00:00 to 2024-03-11 00:00", "by syncer test",
		"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Ana",
	} {
		if !strings.Contains(html, w) {
			t.Errorf("the report lacks %s", w)
		}
	}
	if strings.Contains(html, "<script>alert") {
		t.Error("an agent's name is not escaped")
	}
	if strings.Contains(html, "No data in this period") {
		t.Error("a chart of the week says it has no data")
	}
	selfContained(t, html)
}

// selfContained fails t when the page refers to anything outside itself.
func selfContained(t *testing.T, html string) {
	t.Helper()
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`(?i)https?://`), regexp.MustCompile(`(?i)<script[^>]*\ssrc`), regexp.MustCompile(`(?i)<link[^>]*\shref`),
		regexp.MustCompile(`(?i)\s(src|href|xlink:href)\s*=`), regexp.MustCompile(`(?i)url\(`), regexp.MustCompile(`(?i)@import`),
		regexp.MustCompile(`(?i)//[a-z0-9.-]+\.[a-z]{2,}/`),
	} {
		if m := re.FindString(html); m != "" {
			t.Errorf("the report refers to something outside itself: %q", m)
		}
	}
}

func TestReportOfAnEmptyPeriodSaysSo(t *testing.T) {
	t.Parallel()
	db := fixture(t)
	opts := weekOptions()
	opts.Since, opts.Until = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2020, 2, 1, 0, 0, 0, 0, time.UTC)
	r, err := report.Load(context.Background(), db.Pool, opts)
	if err != nil {
		t.Fatal(err)
	}
	html := render(t, r)
	for _, chart := range []string{"daily-volume", "first-response", "busiest-hours", "agent-load"} {
		if !strings.Contains(html, `data-chart="`+chart+`" data-points="0"`) {
			t.Errorf("%s has data points", chart)
		}
	}
	if n := strings.Count(html, `<p class="empty">No data in this period`); n != 4 {
		t.Errorf("%d charts say they have no data, want 4", n)
	}
	if strings.Contains(html, `class="mark"`) || strings.Contains(html, `<svg class="chart"`) {
		t.Error("an empty period draws a chart")
	}
	// The sources are listed still, with their freshness.
	for _, w := range []string{`data-source="acme-digisac"`, `data-source="acme-ogmma" class="warn"`, "2 h 59 min ago"} {
		if !strings.Contains(html, w) {
			t.Errorf("the empty report lacks %s", w)
		}
	}
	selfContained(t, html)
}

// TestReportFollowsTheViewsTimeZone: with the views in São Paulo's time
// (UTC-3), hours and days move, the default period is the last 30 local
// days, and a source filter keeps the other source out.
func TestReportFollowsTheViewsTimeZone(t *testing.T) {
	t.Parallel()
	db := fixture(t)
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, `SELECT syncer_apply_time_zone('America/Sao_Paulo')`); err != nil {
		t.Fatal(err)
	}
	opts := report.Options{Now: clock, Sources: []string{"acme-digisac", "acme-never-synced"}}
	r, err := report.Load(ctx, db.Pool, opts)
	if err != nil {
		t.Fatal(err)
	}
	// Now is 2024-03-11 09:00 in São Paulo: the period starts 29 local
	// days before, at 03:00 UTC.
	if r.TimeZone != "America/Sao_Paulo" || !r.Since.Equal(time.Date(2024, 2, 11, 3, 0, 0, 0, time.UTC)) || !r.Until.Equal(clock()) || len(r.Daily) != 30 {
		t.Fatalf("period %s %s..%s, %d days", r.TimeZone, r.Since, r.Until, len(r.Daily))
	}
	if r.Heatmap[0][6] != 2 || r.Heatmap[0][9] != 0 || r.Heatmap[3][17] != 1 {
		t.Errorf("heatmap Monday 06: %d (want 2), 09: %d (want 0); Thursday 17: %d (want 1)", r.Heatmap[0][6], r.Heatmap[0][9], r.Heatmap[3][17])
	}
	if r.Messages() != 10 {
		t.Errorf("acme-digisac's messages: %d, want 10", r.Messages())
	}
	if len(r.Sources) != 2 || r.Sources[0].Name != "acme-digisac" || r.Sources[1].Name != "acme-never-synced" || r.Sources[1].Known {
		t.Errorf("sources: %+v", r.Sources)
	}
	html := render(t, r)
	for _, w := range []string{"days and hours in <b>America/Sao_Paulo</b>", "2024-02-11 00:00 to 2024-03-11 09:00",
		"sources: acme-digisac, acme-never-synced", "digisac</span>", ", never synced", `data-weekday="1" data-hour="6" data-count="2"`} {
		if !strings.Contains(html, w) {
			t.Errorf("the report lacks %s", w)
		}
	}
	if strings.Contains(html, "acme-ogmma") {
		t.Error("the report shows a source it was not asked for")
	}
}

// TestReportTakesLocalTimesInTheViewsTimeZone: with the views in São
// Paulo's time (UTC-3), a local date starts at local midnight, so the
// period of 4 to 11 March has seven whole local days; an instant is taken
// as given.
func TestReportTakesLocalTimesInTheViewsTimeZone(t *testing.T) {
	t.Parallel()
	db := fixture(t)
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, `SELECT syncer_apply_time_zone('America/Sao_Paulo')`); err != nil {
		t.Fatal(err)
	}
	date := func(m time.Month, d int) time.Time { return time.Date(2024, m, d, 0, 0, 0, 0, time.UTC) }
	utc := func(d, h int) time.Time { return time.Date(2024, 3, d, h, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name         string
		opts         report.Options
		since, until time.Time
		days         int
		period       string
	}{
		{"local dates", report.Options{SinceLocal: date(3, 4), UntilLocal: date(3, 11)},
			utc(4, 3), utc(11, 3), 7, "2024-03-04 00:00 to 2024-03-11 00:00"},
		{"instants", report.Options{Since: utc(4, 0), Until: utc(11, 0)},
			utc(4, 0), utc(11, 0), 8, "2024-03-03 21:00 to 2024-03-10 21:00"},
		{"a local time and an instant with an offset", report.Options{SinceLocal: utc(4, 9), Until: time.Date(2024, 3, 8, 12, 0, 0, 0, time.FixedZone("-03", -3*3600))},
			utc(4, 12), utc(8, 15), 5, "2024-03-04 09:00 to 2024-03-08 12:00"},
		{"the 30 local days up to a local date", report.Options{UntilLocal: date(3, 11)},
			time.Date(2024, 2, 10, 3, 0, 0, 0, time.UTC), utc(11, 3), 30, "2024-02-10 00:00 to 2024-03-11 00:00"},
	} {
		tc.opts.Now, tc.opts.Version = clock, "test"
		r, err := report.Load(ctx, db.Pool, tc.opts)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !r.Since.Equal(tc.since) || !r.Until.Equal(tc.until) || len(r.Daily) != tc.days {
			t.Errorf("%s: %s..%s, %d days; want %s..%s, %d days", tc.name, r.Since, r.Until, len(r.Daily), tc.since, tc.until, tc.days)
		}
		if html := render(t, r); !strings.Contains(html, "Period <b>"+tc.period+"</b>") {
			t.Errorf("%s: the report's period is not %s", tc.name, tc.period)
		}
	}

	// Midnight in São Paulo is 03:00 UTC: not before it.
	_, err := report.Load(ctx, db.Pool, report.Options{SinceLocal: date(3, 4), Until: utc(4, 3), Now: clock})
	if !errors.Is(err, report.ErrEmptyPeriod) || !strings.Contains(err.Error(), "2024-03-04 00:00:00 to 2024-03-04 00:00:00 in America/Sao_Paulo") {
		t.Errorf("an empty period: %v", err)
	}
	if _, err := report.Load(ctx, db.Pool, report.Options{Since: utc(4, 0), SinceLocal: date(3, 4), Now: clock}); err == nil {
		t.Error("no error for a start given twice")
	}
}

// TestDailyVolumeAgreesWithTheView: over whole days, the report's daily
// volume is v_daily_volume's.
func TestDailyVolumeAgreesWithTheView(t *testing.T) {
	t.Parallel()
	db := fixture(t)
	ctx := context.Background()
	r, err := report.Load(ctx, db.Pool, weekOptions())
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.Pool.Query(ctx, `SELECT day, platform, direction, sum(messages)::bigint FROM v_daily_volume
		WHERE day >= $1::date AND day < $2::date GROUP BY 1, 2, 3`, weekStart, weekEnd)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	view := map[string]int64{}
	for rows.Next() {
		var day time.Time
		var platform, direction string
		var n int64
		if err := rows.Scan(&day, &platform, &direction, &n); err != nil {
			t.Fatal(err)
		}
		view[day.Format(time.DateOnly)+" "+platform+" "+direction] = n
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	got := map[string]int64{}
	for _, d := range r.Daily {
		for s, n := range d.Counts {
			got[d.Day.Format(time.DateOnly)+" "+s.Platform+" "+s.Direction] = n
		}
	}
	if len(got) != len(view) || len(got) == 0 {
		t.Fatalf("report %v, view %v", got, view)
	}
	for k, n := range view {
		if got[k] != n {
			t.Errorf("%s: report %d, view %d", k, got[k], n)
		}
	}
}

// TestReportGolden: the whole page of the fixture's week, with a fixed
// clock, as in testdata/week.golden.json (one string per line; make
// update-golden rewrites it).
func TestReportGolden(t *testing.T) {
	t.Parallel()
	db := fixture(t)
	r, err := report.Load(context.Background(), db.Pool, weekOptions())
	if err != nil {
		t.Fatal(err)
	}
	golden.JSON(t, "week.golden.json", strings.Split(render(t, r), "\n"))
}

func TestWriteReplacesTheFileWhole(t *testing.T) {
	t.Parallel()
	db := fixture(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	if err := os.WriteFile(path, []byte("an old report"), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := report.Write(context.Background(), db.Pool, path, weekOptions())
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "<!DOCTYPE html>") || !strings.HasSuffix(string(b), "</html>\n") {
		t.Errorf("the file is not the report: %.60q", b)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode: %v %v", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("files left beside the report: %v", entries)
	}
	if s := r.Summary(); !strings.Contains(s, "12 messages") || !strings.Contains(s, "5 first responses (median 10.0 min)") || !strings.Contains(s, "2 sources") {
		t.Errorf("summary: %s", s)
	}
	// A directory that does not exist: an error, and nothing written.
	if _, err := report.Write(context.Background(), db.Pool, filepath.Join(dir, "no", "report.html"), weekOptions()); err == nil {
		t.Error("no error writing into a missing directory")
	}
	if _, err := report.Load(context.Background(), db.Pool, report.Options{Since: weekEnd, Until: weekStart}); err == nil {
		t.Error("no error for a period that ends before it starts")
	}
}

func deref(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}
