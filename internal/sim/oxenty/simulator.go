package oxentysim

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"syncer/internal/sim/fault"
	"syncer/internal/sim/sample"
)

// Simulator simulates Oxenty's API as its sessions page documents it
// (shared/api-docs/oxenty-list-sessions.txt). The route is relative to
// wherever the handler is mounted:
//
//	GET /api/sessions?page=N&limit=L&status=S
//
// It answers {"data":[...],"meta":{"total","page","limit","totalPages"}}:
// the sessions of the tenant, newest first (the doc's sample is ordered
// that way; Config.OldestFirst reverses it), page N of L each. A page past
// the end is empty. status, when given, keeps the sessions in that status.
//
// A request goes through these checks, in order:
//
//  1. latency (Faults.Latency), abandoned if the client gives up;
//  2. route: anything but GET /api/sessions (a trailing slash allowed) →
//     404 {"message":"Cannot GET /api/x","error":"Not Found","statusCode":404};
//  3. auth: "X-API-Key: <APIKey>", else 401. A wrong key never reaches the
//     fault knobs: it gets 401, never 429 or 5xx;
//  4. faults: 5xx burst, then 429 with Retry-After;
//  5. parameters: page and limit positive integers (defaults 1 and 10),
//     limit at most Config.MaxLimit (or cut to it with ClampLimit), status
//     one of the four documented → else 400;
//  6. churn (SetChurn) and the OnList hook, for pages after the first;
//  7. 200, whose body may be cut off midway (Faults.CutBodyShare).
//
// GUESSES: the doc shows no error body, no default or maximum limit and
// no order. The error bodies follow NestJS, which the /api prefix, the
// meta block and the header suggest ({"message":"Invalid API key",
// "error":"Unauthorized","statusCode":401}); the default limit is the
// doc's 10 and the maximum 100.
type Simulator struct {
	cfg    Config
	faults *fault.Injector

	mu       sync.RWMutex
	rng      *rand.Rand // data generator; under mu (write)
	sessions []*session // in creation order
	byID     map[string]*session
	named    int // names handed out so far
	churn    Churn
	onList   func(page int)
}

var _ http.Handler = (*Simulator)(nil)

// Config configures an Oxenty simulator. Zero fields take their defaults.
type Config struct {
	Seed int64
	// APIKey is the only key accepted; anything else gets 401. Default
	// "oxenty-sim-key".
	APIKey string
	// Sessions is how many sessions there are at first; default 5 (fewer
	// when some would only be created after Now).
	Sessions int
	// Start is the createdAt of the oldest session; default
	// 2024-01-01T00:00:00Z. The others follow Step apart, give or take half
	// a Step.
	Start time.Time
	// Step is the typical gap between two sessions' creation; default 24h.
	Step time.Duration
	// Now is the simulator's clock; default time.Now. Nothing is dated
	// after it: New keeps the sessions created by Now(), with their last
	// connection at Now() at most; Add creates sessions at Now(); SetStatus
	// connects them at Now().
	Now func() time.Time
	// OldestFirst lists the sessions oldest first, so that a new session
	// lands on the last page instead of the first.
	OldestFirst bool
	// MaxLimit is the largest limit accepted; default 100.
	MaxLimit int
	// ClampLimit serves MaxLimit sessions a page for a larger limit (and
	// says so in meta.limit) instead of answering 400.
	ClampLimit bool
	// BadShare is the share of sessions that are malformed in a way a
	// consumer must reject: createdAt or connectedAt not a date. Default 0.
	BadShare float64
	Faults   fault.Faults
}

// Streams of the seeded generators: data and faults draw from independent
// sequences of the same seed, so serving requests never shifts the data.
const (
	streamData   uint64 = 0x6f78656e74792d64 // "oxenty-d"
	streamFaults uint64 = 0x6f78656e74792d66 // "oxenty-f"
)

// New builds a simulator and its initial sessions.
func New(cfg Config) *Simulator {
	if cfg.APIKey == "" {
		cfg.APIKey = "oxenty-sim-key"
	}
	if cfg.Sessions <= 0 {
		cfg.Sessions = 5
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if cfg.Step <= 0 {
		cfg.Step = 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxLimit <= 0 {
		cfg.MaxLimit = 100
	}
	o := &Simulator{
		cfg:    cfg,
		faults: fault.NewInjector(sample.NewRand(cfg.Seed, streamFaults), cfg.Faults, fault.Bodies{RateLimit: bodyRateLimited, ServerError: bodyServerError}),
		rng:    sample.NewRand(cfg.Seed, streamData),
		byID:   make(map[string]*session, cfg.Sessions),
	}
	o.generate(cfg.Now().UnixMilli())
	return o
}

// listed returns the sessions in the order the API lists them, those in
// status alone when it is not "". Caller holds mu.
func (o *Simulator) listed(status string) []*session {
	out := make([]*session, 0, len(o.sessions))
	for _, s := range o.sessions {
		if status == "" || s.status == status {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b *session) int {
		c := cmp.Or(cmp.Compare(a.created, b.created), strings.Compare(a.id, b.id))
		if o.cfg.OldestFirst {
			return c
		}
		return -c
	})
	return out
}

// Sessions returns every session now held, malformed ones included, in
// the order the API lists them.
func (o *Simulator) Sessions() []Session {
	o.mu.RLock()
	defer o.mu.RUnlock()
	list := o.listed("")
	out := make([]Session, len(list))
	for i, s := range list {
		out[i] = s.render()
	}
	return out
}

// Count returns how many sessions the simulator holds.
func (o *Simulator) Count() int {
	o.mu.RLock()
	defer o.mu.RUnlock()
	return len(o.sessions)
}

// OnList sets a function called before each list page is made (after the
// checks, and after any churn), with the page number; nil removes it. It
// may change the data: the page then shows the change.
func (o *Simulator) OnList(f func(page int)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.onList = f
}

// SetFaults replaces the fault knobs; a 5xx burst in progress ends.
func (o *Simulator) SetFaults(f fault.Faults) { o.faults.Set(f) }

// Stats returns what the simulator has answered so far.
func (o *Simulator) Stats() fault.Stats { return o.faults.Stats() }

// APIKey returns the key the simulator accepts (Config.APIKey or its
// default).
func (o *Simulator) APIKey() string { return o.cfg.APIKey }

// Describe is the simulator's entry in the index of internal/sim's server:
// its route, credentials and counts, under prefix.
func (o *Simulator) Describe(prefix string) string {
	o.mu.RLock()
	defer o.mu.RUnlock()
	var b strings.Builder
	fmt.Fprintf(&b, "Oxenty  %s  (X-API-Key: <key>)\n", prefix)
	fmt.Fprintf(&b, "  GET %sapi/sessions?page=N&limit=L[&status=%s]\n", prefix, strings.Join(Statuses, "|"))
	fmt.Fprintf(&b, "  %d sessions\n", len(o.sessions))
	return b.String()
}
