package pipeline_test

import (
	"sync"
	"testing"

	"syncer/internal/config"
	"syncer/internal/pipeline"
	digisacsim "syncer/internal/sim/digisac"
	"syncer/internal/state"
)

// heard is a pipeline.Progress that keeps what it hears.
type heard struct {
	source, stream string
	runID          int64

	mu                   sync.Mutex
	pages, rows, written int64
	positions            [][2]int64
	status               string
}

func (h *heard) Page(rows int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pages++
	h.rows += int64(rows)
}

func (h *heard) Position(done, total int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.positions = append(h.positions, [2]int64{done, total})
}

func (h *heard) Committed(written int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.written += written
}

func (h *heard) Finish(status string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.status = status
}

// Runner.Progress hears each run that starts: its pages and rows as the
// run's totals count them, the rows its commits wrote, its end, and, for
// Digisac, how many pages the list has in all (lastPage).
func TestProgressHearsTheRun(t *testing.T) {
	h := newDigisac(t, digisacsim.Config{Seed: 5, Contacts: 230}, func(s *config.Source) { s.PageSize = 50 })
	var mu sync.Mutex
	runs := map[string]*heard{}
	h.runner.Progress = func(source, stream string, runID int64) pipeline.Progress {
		mu.Lock()
		defer mu.Unlock()
		r := &heard{source: source, stream: stream, runID: runID}
		runs[stream] = r
		return r
	}
	outs := h.sync("contacts")
	h.mustSucceed(outs)
	r := runs["contacts"]
	if len(runs) != 1 || r == nil {
		t.Fatalf("runs heard: %v", runs)
	}
	o := outs[0]
	if r.source != "acme-digisac" || r.runID != o.RunID || r.status != state.StatusSucceeded {
		t.Errorf("heard %s run %d ending %q; want acme-digisac run %d ending succeeded", r.source, r.runID, r.status, o.RunID)
	}
	if r.pages != o.Totals.Pages || r.rows != o.Totals.RowsRead || r.written != o.Totals.RowsWritten || r.written != 230 {
		t.Errorf("heard %d pages, %d rows, %d written; the run counted %+v", r.pages, r.rows, r.written, o.Totals)
	}
	// 230 contacts in pages of 50: 5 pages, each list answer telling it.
	if len(r.positions) != 5 || r.positions[0] != [2]int64{1, 5} || r.positions[4] != [2]int64{5, 5} {
		t.Errorf("positions heard %v; want 1/5 to 5/5", r.positions)
	}
}
