package metrics

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"syncer/internal/dbtest"
	"syncer/internal/state"
)

// clock is a fake clock the test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// addRun records a finished run of stream directly in sync_runs, started
// and finished the given seconds ago by the database's clock.
func addRun(t *testing.T, db *dbtest.DB, src state.Source, stream, mode, status, errText string, startedAgo, finishedAgo float64) {
	t.Helper()
	var e *string
	if errText != "" {
		e = &errText
	}
	_, err := db.Pool.Exec(t.Context(), `INSERT INTO sync_runs (source_id, stream, mode, status, error, started_at, finished_at)
		VALUES ($1, $2, $3, $4, $5, now() - make_interval(secs => $6), now() - make_interval(secs => $7))`,
		src.ID, stream, mode, status, e, startedAgo, finishedAgo)
	if err != nil {
		t.Fatal(err)
	}
}

// within reports whether got is want or up to slack more (the seconds the
// test itself takes between writing the rows and reading them).
func within(got, want float64) bool {
	const slack = 30
	return got >= want-0.5 && got <= want+slack
}

func TestWarehouseGaugesComeFromTheDatabase(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx := t.Context()
	store := state.New(db.Pool, nil)
	digisac, err := store.Source(ctx, "acme-digisac", "digisac")
	if err != nil {
		t.Fatal(err)
	}
	wavy, err := store.Source(ctx, "acme-wavy", "wavy")
	if err != nil {
		t.Fatal(err)
	}
	// tickets succeeded 990s ago, then failed: 990s old.
	addRun(t, db, digisac, "tickets", "incremental", "succeeded", "", 1000, 990)
	addRun(t, db, digisac, "tickets", "incremental", "failed", "HTTP 500", 100, 95)
	// messages never succeeded since its first run, 500s ago; a backfill
	// that succeeded does not make it fresh.
	addRun(t, db, digisac, "messages", "incremental", "failed", "HTTP 500", 500, 499)
	addRun(t, db, digisac, "messages", "incremental", "failed", "HTTP 500", 200, 199)
	addRun(t, db, digisac, "messages", "backfill", "succeeded", "", 20, 10)
	// contacts read everything but quarantined a record: complete, 50s ago.
	addRun(t, db, digisac, "contacts", "incremental", "partial", "", 60, 50)
	// users stopped at a rate limit: partial with an error is not complete.
	addRun(t, db, digisac, "users", "incremental", "partial", "rate limited", 400, 30)
	// departments is not configured; services never ran.
	addRun(t, db, digisac, "departments", "incremental", "succeeded", "", 10, 5)
	addRun(t, db, wavy, "sessions", "incremental", "succeeded", "", 25, 20)
	for range 2 {
		if _, err := store.PutDelivery(ctx, digisac, []byte(`{"event":"message.created"}`)); err != nil {
			t.Fatal(err)
		}
	}
	var ticketsDone float64
	if err := db.Pool.QueryRow(ctx, `SELECT extract(epoch FROM finished_at)::float8 FROM sync_runs WHERE stream = 'tickets' AND status = 'succeeded'`).Scan(&ticketsDone); err != nil {
		t.Fatal(err)
	}

	clk := &clock{t: time.Now()}
	m := New(Options{Sources: testSources, Now: clk.Now})
	m.Watch(store)
	mfs := gather(t, m.Gatherer())
	if v, ok := sample(mfs, "syncer_warehouse_up"); !ok || v != 1 {
		t.Fatalf("syncer_warehouse_up = %v, %v; want 1", v, ok)
	}
	age := func(source, stream string) (float64, bool) {
		return sample(mfs, "syncer_last_success_age_seconds", "source", source, "stream", stream)
	}
	for _, tc := range []struct {
		source, stream string
		want           float64 // -1: absent
	}{
		{"acme-digisac", "tickets", 990},
		{"acme-digisac", "messages", 500},
		{"acme-digisac", "contacts", 50},
		{"acme-digisac", "users", 400},
		{"acme-digisac", "services", -1},
		{"acme-digisac", "departments", -1},
		{"acme-wavy", "sessions", 20},
		{"acme-ogmma", "messages", -1}, // the warehouse does not know the source yet
	} {
		v, ok := age(tc.source, tc.stream)
		switch {
		case tc.want < 0 && ok:
			t.Errorf("age of %s %s = %v; want none", tc.source, tc.stream, v)
		case tc.want >= 0 && (!ok || !within(v, tc.want)):
			t.Errorf("age of %s %s = %v (found %v); want about %v", tc.source, tc.stream, v, ok, tc.want)
		}
	}
	if v, ok := sample(mfs, "syncer_last_success_timestamp_seconds", "source", "acme-digisac", "stream", "tickets"); !ok || v < ticketsDone-1e-3 || v > ticketsDone+1e-3 {
		t.Errorf("last success of tickets = %v (found %v); want %v", v, ok, ticketsDone)
	}
	if v, ok := sample(mfs, "syncer_last_success_timestamp_seconds", "source", "acme-digisac", "stream", "messages"); ok {
		t.Errorf("messages never succeeded, yet its last success is %v", v)
	}
	if v, ok := sample(mfs, "syncer_webhook_inbox_waiting", "source", "acme-digisac"); !ok || v != 2 {
		t.Errorf("inbox waiting for acme-digisac = %v (found %v); want 2", v, ok)
	}
	if v, ok := sample(mfs, "syncer_webhook_inbox_waiting", "source", "acme-wavy"); !ok || v != 0 {
		t.Errorf("inbox waiting for acme-wavy (a webhook source with none) = %v (found %v); want 0", v, ok)
	}
	if _, ok := sample(mfs, "syncer_webhook_inbox_waiting", "source", "acme-ogmma"); ok {
		t.Error("acme-ogmma takes no webhooks, yet has an inbox gauge")
	}
	before, _ := age("acme-digisac", "messages")

	// Within the cache, the database is not read again: a success of
	// messages does not show yet, and the ages move on with the clock.
	addRun(t, db, digisac, "messages", "incremental", "succeeded", "", 2, 1)
	clk.Advance(3 * time.Second)
	mfs = gather(t, m.Gatherer())
	if v, _ := age("acme-digisac", "messages"); v != before+3 {
		t.Errorf("3s later, within the cache, the age of messages = %v; want %v", v, before+3)
	}
	// After it, the success shows.
	clk.Advance(DefaultCacheFor)
	mfs = gather(t, m.Gatherer())
	if v, ok := age("acme-digisac", "messages"); !ok || !within(v, 1) {
		t.Errorf("after the cache, the age of messages = %v (found %v); want about 1", v, ok)
	}
}

// failingWarehouse is a warehouse that cannot be read until fixed.
type failingWarehouse struct {
	mu    sync.Mutex
	reads int
	fixed bool
}

func (w *failingWarehouse) Freshness(ctx context.Context, keys []state.StreamKey) ([]state.Freshness, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.reads++
	if !w.fixed {
		return nil, errors.New("read when the streams last succeeded: connection refused")
	}
	now := time.Now()
	return []state.Freshness{{Source: keys[0].Source, Stream: keys[0].Stream, FirstStarted: now.Add(-time.Minute), Now: now}}, nil
}

func (w *failingWarehouse) InboxBacklog(ctx context.Context) ([]state.Backlog, error) {
	return nil, nil
}

func TestWarehouseFailureIsLoggedAndReported(t *testing.T) {
	t.Parallel()
	w := &failingWarehouse{}
	var logs strings.Builder
	var logsMu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		logsMu.Lock()
		defer logsMu.Unlock()
		return logs.Write(p)
	}), nil))
	clk := &clock{t: time.Now()}
	m := New(Options{Sources: testSources, Now: clk.Now, Logger: logger})
	m.Watch(w)
	for range 3 { // scrapes within the cache ask the database once
		mfs := gather(t, m.Gatherer())
		if v, ok := sample(mfs, "syncer_warehouse_up"); !ok || v != 0 {
			t.Fatalf("syncer_warehouse_up = %v, %v; want 0", v, ok)
		}
		if _, ok := mfs["syncer_last_success_age_seconds"]; ok {
			t.Fatal("ages reported while the warehouse cannot be read")
		}
	}
	if w.reads != 1 {
		t.Errorf("%d reads for 3 scrapes within the cache; want 1", w.reads)
	}
	logsMu.Lock()
	if !strings.Contains(logs.String(), "connection refused") {
		t.Errorf("the failure was not logged: %q", logs.String())
	}
	logsMu.Unlock()

	w.mu.Lock()
	w.fixed = true
	w.mu.Unlock()
	clk.Advance(DefaultCacheFor)
	mfs := gather(t, m.Gatherer())
	if v, ok := sample(mfs, "syncer_warehouse_up"); !ok || v != 1 {
		t.Fatalf("syncer_warehouse_up once mended = %v, %v; want 1", v, ok)
	}
	if v, ok := sample(mfs, "syncer_last_success_age_seconds", "source", "acme-digisac", "stream", "tickets"); !ok || v != 60 {
		t.Errorf("age once mended = %v (found %v); want 60", v, ok)
	}
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
