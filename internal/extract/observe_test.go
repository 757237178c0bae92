package extract

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// recorder is an Observer that keeps what it hears.
type recorder struct {
	mu      sync.Mutex
	codes   []string
	retries []RetryReason
	waits   []time.Duration // of the retries
	held    []time.Duration // by the rate limit
}

func (r *recorder) Request(code string, took time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.codes = append(r.codes, code)
}

func (r *recorder) Retry(reason RetryReason, wait time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.retries = append(r.retries, reason)
	r.waits = append(r.waits, wait)
}

func (r *recorder) RateLimitWait(wait time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.held = append(r.held, wait)
}

func TestObserverHearsAttemptsRetriesAndWaits(t *testing.T) {
	t.Parallel()
	srv := newFakeServer(t,
		reply(http.StatusInternalServerError, nil, "boom"),
		reply(http.StatusTooManyRequests, map[string]string{"Retry-After": "2"}, ""),
		cutBody(`{"ok":true}`),
		reply(http.StatusOK, nil, `{"ok":true}`),
	)
	rec := &recorder{}
	c, _ := newTestClient(t, srv.URL, func(cfg *ClientConfig) {
		cfg.Observer = rec
		cfg.RateLimit = 1 // the clock is frozen: every request after the first waits 1s more
	})
	var out struct{ OK bool }
	if _, err := c.GetJSON(t.Context(), "/x", nil, nil, &out); err != nil {
		t.Fatalf("GetJSON: %v", err)
	}
	if want := []string{"500", "429", "error", "200"}; !slices.Equal(rec.codes, want) {
		t.Errorf("requests heard %q, want %q", rec.codes, want)
	}
	if want := []RetryReason{RetryServerError, RetryRateLimited, RetryNetwork}; !slices.Equal(rec.retries, want) {
		t.Errorf("retries heard %q, want %q", rec.retries, want)
	}
	if rec.waits[1] != 2*time.Second {
		t.Errorf("the wait of the rate-limited retry was %s, want Retry-After's 2s", rec.waits[1])
	}
	if want := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}; !slices.Equal(rec.held, want) {
		t.Errorf("rate-limit waits heard %v, want %v", rec.held, want)
	}
}

func TestObserverHearsRenewalsButNotCancellations(t *testing.T) {
	t.Parallel()
	srv := newFakeServer(t, reply(http.StatusUnauthorized, nil, `{"message":"expired"}`), reply(http.StatusOK, nil, `{}`))
	rec := &recorder{}
	c, _ := newTestClient(t, srv.URL, func(cfg *ClientConfig) {
		cfg.Observer = rec
		cfg.Renew = func(context.Context) error { return nil }
	})
	if _, err := c.GetJSON(t.Context(), "/x", nil, nil, nil); err != nil {
		t.Fatalf("GetJSON: %v", err)
	}
	if want := []string{"401", "200"}; !slices.Equal(rec.codes, want) {
		t.Errorf("requests heard %q, want %q", rec.codes, want)
	}
	if want := []RetryReason{RetryCredentials}; !slices.Equal(rec.retries, want) {
		t.Errorf("retries heard %q, want %q", rec.retries, want)
	}

	// A request given up by its caller is not the platform's doing.
	arrived, blocked := make(chan struct{}, 1), make(chan struct{})
	slow := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		select {
		case <-blocked:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(blocked) }) // before the server closes
	rec = &recorder{}
	c, _ = newTestClient(t, slow.URL, func(cfg *ClientConfig) { cfg.Observer = rec })
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		select {
		case <-arrived:
			cancel()
		case <-ctx.Done():
		}
	}()
	if _, err := c.GetJSON(ctx, "/x", nil, nil, nil); err == nil {
		t.Fatal("GetJSON succeeded after its ctx was cancelled")
	}
	if len(rec.codes) != 0 {
		t.Errorf("a cancelled request was heard as %q", rec.codes)
	}
}
