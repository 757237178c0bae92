package wavysim

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"syncer/internal/sim/clock"
)

var testNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// serve builds a simulator on a manual clock, its API on an http test
// server and its files on an https one.
func serve(t *testing.T, cfg Config) (*Simulator, *httptest.Server, *httptest.Server, *clock.Manual) {
	t.Helper()
	clk := clock.NewManual(testNow)
	if cfg.Now == nil {
		cfg.Now = clk.Now
	}
	s := New(cfg)
	files := httptest.NewTLSServer(s.Files())
	t.Cleanup(files.Close)
	s.SetFileBase(files.URL)
	api := httptest.NewServer(s)
	t.Cleanup(api.Close)
	return s, api, files, clk
}

type response struct {
	status int
	header http.Header
	body   string
}

// get sends a GET with the given credentials ("" leaves a header out).
func get(t *testing.T, c *http.Client, url, user, token string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.Header["userName"] = []string{user}
	}
	if token != "" {
		req.Header["authenticationToken"] = []string{token}
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(b)}
}

// readBody reads and closes a response body.
func readBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}
