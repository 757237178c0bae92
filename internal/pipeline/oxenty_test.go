package pipeline_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
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
	oxentysim "syncer/internal/sim/oxenty"
	"syncer/internal/state"
)

// oxentyHarness is an Oxenty simulator, a warehouse and a runner.
type oxentyHarness struct {
	t      *testing.T
	db     *dbtest.DB
	ox     *oxentysim.Simulator
	clock  *clock.Manual
	src    config.Source
	runner *pipeline.Runner
	// failPage, when set, makes every request for that page of the list
	// answer 400, an error the client does not retry.
	failPage atomic.Int32
}

// newOxenty serves an Oxenty simulator and reads it with page_size 10, so
// that its lists take several pages.
func newOxenty(t *testing.T, sc oxentysim.Config, edit func(*config.Source)) *oxentyHarness {
	t.Helper()
	t.Parallel()
	db := dbtest.New(t)
	clk := clock.NewManual(time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC))
	if sc.Now == nil {
		sc.Now = clk.Now
	}
	ox := oxentysim.New(sc)
	h := &oxentyHarness{t: t, db: db, ox: ox, clock: clk}
	servers := sim.NewServers(sim.Simulators{Oxenty: ox})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := h.failPage.Load(); p > 0 && r.URL.Query().Get("page") == strconv.Itoa(int(p)) {
			http.Error(w, `{"message":"Bad Request","statusCode":400}`, http.StatusBadRequest)
			return
		}
		servers.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	src := config.Source{Name: "acme-oxenty", Platform: config.Oxenty, BaseURL: srv.URL + "/oxenty", APIKey: config.Secret(ox.APIKey()),
		RateLimit: 10_000, PageSize: 10}
	if edit != nil {
		edit(&src)
	}
	cfg := config.Config{Sources: []config.Source{src}}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	h.src = cfg.Sources[0]
	h.runner = withClock(pipeline.NewRunner(state.New(db.Pool, logger), logger, 0), clk.Now)
	return h
}

func (h *oxentyHarness) sync() pipeline.Outcome {
	h.t.Helper()
	jobs, err := pipeline.Jobs(&h.src, pipeline.Options{Now: h.clock.Now})
	if err != nil {
		h.t.Fatal(err)
	}
	out := schedule.RunAll(context.Background(), h.runner, jobs, 1)
	if len(out) != 1 {
		h.t.Fatalf("%d outcomes", len(out))
	}
	return out[0]
}

func (h *oxentyHarness) mustSucceed() int64 {
	h.t.Helper()
	o := h.sync()
	if o.Status != state.StatusSucceeded {
		h.t.Fatalf("sessions ended %s: %v", o.Status, o.Err)
	}
	return o.Totals.RowsWritten
}

// channelRow is what a test compares of a channel.
type channelRow struct {
	name, kind, phone, status string
	connected, created        string
}

// channels returns the source's channels not marked deleted, and the ids
// of those marked deleted.
func (h *oxentyHarness) channels() (live map[string]channelRow, deleted []string) {
	h.t.Helper()
	rows, err := h.db.Pool.Query(context.Background(), `SELECT external_id, coalesce(name, ''), coalesce(kind, ''), coalesce(phone, ''),
		coalesce(status, ''), coalesce(to_char(connected_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), ''),
		coalesce(to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), ''), deleted_at IS NOT NULL FROM channels`)
	if err != nil {
		h.t.Fatal(err)
	}
	defer rows.Close()
	live = map[string]channelRow{}
	for rows.Next() {
		var id string
		var c channelRow
		var gone bool
		if err := rows.Scan(&id, &c.name, &c.kind, &c.phone, &c.status, &c.connected, &c.created, &gone); err != nil {
			h.t.Fatal(err)
		}
		if gone {
			deleted = append(deleted, id)
		} else {
			live[id] = c
		}
	}
	if err := rows.Err(); err != nil {
		h.t.Fatal(err)
	}
	slices.Sort(deleted)
	return live, deleted
}

// matchesSource checks the live channels against the simulator's sessions,
// field for field.
func (h *oxentyHarness) matchesSource() {
	h.t.Helper()
	live, _ := h.channels()
	sessions := h.ox.Sessions()
	if len(live) != len(sessions) || len(sessions) == 0 {
		h.t.Fatalf("%d live channels, the simulator has %d sessions", len(live), len(sessions))
	}
	for _, s := range sessions {
		want := channelRow{name: s.Name, kind: "whatsapp", status: s.Status, created: s.CreatedAt}
		if !slices.Contains(oxentysim.Statuses, s.Status) {
			want.status = "unknown"
		}
		if s.Phone != nil {
			want.phone = *s.Phone
		}
		if s.ConnectedAt != nil {
			want.connected = *s.ConnectedAt
		}
		if got := live[s.ID]; got != want {
			h.t.Errorf("channel %s = %+v, want %+v", s.ID, got, want)
		}
	}
}

func TestOxentySessionsLandAsChannelsThenNothingToWrite(t *testing.T) {
	h := newOxenty(t, oxentysim.Config{Seed: 51, Sessions: 27}, nil)
	first := h.sync()
	// Two passes of 3 pages, the second confirming the first: 6 commits,
	// each session read once.
	if first.Status != state.StatusSucceeded || first.Totals.RowsWritten != 27 || first.Totals.RowsRead != 27 || first.Totals.Pages != 6 {
		t.Fatalf("first sync: %s %v, %+v", first.Status, first.Err, first.Totals)
	}
	h.matchesSource()
	if w := h.mustSucceed(); w != 0 {
		t.Fatalf("second sync wrote %d rows, want 0", w)
	}

	h.clock.Advance(time.Minute)
	h.ox.SetStatus(3, "")
	h.ox.SetStatus(1, "banned") // not a documented status: unknown
	h.ox.Add(2)
	if w := h.mustSucceed(); w < 3 || w > 6 {
		t.Fatalf("the sync after 2 new sessions and up to 4 changed wrote %d rows", w)
	}
	h.matchesSource()
}

func TestOxentyRemovedSessionIsMarkedDeleted(t *testing.T) {
	h := newOxenty(t, oxentysim.Config{Seed: 52, Sessions: 24}, nil)
	h.mustSucceed()
	gone := h.ox.Remove(2)
	slices.Sort(gone)
	h.clock.Advance(time.Minute)
	if w := h.mustSucceed(); w != 2 {
		t.Fatalf("the sync after 2 removals wrote %d rows, want 2", w)
	}
	if _, deleted := h.channels(); !slices.Equal(deleted, gone) {
		t.Fatalf("deleted %v, want %v", deleted, gone)
	}
	h.matchesSource()
	if w := h.mustSucceed(); w != 0 {
		t.Fatalf("a sync with nothing new wrote %d rows", w)
	}
}

// A pass that stops midway (an error the client does not retry; a 5xx
// past the retries ends the same way, more slowly) marks nothing; the next
// complete one does.
func TestOxentyErrorMidwayMarksNothing(t *testing.T) {
	h := newOxenty(t, oxentysim.Config{Seed: 53, Sessions: 35}, nil)
	h.mustSucceed()
	gone := h.ox.Remove(1)
	h.failPage.Store(3)
	o := h.sync()
	var se *extract.StatusError
	if o.Status != state.StatusFailed || !errors.As(o.Err, &se) || o.Totals.Pages != 2 {
		t.Fatalf("status %s, err %v, %d pages; want failed on page 3", o.Status, o.Err, o.Totals.Pages)
	}
	if _, deleted := h.channels(); len(deleted) != 0 {
		t.Fatalf("a failed pass marked %v deleted", deleted)
	}
	h.failPage.Store(0)
	h.mustSucceed()
	if _, deleted := h.channels(); !slices.Equal(deleted, gone) {
		t.Fatalf("deleted %v, want %v", deleted, gone)
	}
}

// A list that changes between the pages of every pass marks nothing, not
// even the session removed before the run; the run is partial and says
// why. Once the list holds still, every session gone is marked.
func TestOxentyListChangingWhilePagedMarksNothing(t *testing.T) {
	t.Parallel()
	for _, oldest := range []bool{false, true} {
		t.Run(map[bool]string{false: "newest first", true: "oldest first"}[oldest], func(t *testing.T) { listChangingWhilePaged(t, oldest) })
	}
}

// listChangingWhilePaged runs the test with the list in either order: newest
// first, a new session shifts the pages down (a repeat); oldest first, it
// lands on the last page and a deletion shifts them up (a skip that keeps
// the total).
func listChangingWhilePaged(t *testing.T, oldest bool) {
	h := newOxenty(t, oxentysim.Config{Seed: 54, Sessions: 35, OldestFirst: oldest}, nil)
	h.mustSucceed()
	before, _ := h.channels()
	h.ox.Remove(1)
	h.ox.SetChurn(oxentysim.Churn{Add: 1, Remove: 1})
	o := h.sync()
	if o.Status != state.StatusPartial || !strings.Contains(o.Err.Error(), "none is marked deleted this run") {
		t.Fatalf("oldest first %v: status %s, err %v; want partial", oldest, o.Status, o.Err)
	}
	if _, deleted := h.channels(); len(deleted) != 0 {
		t.Fatalf("oldest first %v: a pass over a moving list marked %d deleted", oldest, len(deleted))
	}
	h.ox.SetChurn(oxentysim.Churn{})
	h.mustSucceed()
	h.matchesSource()
	var want []string
	for id := range before {
		if !slices.ContainsFunc(h.ox.Sessions(), func(s oxentysim.Session) bool { return s.ID == id }) {
			want = append(want, id)
		}
	}
	slices.Sort(want)
	if _, deleted := h.channels(); len(want) < 2 || !slices.Equal(deleted, want) {
		t.Fatalf("oldest first %v: deleted %v, want %v", oldest, deleted, want)
	}
}

func TestOxentyWrongKeyFailsClearly(t *testing.T) {
	const key = "not-the-oxenty-key"
	h := newOxenty(t, oxentysim.Config{Seed: 55}, func(s *config.Source) { s.APIKey = key })
	o := h.sync()
	if o.Status != state.StatusFailed || !errors.Is(o.Err, extract.ErrUnauthorized) {
		t.Fatalf("status %s, err %v", o.Status, o.Err)
	}
	msg := o.Err.Error()
	if !strings.Contains(msg, `source "acme-oxenty": the platform refused the credentials (HTTP 401: Invalid API key); check the api_key`) || strings.Contains(msg, key) {
		t.Fatalf("error %q should name the source and the refusal, and not the key", msg)
	}
}

func TestOxentyRateLimitIsRetried(t *testing.T) {
	h := newOxenty(t, oxentysim.Config{Seed: 56, Sessions: 25, Faults: fault.Faults{RateLimitShare: 0.4, RetryAfter: "0"}}, nil)
	h.mustSucceed()
	if st := h.ox.Stats(); st.RateLimited == 0 {
		t.Fatalf("no 429 was answered: %+v", st)
	}
	h.matchesSource()
}

// Malformed sessions go to quarantine and the run is partial; the others
// load, and the pass still marks nothing that is there.
func TestOxentyMalformedSessionsAreQuarantined(t *testing.T) {
	h := newOxenty(t, oxentysim.Config{Seed: 57, Sessions: 30, BadShare: 0.2}, nil)
	o := h.sync()
	if o.Status != state.StatusPartial || o.Totals.RowsQuarantined == 0 {
		t.Fatalf("status %s, %d quarantined", o.Status, o.Totals.RowsQuarantined)
	}
	live, deleted := h.channels()
	if int64(len(live))+o.Totals.RowsQuarantined != 30 || len(deleted) != 0 {
		t.Fatalf("%d channels and %d quarantined of 30; %d deleted", len(live), o.Totals.RowsQuarantined, len(deleted))
	}
}
