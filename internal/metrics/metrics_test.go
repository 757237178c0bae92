package metrics

import (
	"strings"
	"sync"
	"testing"
)

func TestTextFormat(t *testing.T) {
	r := New()
	r.Define("syncer_runs_total", Counter, "Runs by outcome.", "source", "stream", "status")
	r.Define("syncer_up", Gauge, "1 while the daemon runs.")
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.Add("syncer_runs_total", 1, "acme", "messages", "succeeded")
		}()
	}
	wg.Wait()
	r.Add("syncer_runs_total", 1, `we"ird`, "x\ny", "failed")
	r.Set("syncer_up", 1)
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := `# HELP syncer_runs_total Runs by outcome.
# TYPE syncer_runs_total counter
syncer_runs_total{source="acme",stream="messages",status="succeeded"} 10
syncer_runs_total{source="we\"ird",stream="x\ny",status="failed"} 1
# HELP syncer_up 1 while the daemon runs.
# TYPE syncer_up gauge
syncer_up 1
`
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}
