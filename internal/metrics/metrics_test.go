package metrics

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"syncer/internal/config"
	"syncer/internal/extract"
	"syncer/internal/pipeline"
	"syncer/internal/state"
)

var testSources = []config.Source{
	{Name: "acme-digisac", Platform: "digisac", Streams: []string{"tickets", "messages", "contacts", "users", "services"}, WebhookSecret: "s3cret"},
	{Name: "acme-wavy", Platform: "wavy", Streams: []string{"sessions"}, WebhookSecret: "s3cret"},
	{Name: "acme-ogmma", Platform: "ogmma", Streams: []string{"messages"}},
}

// gather returns the families the registry gathers, by name.
func gather(t *testing.T, g prometheus.Gatherer) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// sample finds the sample of family name with exactly the labels given
// (name, value pairs) and returns its value: a gauge's, a counter's, or a
// histogram's count.
func sample(mfs map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	mf, ok := mfs[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range mf.GetMetric() {
		if len(m.GetLabel())*2 != len(labels) {
			continue
		}
		for _, l := range m.GetLabel() {
			i := slices.Index(labels, l.GetName())
			if i < 0 || i%2 != 0 || labels[i+1] != l.GetValue() {
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

func TestEveryFamilyIsRegisteredAndLintFree(t *testing.T) {
	t.Parallel()
	m := New(Options{Sources: testSources})
	m.HTTP("ogmma", "acme-ogmma")
	m.ObserveCommit("acme-ogmma", "messages", 20*time.Millisecond)
	m.WebhookAnswered("acme-digisac", 200)
	m.RecordOutcome(pipeline.Outcome{Source: "acme-ogmma", Stream: "messages", Status: state.StatusSucceeded, Duration: time.Second})
	mfs := gather(t, m.Gatherer())
	for _, name := range []string{
		"syncer_up", "syncer_runs_total", "syncer_rows_read_total", "syncer_rows_written_total",
		"syncer_rows_quarantined_total", "syncer_suspected_gaps_total", "syncer_last_run_duration_seconds",
		"syncer_commit_duration_seconds", "syncer_webhook_deliveries_total",
		"syncer_http_request_duration_seconds", "syncer_http_retries_total", "syncer_http_retry_wait_seconds_total",
		"syncer_http_rate_limit_waits_total", "syncer_http_rate_limit_wait_seconds_total",
		"go_goroutines", "go_memstats_heap_alloc_bytes", "process_cpu_seconds_total", "process_resident_memory_bytes",
	} {
		if _, ok := mfs[name]; !ok {
			t.Errorf("family %s is missing", name)
		}
	}
	problems, err := testutil.GatherAndLint(m.Gatherer())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestOutcomesCountRunsAndRows(t *testing.T) {
	t.Parallel()
	m := New(Options{Sources: testSources})
	// A configured stream's counters are there, at 0, before its first run.
	mfs := gather(t, m.Gatherer())
	for _, status := range []string{"succeeded", "partial", "failed"} {
		if v, ok := sample(mfs, "syncer_runs_total", "source", "acme-wavy", "stream", "sessions", "status", status); !ok || v != 0 {
			t.Errorf("syncer_runs_total %s before any run = %v, %v; want 0", status, v, ok)
		}
	}
	if v, ok := sample(mfs, "syncer_rows_read_total", "source", "acme-wavy", "stream", "sessions"); !ok || v != 0 {
		t.Errorf("syncer_rows_read_total before any run = %v, %v; want 0", v, ok)
	}

	totals := state.Totals{RowsRead: 10, RowsWritten: 7, RowsQuarantined: 2, SuspectedGaps: 1}
	m.RecordOutcome(pipeline.Outcome{Source: "acme-wavy", Stream: "sessions", Status: state.StatusPartial, Totals: totals, Duration: 3 * time.Second})
	m.RecordOutcome(pipeline.Outcome{Source: "acme-wavy", Stream: "sessions", Status: state.StatusSucceeded, Totals: totals, Duration: 2 * time.Second})
	m.RecordOutcome(pipeline.Outcome{Source: "acme-wavy", Stream: "sessions", Status: pipeline.StatusSkipped, Totals: totals, Duration: time.Millisecond})
	mfs = gather(t, m.Gatherer())
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"syncer_runs_total", []string{"source", "acme-wavy", "stream", "sessions", "status", "partial"}, 1},
		{"syncer_runs_total", []string{"source", "acme-wavy", "stream", "sessions", "status", "succeeded"}, 1},
		{"syncer_runs_total", []string{"source", "acme-wavy", "stream", "sessions", "status", "skipped"}, 1},
		{"syncer_rows_read_total", []string{"source", "acme-wavy", "stream", "sessions"}, 20}, // not the skipped one's
		{"syncer_rows_written_total", []string{"source", "acme-wavy", "stream", "sessions"}, 14},
		{"syncer_rows_quarantined_total", []string{"source", "acme-wavy", "stream", "sessions"}, 4},
		{"syncer_suspected_gaps_total", []string{"source", "acme-wavy", "stream", "sessions"}, 2},
		{"syncer_last_run_duration_seconds", []string{"source", "acme-wavy", "stream", "sessions"}, 2},
	} {
		if v, ok := sample(mfs, tc.name, tc.labels...); !ok || v != tc.want {
			t.Errorf("%s%v = %v (found %v), want %v", tc.name, tc.labels, v, ok, tc.want)
		}
	}
}

func TestCommitsAndWebhooksAreCounted(t *testing.T) {
	t.Parallel()
	m := New(Options{})
	m.ObserveCommit("acme-ogmma", "messages", 30*time.Millisecond)
	m.ObserveCommit("acme-ogmma", "messages", 2*time.Second)
	m.WebhookAnswered("acme-digisac", http.StatusOK)
	m.WebhookAnswered("acme-digisac", http.StatusOK)
	m.WebhookAnswered("", http.StatusNotFound)
	if got := testutil.ToFloat64(m.webhooks.WithLabelValues("acme-digisac", "200")); got != 2 {
		t.Errorf("deliveries answered 200 = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.webhooks.WithLabelValues("", "404")); got != 1 {
		t.Errorf("deliveries answered 404 = %v, want 1", got)
	}
	mfs := gather(t, m.Gatherer())
	h := mfs["syncer_commit_duration_seconds"].GetMetric()[0].GetHistogram()
	if h.GetSampleCount() != 2 || h.GetSampleSum() < 2.03-1e-9 || h.GetSampleSum() > 2.03+1e-9 {
		t.Errorf("commit histogram: %d commits, %v s; want 2 and 2.03", h.GetSampleCount(), h.GetSampleSum())
	}
}

// The Observer a source's client gets counts what the client really does
// against a platform that limits it.
func TestHTTPObserverCountsAClientsRequests(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch hits.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusTooManyRequests)
		case 2:
			w.WriteHeader(http.StatusBadGateway)
		default:
			_, _ = w.Write([]byte(`{}`))
		}
	}))
	defer srv.Close()
	m := New(Options{})
	frozen := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	c, err := extract.NewClient(extract.ClientConfig{
		Source: "acme-ogmma", BaseURL: srv.URL, RateLimit: 2, Observer: m.HTTP("ogmma", "acme-ogmma"),
		Now:   func() time.Time { return frozen },
		Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() },
		Rand:  func() float64 { return 0 },
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetJSON(t.Context(), "/v1/x", nil, nil, nil); err != nil {
		t.Fatalf("GetJSON: %v", err)
	}
	mfs := gather(t, m.Gatherer())
	src := []string{"platform", "ogmma", "source", "acme-ogmma"}
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"syncer_http_requests_total", append(src, "code", "429"), 1},
		{"syncer_http_requests_total", append(src, "code", "502"), 1},
		{"syncer_http_requests_total", append(src, "code", "200"), 1},
		{"syncer_http_request_duration_seconds", src, 3},
		{"syncer_http_retries_total", append(src, "reason", "rate_limited"), 1},
		{"syncer_http_retries_total", append(src, "reason", "server_error"), 1},
		{"syncer_http_retries_total", append(src, "reason", "network"), 0},
		{"syncer_http_retry_wait_seconds_total", append(src, "reason", "rate_limited"), 3},
		// The clock is frozen: the 2nd and 3rd requests wait 0.5s and 1s.
		{"syncer_http_rate_limit_waits_total", src, 2},
		{"syncer_http_rate_limit_wait_seconds_total", src, 1.5},
	} {
		if v, ok := sample(mfs, tc.name, tc.labels...); !ok || v != tc.want {
			t.Errorf("%s%v = %v (found %v), want %v", tc.name, tc.labels, v, ok, tc.want)
		}
	}
}
