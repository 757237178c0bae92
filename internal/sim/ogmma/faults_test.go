package ogmmasim

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"syncer/internal/sim/fault"
)

// firstConversation returns the URL of the simulator's first conversation.
func firstConversation(o *Simulator, srv *httptest.Server) string {
	ch := o.Channels()[0]
	return conversationURL(srv, ch.ID, ch.Conversations[0])
}

func TestFaultsRateLimit(t *testing.T) {
	t.Parallel()
	o, srv := serve(t, Config{Seed: 1, Faults: fault.Faults{RateLimitShare: 1}})
	url := firstConversation(o, srv)
	for range 3 {
		r := get(t, url, testKey)
		wantError(t, r, http.StatusTooManyRequests,
			"Limite de requisicoes excedido. Tente novamente em alguns segundos.", "RATE_LIMIT_EXCEEDED")
		if got := r.header.Get("Retry-After"); got != "1" {
			t.Errorf("Retry-After %q, want the default 1", got)
		}
	}
	o.SetFaults(fault.Faults{RateLimitShare: 1, RetryAfter: "7"})
	if got := get(t, url, testKey).header.Get("Retry-After"); got != "7" {
		t.Errorf("Retry-After %q, want 7", got)
	}
	o.SetFaults(fault.Faults{})
	decodePage(t, get(t, url, testKey))
	if s := o.Stats(); s != (fault.Stats{Requests: 5, RateLimited: 4, OK: 1}) {
		t.Errorf("stats %+v", s)
	}
}

func TestFaultsAfterAuth(t *testing.T) {
	t.Parallel()
	o, srv := serve(t, Config{Seed: 1, Faults: fault.Faults{RateLimitShare: 1, ServerErrorShare: 1, Latency: time.Nanosecond}})
	url := firstConversation(o, srv)
	for range 50 {
		if r := get(t, url, "wrong"); r.status != http.StatusUnauthorized {
			t.Fatalf("wrong key got %d", r.status)
		}
		if r := get(t, url, ""); r.status != http.StatusUnauthorized {
			t.Fatalf("no key got %d", r.status)
		}
	}
	if r := get(t, url, testKey); r.status < 500 {
		t.Errorf("right key at ServerErrorShare 1 got %d", r.status)
	}
	if s := o.Stats(); s.Unauthorized != 100 || s.ServerErrors != 1 || s.RateLimited != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestFaultsServerErrors checks Ogmma's 5xx answers; the bursts themselves
// are the fault package's.
func TestFaultsServerErrors(t *testing.T) {
	t.Parallel()
	o, srv := serve(t, Config{Seed: 11, Faults: fault.Faults{ServerErrorShare: 1, RetryAfter: "3"}})
	url := firstConversation(o, srv)
	codes := map[int]int{}
	for range 60 {
		r := get(t, url, testKey)
		codes[r.status]++
		wantError(t, r, r.status, "Erro interno", "INTERNAL_ERROR")
		if got, want := r.header.Get("Retry-After"), map[bool]string{true: "3"}[r.status == http.StatusServiceUnavailable]; got != want {
			t.Errorf("%d with Retry-After %q", r.status, got)
		}
	}
	if len(codes) != 3 || codes[500] == 0 || codes[502] == 0 || codes[503] == 0 {
		t.Errorf("5xx codes %v, want 500, 502 and 503", codes)
	}
	o.SetFaults(fault.Faults{})
	decodePage(t, get(t, url, testKey))
	if s := o.Stats(); s != (fault.Stats{Requests: 61, ServerErrors: 60, OK: 1}) {
		t.Errorf("stats %+v", s)
	}
}

func TestFaultsDeterministic(t *testing.T) {
	t.Parallel()
	sequence := func(seed int64) []int {
		f := fault.Faults{RateLimitShare: 0.2, ServerErrorShare: 0.1, ServerErrorBurst: 2, CutBodyShare: 0.1}
		o, srv := serve(t, Config{Seed: seed, Faults: f})
		url := firstConversation(o, srv)
		var out []int
		for range 60 {
			res, err := http.Get(url) // 401s do not move the sequence
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
			req.Header.Set("Authorization", "Bearer "+testKey)
			res, err = http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			status := res.StatusCode
			if _, err := io.ReadAll(res.Body); err != nil {
				status = -1 // cut
			}
			res.Body.Close()
			out = append(out, status)
		}
		return out
	}
	a, b, c := sequence(21), sequence(21), sequence(22)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("same seed, different faults:\n%v\n%v", a, b)
	}
	if reflect.DeepEqual(a, c) {
		t.Errorf("different seeds, same faults: %v", a)
	}
}

func TestFaultsCutBody(t *testing.T) {
	t.Parallel()
	o, srv := serve(t, Config{Seed: 1, Faults: fault.Faults{CutBodyShare: 1}})
	url := firstConversation(o, srv)
	for range 3 {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+testKey)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("the headers should arrive whole: %v", err)
		}
		if res.StatusCode != http.StatusOK || res.ContentLength <= 0 {
			t.Fatalf("status %d, Content-Length %d", res.StatusCode, res.ContentLength)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("read body: %v, want io.ErrUnexpectedEOF", err)
		}
		if int64(len(body)) != res.ContentLength/2 {
			t.Errorf("read %d of %d bytes", len(body), res.ContentLength)
		}
	}
	// Errors are never cut.
	wantError(t, get(t, url, "wrong"), http.StatusUnauthorized, "", "UNAUTHORIZED")
	if s := o.Stats(); s.CutBodies != 3 || s.OK != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestFaultsLatencyCancelled(t *testing.T) {
	t.Parallel()
	o := New(Config{Seed: 1, APIKey: testKey, Faults: fault.Faults{Latency: time.Hour}})
	ch := o.Channels()[0]
	ctx, cancel := context.WithCancel(t.Context())
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/v1/channels/"+ch.ID+"/conversations/"+ch.Conversations[0], nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		o.ServeHTTP(rec, req)
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("handler still sleeping after the client gave up")
	}
	if rec.Body.Len() != 0 {
		t.Errorf("wrote %q to a client that left", rec.Body)
	}
	if s := o.Stats(); s.Requests != 1 || s.OK != 0 {
		t.Errorf("stats %+v", s)
	}
}
