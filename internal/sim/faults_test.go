package sim

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"syncer/internal/sim/fault"
)

// firstConversation returns the URL of the simulator's first conversation.
func firstConversation(o *Ogmma, srv *httptest.Server) string {
	ch := o.Channels()[0]
	return conversationURL(srv, ch.ID, ch.Conversations[0])
}

func TestFaultsRateLimit(t *testing.T) {
	t.Parallel()
	o, srv := serveOgmma(t, OgmmaConfig{Seed: 1, Faults: fault.Faults{RateLimitShare: 1}})
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
	o, srv := serveOgmma(t, OgmmaConfig{Seed: 1, Faults: fault.Faults{RateLimitShare: 1, ServerErrorShare: 1, Latency: time.Nanosecond}})
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

func TestFaultsServerErrorBurst(t *testing.T) {
	t.Parallel()
	const burst = 4
	o, srv := serveOgmma(t, OgmmaConfig{Seed: 11, Faults: fault.Faults{ServerErrorShare: 0.1, ServerErrorBurst: burst, RetryAfter: "3"}})
	url := firstConversation(o, srv)
	var statuses []int
	codes := map[int]int{}
	for range 300 {
		r := get(t, url, testKey)
		statuses = append(statuses, r.status)
		if r.status == http.StatusOK {
			continue
		}
		codes[r.status]++
		wantError(t, r, r.status, "Erro interno", "INTERNAL_ERROR")
		if got, want := r.header.Get("Retry-After"), map[bool]string{true: "3"}[r.status == 503]; got != want {
			t.Errorf("%d with Retry-After %q", r.status, got)
		}
	}
	if len(codes) != 3 || codes[500] == 0 || codes[502] == 0 || codes[503] == 0 {
		t.Errorf("5xx codes %v, want 500, 502 and 503", codes)
	}
	// Every run of 5xx lasts at least a burst (runs may join), except one cut
	// short by the end of the test.
	runs := 0
	for i := 0; i < len(statuses); {
		if statuses[i] == http.StatusOK {
			i++
			continue
		}
		j := i
		for j < len(statuses) && statuses[j] != http.StatusOK {
			j++
		}
		if j-i < burst && j < len(statuses) {
			t.Errorf("5xx run of %d at request %d, want at least %d", j-i, i, burst)
		}
		runs++
		i = j
	}
	if runs == 0 {
		t.Error("no 5xx burst in 300 requests at ServerErrorShare 0.1")
	}
	if s := o.Stats(); s.ServerErrors+s.OK != 300 || s.ServerErrors < burst {
		t.Errorf("stats %+v", s)
	}

	// SetFaults ends a burst in progress.
	o.SetFaults(fault.Faults{ServerErrorShare: 1, ServerErrorBurst: 100})
	if r := get(t, url, testKey); r.status < 500 {
		t.Fatalf("status %d at ServerErrorShare 1", r.status)
	}
	o.SetFaults(fault.Faults{})
	decodePage(t, get(t, url, testKey))
}

func TestFaultsDeterministic(t *testing.T) {
	t.Parallel()
	sequence := func(seed int64) []int {
		f := fault.Faults{RateLimitShare: 0.2, ServerErrorShare: 0.1, ServerErrorBurst: 2, CutBodyShare: 0.1}
		o, srv := serveOgmma(t, OgmmaConfig{Seed: seed, Faults: f})
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
	o, srv := serveOgmma(t, OgmmaConfig{Seed: 1, Faults: fault.Faults{CutBodyShare: 1}})
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

	// Through NewServer's prefix stripping the connection is still hijacked.
	ssrv := httptest.NewServer(NewServer(o))
	t.Cleanup(ssrv.Close)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, ssrv.URL+"/ogmma"+strings.TrimPrefix(url, srv.URL), nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(res.Body)
	res.Body.Close()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("through NewServer: %v", err)
	}

	// A ResponseRecorder cannot be hijacked: it keeps the half body.
	rec := httptest.NewRecorder()
	req = httptest.NewRequest(http.MethodGet, strings.TrimPrefix(url, srv.URL), nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	o.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Length") == "" || rec.Body.Len() == 0 {
		t.Errorf("recorder: %d, Content-Length %s, %d bytes", rec.Code, rec.Header().Get("Content-Length"), rec.Body.Len())
	}
}

func TestFaultsCutBodyHTTP2(t *testing.T) {
	t.Parallel()
	o := NewOgmma(OgmmaConfig{Seed: 1, APIKey: testKey, Faults: fault.Faults{CutBodyShare: 1}})
	srv := httptest.NewUnstartedServer(o)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, firstConversation(o, srv), nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.ProtoMajor != 2 {
		t.Fatalf("protocol %s", res.Proto)
	}
	if _, err := io.ReadAll(res.Body); err == nil {
		t.Error("read the whole body of a cut HTTP/2 response")
	}
}

func TestFaultsLatencyCancelled(t *testing.T) {
	t.Parallel()
	o := NewOgmma(OgmmaConfig{Seed: 1, APIKey: testKey, Faults: fault.Faults{Latency: time.Hour}})
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

func TestFaultsLatencyServed(t *testing.T) {
	t.Parallel()
	o, srv := serveOgmma(t, OgmmaConfig{Seed: 1, Faults: fault.Faults{Latency: time.Millisecond}})
	decodePage(t, get(t, firstConversation(o, srv), testKey))
}
