package wavysim

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"syncer/internal/sim/fault"
	"syncer/internal/sim/sample"
)

// Simulator simulates Wavy's session API and its file host. Routes are
// relative to wherever the handler is mounted:
//
//	GET /v1/session?customerId=&subAccountId=   {"file_url": "<FileBase>/<yyyy>/<mm>/<dd>/<uuid>/<uuid>"}
//	GET /files/<yyyy>/<mm>/<dd>/<uuid>/<uuid>    the session CSV (Files serves the same at /<yyyy>/...)
//
// A request to the API goes through these checks, in order:
//
//  1. latency (Faults.Latency), abandoned if the client gives up;
//  2. route: anything else → 404; method: anything but GET → 405;
//  3. auth: the userName and authenticationToken headers (any case of the
//     names) must be Username and Token, else 401 with the body FACTS.md
//     shows. A wrong token never reaches the fault knobs;
//  4. faults: 5xx burst, then 429 or 420 (Faults.RateLimitStatus) with
//     Retry-After;
//  5. customerId: absent → 400; another than CustomerID → 200 with a file
//     of only the header (Wavy's answer when nothing matches);
//  6. 200 {"file_url"}, whose body may be cut off midway.
//
// Each answer makes a new link to a snapshot of the sessions open at that
// moment (created within Window before the clock), so a file already handed
// out does not change when sessions are added; the file host answers it
// with FileFaults applied.
type Simulator struct {
	cfg   Config
	api   *fault.Injector
	files *fault.Injector

	mu        sync.Mutex
	rng       *rand.Rand // data; under mu
	linkRng   *rand.Rand // link names; under mu
	users     []*user
	sessions  []session         // by created, oldest first
	links     map[string][]byte // file key → the CSV handed out under it
	fileBase  string
	fixedLink string
	outbound  []*outbound
	moCount   int
	lastMO    int64 // unix ms of the newest MO made

	apiQueries   []string
	fileRequests []http.Header
}

var _ http.Handler = (*Simulator)(nil)

// Config configures a Wavy simulator. Zero fields take their defaults.
type Config struct {
	Seed int64
	// Username and Token are the only credentials accepted; defaults
	// "wavy-sim-user" and "wavy-sim-token-0123456789".
	Username, Token string
	// CustomerID is the account; default "42". SubAccountID is not
	// checked (Wavy documents it as optional).
	CustomerID string
	// Sessions is how many users have a session open when the simulator
	// is built; default 20.
	Sessions int
	// Window is how long a session stays open (WhatsApp's 24 hours): the
	// file lists the sessions created within Window before the clock.
	// Default 24h.
	Window time.Duration
	// Now is the simulator's clock; default time.Now. The initial sessions
	// are created within Window before Now() (read once, in New); later
	// sessions, messages and statuses are dated at Now() at most.
	Now func() time.Time
	// The session CSV: Comma ';' (default) or ','; a BOM; CRLF line ends;
	// Header, the name of the phone column: "origem" (default, as the
	// Portuguese doc says) or "source".
	Comma  rune
	BOM    bool
	CRLF   bool
	Header string
	// DateFormat of session_created_at: "local" (default, "2006-01-02
	// 15:04:05" in TimeZone), "iso" (RFC 3339 with TimeZone's offset),
	// "epoch-ms", or any Go layout, used in TimeZone.
	DateFormat string
	// TimeZone of the dates; default America/Sao_Paulo.
	TimeZone *time.Location
	// BadShare is the share of sessions written with a date no consumer
	// can read ("ontem às 10h"), seeded. Default 0.
	BadShare float64
	// FileBase is where file_url points: the base URL of the file host
	// (for instance an https httptest server serving Files). Default: the
	// API's own host, "http://<Host>/files", which syncer refuses (plain
	// http). SetFileBase changes it.
	FileBase string
	// Faults of the API, and FileFaults of the file host.
	Faults     fault.Faults
	FileFaults fault.Faults
}

// Streams of the seeded generators: data, faults and link names draw from
// sequences of their own.
const (
	streamData      uint64 = 0x776176792d646174 // "wavy-dat"
	streamFaults    uint64 = 0x776176792d666c74 // "wavy-flt"
	streamFileFault uint64 = 0x776176792d666966 // "wavy-fif"
	streamLinks     uint64 = 0x776176792d6c6e6b // "wavy-lnk"
)

// Wavy's error bodies: the 401 is FACTS.md's, the others follow its shape.
var (
	bodyUnauthorized = errorBody(401, "Authentication Error: No user was found with this combination of username and Authentication token.")
	bodyRateLimited  = errorBody(429, "Too many requests. Try again later.")
	bodyServerError  = errorBody(500, "Internal Server Error")
	bodyNotFound     = errorBody(404, "Not Found")
	bodyNoMethod     = errorBody(405, "Method Not Allowed")
	bodyNoCustomer   = errorBody(400, "customerId is required")
)

// New builds a simulator and its initial sessions.
func New(cfg Config) *Simulator {
	if cfg.Username == "" {
		cfg.Username = "wavy-sim-user"
	}
	if cfg.Token == "" {
		cfg.Token = "wavy-sim-token-0123456789"
	}
	if cfg.CustomerID == "" {
		cfg.CustomerID = "42"
	}
	if cfg.Sessions <= 0 {
		cfg.Sessions = 20
	}
	if cfg.Window <= 0 {
		cfg.Window = 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Comma == 0 {
		cfg.Comma = ';'
	}
	if cfg.Header == "" {
		cfg.Header = "origem"
	}
	if cfg.DateFormat == "" {
		cfg.DateFormat = "local"
	}
	if cfg.TimeZone == nil {
		loc, err := time.LoadLocation("America/Sao_Paulo")
		if err != nil {
			loc = time.FixedZone("-03", -3*3600)
		}
		cfg.TimeZone = loc
	}
	bodies := fault.Bodies{RateLimit: bodyRateLimited, ServerError: bodyServerError}
	s := &Simulator{
		cfg:      cfg,
		api:      fault.NewInjector(sample.NewRand(cfg.Seed, streamFaults), cfg.Faults, bodies),
		files:    fault.NewInjector(sample.NewRand(cfg.Seed, streamFileFault), cfg.FileFaults, bodies),
		rng:      sample.NewRand(cfg.Seed, streamData),
		linkRng:  sample.NewRand(cfg.Seed, streamLinks),
		links:    map[string][]byte{},
		fileBase: strings.TrimRight(cfg.FileBase, "/"),
	}
	s.generate(cfg.Now().UnixMilli())
	return s
}

// Username, Token and CustomerID are the credentials and account the
// simulator accepts.
func (s *Simulator) Username() string   { return s.cfg.Username }
func (s *Simulator) Token() string      { return s.cfg.Token }
func (s *Simulator) CustomerID() string { return s.cfg.CustomerID }

// SetFileBase points the links the API hands out at base (the file host's
// URL).
func (s *Simulator) SetFileBase(base string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fileBase = strings.TrimRight(base, "/")
}

// SetFileLink makes the API hand out link as file_url, as it is (an empty
// link goes back to FileBase): a link to another host, or over http, for
// tests of what syncer refuses.
func (s *Simulator) SetFileLink(link string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fixedLink = link
}

// SetFaults and SetFileFaults replace the fault knobs of the API and of
// the file host.
func (s *Simulator) SetFaults(f fault.Faults)     { s.api.Set(f) }
func (s *Simulator) SetFileFaults(f fault.Faults) { s.files.Set(f) }

// Stats and FileStats return what the API and the file host answered.
func (s *Simulator) Stats() fault.Stats     { return s.api.Stats() }
func (s *Simulator) FileStats() fault.Stats { return s.files.Stats() }

// Sessions returns every session held, oldest first (open or not).
func (s *Simulator) Sessions() []Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Session, len(s.sessions))
	for i, se := range s.sessions {
		out[i] = se.export()
	}
	return out
}

// OpenSessions returns the sessions the file lists at the clock's now.
func (s *Simulator) OpenSessions() []Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Session
	for _, se := range s.open(s.cfg.Now().UnixMilli()) {
		out = append(out, se.export())
	}
	return out
}

func (se session) export() Session {
	return Session{Phone: se.user.phone, CreatedAt: se.created, Bad: se.bad}
}

// APIQueries returns the query strings the session API was asked with,
// authorised or not.
func (s *Simulator) APIQueries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.apiQueries...)
}

// FileRequests returns the headers of every request the file host got:
// syncer must never send it Wavy's credentials.
func (s *Simulator) FileRequests() []http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]http.Header, len(s.fileRequests))
	for i, h := range s.fileRequests {
		out[i] = h.Clone()
	}
	return out
}

// Describe is the simulator's entry in the index of internal/sim's server.
func (s *Simulator) Describe(prefix string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "Wavy  %s  (headers userName: %s, authenticationToken: <token>)\n", prefix, s.cfg.Username)
	fmt.Fprintf(&b, "  GET %sv1/session?customerId=%s   answers {\"file_url\"}\n", prefix, s.cfg.CustomerID)
	base := s.fileBase
	if base == "" {
		base = "http://<this host>" + prefix + "files"
	}
	fmt.Fprintf(&b, "  session files at %s/...\n", base)
	fmt.Fprintf(&b, "  %d sessions (%d open), %d MO messages and %d outbound messages made\n",
		len(s.sessions), len(s.open(s.cfg.Now().UnixMilli())), s.moCount, len(s.outbound))
	return b.String()
}
