package pipeline_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"syncer/internal/config"
	"syncer/internal/dbtest"
	"syncer/internal/extract"
	"syncer/internal/pipeline"
	"syncer/internal/schedule"
	"syncer/internal/sim"
	"syncer/internal/sim/clock"
	"syncer/internal/sim/fault"
	ogmmasim "syncer/internal/sim/ogmma"
	"syncer/internal/state"
)

// harness is an Ogmma simulator, a warehouse and a runner between them.
type harness struct {
	t      *testing.T
	db     *dbtest.DB
	og     *ogmmasim.Simulator
	src    config.Source
	runner *pipeline.Runner
}

func newHarness(t *testing.T, sc ogmmasim.Config, edit func(*config.Source)) *harness {
	t.Helper()
	t.Parallel()
	db := dbtest.New(t)
	og := ogmmasim.New(sc)
	srv := httptest.NewServer(sim.NewServer(og))
	t.Cleanup(srv.Close)
	src := config.Source{Name: "acme-ogmma", Platform: config.Ogmma, BaseURL: srv.URL + "/ogmma", APIKey: config.Secret(og.APIKey()), RateLimit: 10_000, Concurrency: 4}
	for _, ch := range og.Channels() {
		src.Channels = append(src.Channels, config.OgmmaChannel{ID: ch.ID, Conversations: ch.Conversations})
	}
	if edit != nil {
		edit(&src)
	}
	cfg := config.Config{Sources: []config.Source{src}}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	return &harness{t: t, db: db, og: og, src: cfg.Sources[0],
		runner: pipeline.NewRunner(state.New(db.Pool, logger), logger, 2*time.Minute)}
}

func (h *harness) sync(req extract.Request) pipeline.Outcome {
	h.t.Helper()
	jobs, err := pipeline.Jobs(&h.src, pipeline.Options{Request: req})
	if err != nil {
		h.t.Fatal(err)
	}
	out := schedule.RunAll(context.Background(), h.runner, jobs, 4)
	if len(out) != 1 {
		h.t.Fatalf("%d outcomes", len(out))
	}
	return out[0]
}

// versions maps every message id to its row version (xmin): any insert or
// update shows as a new or changed entry.
func (h *harness) versions() map[string]string {
	h.t.Helper()
	rows, err := h.db.Pool.Query(context.Background(), "SELECT external_id, xmin::text FROM messages")
	if err != nil {
		h.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, x string
		if err := rows.Scan(&id, &x); err != nil {
			h.t.Fatal(err)
		}
		out[id] = x
	}
	return out
}

func (h *harness) mustSucceed(o pipeline.Outcome) {
	h.t.Helper()
	if o.Status != state.StatusSucceeded {
		h.t.Fatalf("sync ended %s: %v", o.Status, o.Err)
	}
}

func TestSecondSyncWritesNothingAndNewMessagesLoadExactly(t *testing.T) {
	clk := clock.NewManual(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC))
	h := newHarness(t, ogmmasim.Config{Seed: 7, Channels: 2, ConversationsPerChannel: 5, MessagesPerConversation: 80, Now: clk.Now}, nil)

	first := h.sync(extract.Request{})
	h.mustSucceed(first)
	if first.Totals.RowsRead != 800 {
		t.Fatalf("read %d, want 800", first.Totals.RowsRead)
	}
	before := h.versions()
	if len(before) != 800 {
		t.Fatalf("%d messages stored, want 800", len(before))
	}

	second := h.sync(extract.Request{})
	h.mustSucceed(second)
	if second.Totals.RowsWritten != 0 {
		t.Fatalf("second sync wrote %d rows, want 0", second.Totals.RowsWritten)
	}
	if after := h.versions(); !mapsEqual(before, after) {
		t.Fatal("second sync changed message rows")
	}

	clk.Advance(time.Hour)
	added := h.og.AddMessages(37)
	third := h.sync(extract.Request{})
	h.mustSucceed(third)
	after := h.versions()
	var changed []string
	for id, x := range after {
		if before[id] != x {
			changed = append(changed, id)
		}
	}
	var want []string
	for _, m := range added {
		want = append(want, m.ID)
	}
	slices.Sort(changed)
	slices.Sort(want)
	if !slices.Equal(changed, want) {
		t.Fatalf("third sync wrote messages %v, want exactly the %d added %v", changed, len(want), want)
	}
}

func TestStatusChangesAreUpdates(t *testing.T) {
	clk := clock.NewManual(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC))
	h := newHarness(t, ogmmasim.Config{Seed: 8, ConversationsPerChannel: 3, MessagesPerConversation: 30, Now: clk.Now}, nil)
	h.mustSucceed(h.sync(extract.Request{}))
	clk.Advance(time.Minute)
	touched := h.og.Touch(5)
	h.sync(extract.Request{})
	for _, m := range touched {
		var status string
		if err := h.db.Pool.QueryRow(context.Background(), "SELECT upper(status) FROM messages WHERE external_id = $1", m.ID).Scan(&status); err != nil {
			t.Fatal(err)
		}
		if status != m.Status {
			t.Errorf("message %s status %s, want %s", m.ID, status, m.Status)
		}
	}
}

func TestRateLimitedThirtyPercentStillLoadsEverything(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out real Retry-After seconds")
	}
	h := newHarness(t, ogmmasim.Config{Seed: 9, Channels: 2, ConversationsPerChannel: 6, MessagesPerConversation: 40,
		Faults: fault.Faults{RateLimitShare: 0.3, RetryAfter: "1"}}, nil)
	o := h.sync(extract.Request{})
	h.mustSucceed(o)
	if got := len(h.versions()); got != h.og.MessageCount() {
		t.Fatalf("%d messages stored, simulator has %d", got, h.og.MessageCount())
	}
	if h.og.Stats().RateLimited == 0 {
		t.Fatal("the simulator answered no 429; the test proves nothing")
	}
}

func TestServerErrorsAndCutBodiesAreRetried(t *testing.T) {
	h := newHarness(t, ogmmasim.Config{Seed: 10, ConversationsPerChannel: 10, MessagesPerConversation: 20,
		Faults: fault.Faults{ServerErrorShare: 0.15, ServerErrorBurst: 2, CutBodyShare: 0.15}}, nil)
	h.mustSucceed(h.sync(extract.Request{}))
	if got := len(h.versions()); got != h.og.MessageCount() {
		t.Fatalf("%d messages stored, simulator has %d", got, h.og.MessageCount())
	}
	if st := h.og.Stats(); st.ServerErrors == 0 || st.CutBodies == 0 {
		t.Fatalf("no faults happened: %+v", st)
	}
}

func TestWrongKeyFailsNamingTheSource(t *testing.T) {
	h := newHarness(t, ogmmasim.Config{Seed: 11}, func(s *config.Source) { s.APIKey = "wrong-key-123" })
	o := h.sync(extract.Request{})
	if o.Status != state.StatusFailed {
		t.Fatalf("status %s, want failed", o.Status)
	}
	if !errors.Is(o.Err, extract.ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", o.Err)
	}
	msg := o.Err.Error()
	if !strings.Contains(msg, "acme-ogmma") || strings.Contains(msg, "wrong-key-123") {
		t.Fatalf("error %q should name the source and hide the key", msg)
	}
}

func TestBadRecordsAreQuarantinedAndTheRestLoads(t *testing.T) {
	h := newHarness(t, ogmmasim.Config{Seed: 12, ConversationsPerChannel: 4, MessagesPerConversation: 100, BadShare: 0.05}, nil)
	o := h.sync(extract.Request{})
	if o.Status != state.StatusPartial {
		t.Fatalf("status %s, want partial", o.Status)
	}
	var bad int
	for _, m := range h.og.Messages() {
		if m.CreatedAt == "" || m.Direction == "SIDEWAYS" || !strings.HasPrefix(m.CreatedAt, "20") {
			bad++
		}
	}
	if bad == 0 {
		t.Fatal("no bad records generated")
	}
	if int(o.Totals.RowsQuarantined) != bad {
		t.Fatalf("quarantined %d, want %d", o.Totals.RowsQuarantined, bad)
	}
	if got := len(h.versions()); got != h.og.MessageCount()-bad {
		t.Fatalf("%d messages stored, want %d", got, h.og.MessageCount()-bad)
	}
	// Seen again, they stay one quarantine row each.
	h.sync(extract.Request{})
	var n int
	if err := h.db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM quarantine").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != bad {
		t.Fatalf("quarantine holds %d rows after two runs, want %d", n, bad)
	}
}

func TestFullPageNewerThanCursorIsASuspectedGap(t *testing.T) {
	clk := clock.NewManual(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC))
	h := newHarness(t, ogmmasim.Config{Seed: 13, ConversationsPerChannel: 1, MessagesPerConversation: 20, Now: clk.Now}, func(s *config.Source) {
		s.PageSize = 10
	})
	o := h.sync(extract.Request{})
	if o.Status != state.StatusPartial || o.Totals.SuspectedGaps != 1 {
		t.Fatalf("first run over 20 messages with pages of 10: status %s, gaps %d; want partial, 1", o.Status, o.Totals.SuspectedGaps)
	}
	clk.Advance(time.Hour)
	h.og.AddMessages(5) // the page now overlaps the cursor
	if o := h.sync(extract.Request{}); o.Status != state.StatusSucceeded || o.Totals.SuspectedGaps != 0 {
		t.Fatalf("overlapping page: status %s, gaps %d", o.Status, o.Totals.SuspectedGaps)
	}
	clk.Advance(time.Hour)
	h.og.AddMessages(15) // more than a page since the cursor
	if o := h.sync(extract.Request{}); o.Totals.SuspectedGaps != 1 {
		t.Fatalf("15 new messages with pages of 10: gaps %d, want 1", o.Totals.SuspectedGaps)
	}
}

func TestBackfillMovesNoCursor(t *testing.T) {
	h := newHarness(t, ogmmasim.Config{Seed: 14, ConversationsPerChannel: 2, MessagesPerConversation: 50}, nil)
	msgs := h.og.Messages()
	since, _ := time.Parse(time.RFC3339, msgs[10].CreatedAt)
	until, _ := time.Parse(time.RFC3339, msgs[30].CreatedAt)
	o := h.sync(extract.Request{Backfill: true, Since: since, Until: until})
	h.mustSucceed(o)
	var want int
	for _, m := range msgs {
		t0, _ := time.Parse(time.RFC3339, m.CreatedAt)
		if !t0.Before(since) && t0.Before(until) {
			want++
		}
	}
	if got := len(h.versions()); got != want {
		t.Fatalf("backfill stored %d messages, want %d in the window", got, want)
	}
	var n int
	if err := h.db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM sync_state").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("backfill saved %d cursors", n)
	}
}

func TestSafetyLagCapsTheCursor(t *testing.T) {
	now := time.Now().UTC()
	h := newHarness(t, ogmmasim.Config{Seed: 15, ConversationsPerChannel: 1, MessagesPerConversation: 5, Start: now.Add(-time.Minute), Step: time.Second}, nil)
	h.mustSucceed(h.sync(extract.Request{}))
	var ts time.Time
	if err := h.db.Pool.QueryRow(context.Background(), "SELECT (cursor->>'ts')::timestamptz FROM sync_state").Scan(&ts); err != nil {
		t.Fatal(err)
	}
	if limit := time.Now().Add(-2 * time.Minute); ts.After(limit) {
		t.Fatalf("cursor %s passes now - safety_lag %s", ts, limit)
	}
}

func TestConcurrentRunsOfOneStreamShareNothing(t *testing.T) {
	h := newHarness(t, ogmmasim.Config{Seed: 16, ConversationsPerChannel: 4, MessagesPerConversation: 50, Faults: fault.Faults{Latency: 20 * time.Millisecond}}, nil)
	ctx := context.Background()
	src, err := h.runner.Store.Source(ctx, "acme-ogmma", "ogmma")
	if err != nil {
		t.Fatal(err)
	}
	lease, ok, err := h.runner.Store.TryLease(ctx, src, "messages")
	if err != nil || !ok {
		t.Fatalf("lease: %v %v", ok, err)
	}
	o := h.sync(extract.Request{})
	lease.Release()
	if o.Status != pipeline.StatusSkipped || !errors.Is(o.Err, pipeline.ErrBusy) {
		t.Fatalf("run while leased: %s %v", o.Status, o.Err)
	}
	h.mustSucceed(h.sync(extract.Request{}))
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// A run whose lease is lost midway (its session ended: an idle-session
// timeout during a long Retry-After wait, a restarted server) stops at its
// next page and ends partial, not failed: what it committed stays, and the
// next run resumes.
func TestLostLeaseEndsTheRunPartial(t *testing.T) {
	h := newHarness(t, ogmmasim.Config{Seed: 17, ConversationsPerChannel: 30, MessagesPerConversation: 5,
		Faults: fault.Faults{Latency: 60 * time.Millisecond}}, func(s *config.Source) { s.Concurrency = 1 })
	ctx := context.Background()
	done := make(chan pipeline.Outcome, 1)
	go func() { done <- h.sync(extract.Request{}) }()
	deadline := time.Now().Add(30 * time.Second)
	for h.count() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no page committed within 30s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// End the session that holds the stream's advisory lock.
	var pid int64
	err := h.db.Pool.QueryRow(ctx, `SELECT l.pid FROM pg_locks l, (SELECT hashtextextended($1, 0) AS k) h
		WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.granted
		  AND l.classid::bigint = ((h.k >> 32) & 4294967295) AND l.objid::bigint = (h.k & 4294967295)`,
		h.db.Schema+"/acme-ogmma/messages").Scan(&pid)
	if err != nil {
		t.Fatalf("find the lease's session: %v", err)
	}
	if _, err := h.db.Pool.Exec(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	before := h.og.Stats().Requests
	o := <-done
	// It stops at its next page: no more conversations are read (the one
	// request in flight, with concurrency 1, may finish).
	if after := h.og.Stats().Requests - before; after > 1 {
		t.Fatalf("%d requests after the lease was lost, want at most the one in flight", after)
	}
	if o.Status != state.StatusPartial || !errors.Is(o.Err, state.ErrLeaseLost) {
		t.Fatalf("run ended %s: %v; want partial with a lost lease", o.Status, o.Err)
	}
	if n := h.count(); n == 0 || n >= 150 {
		t.Fatalf("%d messages: the run should have stopped midway", n)
	}
	h.mustSucceed(h.sync(extract.Request{})) // the next run resumes
	if n := h.count(); n != 150 {
		t.Fatalf("%d messages after the next run, want 150", n)
	}
}

// count counts the messages stored.
func (h *harness) count() int {
	h.t.Helper()
	var n int
	if err := h.db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM messages").Scan(&n); err != nil {
		h.t.Fatal(err)
	}
	return n
}
