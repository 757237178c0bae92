package oxenty

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"syncer/internal/config"
	"syncer/internal/extract"
	"syncer/internal/redact"
)

// answer is one scripted response of the platform.
type answer struct {
	status int
	header map[string]string
	body   string
}

const sessionsPage = `{"data":[],"meta":{"total":0,"page":1,"limit":1,"totalPages":0}}`

// TestCheckSaysWhatTheAnswersMean: the check's request, its short retry
// budget, and how each answer maps to reachable and credentials, through
// the Prober every platform's check uses.
func TestCheckSaysWhatTheAnswersMean(t *testing.T) {
	t.Parallel()
	const key = "ox-check-key-0123456789"
	tests := []struct {
		name        string
		answers     []answer // the last one repeats
		requests    int
		reachable   bool
		credentials extract.Credentials
		rateLimited bool
		failed      bool
		rateLimit   []string
		errHas      string
	}{
		{name: "accepted, with rate-limit headers",
			answers:  []answer{{200, map[string]string{"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "98", "X-Other": "1"}, sessionsPage}},
			requests: 1, reachable: true, credentials: extract.CredentialsAccepted,
			rateLimit: []string{"X-Ratelimit-Limit: 100", "X-Ratelimit-Remaining: 98"}},
		{name: "refused", answers: []answer{{401, nil, `{"message":"Invalid API key"}`}},
			requests: 1, reachable: true, credentials: extract.CredentialsRefused, failed: true, errHas: "refused the credentials"},
		{name: "rate limited, Retry-After not waited out", answers: []answer{{429, map[string]string{"Retry-After": "5"}, `{}`}},
			requests: 1, reachable: true, credentials: extract.CredentialsUnknown, rateLimited: true, rateLimit: []string{"Retry-After: 5"},
			errHas: "rate limited by the platform (HTTP 429, Retry-After 5s)"},
		{name: "rate limited without Retry-After: one retry", answers: []answer{{429, nil, `{}`}},
			requests: 2, reachable: true, credentials: extract.CredentialsUnknown, rateLimited: true, errHas: "HTTP 429"},
		{name: "5xx after a retry is unreachable", answers: []answer{{500, nil, `oops`}},
			requests: 2, credentials: extract.CredentialsUnknown, failed: true, errHas: "HTTP 500"},
		{name: "a 5xx then an answer", answers: []answer{{502, nil, ``}, {200, nil, sessionsPage}},
			requests: 2, reachable: true, credentials: extract.CredentialsAccepted},
		{name: "503 is unavailable", answers: []answer{{503, map[string]string{"Retry-After": "1"}, ``}},
			requests: 1, credentials: extract.CredentialsUnknown, failed: true, rateLimit: []string{"Retry-After: 1"}, errHas: "unavailable (HTTP 503"},
		{name: "404: reachable, but a wrong address", answers: []answer{{404, nil, `not here`}},
			requests: 1, reachable: true, credentials: extract.CredentialsUnknown, failed: true, errHas: "check base_url"},
		{name: "not JSON: reachable, credentials unknown", answers: []answer{{200, nil, `<html>`}},
			requests: 2, reachable: true, credentials: extract.CredentialsUnknown, failed: true, errHas: "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var got []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				n := len(got)
				got = append(got, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("X-API-Key"))
				mu.Unlock()
				a := tt.answers[min(n, len(tt.answers)-1)]
				for k, v := range a.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(a.status)
				_, _ = w.Write([]byte(a.body))
			}))
			defer srv.Close()
			src := &config.Source{Name: "acme-oxenty", Platform: Platform, BaseURL: srv.URL, APIKey: config.Secret(key), Streams: []string{"sessions"}}
			results := check(context.Background(), src, extract.Env{Redactor: redact.New(key)})
			if len(results) != 1 {
				t.Fatalf("%d results, want 1: %+v", len(results), results)
			}
			r := results[0]
			if r.Check != "sessions" || r.Reachable != tt.reachable || r.Credentials != tt.credentials || r.RateLimited != tt.rateLimited ||
				r.Failed() != tt.failed || !slices.Equal(r.RateLimit, tt.rateLimit) {
				t.Errorf("got %+v (failed %v), want reachable %v, credentials %s, rate limited %v, failed %v, rate limit %q",
					r, r.Failed(), tt.reachable, tt.credentials, tt.rateLimited, tt.failed, tt.rateLimit)
			}
			switch {
			case tt.errHas == "" && r.Err != nil && !tt.failed:
				t.Errorf("error: %v", r.Err)
			case tt.errHas != "" && (r.Err == nil || !strings.Contains(r.Err.Error(), tt.errHas)):
				t.Errorf("error %v, want one saying %q", r.Err, tt.errHas)
			}
			if r.Err != nil && strings.Contains(r.Err.Error(), key) {
				t.Errorf("the error shows the key: %v", r.Err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != tt.requests {
				t.Errorf("%d requests, want %d: %q", len(got), tt.requests, got)
			}
			if want := "GET /api/sessions?limit=1&page=1 " + key; len(got) > 0 && got[0] != want {
				t.Errorf("request %q, want %q", got[0], want)
			}
		})
	}
}
