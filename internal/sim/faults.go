package sim

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
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
	return f
}

// Stats counts what a simulator answered since it was built.
type Stats struct {
	Requests     int64 // every request that reached the handler
	OK           int64 // 200s written in full
	RateLimited  int64 // 429s
	ServerErrors int64 // 5xx
	CutBodies    int64 // 200s cut off midway
	Unauthorized int64 // 401s
	ClientErrors int64 // 400, 404 and 405
}

// outcome is what the fault knobs decided for one request.
type outcome struct {
	status     int    // 0 (answer normally), 429, 500, 502 or 503
	retryAfter string // Retry-After of a 429 or 503
	cut        bool   // cut the body off if the answer is a 200
}

// faultBodies are a platform's documented error bodies.
type faultBodies struct {
	rateLimit   []byte // body of a 429
	serverError []byte // body of a 500, 502 or 503
}

// faultInjector applies Faults to one simulator's responses and counts them.
type faultInjector struct {
	bodies faultBodies

	mu        sync.Mutex
	f         Faults
	rng       *rand.Rand
	burstLeft int // requests still due in the current 5xx burst

	requests, ok, rateLimited, serverErrors, cutBodies, unauthorized, clientErrors atomic.Int64
}

func newFaultInjector(seed int64, stream uint64, f Faults, bodies faultBodies) *faultInjector {
	return &faultInjector{bodies: bodies, f: f.withDefaults(), rng: newRand(seed, stream)}
}

// set replaces the knobs and ends any burst in progress.
func (fi *faultInjector) set(f Faults) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.f = f.withDefaults()
	fi.burstLeft = 0
}

func (fi *faultInjector) faults() Faults {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	return fi.f
}

// begin counts a request and waits for the configured latency. It reports
// false when the client gave up meanwhile; the handler then writes nothing.
func (fi *faultInjector) begin(ctx context.Context) bool {
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

// decide draws the faults of one request. Each call draws exactly four values.
// A burst in progress wins over a new decision; a new 5xx burst wins over a 429.
func (fi *faultInjector) decide() outcome {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	u5xx, uCode, u429, uCut := fi.rng.Float64(), fi.rng.Float64(), fi.rng.Float64(), fi.rng.Float64()
	code := serverErrorCodes[int(uCode*float64(len(serverErrorCodes)))]
	out := outcome{retryAfter: fi.f.RetryAfter, cut: uCut < fi.f.CutBodyShare}
	switch {
	case fi.burstLeft > 0:
		fi.burstLeft--
		out.status = code
	case u5xx < fi.f.ServerErrorShare:
		fi.burstLeft = fi.f.ServerErrorBurst - 1
		out.status = code
	case u429 < fi.f.RateLimitShare:
		out.status = http.StatusTooManyRequests
	}
	return out
}

var serverErrorCodes = []int{
	http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable,
}

// writeFault writes the fault out decided, if any, and reports whether it did.
func (fi *faultInjector) writeFault(w http.ResponseWriter, out outcome) bool {
	switch out.status {
	case 0:
		return false
	case http.StatusTooManyRequests:
		fi.rateLimited.Add(1)
		w.Header().Set("Retry-After", out.retryAfter)
		writeBody(w, out.status, fi.bodies.rateLimit)
	default:
		fi.serverErrors.Add(1)
		if out.status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", out.retryAfter)
		}
		writeBody(w, out.status, fi.bodies.serverError)
	}
	return true
}

// writeError writes a 4xx answer and counts it.
func (fi *faultInjector) writeError(w http.ResponseWriter, status int, body []byte) {
	if status == http.StatusUnauthorized {
		fi.unauthorized.Add(1)
	} else {
		fi.clientErrors.Add(1)
	}
	writeBody(w, status, body)
}

// writeOK writes a 200 with body, or only its first half when out says to cut
// it: the full Content-Length is declared, half is flushed, then the
// connection is hijacked and closed, so the client reads a short body
// (io.ErrUnexpectedEOF in Go). HTTP/2 cannot be hijacked: there the handler
// panics with http.ErrAbortHandler, which resets the stream. Anything else
// (httptest.ResponseRecorder) just keeps the half body.
func (fi *faultInjector) writeOK(w http.ResponseWriter, r *http.Request, body []byte, out outcome) {
	fi.writeOKAs(w, r, "application/json; charset=utf-8", body, out)
}

// writeOKAs is writeOK for a body of any content type.
func (fi *faultInjector) writeOKAs(w http.ResponseWriter, r *http.Request, contentType string, body []byte, out outcome) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if !out.cut || len(body) < 2 {
		fi.ok.Add(1)
		_, _ = w.Write(body)
		return
	}
	fi.cutBodies.Add(1)
	_, _ = w.Write(body[:len(body)/2])
	rc := http.NewResponseController(w)
	if err := rc.Flush(); err != nil {
		return
	}
	if conn, _, err := rc.Hijack(); err == nil {
		_ = conn.Close()
		return
	}
	if r.ProtoMajor == 2 {
		panic(http.ErrAbortHandler)
	}
}

func (fi *faultInjector) stats() Stats {
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
