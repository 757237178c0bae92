package fault

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"
)

var testBodies = Bodies{RateLimit: []byte(`{"slow":"down"}`), ServerError: []byte(`{"oops":true}`)}

// handler answers every request the way the simulators do after their own
// checks: latency, faults, then a 200 that may be cut.
func handler(fi *Injector) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !fi.Begin(r.Context()) {
			return
		}
		out := fi.Decide()
		if fi.WriteFault(w, out) {
			return
		}
		fi.WriteOK(w, r, []byte(`{"data":["a","b","c","d","e","f"]}`), out)
	}
}

func newInjector(seed uint64, f Faults) *Injector {
	return NewInjector(rand.New(rand.NewPCG(seed, 1)), f, testBodies)
}

func serve(t *testing.T, fi *Injector) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(handler(fi))
	t.Cleanup(srv.Close)
	return srv
}

// get returns the status and the body, or status -1 when the body was cut.
func get(t *testing.T, client *http.Client, url string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return -1, res.Header, body
	}
	return res.StatusCode, res.Header, body
}

func TestDecideDeterministic(t *testing.T) {
	t.Parallel()
	f := Faults{RateLimitShare: 0.2, ServerErrorShare: 0.1, ServerErrorBurst: 2, CutBodyShare: 0.1}
	seq := func(seed uint64) []Outcome {
		fi := newInjector(seed, f)
		var out []Outcome
		for range 200 {
			out = append(out, fi.Decide())
		}
		return out
	}
	a, b, c := seq(21), seq(21), seq(22)
	if !reflect.DeepEqual(a, b) {
		t.Error("same seed, different faults")
	}
	if reflect.DeepEqual(a, c) {
		t.Error("different seeds, same faults")
	}
	// Every decision draws four values whatever the knobs: another share
	// leaves the cut decisions where they were.
	fi := newInjector(21, Faults{CutBodyShare: 0.1})
	for i, o := range a {
		if got := fi.Decide(); got.cut != o.cut {
			t.Fatalf("decision %d: cut %v with other knobs, %v without", i, o.cut, got.cut)
		}
	}
}

func TestServerErrorBurst(t *testing.T) {
	t.Parallel()
	const burst = 4
	fi := newInjector(11, Faults{ServerErrorShare: 0.1, ServerErrorBurst: burst, RetryAfter: "3"})
	srv := serve(t, fi)
	var statuses []int
	codes := map[int]int{}
	for range 300 {
		status, h, body := get(t, srv.Client(), srv.URL)
		statuses = append(statuses, status)
		if status == http.StatusOK {
			continue
		}
		codes[status]++
		if string(body) != string(testBodies.ServerError) || h.Get("Content-Type") != "application/json; charset=utf-8" {
			t.Errorf("%d with body %s, Content-Type %q", status, body, h.Get("Content-Type"))
		}
		if got, want := h.Get("Retry-After"), map[bool]string{true: "3"}[status == http.StatusServiceUnavailable]; got != want {
			t.Errorf("%d with Retry-After %q", status, got)
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
	if s := fi.Stats(); s.Requests != 300 || s.ServerErrors+s.OK != 300 || s.ServerErrors < burst {
		t.Errorf("stats %+v", s)
	}
	// Set ends a burst in progress.
	fi.Set(Faults{ServerErrorShare: 1, ServerErrorBurst: 100})
	if status, _, _ := get(t, srv.Client(), srv.URL); status < 500 {
		t.Fatalf("status %d at ServerErrorShare 1", status)
	}
	fi.Set(Faults{})
	if status, _, _ := get(t, srv.Client(), srv.URL); status != http.StatusOK {
		t.Errorf("status %d after the burst was ended", status)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	fi := newInjector(1, Faults{RateLimitShare: 1})
	srv := serve(t, fi)
	status, h, body := get(t, srv.Client(), srv.URL)
	if status != http.StatusTooManyRequests || h.Get("Retry-After") != "1" || string(body) != string(testBodies.RateLimit) {
		t.Errorf("%d, Retry-After %q, body %s", status, h.Get("Retry-After"), body)
	}
	rec := httptest.NewRecorder()
	fi.WriteError(rec, http.StatusUnauthorized, []byte(`{}`))
	fi.WriteError(httptest.NewRecorder(), http.StatusNotFound, []byte(`{}`))
	if rec.Code != http.StatusUnauthorized || rec.Header().Get("Content-Length") != "2" {
		t.Errorf("WriteError: %d %v", rec.Code, rec.Header())
	}
	if s := fi.Stats(); s != (Stats{Requests: 1, RateLimited: 1, Unauthorized: 1, ClientErrors: 1}) {
		t.Errorf("stats %+v", s)
	}
	fi.Set(Faults{RateLimitShare: 1, RateLimitStatus: 420, RetryAfter: "0"})
	if status, h, body := get(t, srv.Client(), srv.URL); status != 420 || h.Get("Retry-After") != "0" || string(body) != string(testBodies.RateLimit) {
		t.Errorf("420: %d, Retry-After %q, body %s", status, h.Get("Retry-After"), body)
	}
	if s := fi.Stats(); s.RateLimited != 2 {
		t.Errorf("a 420 was not counted as rate limited: %+v", s)
	}
}

func TestCutBody(t *testing.T) {
	t.Parallel()
	fi := newInjector(1, Faults{CutBodyShare: 1})
	srv := serve(t, fi)
	for range 3 {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
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
	if s := fi.Stats(); s.CutBodies != 3 || s.OK != 0 {
		t.Errorf("stats %+v", s)
	}

	// A ResponseRecorder cannot be hijacked: it keeps the half body.
	rec := httptest.NewRecorder()
	handler(fi)(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Length") == "" || rec.Body.Len() == 0 {
		t.Errorf("recorder: %d, Content-Length %s, %d bytes", rec.Code, rec.Header().Get("Content-Length"), rec.Body.Len())
	}

	// Any content type may be cut.
	rec = httptest.NewRecorder()
	fi.WriteOKAs(rec, httptest.NewRequest(http.MethodGet, "/", nil), "text/plain; charset=utf-8", []byte("abcdef"), fi.Decide())
	if rec.Body.String() != "abc" || rec.Header().Get("Content-Type") != "text/plain; charset=utf-8" || rec.Header().Get("Content-Length") != "6" {
		t.Errorf("text cut: %q %v", rec.Body, rec.Header())
	}
}

func TestCutBodyHTTP2(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(handler(newInjector(1, Faults{CutBodyShare: 1})))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
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

func TestLatencyCancelled(t *testing.T) {
	t.Parallel()
	fi := newInjector(1, Faults{Latency: time.Hour})
	ctx, cancel := context.WithCancel(t.Context())
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		handler(fi)(rec, req)
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
	if s := fi.Stats(); s.Requests != 1 || s.OK != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestLatencyServed(t *testing.T) {
	t.Parallel()
	fi := newInjector(1, Faults{Latency: time.Millisecond})
	srv := serve(t, fi)
	if status, _, _ := get(t, srv.Client(), srv.URL); status != http.StatusOK {
		t.Errorf("status %d", status)
	}
}
