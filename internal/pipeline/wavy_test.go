package pipeline_test

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"syncer/internal/config"
	"syncer/internal/dbtest"
	"syncer/internal/importer"
	"syncer/internal/pipeline"
	"syncer/internal/schedule"
	"syncer/internal/sim"
	"syncer/internal/sim/clock"
	"syncer/internal/sim/fault"
	wavysim "syncer/internal/sim/wavy"
	"syncer/internal/state"
)

// wavyHarness is a Wavy simulator (its API on http, its files on https),
// a warehouse and a runner.
type wavyHarness struct {
	t      *testing.T
	db     *dbtest.DB
	wv     *wavysim.Simulator
	clock  *clock.Manual
	files  *httptest.Server
	src    config.Source
	runner *pipeline.Runner
	// fileHits counts the requests the file host got.
	fileHits atomic.Int32
}

func newWavy(t *testing.T, wc wavysim.Config) *wavyHarness {
	t.Helper()
	t.Parallel()
	h := &wavyHarness{t: t, db: dbtest.New(t), clock: clock.NewManual(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))}
	wc.Now = h.clock.Now
	h.wv = wavysim.New(wc)
	// The file host fails the test when Wavy's credentials reach it.
	h.files = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.fileHits.Add(1)
		for _, k := range []string{"userName", "authenticationToken", "Authorization"} {
			if v := r.Header.Get(k); v != "" {
				t.Errorf("the file host got the header %s: %q", k, v)
			}
		}
		if strings.Contains(r.URL.RawQuery, h.wv.Token()) {
			t.Errorf("the file host got the token in the query %q", r.URL.RawQuery)
		}
		h.wv.Files().ServeHTTP(w, r)
	}))
	h.files.Config.ErrorLog = log.New(io.Discard, "", 0)
	h.files.StartTLS()
	t.Cleanup(h.files.Close)
	h.wv.SetFileBase(h.files.URL)
	api := httptest.NewServer(sim.NewServers(sim.Simulators{Wavy: h.wv}))
	t.Cleanup(api.Close)

	cfg := config.Config{Sources: []config.Source{{Name: "acme-wavy", Platform: config.Wavy, BaseURL: api.URL + "/wavy",
		Username: h.wv.Username(), Token: config.Secret(h.wv.Token()), CustomerID: h.wv.CustomerID(), SubAccountID: "1291",
		FileHosts: []string{"127.0.0.1"}, RateLimit: 10_000}}}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	h.src = cfg.Sources[0]
	logger := slog.New(slog.DiscardHandler)
	h.runner = withClock(pipeline.NewRunner(state.New(h.db.Pool, logger), logger, 0), h.clock.Now)
	return h
}

func (h *wavyHarness) sync() pipeline.Outcome {
	h.t.Helper()
	jobs, err := pipeline.Jobs(&h.src, pipeline.Options{Now: h.clock.Now, HTTPClient: h.files.Client()})
	if err != nil {
		h.t.Fatal(err)
	}
	outs := schedule.RunAll(context.Background(), h.runner, jobs, 1)
	if len(outs) != 1 || outs[0].Stream != "sessions" {
		h.t.Fatalf("outcomes %+v", outs)
	}
	return outs[0]
}

func (h *wavyHarness) mustSucceed(o pipeline.Outcome) int64 {
	h.t.Helper()
	if o.Status != state.StatusSucceeded {
		h.t.Fatalf("sessions ended %s: %v", o.Status, o.Err)
	}
	return o.Totals.RowsWritten
}

// ids lists the external ids of a table (sorted), with a WHERE clause.
func (h *wavyHarness) ids(table, where string) []string {
	h.t.Helper()
	q := "SELECT external_id FROM " + table
	if where != "" {
		q += " WHERE " + where
	}
	rows, err := h.db.Pool.Query(context.Background(), q+" ORDER BY 1")
	if err != nil {
		h.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			h.t.Fatal(err)
		}
		out = append(out, id)
	}
	return out
}

// wantSessions is what the warehouse should hold for sessions: one
// conversation per session, one contact per phone.
func wantSessions(sessions []wavysim.Session) (convs, contacts []string) {
	seen := map[string]bool{}
	for _, s := range sessions {
		if s.Bad {
			continue // its line is in quarantine
		}
		convs = append(convs, "session:"+s.Phone+":"+strconv.FormatInt(s.CreatedAt, 10))
		if !seen[s.Phone] {
			seen[s.Phone] = true
			contacts = append(contacts, s.Phone)
		}
	}
	sort.Strings(convs)
	sort.Strings(contacts)
	return convs, contacts
}

func (h *wavyHarness) matches(sessions []wavysim.Session) {
	h.t.Helper()
	convs, contacts := wantSessions(sessions)
	if got := h.ids("conversations", "kind = 'session'"); strings.Join(got, " ") != strings.Join(convs, " ") {
		h.t.Errorf("conversations:\n got %v\nwant %v", got, convs)
	}
	if got := h.ids("contacts", "phone = external_id"); strings.Join(got, " ") != strings.Join(contacts, " ") {
		h.t.Errorf("contacts:\n got %v\nwant %v", got, contacts)
	}
}

// Sessions land as conversations with their contacts; the same file again
// writes nothing; new sessions write exactly their rows; sessions that
// closed (gone from the file) stay.
func TestWavySessionsSync(t *testing.T) {
	h := newWavy(t, wavysim.Config{Seed: 1, Sessions: 40})
	first := h.wv.OpenSessions()
	o := h.sync()
	if w := h.mustSucceed(o); w != int64(2*len(first)) {
		t.Errorf("first sync wrote %d rows, want %d", w, 2*len(first))
	}
	if o.Totals.RowsRead != int64(len(first)) {
		t.Errorf("first sync read %d rows, want the %d sessions of the file", o.Totals.RowsRead, len(first))
	}
	h.matches(first)
	var openedAt time.Time
	if err := h.db.Pool.QueryRow(context.Background(), `SELECT opened_at FROM conversations WHERE external_id = $1`,
		"session:"+first[0].Phone+":"+strconv.FormatInt(first[0].CreatedAt, 10)).Scan(&openedAt); err != nil || openedAt.UnixMilli() != first[0].CreatedAt {
		t.Errorf("opened_at %v (%v), want %d", openedAt, err, first[0].CreatedAt)
	}

	if w := h.mustSucceed(h.sync()); w != 0 {
		t.Errorf("the same file again wrote %d rows", w)
	}

	h.clock.Advance(time.Minute)
	h.wv.AddSessions(3)
	if w := h.mustSucceed(h.sync()); w != 6 {
		t.Errorf("3 new sessions wrote %d rows, want 6", w)
	}
	h.matches(h.wv.OpenSessions())

	h.clock.Advance(30 * time.Hour) // every session closes: the file is only its header
	if w := h.mustSucceed(h.sync()); w != 0 {
		t.Errorf("an empty file wrote %d rows", w)
	}
	h.matches(h.wv.Sessions())
	if q := h.wv.APIQueries(); q[0] != "customerId=42&subAccountId=1291" {
		t.Errorf("query %q", q[0])
	}
}

// A line of the file that cannot be read is quarantined and the rest
// loads; the next runs, which read it again in a new download, add no
// quarantine row for it.
func TestWavyBadLinesAreQuarantinedOnce(t *testing.T) {
	h := newWavy(t, wavysim.Config{Seed: 6, Sessions: 40, BadShare: 0.2})
	bad := 0
	for _, s := range h.wv.OpenSessions() {
		if s.Bad {
			bad++
		}
	}
	if bad == 0 {
		t.Fatal("the simulator made no bad session")
	}
	for run := range 2 {
		o := h.sync()
		if o.Status != state.StatusPartial || o.Totals.RowsQuarantined != int64(bad) {
			t.Fatalf("run %d ended %s with %d quarantined (%v), want partial and %d", run, o.Status, o.Totals.RowsQuarantined, o.Err, bad)
		}
		if got := h.ids("quarantine", "stream = 'sessions' AND reason LIKE 'a line of the session file: session_created_at: \"ontem%'"); len(got) != bad {
			t.Fatalf("run %d: %d quarantine rows, want %d: %v", run, len(got), bad, got)
		}
	}
	h.matches(h.wv.OpenSessions())
}

// Rate limits (420) on the API and cut bodies on the file host are
// retried: the run still loads everything.
func TestWavySessionsThroughFaults(t *testing.T) {
	h := newWavy(t, wavysim.Config{Seed: 2, Sessions: 30, DateFormat: "epoch-ms", BOM: true, Comma: ',', Header: "source",
		Faults:     fault.Faults{RateLimitShare: 0.5, RateLimitStatus: 420, RetryAfter: "0"},
		FileFaults: fault.Faults{CutBodyShare: 0.5, ServerErrorShare: 0.2}})
	for range 3 {
		h.mustSucceed(h.sync())
	}
	h.matches(h.wv.OpenSessions())
	if s := h.wv.Stats(); s.RateLimited == 0 {
		t.Errorf("no rate limit was answered: %+v", s)
	}
	if s := h.wv.FileStats(); s.CutBodies == 0 {
		t.Errorf("no body was cut: %+v", s)
	}
}

// A file_url at a host not in file_hosts, or over http, fails the stream
// naming the host and file_hosts, asks nothing of that host, and writes
// nothing.
func TestWavyFileLinkElsewhereFails(t *testing.T) {
	h := newWavy(t, wavysim.Config{Seed: 3, Sessions: 5})
	var plainHits atomic.Int32
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plainHits.Add(1)
		io.WriteString(w, "source;session_created_at\n5511999999999;2025-03-01 09:00:00\n")
	}))
	t.Cleanup(plain.Close)
	for _, tc := range []struct {
		link string
		want []string
	}{
		{"https://evil.example/2025/03/01/x/y?sig=abc", []string{`source "acme-wavy": the session file is at host "evil.example" (https://evil.example/2025/03/01/x/y?…), which is not in file_hosts; add it to file_hosts if it is Wavy's`}},
		{plain.URL + "/2025/03/01/x/y", []string{`source "acme-wavy": the session file is at ` + plain.URL + `/2025/03/01/x/y over http://`, `host "127.0.0.1"`, "file_hosts"}},
	} {
		h.wv.SetFileLink(tc.link)
		o := h.sync()
		if o.Status != state.StatusFailed || o.Err == nil {
			t.Fatalf("%s: ended %s (%v), want failed", tc.link, o.Status, o.Err)
		}
		for _, want := range tc.want {
			if !strings.Contains(o.Err.Error(), want) {
				t.Errorf("error %q\nlacks %q", o.Err, want)
			}
		}
		if o.Totals.RowsWritten != 0 {
			t.Errorf("%d rows written", o.Totals.RowsWritten)
		}
		var recorded string
		if err := h.db.Pool.QueryRow(context.Background(), `SELECT error FROM sync_runs WHERE id = $1`, o.RunID).Scan(&recorded); err != nil || !strings.Contains(recorded, "file_hosts") {
			t.Errorf("sync_runs.error %q (%v)", recorded, err)
		}
	}
	if n := len(h.ids("conversations", "")) + len(h.ids("contacts", "")); n != 0 {
		t.Errorf("%d rows in the warehouse", n)
	}
	if plainHits.Load() != 0 || h.fileHits.Load() != 0 {
		t.Errorf("a refused host was asked: %d http, %d https", plainHits.Load(), h.fileHits.Load())
	}
	h.wv.SetFileLink("")
	h.mustSucceed(h.sync())
	h.matches(h.wv.OpenSessions())
}

func TestWavyRefusedCredentials(t *testing.T) {
	h := newWavy(t, wavysim.Config{Seed: 4})
	h.src.Token = "not-the-token-0123456789"
	o := h.sync()
	if o.Status != state.StatusFailed || !strings.Contains(o.Err.Error(), `source "acme-wavy": the platform refused the credentials (HTTP 401: Authentication Error: No user was found`) {
		t.Fatalf("ended %s: %v", o.Status, o.Err)
	}
	if h.fileHits.Load() != 0 {
		t.Error("the file host was asked")
	}
}

// A saved sessions CSV and a saved file of webhook bodies import once:
// the same file again is skipped.
func TestWavyImports(t *testing.T) {
	h := newWavy(t, wavysim.Config{Seed: 5, Sessions: 12})
	dir := t.TempDir()
	// The session file, as a user would save it from the link.
	resp, err := h.files.Client().Get(h.fileLink())
	if err != nil {
		t.Fatal(err)
	}
	csv, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	sessionsPath := filepath.Join(dir, "sessions.csv")
	writeTestFile(t, sessionsPath, string(csv)+"not-a-phone;2025-03-01 09:00:00\n")

	// Webhook bodies, one per line: an MO batch, then status callbacks.
	var lines []string
	statusBody := h.wv.NewStatusBatch(4)
	for _, b := range [][]byte{h.wv.NewMOBatch(6), statusBody, h.wv.NewMOBatch(2)} {
		lines = append(lines, strings.TrimSpace(string(b)))
	}
	// One batch may carry several callbacks of one message.
	var sb struct{ Data []struct{ ID string } }
	if err := json.Unmarshal(statusBody, &sb); err != nil {
		t.Fatal(err)
	}
	outbound := map[string]bool{}
	for _, d := range sb.Data {
		outbound[d.ID] = true
	}
	moPath := filepath.Join(dir, "webhooks.jsonl")
	writeTestFile(t, moPath, strings.Join(lines, "\n")+"\n{\"total\":1,\"data\":[\n")

	logger := slog.New(slog.DiscardHandler)
	im := importer.New(state.New(h.db.Pool, logger), logger)
	ctx := context.Background()

	res, err := im.Import(ctx, &h.src, "wavy-sessions-csv", sessionsPath)
	if err != nil || res.Status != state.StatusPartial || res.Bad != 1 || res.BadLines[0].Line != 14 {
		t.Fatalf("sessions import: %+v, %v", res, err)
	}
	h.matches(h.wv.OpenSessions())

	res, err = im.Import(ctx, &h.src, "wavy-mo-json", moPath)
	if err != nil || res.Status != state.StatusPartial || res.Bad != 1 || res.BadLines[0].Line != 4 {
		t.Fatalf("webhooks import: %+v, %v", res, err)
	}
	var inbound, statuses, threads int
	if err := h.db.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE direction = 'inbound' AND status = 'received' AND conversation_external_id LIKE 'session:%'),
		count(*) FILTER (WHERE direction = 'outbound' AND body IS NULL AND status IS NOT NULL) FROM messages`).Scan(&inbound, &statuses); err != nil {
		t.Fatal(err)
	}
	if err := h.db.Pool.QueryRow(ctx, `SELECT count(*) FROM conversations c WHERE kind = 'session' AND external_id NOT LIKE 'session:%:%'
		AND EXISTS (SELECT FROM messages m WHERE m.conversation_external_id = c.external_id)`).Scan(&threads); err != nil {
		t.Fatal(err)
	}
	if inbound != 8 || statuses != len(outbound) || threads == 0 {
		t.Errorf("%d inbound messages (want 8), %d status-only outbound (want %d), %d threads", inbound, statuses, len(outbound), threads)
	}

	// docs/tables.md's join of sessions and their messages finds every
	// inbound message in the session of its user.
	var inSessions int
	if err := h.db.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE direction = 'inbound') FROM (
		SELECT s.external_id AS session, s.opened_at, m.direction, m.kind, m.body, m.sent_at
		FROM conversations s
		JOIN messages m ON m.source_id = s.source_id
		               AND m.conversation_external_id = 'session:' || s.contact_external_id
		               AND m.sent_at >= s.opened_at
		WHERE s.kind = 'session' AND s.external_id LIKE 'session:%:%'
		  AND NOT EXISTS (SELECT FROM conversations n
		                  WHERE n.source_id = s.source_id AND n.kind = 'session'
		                    AND n.external_id LIKE 'session:%:%'
		                    AND n.contact_external_id = s.contact_external_id
		                    AND n.opened_at > s.opened_at AND n.opened_at <= m.sent_at)
		ORDER BY s.external_id, m.sent_at) q`).Scan(&inSessions); err != nil || inSessions != 8 {
		t.Errorf("%d inbound messages joined to their session (%v), want 8", inSessions, err)
	}

	for _, f := range []struct{ format, path string }{{"wavy-sessions-csv", sessionsPath}, {"wavy-mo-json", moPath}} {
		res, err := im.Import(ctx, &h.src, f.format, f.path)
		if err != nil || !res.Skipped || res.Written != 0 {
			t.Errorf("%s again: %+v, %v", f.format, res, err)
		}
	}
	// The sessions stream over the same sessions writes nothing either.
	if w := h.mustSucceed(h.sync()); w != 0 {
		t.Errorf("the stream after the import wrote %d rows", w)
	}
}

// fileLink asks the simulator's API for a link to the session file.
func (h *wavyHarness) fileLink() string {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.src.BaseURL+"/v1/session?customerId="+h.src.CustomerID, nil)
	req.Header.Set("userName", h.wv.Username())
	req.Header.Set("authenticationToken", h.wv.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	link, ok := strings.CutPrefix(strings.TrimSpace(string(b)), `{"file_url":"`)
	if !ok {
		h.t.Fatalf("answer %s", b)
	}
	return strings.TrimSuffix(link, `"}`)
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
