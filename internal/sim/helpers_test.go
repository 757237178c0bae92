package sim

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

const testKey = "test-key"

type response struct {
	status int
	header http.Header
	body   []byte
}

// get sends a GET to url with the bearer key ("" sends no Authorization).
func get(t *testing.T, url, key string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
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

// post sends a POST with a JSON body and the bearer token ("" sends none).
func post(t *testing.T, url, token, body string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("POST %s: read body: %v", url, err)
	}
	return response{res.StatusCode, res.Header, b}
}

// envelope is the part of a Digisac list answer these tests read.
type envelope struct {
	Data  []json.RawMessage `json:"data"`
	Total int               `json:"total"`
}

func decodeEnvelope(t *testing.T, r response) envelope {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d, body %s", r.status, r.body)
	}
	var e envelope
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("decode envelope: %v", err)
	}
	return e
}
