package digisacsim

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // transcripts are in America/Sao_Paulo time, with or without system tzdata

	"syncer/internal/sim/fault"
	"syncer/internal/sim/sample"
	"syncer/internal/sim/wire"
)

// Simulator simulates the parts of Digisac's API that syncer reads, as
// shared/api-docs/FACTS.md and the public Postman collection describe them.
// Routes are relative to wherever the handler is mounted (the real ones sit
// under https://<company>.digisac.app):
//
//	POST /api/v1/oauth/token       password grant (and refresh_token) → access token
//	GET  /api/v1/{resource}        services, users, departments, contacts, tickets, messages
//	GET  /api/v1/{resource}/{id}   one record, with includes
//	POST /api/v1/tickets/export    {"protocol":"..."} → the ticket's TXT transcript
//
// Lists answer {"data","total","limit","skip","currentPage","lastPage","from","to"}
// and take Sequelize-style filters in both spellings (the query_*.go files).
//
// A request goes through these checks, in order:
//
//  1. latency (Faults.Latency), abandoned if the client gives up;
//  2. route: anything else → 404 NotFoundHttpError; wrong method → 405;
//  3. auth: "Authorization: Bearer <token>" with Config.Token or an
//     unexpired token from /oauth/token, else 401 HttpError. For /oauth/token,
//     the credentials instead (401 "Invalid credentials"). Neither ever
//     reaches the fault knobs: a wrong token gets 401, never 429 or 5xx;
//  4. faults: 5xx burst, then 429 with Retry-After;
//  5. parameters: bad query JSON, unknown operator or field, perPage outside
//     1..1000 → 400 BadRequestHttpError; unknown record or protocol → 404;
//  6. for lists, ChurnPerList edits and the OnList hook, then 200, whose body
//     may be cut off midway (Faults.CutBodyShare).
//
// Data is generated from the seed (same seed, same Records) and kept as
// structs; JSON is rendered only when served. Safe for concurrent use.
type Simulator struct {
	cfg    Config
	faults *fault.Injector
	loc    *time.Location // America/Sao_Paulo, for transcripts

	mu          sync.RWMutex
	rng         *rand.Rand // data generator; under mu (write)
	accountID   string
	services    []dsService
	users       []dsUser
	departments []dsDepartment
	contacts    []dsContact
	tickets     []dsTicket
	messages    []dsMessage
	topics      []dsTopic
	byID        map[string]map[string]int32 // resource → id → row
	protocols   map[string]int32            // protocol → ticket row
	tables      map[string]*dsTable         // built once; their changes under mu
	onList      func(resource string, page int)
	// until is the latest instant (unix ms) a record being made may carry:
	// the clock when the generation, the Create or the Edit began. Nothing
	// is dated after it; what would be is not made (see Config.Now).
	until int64

	idxMu sync.Mutex // sorted-order caches of the tables

	tokMu   sync.Mutex
	tokRng  *rand.Rand
	access  map[string]int64 // issued access token → expiry, unix ms on cfg.Now
	refresh map[string]bool  // issued refresh tokens still usable
}

var _ http.Handler = (*Simulator)(nil)

// Config configures a Digisac simulator. Zero fields take their
// defaults.
type Config struct {
	Seed int64
	// Token is the personal access token accepted as a Bearer token; default
	// DefaultToken (40 hex characters, like the ones the UI creates).
	Token string
	// Username and Password are the password-grant credentials of
	// /api/v1/oauth/token; defaults "ana@acme.com.br" and "senha-secreta".
	Username, Password string
	// TokenTTL is the lifetime of tokens issued by /oauth/token, measured on
	// Now; default 1h.
	TokenTTL time.Duration
	// Services (connections), Users and Departments default to 3, 5 and 3.
	Services, Users, Departments int
	// Contacts defaults to 50.
	Contacts int
	// Tickets defaults to 100; each has a contact and most a user and a
	// department. Fewer when some would only start after Now (see Now).
	Tickets int
	// MessagesPerTicket is the average number of message rows per ticket,
	// ticket events included; each ticket draws between half and one and a
	// half times it (at least 3). Default 12. A ticket in progress at Now
	// has fewer (see Now).
	MessagesPerTicket int
	// TicketEvery is the average gap between the starts of consecutive
	// tickets; default 1h. The first ticket starts an hour after Start.
	TicketEvery time.Duration
	// Start is the createdAt of the oldest record; default 2024-01-01T00:00:00Z.
	Start time.Time
	// Now is the simulator's clock: of token expiry, LateFileDelay and of
	// records created or edited later; default time.Now. Nothing the
	// simulator holds is dated after Now at the moment it was made:
	//
	//   - New generates the history as it stands at Now(), read once. The
	//     tickets are planned in full as Start, TicketEvery, Tickets and
	//     MessagesPerTicket say, then generation stops at the clock: tickets
	//     that would start later are not generated; a ticket in progress
	//     keeps the messages sent by then and stays open (its transfer or
	//     close has not happened yet); records that would be created later
	//     (contacts whose first ticket has not come, all of them when Start
	//     is after Now) are created at Now(); every updatedAt is at most
	//     Now(). Generation is not squeezed to fit, so what stands before
	//     Now() is the same whatever Now() is, and Count and Records say
	//     what is actually held and served;
	//   - Create makes records at Now(); Edit changes only records updated
	//     before Now(), to updatedAt = Now().
	Now func() time.Time
	// LateFileDelay: media messages younger than this (createdAt against Now)
	// have no file url yet under include=file; default 0.
	LateFileDelay time.Duration
	// PerPageCap, when set, silently serves at most this many records per
	// page whatever perPage asks (lastPage and the rest follow the cap), as
	// a server with a lower limit than documented would.
	PerPageCap int
	// ChurnPerList is how many random records of a resource are edited (as
	// Edit does) before each list request of that resource is served,
	// simulating activity while a client pages; default 0.
	ChurnPerList int
	// BadShare is the share of messages malformed so that a consumer must
	// reject them: timestamp "not a date" or isFromMe "yes" (seeded, one of
	// the two). Default 0.
	BadShare float64
	Faults   fault.Faults
}

// DefaultToken is the personal access token a simulator accepts when
// Config.Token is empty.
const DefaultToken = "5f0c2a9e7b3d4c18e6a1f0b92d7c4e3a8b6f1d05"

// resourceNames are the resources the list endpoints serve, in the order a
// sync usually reads them.
var resourceNames = []string{"services", "users", "departments", "contacts", "tickets", "messages"}

// Resources returns the resources the list endpoints serve
// ("services", "users", "departments", "contacts", "tickets", "messages").
func Resources() []string { return slices.Clone(resourceNames) }

// Streams of the simulator's generators (see sample.NewRand): its data, its
// faults and the tokens it issues draw from independent sequences of the seed.
const (
	streamData   uint64 = 0x6469676973616364 // "digisacd"
	streamFaults uint64 = 0x6469676973616366 // "digisacf"
	streamTokens uint64 = 0x6469676973616374 // "digisact"
)

// New builds a simulator and all its initial data: 10,000 tickets of
// 12 messages take a few hundred milliseconds at most.
func New(cfg Config) *Simulator {
	if cfg.Token == "" {
		cfg.Token = DefaultToken
	}
	if cfg.Username == "" {
		cfg.Username = "ana@acme.com.br"
	}
	if cfg.Password == "" {
		cfg.Password = "senha-secreta"
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = time.Hour
	}
	defInt := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	defInt(&cfg.Services, 3)
	defInt(&cfg.Users, 5)
	defInt(&cfg.Departments, 3)
	defInt(&cfg.Contacts, 50)
	defInt(&cfg.Tickets, 100)
	defInt(&cfg.MessagesPerTicket, 12)
	if cfg.TicketEvery <= 0 {
		cfg.TicketEvery = time.Hour
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	loc, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		loc = time.FixedZone("-03", -3*3600) // cannot happen with time/tzdata linked in
	}
	d := &Simulator{
		cfg:       cfg,
		faults:    fault.NewInjector(sample.NewRand(cfg.Seed, streamFaults), cfg.Faults, fault.Bodies{RateLimit: bodyRateLimited, ServerError: bodyServerError}),
		loc:       loc,
		rng:       sample.NewRand(cfg.Seed, streamData),
		tokRng:    sample.NewRand(cfg.Seed, streamTokens),
		access:    map[string]int64{},
		refresh:   map[string]bool{},
		protocols: make(map[string]int32, cfg.Tickets),
		byID:      map[string]map[string]int32{},
	}
	for _, r := range resourceNames {
		d.byID[r] = map[string]int32{}
	}
	d.buildTables()
	d.until = cfg.Now().UnixMilli()
	d.generate()
	for _, t := range d.tables {
		t.changes = nil // nothing is cached yet
	}
	return d
}

// Records returns every current record of resource ("services", "users",
// "departments", "contacts", "tickets" or "messages") exactly as the list
// endpoint renders it without includes, sorted by id. Removed records are
// left out. Unknown resources give nil.
func (d *Simulator) Records(resource string) []json.RawMessage {
	t, ok := d.tables[resource]
	if !ok {
		return nil
	}
	keys, key, _ := parseOrder(t, nil)
	d.mu.RLock()
	defer d.mu.RUnlock()
	rows := d.sortedRows(t, keys, key)
	out := make([]json.RawMessage, 0, len(rows))
	for _, i := range rows {
		if t.alive(i) {
			out = append(out, wire.Marshal(d.render(resource, i, renderCtx{})))
		}
	}
	return out
}

// Count returns how many current records resource has.
func (d *Simulator) Count(resource string) int {
	t, ok := d.tables[resource]
	if !ok {
		return 0
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	n := 0
	for i := range t.size() {
		if t.alive(int32(i)) {
			n++
		}
	}
	return n
}

// Protocols returns every ticket's protocol, in the order the tickets were
// created.
func (d *Simulator) Protocols() []string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]string, len(d.tickets))
	for i := range d.tickets {
		out[i] = d.tickets[i].protocol
	}
	return out
}

// Token returns the personal access token the simulator accepts.
func (d *Simulator) Token() string { return d.cfg.Token }

// OnList sets a hook called before each list request is served (after auth,
// faults and parameter checks, and after ChurnPerList), with the resource
// and the page asked for. Tests use it to edit or create records between
// pages. nil removes it. The hook may call Edit, Create and Remove.
func (d *Simulator) OnList(f func(resource string, page int)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.onList = f
}

// SetFaults replaces the fault knobs; a 5xx burst in progress ends.
func (d *Simulator) SetFaults(f fault.Faults) { d.faults.Set(f) }

// Stats returns what the simulator has answered so far.
func (d *Simulator) Stats() fault.Stats { return d.faults.Stats() }

// Describe is the simulator's entry in the index of internal/sim's server:
// its routes, credentials and counts, under prefix.
func (d *Simulator) Describe(prefix string) string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	var b strings.Builder
	fmt.Fprintf(&b, "Digisac  %s  (Authorization: Bearer %s)\n", prefix, d.cfg.Token)
	fmt.Fprintf(&b, "  POST %sapi/v1/oauth/token   {\"grant_type\":\"password\",\"client_id\":\"api\",\"client_secret\":\"secret\",\"username\":%q,\"password\":%q}\n",
		prefix, d.cfg.Username, d.cfg.Password)
	fmt.Fprintf(&b, "  GET  %sapi/v1/{services,users,departments,contacts,tickets,messages}?perPage=N&page=N&query={...}\n", prefix)
	fmt.Fprintf(&b, "  POST %sapi/v1/tickets/export   {\"protocol\":\"...\"}\n", prefix)
	fmt.Fprintf(&b, "  %d services, %d users, %d departments, %d contacts, %d tickets, %d messages\n",
		len(d.services), len(d.users), len(d.departments), len(d.contacts), len(d.tickets), len(d.messages))
	if len(d.tickets) > 0 {
		fmt.Fprintf(&b, "  e.g. protocol %s\n", d.tickets[0].protocol)
	}
	return b.String()
}
