package oxentysim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"syncer/internal/sim/clock"
)

const testKey = "test-key"

var testNow = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

// serve builds an Oxenty simulator from cfg (APIKey defaulted to testKey,
// the clock to a manual one at testNow) and serves it on an httptest
// server.
func serve(t *testing.T, cfg Config) (*Simulator, *httptest.Server) {
	t.Helper()
	if cfg.APIKey == "" {
		cfg.APIKey = testKey
	}
	if cfg.Now == nil {
		cfg.Now = clock.NewManual(testNow).Now
	}
	o := New(cfg)
	srv := httptest.NewServer(o)
	t.Cleanup(srv.Close)
	return o, srv
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// get sends a GET to url with the key in X-API-Key ("" sends none).
func get(t *testing.T, url, key string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return response{res.StatusCode, res.Header, body}
}

// decodePage reads a 200 list answer.
func decodePage(t *testing.T, r response) Page {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d, body %s", r.status, r.body)
	}
	var p Page
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("decode page: %v", err)
	}
	return p
}

// ids lists the ids of sessions.
func ids(ss []Session) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.ID
	}
	return out
}
