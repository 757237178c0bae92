package wavysim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"time"

	"syncer/internal/sim/sample"
)

// Sender posts webhook bodies to a URL as Wavy does: it retries a delivery
// that is not answered 200 in time, and, on a share of deliveries, sends a
// body again after it was acknowledged (Wavy's retries can overlap a slow
// answer). It records every delivery, so that a test can check that the
// receiver kept each body exactly once. Safe for concurrent use.
type Sender struct {
	cfg SenderConfig

	mu         sync.Mutex
	rng        *rand.Rand
	deliveries []Delivery
}

// SenderConfig configures a Sender. Zero fields take their defaults.
type SenderConfig struct {
	// URL receives the bodies, e.g. syncer's
	// http://127.0.0.1:9090/webhooks/acme-wavy.
	URL string
	// Token goes in the X-Webhook-Token header, or, with TokenInQuery, in
	// the token query parameter; "" sends none.
	Token        string
	TokenInQuery bool
	// Client sends the requests; default http.DefaultClient.
	Client *http.Client
	// Timeout is how long Wavy waits for the 200: 200 ms, it documents
	// (the default); a slower answer is a failed delivery, retried.
	Timeout time.Duration
	// MaxAttempts bounds the attempts of one delivery; default 5.
	MaxAttempts int
	// Backoff is the wait before the n-th retry, times n; default 10 ms.
	Backoff time.Duration
	// DuplicateShare is the share of acknowledged deliveries sent once
	// more, on purpose.
	DuplicateShare float64
	Seed           int64
	// Sleep waits between attempts; default a timer that ctx can cut.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Delivery is one body the Sender was asked to deliver, and what came of
// it.
type Delivery struct {
	Seq      int      // 1-based, in the order Send was called
	Body     []byte   // the body posted
	Statuses []int    // the answer of each attempt (0: no answer in time, or a network error)
	Acked    bool     // an attempt was answered 200
	Extra    int      // posts of the body after it was acknowledged (deliberate duplicates)
	Err      string   // why it was given up, when not acknowledged
	errs     []string // the errors of the attempts
}

// Attempts is how many times the body was posted, duplicates included.
func (d Delivery) Attempts() int { return len(d.Statuses) }

// streamSender draws the Sender's duplicates.
const streamSender uint64 = 0x776176792d736e64 // "wavy-snd"

// NewSender returns a sender to cfg.URL.
func NewSender(cfg SenderConfig) *Sender {
	if cfg.Client == nil {
		cfg.Client = http.DefaultClient
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 200 * time.Millisecond
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 10 * time.Millisecond
	}
	if cfg.Sleep == nil {
		cfg.Sleep = func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
				return nil
			}
		}
	}
	return &Sender{cfg: cfg, rng: sample.NewRand(cfg.Seed, streamSender)}
}

// Send delivers body: it posts it until an attempt is answered 200, at
// most MaxAttempts times, then, on a DuplicateShare of deliveries, posts it
// once more. It returns the delivery, with an error when no attempt was
// acknowledged.
func (s *Sender) Send(ctx context.Context, body []byte) (Delivery, error) {
	s.mu.Lock()
	d := Delivery{Seq: len(s.deliveries) + 1, Body: append([]byte(nil), body...)}
	duplicate := s.rng.Float64() < s.cfg.DuplicateShare
	s.deliveries = append(s.deliveries, d)
	s.mu.Unlock()

	for attempt := 1; attempt <= s.cfg.MaxAttempts && !d.Acked; attempt++ {
		if attempt > 1 {
			if err := s.cfg.Sleep(ctx, time.Duration(attempt-1)*s.cfg.Backoff); err != nil {
				d.Err = err.Error()
				break
			}
		}
		status, err := s.post(ctx, body)
		d.Statuses = append(d.Statuses, status)
		if err != nil {
			d.errs = append(d.errs, err.Error())
		}
		d.Acked = status == http.StatusOK
		if ctx.Err() != nil {
			break
		}
	}
	if d.Acked && duplicate {
		status, _ := s.post(ctx, body)
		d.Statuses = append(d.Statuses, status)
		d.Extra++
	}
	if !d.Acked && d.Err == "" {
		d.Err = fmt.Sprintf("not acknowledged after %d attempts (answers %v)", len(d.Statuses), d.Statuses)
		if len(d.errs) > 0 {
			d.Err += ": " + d.errs[len(d.errs)-1]
		}
	}
	s.mu.Lock()
	s.deliveries[d.Seq-1] = d
	s.mu.Unlock()
	if !d.Acked {
		return d, errors.New("wavysim: delivery " + fmt.Sprint(d.Seq) + " " + d.Err)
	}
	return d, nil
}

// post posts body once and returns the status (0 when none came in time).
func (s *Sender) post(ctx context.Context, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	target := s.cfg.URL
	if s.cfg.TokenInQuery && s.cfg.Token != "" {
		u, err := url.Parse(target)
		if err != nil {
			return 0, err
		}
		q := u.Query()
		q.Set("token", s.cfg.Token)
		u.RawQuery = q.Encode()
		target = u.String()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Wavy-Webhook-Simulator/1.0")
	if !s.cfg.TokenInQuery && s.cfg.Token != "" {
		req.Header.Set("X-Webhook-Token", s.cfg.Token)
	}
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}

// Deliveries returns every delivery so far, in the order Send was called
// (one still in progress shows its attempts so far only once done).
func (s *Sender) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Delivery, len(s.deliveries))
	copy(out, s.deliveries)
	return out
}

// Acknowledged returns the bodies that were answered 200, in order.
func (s *Sender) Acknowledged() [][]byte {
	var out [][]byte
	for _, d := range s.Deliveries() {
		if d.Acked {
			out = append(out, d.Body)
		}
	}
	return out
}
