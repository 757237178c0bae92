package serve

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func newServer(ready error) *Server {
	reg := prometheus.NewRegistry()
	up := prometheus.NewGauge(prometheus.GaugeOpts{Name: "syncer_up", Help: "1 while syncer run is up."})
	up.Set(1)
	reg.MustRegister(up)
	return &Server{Metrics: reg, Logger: slog.New(slog.DiscardHandler), Ready: func(context.Context) error { return ready }}
}

func get(t *testing.T, h http.Handler, method, path string) (int, string, http.Header) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec.Code, rec.Body.String(), rec.Header()
}

func TestEndpoints(t *testing.T) {
	h := newServer(nil).Handler()
	for _, tc := range []struct {
		method, path string
		code         int
		body         string
	}{
		{http.MethodGet, "/healthz", 200, "ok"},
		{http.MethodGet, "/readyz", 200, "ready"},
		{http.MethodGet, "/metrics", 200, "# TYPE syncer_up gauge\nsyncer_up 1"},
		{http.MethodGet, "/nope", 404, ""},
		{http.MethodPost, "/healthz", 405, ""},
	} {
		code, body, _ := get(t, h, tc.method, tc.path)
		if code != tc.code || !strings.Contains(body, tc.body) {
			t.Errorf("%s %s: %d %q; want %d and %q", tc.method, tc.path, code, body, tc.code, tc.body)
		}
	}
	if _, _, hdr := get(t, h, http.MethodGet, "/metrics"); !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Errorf("/metrics Content-Type %q", hdr.Get("Content-Type"))
	}
}

func TestNotReadySaysWhy(t *testing.T) {
	h := newServer(errors.New("the database does not answer")).Handler()
	code, body, _ := get(t, h, http.MethodGet, "/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "not ready: the database does not answer") {
		t.Fatalf("/readyz: %d %q", code, body)
	}
	if code, _, _ := get(t, h, http.MethodGet, "/healthz"); code != 200 {
		t.Fatalf("/healthz while not ready: %d; alive is not ready", code)
	}
}

func TestRunServesUntilCancelled(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(nil)
	s.Listener = ln
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.TrimSpace(string(b)) != "ok" {
		t.Fatalf("/healthz: %d %q", resp.StatusCode, b)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after cancel: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		t.Fatal("still serving after shutdown")
	}
}

// failing is a collector whose every collection fails.
type failing struct{ desc *prometheus.Desc }

func (f failing) Describe(ch chan<- *prometheus.Desc) { ch <- f.desc }
func (f failing) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.NewInvalidMetric(f.desc, errors.New("the database does not answer"))
}

func TestMetricsServeWhatCanBeGathered(t *testing.T) {
	s := newServer(nil)
	reg := s.Metrics.(*prometheus.Registry)
	reg.MustRegister(failing{prometheus.NewDesc("syncer_broken", "Always fails.", nil, nil)})
	var logs strings.Builder
	s.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	code, body, _ := get(t, s.Handler(), http.MethodGet, "/metrics")
	if code != http.StatusOK || !strings.Contains(body, "syncer_up 1") || strings.Contains(body, "syncer_broken") {
		t.Fatalf("/metrics with a failing collector: %d %q; want 200 with the rest", code, body)
	}
	if !strings.Contains(logs.String(), "the database does not answer") {
		t.Fatalf("the collector's error was not logged: %q", logs.String())
	}
}
