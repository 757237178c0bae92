package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"syncer/internal/dbtest"
	"syncer/internal/sim"
	ogmmasim "syncer/internal/sim/ogmma"
)

// scrape GETs /metrics of addr and parses it as Prometheus does.
func scrape(t *testing.T, addr string) (map[string]*dto.MetricFamily, error) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

// streamsCounted parses a /metrics body and counts the (source, stream)
// whose syncer_runs_total has counted a run (they are all there from the
// start, at 0).
func streamsCounted(body string) int {
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		return -1
	}
	ran := map[string]bool{}
	for _, m := range mfs["syncer_runs_total"].GetMetric() {
		if m.GetCounter().GetValue() > 0 {
			var key string
			for _, l := range m.GetLabel() {
				if l.GetName() == "source" || l.GetName() == "stream" {
					key += l.GetValue() + "\x00"
				}
			}
			ran[key] = true
		}
	}
	return len(ran)
}

// value is the value of the sample of family name whose labels include
// those given (name, value pairs): a gauge's, a counter's or a histogram's
// count; ok is false when there is none.
func value(mfs map[string]*dto.MetricFamily, name string, labels ...string) (v float64, ok bool) {
next:
	for _, m := range mfs[name].GetMetric() {
		for i := 0; i < len(labels); i += 2 {
			found := false
			for _, l := range m.GetLabel() {
				found = found || (l.GetName() == labels[i] && l.GetValue() == labels[i+1])
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

// TestRunMetricsAndFreshnessWhileTheSourceIsDown runs `syncer run` against
// an Ogmma simulator until a run succeeds, checks what /metrics offers,
// then takes the platform down (it answers 500 to everything): the
// freshness gauge, read from sync_runs, keeps rising while the runs fail,
// and the failed requests and their retries are counted.
func TestRunMetricsAndFreshnessWhileTheSourceIsDown(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	og := ogmmasim.New(ogmmasim.Config{Seed: 8, ConversationsPerChannel: 2, MessagesPerConversation: 10})
	var down atomic.Bool
	simulator := sim.NewServer(og)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "upstream unavailable", http.StatusInternalServerError)
			return
		}
		simulator.ServeHTTP(w, r)
	}))
	defer srv.Close()
	addr := freeAddr(t)
	cfg := ogmmaConfig(t, srv.URL, og.APIKey(), og, "    schedule: \"@every 1s\"\n")
	writeFile(t, cfg, strings.Replace(readFile(t, cfg), "concurrency: 2\n", "concurrency: 2\nlisten: "+addr+"\n", 1))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	var out, errb bytes.Buffer
	go func() {
		done <- run(ctx, []string{"run", "--config", cfg, "--database-url", db.URL, "--log-level", "error"}, &out, &errb)
	}()
	// waitFor scrapes until ok says the families are as wanted.
	waitFor := func(what string, within time.Duration, ok func(map[string]*dto.MetricFamily) bool) map[string]*dto.MetricFamily {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			mfs, err := scrape(t, addr)
			if err == nil && ok(mfs) {
				return mfs
			}
			select {
			case code := <-done:
				t.Fatalf("run exited %d early: %s", code, errb.String())
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %s (last scrape error: %v); stderr: %s", what, within, err, errb.String())
			}
		}
	}
	stream := []string{"source", "acme-ogmma", "stream", "messages"}
	// The gauges from the database may lag the counters by the 5s the
	// metrics keep a read of it.
	mfs := waitFor("a successful run", time.Minute, func(mfs map[string]*dto.MetricFamily) bool {
		v, _ := value(mfs, "syncer_runs_total", append(stream, "status", "succeeded")...)
		_, fresh := value(mfs, "syncer_last_success_timestamp_seconds", stream...)
		return v >= 1 && fresh
	})
	for _, name := range []string{
		"syncer_up", "syncer_runs_total", "syncer_rows_read_total", "syncer_rows_written_total",
		"syncer_rows_quarantined_total", "syncer_suspected_gaps_total", "syncer_last_run_duration_seconds",
		"syncer_last_success_age_seconds", "syncer_last_success_timestamp_seconds", "syncer_warehouse_up",
		"syncer_commit_duration_seconds", "syncer_http_requests_total", "syncer_http_request_duration_seconds",
		"syncer_http_retries_total", "syncer_http_rate_limit_waits_total", "syncer_http_rate_limit_wait_seconds_total",
		"go_goroutines", "process_resident_memory_bytes",
	} {
		if _, ok := mfs[name]; !ok {
			t.Errorf("/metrics has no %s", name)
		}
	}
	if v, _ := value(mfs, "syncer_rows_read_total", stream...); v < float64(og.MessageCount()) {
		t.Errorf("syncer_rows_read_total = %v, want the simulator's %d messages at least", v, og.MessageCount())
	}
	if v, _ := value(mfs, "syncer_http_requests_total", "platform", "ogmma", "source", "acme-ogmma", "code", "200"); v < 1 {
		t.Errorf("no request answered 200 counted: %v", v)
	}
	if v, _ := value(mfs, "syncer_commit_duration_seconds", stream...); v < 1 {
		t.Errorf("no commit timed: %v", v)
	}

	down.Store(true)
	// The first scrape after the outage began; a run that began before it
	// may still succeed, so the first is taken once one has failed.
	first := waitFor("a request answered 500", time.Minute, func(mfs map[string]*dto.MetricFamily) bool {
		v, _ := value(mfs, "syncer_http_requests_total", "platform", "ogmma", "source", "acme-ogmma", "code", "500")
		return v >= 1
	})
	age1, ok := value(first, "syncer_last_success_age_seconds", stream...)
	if !ok {
		t.Fatal("no syncer_last_success_age_seconds for acme-ogmma messages")
	}
	// It rises, past the 5s the metrics keep a read of the database.
	last := waitFor("the freshness gauge rising by 6s", time.Minute, func(mfs map[string]*dto.MetricFamily) bool {
		v, _ := value(mfs, "syncer_last_success_age_seconds", stream...)
		return v >= age1+6
	})
	if v, _ := value(last, "syncer_http_retries_total", "platform", "ogmma", "source", "acme-ogmma", "reason", "server_error"); v < 1 {
		t.Errorf("no retry after a 500 counted: %v", v)
	}
	// The success it counts from is the one sync_runs holds.
	var done2 float64
	if err := db.Pool.QueryRow(context.Background(), `SELECT extract(epoch FROM max(finished_at))::float8 FROM sync_runs WHERE status = 'succeeded'`).Scan(&done2); err != nil {
		t.Fatal(err)
	}
	if v, _ := value(last, "syncer_last_success_timestamp_seconds", stream...); v < done2-1e-3 || v > done2+1e-3 {
		t.Errorf("syncer_last_success_timestamp_seconds = %v; sync_runs says %v", v, done2)
	}

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("run exited %d after shutdown: %s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop within 30s of shutdown")
	}
}
