package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"syncer/internal/config"
	"syncer/internal/dbtest"
	"syncer/internal/extract"
	"syncer/internal/extract/digisac"
	"syncer/internal/pipeline"
	"syncer/internal/schedule"
	"syncer/internal/sim"
	"syncer/internal/sim/clock"
	digisacsim "syncer/internal/sim/digisac"
	"syncer/internal/state"
)

// digisacHarness is a Digisac simulator, a warehouse and a runner.
type digisacHarness struct {
	t      *testing.T
	db     *dbtest.DB
	ds     *digisacsim.Simulator
	clock  *clock.Manual
	src    config.Source
	runner *pipeline.Runner
	byID   *idRequests
}

// idRequests counts the list requests that ask for records by id ($in),
// and the longest request URI.
type idRequests struct {
	mu      sync.Mutex
	n       int
	longest int
}

func (r *idRequests) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		if strings.Contains(req.URL.RawQuery, "%24in") {
			r.n++
		}
		r.longest = max(r.longest, len(req.URL.RequestURI()))
		r.mu.Unlock()
		next.ServeHTTP(w, req)
	})
}

func (r *idRequests) take() (n, longest int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, longest, r.n, r.longest = r.n, r.longest, 0, 0
	return n, longest
}

func newDigisac(t *testing.T, dc digisacsim.Config, edit func(*config.Source)) *digisacHarness {
	t.Helper()
	t.Parallel()
	db := dbtest.New(t)
	clk := clock.NewManual(time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC))
	if dc.Now == nil {
		dc.Now = clk.Now
	}
	ds := digisacsim.New(dc)
	byID := &idRequests{}
	srv := httptest.NewServer(byID.wrap(sim.NewServers(sim.Simulators{Digisac: ds})))
	t.Cleanup(srv.Close)
	src := config.Source{Name: "acme-digisac", Platform: config.Digisac, BaseURL: srv.URL + "/digisac", Token: config.Secret(ds.Token()),
		RateLimit: 10_000, PageSize: 50}
	if edit != nil {
		edit(&src)
	}
	cfg := config.Config{Sources: []config.Source{src}}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	return &digisacHarness{t: t, db: db, ds: ds, clock: clk, src: cfg.Sources[0], byID: byID,
		runner: withClock(pipeline.NewRunner(state.New(db.Pool, logger), logger, 0), clk.Now)}
}

// sync runs every stream; the harness clock is the runner's "now", so the
// safety lag (0 here) never hides the simulator's newest records.
func (h *digisacHarness) sync(streams ...string) []pipeline.Outcome {
	h.t.Helper()
	var only []string
	if len(streams) > 0 {
		only = streams
	}
	jobs, err := pipeline.Jobs(&h.src, pipeline.Options{Streams: only, Now: h.clock.Now})
	if err != nil {
		h.t.Fatal(err)
	}
	return schedule.RunAll(context.Background(), h.runner, jobs, 3)
}

func (h *digisacHarness) mustSucceed(outs []pipeline.Outcome) int64 {
	h.t.Helper()
	var written int64
	for _, o := range outs {
		if o.Status != state.StatusSucceeded {
			h.t.Fatalf("%s ended %s: %v", o.Stream, o.Status, o.Err)
		}
		written += o.Totals.RowsWritten
	}
	return written
}

var digisacTables = map[string]string{
	"services": "channels", "users": "agents", "departments": "departments",
	"contacts": "contacts", "tickets": "conversations", "messages": "messages",
}

// matchesSource checks every table against the simulator: the same ids, and
// for each the same updatedAt, nothing missing, nothing extra (rows marked
// deleted excepted for removed dimensions).
func (h *digisacHarness) matchesSource() {
	h.t.Helper()
	ctx := context.Background()
	for resource, table := range digisacTables {
		want := map[string]string{}
		for _, raw := range h.ds.Records(resource) {
			var r struct {
				ID        string `json:"id"`
				UpdatedAt string `json:"updatedAt"`
			}
			if err := json.Unmarshal(raw, &r); err != nil {
				h.t.Fatal(err)
			}
			ts, _ := time.Parse(time.RFC3339Nano, r.UpdatedAt)
			want[r.ID] = ts.UTC().Format(time.RFC3339Nano)
		}
		q := "SELECT external_id, updated_at FROM " + table
		if resource == "services" || resource == "users" || resource == "departments" {
			q += " WHERE deleted_at IS NULL"
		}
		rows, err := h.db.Pool.Query(ctx, q)
		if err != nil {
			h.t.Fatal(err)
		}
		got := map[string]string{}
		for rows.Next() {
			var id string
			var ts time.Time
			if err := rows.Scan(&id, &ts); err != nil {
				h.t.Fatal(err)
			}
			got[id] = ts.UTC().Format(time.RFC3339Nano)
		}
		rows.Close()
		missing, stale, extra := 0, 0, 0
		for id, w := range want {
			switch g, ok := got[id]; {
			case !ok:
				missing++
			case g != w:
				stale++
			}
		}
		for id := range got {
			if _, ok := want[id]; !ok {
				extra++
			}
		}
		if missing+stale+extra > 0 || len(want) == 0 {
			h.t.Errorf("%s vs the simulator's %s: %d rows, want %d; %d missing, %d stale, %d extra", table, resource, len(got), len(want), missing, stale, extra)
		}
	}
}

func TestDigisacFullSyncThenNothingToWrite(t *testing.T) {
	h := newDigisac(t, digisacsim.Config{Seed: 31, Contacts: 60, Tickets: 80, MessagesPerTicket: 8}, nil)
	if w := h.mustSucceed(h.sync()); w == 0 {
		t.Fatal("first sync wrote nothing")
	}
	h.matchesSource()
	if w := h.mustSucceed(h.sync()); w != 0 {
		t.Fatalf("second sync wrote %d rows, want 0", w)
	}
}

func TestDigisacRecordsEditedDuringASyncAreNotLost(t *testing.T) {
	h := newDigisac(t, digisacsim.Config{Seed: 32, Contacts: 120, Tickets: 100, MessagesPerTicket: 10}, func(s *config.Source) { s.PageSize = 25 })
	var lists atomic.Int64 // the streams page concurrently
	h.ds.OnList(func(resource string, page int) {
		lists.Add(1)
		h.clock.Advance(time.Second)
		switch resource {
		case "contacts", "tickets", "messages":
			h.ds.Edit(resource, 3)   // records already read move past the bound or to the end
			h.ds.Create(resource, 2) // new ones appear
		}
	})
	for _, o := range h.sync() {
		if o.Status == state.StatusFailed {
			t.Fatalf("%s failed while the list moved: %v", o.Stream, o.Err)
		}
	}
	h.ds.OnList(nil)
	if n := lists.Load(); n < 20 {
		t.Fatalf("only %d list requests; the test did not page", n)
	}
	h.clock.Advance(time.Minute)
	h.mustSucceed(h.sync())
	h.matchesSource()
}

func TestDigisacRemovedConnectionIsMarkedDeleted(t *testing.T) {
	h := newDigisac(t, digisacsim.Config{Seed: 33, Services: 4, Contacts: 10, Tickets: 5}, nil)
	h.mustSucceed(h.sync("services"))
	gone := h.ds.Remove("services", 1)
	h.clock.Advance(time.Minute)
	h.mustSucceed(h.sync("services"))
	var deleted string
	if err := h.db.Pool.QueryRow(context.Background(), "SELECT string_agg(external_id, ',') FROM channels WHERE deleted_at IS NOT NULL").Scan(&deleted); err != nil {
		t.Fatal(err)
	}
	if deleted != gone[0] {
		t.Fatalf("deleted channels %q, want %q", deleted, gone[0])
	}
}

func TestDigisacRefusedTokenFailsClearly(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef01234567"
	h := newDigisac(t, digisacsim.Config{Seed: 34}, func(s *config.Source) { s.Token = secret })
	for _, o := range h.sync("contacts") {
		if o.Status != state.StatusFailed || !errors.Is(o.Err, extract.ErrUnauthorized) {
			t.Fatalf("status %s, err %v", o.Status, o.Err)
		}
		msg := o.Err.Error()
		if !strings.Contains(msg, "acme-digisac") || !strings.Contains(msg, "refused the credentials") || strings.Contains(msg, secret) {
			t.Fatalf("error %q should name the source and the refusal, and not the token", msg)
		}
	}
}

func TestDigisacPasswordGrantIsRenewedOnce(t *testing.T) {
	h := newDigisac(t, digisacsim.Config{Seed: 35, Username: "ana@acme.com.br", Password: "senha-secreta", Contacts: 80}, func(s *config.Source) {
		s.Token, s.Username, s.Password = "", "ana@acme.com.br", "senha-secreta"
		s.PageSize = 20
	})
	var pages atomic.Int64
	h.ds.OnList(func(string, int) {
		if pages.Add(1) == 2 {
			h.ds.ExpireTokens() // the token dies mid-run
		}
	})
	h.mustSucceed(h.sync("contacts"))
	var n int
	if err := h.db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM contacts").Scan(&n); err != nil || n != len(h.ds.Records("contacts")) {
		t.Fatalf("contacts %d (%v), want %d", n, err, len(h.ds.Records("contacts")))
	}
}

func TestDigisacWrongPasswordFailsClearly(t *testing.T) {
	wrong := newDigisac(t, digisacsim.Config{Seed: 36}, func(s *config.Source) {
		s.Token, s.Username, s.Password = "", "ana@acme.com.br", "wrong-password-99"
	})
	for _, o := range wrong.sync("contacts") {
		if o.Status != state.StatusFailed || strings.Contains(o.Err.Error(), "wrong-password-99") || !strings.Contains(o.Err.Error(), "acme-digisac") {
			t.Fatalf("wrong password: %s %v", o.Status, o.Err)
		}
	}
}

func TestDigisacTranscriptsFillTicketsWithoutMessages(t *testing.T) {
	h := newDigisac(t, digisacsim.Config{Seed: 37, Contacts: 20, Tickets: 30, MessagesPerTicket: 6}, func(s *config.Source) {
		s.Streams = []string{"tickets", "transcripts"}
	})
	h.mustSucceed(h.sync("tickets"))
	first := h.sync("transcripts")
	h.mustSucceed(first)
	ctx := context.Background()
	var closedWithout, txt int
	if err := h.db.Pool.QueryRow(ctx, `SELECT count(*) FROM conversations c WHERE NOT c.is_open
		AND NOT EXISTS (SELECT FROM messages m WHERE m.conversation_external_id = c.external_id)`).Scan(&closedWithout); err != nil {
		t.Fatal(err)
	}
	if err := h.db.Pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE external_id LIKE 'txt:%'`).Scan(&txt); err != nil {
		t.Fatal(err)
	}
	if closedWithout != 0 || txt == 0 {
		t.Fatalf("%d closed tickets still without messages, %d transcript messages", closedWithout, txt)
	}
	var convs int
	if err := h.db.Pool.QueryRow(ctx, `SELECT count(*) FROM conversations`).Scan(&convs); err != nil || convs != len(h.ds.Records("tickets")) {
		t.Fatalf("%d conversations (%v), want one per ticket: %d", convs, err, len(h.ds.Records("tickets")))
	}
	h.clock.Advance(time.Minute)
	if w := h.mustSucceed(h.sync("transcripts")); w != 0 {
		t.Fatalf("second transcripts run wrote %d rows", w)
	}
}

func TestDigisacServerThatCapsPerPageStillReadsEverything(t *testing.T) {
	h := newDigisac(t, digisacsim.Config{Seed: 38, Users: 30, Contacts: 90, Tickets: 10, PerPageCap: 7}, func(s *config.Source) { s.PageSize = 50 })
	h.mustSucceed(h.sync("users", "contacts"))
	var users, deleted, contacts int
	if err := h.db.Pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM agents), (SELECT count(*) FROM agents WHERE deleted_at IS NOT NULL), (SELECT count(*) FROM contacts)`).Scan(&users, &deleted, &contacts); err != nil {
		t.Fatal(err)
	}
	if users != 30 || deleted != 0 || contacts != len(h.ds.Records("contacts")) {
		t.Fatalf("agents %d (%d deleted), contacts %d; want 30 (0), %d", users, deleted, contacts, len(h.ds.Records("contacts")))
	}
}

func TestDigisacTranscriptsNeverDoubleTheMessagesStream(t *testing.T) {
	h := newDigisac(t, digisacsim.Config{Seed: 39, Contacts: 20, Tickets: 30, MessagesPerTicket: 6}, func(s *config.Source) {
		s.Streams = []string{"tickets", "messages", "transcripts"}
	})
	// Transcripts before messages ever ran: nothing is exported yet.
	h.mustSucceed(h.sync("tickets"))
	h.mustSucceed(h.sync("transcripts"))
	h.mustSucceed(h.sync("messages"))
	h.clock.Advance(48 * time.Hour)
	h.mustSucceed(h.sync("messages"))
	h.mustSucceed(h.sync("transcripts"))
	var txt int
	if err := h.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM messages WHERE external_id LIKE 'txt:%'`).Scan(&txt); err != nil {
		t.Fatal(err)
	}
	if txt != 0 {
		t.Fatalf("%d transcript messages stored beside the API's own", txt)
	}
}

func TestDigisacLateMediaURLsAreFetchedLater(t *testing.T) {
	h := newDigisac(t, digisacsim.Config{Seed: 40, Contacts: 20, Tickets: 20, MessagesPerTicket: 4, LateFileDelay: time.Hour}, nil)
	h.mustSucceed(h.sync())
	h.ds.Create("messages", 150)
	h.clock.Advance(time.Minute)
	h.mustSucceed(h.sync("messages"))
	missing := func() int {
		var n int
		if err := h.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM messages
			WHERE kind IN ('image','audio','video','document','sticker') AND media_url IS NULL`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if missing() == 0 {
		t.Fatal("no media message lacked its url; the test proves nothing")
	}
	h.clock.Advance(2 * time.Hour) // the urls exist now, with the messages' updatedAt unchanged
	h.mustSucceed(h.sync("messages"))
	if n := missing(); n != 0 {
		t.Fatalf("%d media messages still without a url", n)
	}
}

func withClock(r *pipeline.Runner, now func() time.Time) *pipeline.Runner {
	r.Now = now
	return r
}

// Media messages whose file url never comes are asked for again 50 ids a
// request (500 made a 22.7 KB query string that proxies refuse), 5 minutes
// after they were sent, then an hour later, then a day later, and then no
// more; status counts them.
func TestDigisacMediaRecheckIsChunkedAndStops(t *testing.T) {
	h := newDigisac(t, digisacsim.Config{Seed: 41, Contacts: 20, Tickets: 20, MessagesPerTicket: 4, LateFileDelay: 1000 * time.Hour},
		func(s *config.Source) { s.PageSize = 500 }) // the default, which asked for 500 ids at once
	h.mustSucceed(h.sync())
	h.ds.Create("messages", 4000) // some 700 media messages without a url: 500 ids made a 22.7 KB URI
	h.clock.Advance(time.Minute)
	h.mustSucceed(h.sync("messages"))
	var missing int
	if err := h.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM messages
		WHERE kind IN ('image','audio','video','document','sticker') AND media_url IS NULL`).Scan(&missing); err != nil {
		t.Fatal(err)
	}
	if missing <= digisac.MediaRecheckChunk {
		t.Fatalf("only %d media messages lack a url; the test needs more than one request's worth", missing)
	}
	h.byID.take()
	chunks := (missing + digisac.MediaRecheckChunk - 1) / digisac.MediaRecheckChunk
	for _, step := range []struct {
		advance  time.Duration
		requests int
	}{
		{0, 0},                    // sent a minute ago: not yet
		{5 * time.Minute, chunks}, // the first re-check
		{10 * time.Minute, 0},     // the next is an hour after it
		{time.Hour, chunks},       // the second
		{12 * time.Hour, 0},       // the next is a day after it
		{12 * time.Hour, chunks},  // the third
		{72 * time.Hour, 0},       // and no more
	} {
		h.clock.Advance(step.advance)
		h.mustSucceed(h.sync("messages"))
		n, longest := h.byID.take()
		if n != step.requests {
			t.Fatalf("after %s more: %d requests by id, want %d", step.advance, n, step.requests)
		}
		if longest > 8<<10 {
			t.Fatalf("a request URI of %d bytes: proxies refuse above 8 KB", longest)
		}
	}
	st, err := h.runner.Store.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.Stream == "messages" && s.MediaMissing != int64(missing) {
			t.Fatalf("status says %d media messages never got their url, want %d", s.MediaMissing, missing)
		}
	}
}
