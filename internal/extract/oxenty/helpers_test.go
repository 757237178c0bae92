package oxenty

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"syncer/internal/extract"
	"syncer/internal/sim"
	"syncer/internal/sim/clock"
	oxentysim "syncer/internal/sim/oxenty"
)

var t0 = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

// clientConfig is a client for a test server that waits a millisecond
// where it would wait longer.
func clientConfig(url string) extract.ClientConfig {
	return extract.ClientConfig{Source: "acme-oxenty", BaseURL: url, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond,
		MinRetryAfter: time.Millisecond}
}

// setup serves an Oxenty simulator and returns it with a stream that reads
// it, page_size 10 unless edit says otherwise.
func setup(t *testing.T, sc oxentysim.Config, edit func(*Config)) (*oxentysim.Simulator, *Sessions) {
	t.Helper()
	if sc.Now == nil {
		sc.Now = clock.NewManual(t0).Now
	}
	ox := oxentysim.New(sc)
	srv := httptest.NewServer(sim.NewServers(sim.Simulators{Oxenty: ox}))
	t.Cleanup(srv.Close)
	cfg := Config{Client: clientConfig(srv.URL + "/oxenty"), APIKey: ox.APIKey(), PageSize: 10}
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ox, s
}

// serveJSON serves answers from a function of the page asked for, and
// returns a stream that reads them.
func serveJSON(t *testing.T, pageSize int, answer func(page int) string) *Sessions {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, err := strconv.Atoi(r.URL.Query().Get("page"))
		if err != nil {
			http.Error(w, "bad page", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(answer(page)))
	}))
	t.Cleanup(srv.Close)
	s, err := New(Config{Client: clientConfig(srv.URL), APIKey: "test-key-123", PageSize: pageSize})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// emitted is what a run emitted: its pages, and each page's pass when the
// test counts passes.
type emitted struct {
	mu     sync.Mutex
	pages  []extract.Page
	passes []int
	pass   int // the pass being read, moved by the test's OnList hook
}

func (e *emitted) startPass() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pass++
}

func (e *emitted) emit(_ context.Context, p extract.Page) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pages = append(e.pages, p)
	e.passes = append(e.passes, e.pass)
	return nil
}

// run runs the stream and returns what it emitted.
func run(t *testing.T, s *Sessions, req extract.Request, e *emitted) error {
	t.Helper()
	return s.Extract(context.Background(), req, e.emit)
}

// completions are the emitted pages that carry Complete.
func (e *emitted) completions() []extract.Page {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []extract.Page
	for _, p := range e.pages {
		if p.Complete {
			out = append(out, p)
		}
	}
	return out
}

// idsOf returns the sorted ids of the records of the pages of pass (0:
// every pass).
func (e *emitted) idsOf(t *testing.T, pass int) []string {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	seen := map[string]bool{}
	for i, p := range e.pages {
		if pass != 0 && e.passes[i] != pass {
			continue
		}
		raws, ok := p.Records.([]json.RawMessage)
		if !ok {
			t.Fatalf("records are %T", p.Records)
		}
		for _, r := range raws {
			seen[sessionID(r)] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// simIDs returns the sorted ids the simulator holds.
func simIDs(ox *oxentysim.Simulator) []string {
	var out []string
	for _, s := range ox.Sessions() {
		out = append(out, s.ID)
	}
	slices.Sort(out)
	return out
}
