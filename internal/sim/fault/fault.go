// Package fault is the misbehaviour the platform simulators share: the fault
// knobs (Faults), the counts of what a simulator answered (Stats), and the
// Injector that decides, per request and from a seeded generator, whether to
// answer with a 5xx burst, a 429 with Retry-After, added latency or a 200 cut
// off midway, and writes those answers.
//
// It knows no platform: each simulator hands it its documented error bodies
// (Bodies) and decides itself where in its order of checks the faults apply
// (after authentication, in every simulator so far). It must not import the
// simulators nor internal/sim, and it never generates data.
package fault

import (
	"context"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Faults are the misbehaviours a simulator can show. They are decided per
// request with the simulator's seeded generator, so a given seed and request
// order always gives the same sequence of faults. Every decided request draws
// the same number of values whatever the knobs say, so changing one share does
// not reshuffle when the others strike. Set them at construction or with the
// simulator's SetFaults; safe for concurrent use.
type Faults struct {
	// RateLimitShare is the share of requests answered 429 with Retry-After and
	// the platform's documented 429 body.
	RateLimitShare float64
	// RateLimitStatus is the status of those answers: 429 (the default) or
	// 420, which Wavy also answers when it rate-limits.
	RateLimitStatus int
	// RetryAfter is the Retry-After header value of those 429s (and of 503s);
	// default "1".
	RetryAfter string
	// ServerErrorShare is the share of requests that start a burst of 5xx
	// (500, 502 and 503 mixed; 503 also carries Retry-After).
	ServerErrorShare float64
	// ServerErrorBurst is how many consecutive requests a burst lasts; default 1.
	ServerErrorBurst int
	// Latency is added to every response. The handler waits on the request's
	// context, so a client that gives up does not leave it sleeping.
	Latency time.Duration
	// CutBodyShare is the share of 200 responses whose body is cut off midway:
	// the full Content-Length is declared, half the body is written, then the
	// connection is closed.
	CutBodyShare float64
}

// withDefaults fills the zero knobs that have a default.
func (f Faults) withDefaults() Faults {
	if f.RetryAfter == "" {
		f.RetryAfter = "1"
	}
	if f.ServerErrorBurst <= 0 {
		f.ServerErrorBurst = 1
	}
	if f.RateLimitStatus != statusEnhanceYourCalm {
		f.RateLimitStatus = http.StatusTooManyRequests
	}
	return f
}

// Stats counts what a simulator answered since it was built.
type Stats struct {
	Requests     int64 // every request that reached the handler
	OK           int64 // 200s written in full
	RateLimited  int64 // 429s (or 420s)
	ServerErrors int64 // 5xx
	CutBodies    int64 // 200s cut off midway
	Unauthorized int64 // 401s
	ClientErrors int64 // 400, 404 and 405
}

// Outcome is what the fault knobs decided for one request.
type Outcome struct {
	status     int    // 0 (answer normally), 429 or 420, 500, 502 or 503
	retryAfter string // Retry-After of a 429 or 503
	cut        bool   // cut the body off if the answer is a 200
}

// Bodies are a platform's documented error bodies.
type Bodies struct {
	RateLimit   []byte // body of a 429
	ServerError []byte // body of a 500, 502 or 503
}

// Injector applies Faults to one simulator's responses and counts them. Safe
// for concurrent use.
type Injector struct {
	bodies Bodies

	mu        sync.Mutex
	f         Faults
	rng       *rand.Rand
	burstLeft int // requests still due in the current 5xx burst

	requests, ok, rateLimited, serverErrors, cutBodies, unauthorized, clientErrors atomic.Int64
}

// NewInjector returns an injector whose decisions draw from rng (which it owns
// from then on: give it a generator of its own, so that serving requests never
// shifts the simulator's data).
func NewInjector(rng *rand.Rand, f Faults, bodies Bodies) *Injector {
	return &Injector{bodies: bodies, f: f.withDefaults(), rng: rng}
}

// Set replaces the knobs and ends any burst in progress.
func (fi *Injector) Set(f Faults) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.f = f.withDefaults()
	fi.burstLeft = 0
}

func (fi *Injector) faults() Faults {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	return fi.f
}

// Begin counts a request and waits for the configured latency. It reports
// false when the client gave up meanwhile; the handler then writes nothing.
func (fi *Injector) Begin(ctx context.Context) bool {
	fi.requests.Add(1)
	d := fi.faults().Latency
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Decide draws the faults of one request. Each call draws exactly four values.
// A burst in progress wins over a new decision; a new 5xx burst wins over a 429.
func (fi *Injector) Decide() Outcome {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	u5xx, uCode, u429, uCut := fi.rng.Float64(), fi.rng.Float64(), fi.rng.Float64(), fi.rng.Float64()
	code := serverErrorCodes[int(uCode*float64(len(serverErrorCodes)))]
	out := Outcome{retryAfter: fi.f.RetryAfter, cut: uCut < fi.f.CutBodyShare}
	switch {
	case fi.burstLeft > 0:
		fi.burstLeft--
		out.status = code
	case u5xx < fi.f.ServerErrorShare:
		fi.burstLeft = fi.f.ServerErrorBurst - 1
		out.status = code
	case u429 < fi.f.RateLimitShare:
		out.status = fi.f.RateLimitStatus
	}
	return out
}

// statusEnhanceYourCalm is 420, Twitter's old rate-limit status, which
// Wavy answers too.
const statusEnhanceYourCalm = 420

var serverErrorCodes = []int{
	http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable,
}

// WriteFault writes the fault out decided, if any, and reports whether it did.
func (fi *Injector) WriteFault(w http.ResponseWriter, out Outcome) bool {
	switch out.status {
	case 0:
		return false
	case http.StatusTooManyRequests, statusEnhanceYourCalm:
		fi.rateLimited.Add(1)
		w.Header().Set("Retry-After", out.retryAfter)
		WriteBody(w, out.status, fi.bodies.RateLimit)
	default:
		fi.serverErrors.Add(1)
		if out.status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", out.retryAfter)
		}
		WriteBody(w, out.status, fi.bodies.ServerError)
	}
	return true
}

// WriteError writes a 4xx answer and counts it.
func (fi *Injector) WriteError(w http.ResponseWriter, status int, body []byte) {
	if status == http.StatusUnauthorized {
		fi.unauthorized.Add(1)
	} else {
		fi.clientErrors.Add(1)
	}
	WriteBody(w, status, body)
}

// Stats returns what the injector has counted so far.
func (fi *Injector) Stats() Stats {
	return Stats{
		Requests:     fi.requests.Load(),
		OK:           fi.ok.Load(),
		RateLimited:  fi.rateLimited.Load(),
		ServerErrors: fi.serverErrors.Load(),
		CutBodies:    fi.cutBodies.Load(),
		Unauthorized: fi.unauthorized.Load(),
		ClientErrors: fi.clientErrors.Load(),
	}
}
