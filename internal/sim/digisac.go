package sim

import (
	"bytes"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // transcripts are in America/Sao_Paulo time, with or without system tzdata

	"syncer/internal/sim/fault"
	"syncer/internal/sim/sample"
	"syncer/internal/sim/wire"
)

// Digisac simulates the parts of Digisac's API that syncer reads, as
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
// and take Sequelize-style filters in both spellings (digisac_query.go).
//
// A request goes through these checks, in order:
//
//  1. latency (Faults.Latency), abandoned if the client gives up;
//  2. route: anything else → 404 NotFoundHttpError; wrong method → 405;
//  3. auth: "Authorization: Bearer <token>" with DigisacConfig.Token or an
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
type Digisac struct {
	cfg    DigisacConfig
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

	idxMu sync.Mutex // sorted-order caches of the tables

	tokMu   sync.Mutex
	tokRng  *rand.Rand
	access  map[string]int64 // issued access token → expiry, unix ms on cfg.Now
	refresh map[string]bool  // issued refresh tokens still usable
}

var _ http.Handler = (*Digisac)(nil)

// DigisacConfig configures a Digisac simulator. Zero fields take their
// defaults.
type DigisacConfig struct {
	Seed int64
	// Token is the personal access token accepted as a Bearer token; default
	// DigisacDefaultToken (40 hex characters, like the ones the UI creates).
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
	// department.
	Tickets int
	// MessagesPerTicket is the average number of message rows per ticket,
	// ticket events included; each ticket draws between half and one and a
	// half times it (at least 3). Default 12.
	MessagesPerTicket int
	// TicketEvery is the average gap between the starts of consecutive
	// tickets; default 1h. The first ticket starts an hour after Start.
	TicketEvery time.Duration
	// Start is the createdAt of the oldest record; default 2024-01-01T00:00:00Z.
	Start time.Time
	// Now is the clock of token expiry, LateFileDelay and of records created
	// or edited later; default time.Now.
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

// DigisacDefaultToken is the personal access token a simulator accepts when
// DigisacConfig.Token is empty.
const DigisacDefaultToken = "5f0c2a9e7b3d4c18e6a1f0b92d7c4e3a8b6f1d05"

// dsResources are the resources the list endpoints serve, in the order a
// sync usually reads them.
var dsResources = []string{"services", "users", "departments", "contacts", "tickets", "messages"}

// DigisacResources returns the resources the list endpoints serve
// ("services", "users", "departments", "contacts", "tickets", "messages").
func DigisacResources() []string { return slices.Clone(dsResources) }

// Streams of the Digisac simulator's generators (see newRand).
const (
	streamDigisacData   uint64 = 0x6469676973616364 // "digisacd"
	streamDigisacFaults uint64 = 0x6469676973616366 // "digisacf"
	streamDigisacTokens uint64 = 0x6469676973616374 // "digisact"
)

// Digisac's error bodies: {"error","message","status"}. 401 and 400 have
// been seen from a real server; 404 and 405 follow their shape; the 429 and
// 5xx bodies are unconfirmed (nothing documents a limit).
var (
	digisacUnauthorized   = digisacError("HttpError", "Invalid token: access token is invalid", http.StatusUnauthorized)
	digisacBadCredentials = digisacError("HttpError", "Invalid credentials", http.StatusUnauthorized)
	digisacRateLimited    = digisacError("TooManyRequestsHttpError", "Too many requests", http.StatusTooManyRequests)
	digisacServerError    = digisacError("HttpError", "Internal Server Error", http.StatusInternalServerError)
	digisacNoRoute        = digisacError("NotFoundHttpError", "Not Found", http.StatusNotFound)
	digisacNoTicket       = digisacError("NotFoundHttpError", "Ticket not found", http.StatusNotFound)
	digisacNoMethod       = digisacError("MethodNotAllowedHttpError", "Method Not Allowed", http.StatusMethodNotAllowed)
)

func digisacError(name, message string, status int) []byte {
	return wire.Marshal(struct {
		Error   string `json:"error"`
		Message string `json:"message"`
		Status  int    `json:"status"`
	}{name, message, status})
}

func digisacBadRequest(message string) []byte {
	return digisacError("BadRequestHttpError", message, http.StatusBadRequest)
}

// digisacFileBase is where file urls point. Made up: real urls are
// unconfirmed (most likely signed object-storage urls).
const digisacFileBase = "https://storage.digisac.app/files/"

// Message types.
type dsType uint8

const (
	dsChat dsType = iota
	dsImage
	dsAudio
	dsPTT
	dsVideo
	dsDocument
	dsSticker
	dsComment
	dsEvent
)

var dsTypeNames = [...]string{"chat", "image", "audio", "ptt", "video", "document", "sticker", "comment", "ticket"}

func (t dsType) media() bool { return t >= dsImage && t <= dsSticker }

// dsMedia describes the file of each media type and how a transcript shows it.
var dsMedia = [dsSticker + 1]struct{ prefix, ext, mimetype, label string }{
	dsImage:    {"IMG", "jpg", "image/jpeg", "[Imagem]"},
	dsAudio:    {"AUD", "mp3", "audio/mpeg", "[Áudio]"},
	dsPTT:      {"PTT", "ogg", "audio/ogg; codecs=opus", "[Mensagem de voz]"},
	dsVideo:    {"VID", "mp4", "video/mp4", "[Vídeo]"},
	dsDocument: {"DOC", "pdf", "application/pdf", "[Documento]"},
	dsSticker:  {"STK", "webp", "image/webp", "[Figurinha]"},
}

var (
	dsInboundTypes  = []sample.Weighted[dsType]{{V: dsChat, W: 78}, {V: dsImage, W: 7}, {V: dsAudio, W: 2}, {V: dsPTT, W: 6}, {V: dsVideo, W: 2}, {V: dsDocument, W: 3}, {V: dsSticker, W: 2}}
	dsOutboundTypes = []sample.Weighted[dsType]{{V: dsChat, W: 88}, {V: dsImage, W: 4}, {V: dsDocument, W: 5}, {V: dsAudio, W: 1}, {V: dsVideo, W: 1}, {V: dsPTT, W: 1}}
	dsAcks          = []sample.Weighted[int8]{{V: 3, W: 60}, {V: 2, W: 25}, {V: 1, W: 10}, {V: 0, W: 5}}
)

// Who wrote a message.
type dsSide uint8

const (
	sideContact dsSide = iota // inbound
	sideUser                  // an agent (outbound, or an internal comment)
	sideBot
	sideSystem // ticket events
)

// Ticket events (type "ticket" rows).
const (
	evNone uint8 = iota
	evOpen
	evTransfer
	evClose
)

// Malformed messages (BadShare).
const (
	dsGood uint8 = iota
	dsBadTimestamp
	dsBadIsFromMe
)

// Transfer actions of ticketTransfers entries. Unconfirmed beyond the field
// name: every ticket gets an "opened" entry, one per transfer, and "closed".
const (
	actOpened      = "opened"
	actTransferred = "transferred"
	actClosed      = "closed"
)

type dsService struct {
	id        string
	seq       int    // the 8 of "8 - Vendas - 41990000001"
	label     string // "Vendas"
	phone     string // 5541990000001
	connected bool
	bot       string // botId, "" when none
	selfID    string // fromId of what the company sends through it (FACTS: neither contact nor user)
	dept      int32  // defaultDepartmentId, -1 when none
	created   int64
	updated   int64
	removed   bool
}

func (s *dsService) name() string {
	return strconv.Itoa(s.seq) + " - " + s.label + " - " + s.phone[2:]
}

// myID is the WhatsApp id of the number: without the 9 that mobile numbers
// gained in 2012-2016 ("554190000001@c.us" for 5541990000001).
func (s *dsService) myID() string { return s.phone[:4] + s.phone[5:] + "@c.us" }

type dsUser struct {
	id, name, email string
	internalChat    bool
	online          bool
	created         int64
	updated         int64
	removed         bool
}

type dsDepartment struct {
	id, name string
	created  int64
	updated  int64
	removed  bool
}

type dsContact struct {
	id, name, alt, internal, number, note string
	group, online                         bool
	service                               int32
	defDept, defUser                      int32 // -1 when none
	open                                  int32 // open ticket, -1 when none
	created, updated                      int64
	lastMsg                               int64 // 0: never
}

type dsTopic struct{ id, name string }

type dsTransfer struct {
	id               string
	action           string
	fromUser, toUser int32
	fromDept, toDept int32
	comments         string
	created          int64
}

type dsTicket struct {
	id, protocol, origin string
	open                 bool
	started, ended       int64 // ended 0 while open
	contact, user, dept  int32 // user and dept -1 when none
	created, updated     int64
	topics               []int32
	transfers            []dsTransfer
	msgs                 []int32 // its messages, in the order they happened
}

type dsMessage struct {
	id, text, quoted, fileID string
	created, updated, ts     int64
	ticket                   int32
	user                     int32 // userId, -1 when none
	tUser, tDept             int32 // ticketUserId, ticketDepartmentId
	typ                      dsType
	side                     dsSide
	event                    uint8
	ack                      int8
	hasText                  bool
	isNew, isFirst           bool
	bad                      uint8
}

// NewDigisac builds a simulator and all its initial data: 10,000 tickets of
// 12 messages take a few hundred milliseconds at most.
func NewDigisac(cfg DigisacConfig) *Digisac {
	if cfg.Token == "" {
		cfg.Token = DigisacDefaultToken
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
	d := &Digisac{
		cfg:       cfg,
		faults:    fault.NewInjector(sample.NewRand(cfg.Seed, streamDigisacFaults), cfg.Faults, fault.Bodies{RateLimit: digisacRateLimited, ServerError: digisacServerError}),
		loc:       loc,
		rng:       sample.NewRand(cfg.Seed, streamDigisacData),
		tokRng:    sample.NewRand(cfg.Seed, streamDigisacTokens),
		access:    map[string]int64{},
		refresh:   map[string]bool{},
		protocols: make(map[string]int32, cfg.Tickets),
		byID:      map[string]map[string]int32{},
	}
	for _, r := range dsResources {
		d.byID[r] = map[string]int32{}
	}
	d.buildTables()
	d.generate()
	for _, t := range d.tables {
		t.changes = nil // nothing is cached yet
	}
	return d
}

// newUUID draws a random (version 4) UUID, lowercase. Caller holds mu
// (write) or is building.
func (d *Digisac) newUUID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], d.rng.Uint64())
	binary.LittleEndian.PutUint64(b[8:], d.rng.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// Sample data of the Digisac simulator, Portuguese like its users.
var (
	dsFirstNames = []string{
		"Ana", "João", "Maria", "José", "Francisca", "Antônio", "Adriana", "Carlos", "Juliana", "Paulo",
		"Márcia", "Lucas", "Fernanda", "Pedro", "Patrícia", "Rafael", "Aline", "Marcos", "Camila", "Gabriel",
		"Letícia", "Thiago", "Beatriz", "Felipe", "Luíza", "Bruno", "Vitória", "Rodrigo", "Sônia", "André",
		"Débora", "Caio", "Helena", "Gustavo", "Cláudia", "Mateus", "Renata", "Vinícius", "Simone", "Igor",
	}
	dsLastNames = []string{
		"Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima", "Gomes",
		"Costa", "Ribeiro", "Martins", "Carvalho", "Almeida", "Lopes", "Soares", "Fernandes", "Vieira", "Barbosa",
		"Rocha", "Dias", "Nascimento", "Andrade", "Moreira", "Nunes", "Marques", "Machado", "Mendes", "Freitas",
		"Cardoso", "Ramos", "Gonçalves", "Araújo", "Conceição",
	}
	dsDepartmentNames = []string{"Suporte", "Vendas", "Financeiro", "SAC", "Logística", "Cobrança", "Pós-venda", "Comercial", "Ouvidoria", "Retenção"}
	dsServiceLabels   = []string{"Vendas", "Suporte", "Financeiro", "SAC", "Cobrança", "Marketing", "Atendimento"}
	dsTopicNames      = []string{"Dúvida", "Reclamação", "Troca", "Entrega", "Pagamento", "Cancelamento", "Elogio", "Orçamento"}
	dsContactNotes    = []string{"", "", "", "", "Cliente VIP", "Prefere contato pelo WhatsApp", "Revendedor", "Já teve problema com entrega"}
	// dsMultilineTexts are inbound texts of several lines.
	dsMultilineTexts = []string{
		"É o 12345\ne chegou com defeito",
		"Bom dia!\nMeu pedido é o 48213\nAinda não recebi o código de rastreio",
		"Segue meu endereço:\nRua das Flores, 123 - Apto 45\nCuritiba - PR",
	}
	dsBotTexts = []string{
		"Olá! 👋 Sou o assistente virtual. Escolha uma opção:\n1 - Vendas\n2 - Suporte\n3 - Financeiro",
		"Certo! Vou te encaminhar para um atendente, aguarde um instante ⏳",
		"Recebemos sua mensagem! Em breve um de nossos atendentes vai falar com você.",
	}
	dsNoteTexts = []string{
		"Cliente pediu retorno amanhã de manhã",
		"Verificar com o financeiro se o Pix foi compensado",
		"Pedido 48213 já foi reenviado pela transportadora",
		"Cliente muito insatisfeito, tratar com prioridade ⚠️",
		"Aguardando foto do produto para abrir a troca",
		"Ligar para o cliente depois das 14h",
	}
	dsTransferComments = []string{"", "Cliente quer falar com o financeiro", "Assunto técnico, encaminhando para o suporte", "Pedido de orçamento grande"}
)

// asciiFold drops the accents of a name, for e-mail addresses.
var asciiFold = strings.NewReplacer(
	"á", "a", "à", "a", "â", "a", "ã", "a", "é", "e", "ê", "e", "í", "i", "ó", "o", "ô", "o", "õ", "o",
	"ú", "u", "ü", "u", "ç", "c", "Á", "A", "É", "E", "Í", "I", "Ó", "O", "Ú", "U", "Â", "A", "Ô", "O",
)

func (d *Digisac) fullName() (first, last string) {
	return dsFirstNames[d.rng.IntN(len(dsFirstNames))], dsLastNames[d.rng.IntN(len(dsLastNames))]
}

// Records added by generation and by Create. Caller holds mu (write) or is
// building; each logs the change for the sorted-order caches.

func (d *Digisac) addDepartment(at int64) int32 {
	i := int32(len(d.departments))
	name := dsDepartmentNames[int(i)%len(dsDepartmentNames)]
	if k := int(i) / len(dsDepartmentNames); k > 0 {
		name += " " + strconv.Itoa(k+1)
	}
	d.departments = append(d.departments, dsDepartment{id: d.newUUID(), name: name, created: at, updated: at})
	d.registered("departments", d.departments[i].id, i)
	return i
}

func (d *Digisac) addUser(at int64) int32 {
	i := int32(len(d.users))
	first, last := d.fullName()
	email := strings.ToLower(asciiFold.Replace(first+"."+last)) + "@acme.com.br"
	for _, u := range d.users {
		if u.email == email {
			email = strings.ToLower(asciiFold.Replace(first+"."+last)) + strconv.Itoa(int(i)) + "@acme.com.br"
			break
		}
	}
	d.users = append(d.users, dsUser{
		id: d.newUUID(), name: first + " " + last, email: email,
		internalChat: d.rng.IntN(4) > 0, online: d.rng.IntN(2) == 0, created: at, updated: at,
	})
	d.registered("users", d.users[i].id, i)
	return i
}

func (d *Digisac) addService(at int64) int32 {
	i := int32(len(d.services))
	s := dsService{
		id:        d.newUUID(),
		seq:       1 + 2*int(i) + d.rng.IntN(2),
		label:     dsServiceLabels[int(i)%len(dsServiceLabels)],
		phone:     sample.BrazilMobile(d.rng),
		connected: true,
		selfID:    d.newUUID(),
		dept:      -1,
		created:   at,
		updated:   at,
	}
	if d.rng.IntN(2) == 0 {
		s.bot = d.newUUID()
	}
	if n := len(d.departments); n > 0 {
		s.dept = int32(d.rng.IntN(n))
	}
	d.services = append(d.services, s)
	d.registered("services", s.id, i)
	return i
}

func (d *Digisac) addContact(at int64) int32 {
	r := d.rng
	i := int32(len(d.contacts))
	first, last := d.fullName()
	number := sample.BrazilMobile(r)
	c := dsContact{
		id:       d.newUUID(),
		name:     first + " " + last,
		alt:      first + " " + last[:1] + ".",
		internal: number[2:],
		number:   number,
		note:     dsContactNotes[r.IntN(len(dsContactNotes))],
		group:    r.IntN(30) == 0,
		online:   r.IntN(5) == 0,
		service:  int32(r.IntN(len(d.services))),
		defDept:  -1,
		defUser:  -1,
		open:     -1,
		created:  at,
		updated:  at,
	}
	if r.IntN(3) == 0 {
		c.internal = c.name
	}
	if r.IntN(10) == 0 && len(d.departments) > 0 {
		c.defDept = int32(r.IntN(len(d.departments)))
	}
	if r.IntN(10) == 0 && len(d.users) > 0 {
		c.defUser = int32(r.IntN(len(d.users)))
	}
	d.contacts = append(d.contacts, c)
	d.registered("contacts", c.id, i)
	return i
}

// registered indexes a new record by id and logs it.
func (d *Digisac) registered(resource, id string, i int32) {
	d.byID[resource][id] = i
	d.changed(resource, i)
}

// changed logs that row i of resource was created, edited or removed.
func (d *Digisac) changed(resource string, i int32) {
	t := d.tables[resource]
	t.changes = append(t.changes, i)
}

// dsPlan is a ticket to generate.
type dsPlan struct {
	start   int64
	contact int32
	n       int
	open    bool
}

const (
	dsMinGap = 10_000  // ms between two messages of a ticket, at least
	dsMaxGap = 300_000 // and at most
)

// generate builds the initial data. The oldest record (the first
// department) is created exactly at Start.
func (d *Digisac) generate() {
	cfg := d.cfg
	r := d.rng
	start := cfg.Start.UnixMilli()
	d.accountID = d.newUUID()
	for i := range cfg.Departments {
		d.addDepartment(start + int64(i)*1000)
	}
	for i := range cfg.Users {
		d.addUser(start + 60_000 + int64(i)*1000)
	}
	for i := range cfg.Services {
		d.addService(start + 120_000 + int64(i)*1000)
	}
	for _, name := range dsTopicNames {
		d.topics = append(d.topics, dsTopic{id: d.newUUID(), name: name})
	}
	for range cfg.Contacts {
		d.addContact(0) // created just before its first ticket, below
	}

	// Plan the tickets in time order: a contact has one ticket at a time,
	// and only its last one may still be open.
	plans := make([]dsPlan, cfg.Tickets)
	busy := make([]int64, len(d.contacts)) // end of the contact's last ticket, at most
	first := make([]int64, len(d.contacts))
	last := make([]int32, len(d.contacts))
	for i := range last {
		last[i] = -1
	}
	at := start + 3_600_000
	gap := max(cfg.TicketEvery.Milliseconds(), 1)
	m := cfg.MessagesPerTicket
	for k := range plans {
		if k > 0 {
			at += 1 + r.Int64N(2*gap)
		}
		n := max(3, m/2+r.IntN(m+1))
		c := int32(r.IntN(len(d.contacts)))
		for try := 0; busy[c] > at && try < len(d.contacts); try++ {
			c = (c + 1) % int32(len(d.contacts))
		}
		busy[c] = at + int64(n+1)*dsMaxGap
		if last[c] < 0 {
			first[c] = at
		}
		last[c] = int32(k)
		plans[k] = dsPlan{start: at, contact: c, n: n}
	}
	withTickets := 0
	for _, l := range last {
		if l >= 0 {
			withTickets++
		}
	}
	pOpen := 0.0
	if withTickets > 0 {
		pOpen = min(1, 0.2*float64(cfg.Tickets)/float64(withTickets))
	}
	for c, l := range last {
		ci := &d.contacts[c]
		if l >= 0 {
			plans[l].open = r.Float64() < pOpen
			ci.created = max(start+1000, first[c]-60_000-r.Int64N(30*60_000))
		} else {
			ci.created = start + 1000 + r.Int64N(max(at-start, 1))
		}
		ci.updated = ci.created
	}
	d.messages = make([]dsMessage, 0, cfg.Tickets*m+cfg.Tickets/2)
	d.tickets = make([]dsTicket, 0, cfg.Tickets)
	for _, p := range plans {
		d.buildTicket(p)
	}
}

// newTicket adds a ticket of contact c opened at `at` (no messages yet).
// Caller holds mu (write) or is building.
func (d *Digisac) newTicket(c int32, at int64, open, assign bool) int32 {
	r := d.rng
	ct := &d.contacts[c]
	t := dsTicket{id: d.newUUID(), contact: c, open: open, started: at, created: at, updated: at, origin: "automatic", user: -1, dept: -1}
	if svc := &d.services[ct.service]; svc.dept >= 0 && r.IntN(10) < 6 {
		t.dept = svc.dept
	} else if n := len(d.departments); n > 0 {
		t.dept = int32(r.IntN(n))
	}
	if n := len(d.users); n > 0 && assign {
		t.user = int32(r.IntN(n))
		if r.IntN(10) == 0 {
			t.origin = "manual" // an agent started the conversation
		}
	}
	for range r.IntN(3) {
		k := int32(r.IntN(len(d.topics)))
		if !slices.Contains(t.topics, k) {
			t.topics = append(t.topics, k)
		}
	}
	t.protocol = d.newProtocol(at)
	t.transfers = append(t.transfers, dsTransfer{id: d.newUUID(), action: actOpened, fromUser: -1, fromDept: -1, toUser: t.user, toDept: t.dept, created: at})
	i := int32(len(d.tickets))
	d.tickets = append(d.tickets, t)
	d.protocols[t.protocol] = i
	d.registered("tickets", t.id, i)
	if open {
		ct.open = i
	}
	return i
}

// newProtocol draws a ticket protocol: the opening date (São Paulo) and five
// digits, 13 digits in all ("2025102948644"), unique.
func (d *Digisac) newProtocol(at int64) string {
	day := time.UnixMilli(at).In(d.loc).Format("20060102")
	for try := 0; ; try++ {
		n := d.rng.IntN(100_000)
		if try > 1000 { // a very busy day: take the next free number
			n = try % 100_000
		}
		p := day + fmt.Sprintf("%05d", n)
		if _, taken := d.protocols[p]; !taken {
			return p
		}
	}
}

// addMessage appends m to its ticket, bumping the ticket's and the contact's
// updatedAt and the contact's lastMessageAt. Caller holds mu (write) or is
// building.
func (d *Digisac) addMessage(m dsMessage) int32 {
	if t := &d.tickets[m.ticket]; len(t.msgs) > 0 {
		// timestamp (WhatsApp's) is a little earlier than createdAt; keep
		// it from going back in time within the ticket.
		m.ts = max(m.ts, d.messages[t.msgs[len(t.msgs)-1]].ts)
	}
	m.id = d.newUUID()
	if m.typ.media() {
		m.fileID = d.newUUID()
	}
	if uBad, kind := d.rng.Float64(), d.rng.IntN(2); uBad < d.cfg.BadShare {
		m.bad = dsBadTimestamp + uint8(kind)
	}
	i := int32(len(d.messages))
	d.messages = append(d.messages, m)
	d.registered("messages", m.id, i)
	t := &d.tickets[m.ticket]
	t.msgs = append(t.msgs, i)
	if m.updated > t.updated {
		t.updated = m.updated
		d.changed("tickets", m.ticket)
	}
	c := &d.contacts[t.contact]
	if m.created > c.lastMsg {
		c.lastMsg = m.created
		c.updated = max(c.updated, m.created)
		d.changed("contacts", t.contact)
	}
	return i
}

// chatMessage draws a message written by side at `at` in ticket ti: its type,
// text, ack and updatedAt. fresh messages (Create) have just arrived.
func (d *Digisac) chatMessage(ti int32, side dsSide, at int64, fresh bool) dsMessage {
	r := d.rng
	t := &d.tickets[ti]
	m := dsMessage{ticket: ti, side: side, created: at, updated: at, user: -1, tUser: t.user, tDept: t.dept, ack: -1, isNew: fresh}
	m.ts = (at - r.Int64N(1500)) / 1000 * 1000
	if fresh {
		m.ts = at / 1000 * 1000
	}
	uText, uCaption, uMulti := r.Uint32(), r.IntN(10), r.IntN(20)
	switch side {
	case sideContact:
		m.typ = sample.Pick(r, dsInboundTypes)
		m.text, m.hasText = sample.CustomerTexts[int(uText)%len(sample.CustomerTexts)], true
		if uMulti == 0 {
			m.text = dsMultilineTexts[int(uText)%len(dsMultilineTexts)]
		}
		if !fresh {
			m.updated = at + r.Int64N(3000)
		}
	case sideUser:
		m.typ = sample.Pick(r, dsOutboundTypes)
		m.user = t.user
		m.text, m.hasText = sample.AgentTexts[int(uText)%len(sample.AgentTexts)], true
	case sideBot:
		m.typ = dsChat
		m.text, m.hasText = dsBotTexts[int(uText)%len(dsBotTexts)], true
	}
	if m.typ.media() {
		m.text, m.hasText = "", false
		if uCaption < 3 && m.typ != dsAudio && m.typ != dsPTT && m.typ != dsSticker {
			m.text, m.hasText = sample.CaptionTexts[int(uText)%len(sample.CaptionTexts)], true
		}
	}
	if side != sideContact {
		m.ack = sample.Pick(r, dsAcks)
		if fresh {
			m.ack = int8(r.IntN(2))
		}
		if !fresh {
			switch m.ack {
			case 1:
				m.updated = at + 500 + r.Int64N(2500)
			case 2:
				m.updated = at + 1000 + r.Int64N(60_000)
			case 3:
				m.updated = at + 5000 + r.Int64N(30*60_000)
			}
		}
	}
	// Now and then a reply quotes an earlier message of the ticket.
	if r.IntN(30) == 0 {
		for k := len(t.msgs) - 1; k >= 0; k-- {
			if q := &d.messages[t.msgs[k]]; q.typ != dsEvent && q.typ != dsComment {
				m.quoted = q.id
				break
			}
		}
	}
	return m
}

// eventMessage is a ticket event row (type "ticket") at `at` by user u.
func (d *Digisac) eventMessage(ti int32, ev uint8, u int32, at int64) dsMessage {
	t := &d.tickets[ti]
	return dsMessage{ticket: ti, typ: dsEvent, side: sideSystem, event: ev, created: at, updated: at, ts: at / 1000 * 1000,
		user: u, tUser: t.user, tDept: t.dept, ack: -1}
}

// commentMessage is an internal note by the ticket's agent.
func (d *Digisac) commentMessage(ti int32, at int64, fresh bool) dsMessage {
	t := &d.tickets[ti]
	text := dsNoteTexts[d.rng.IntN(len(dsNoteTexts))]
	return dsMessage{ticket: ti, typ: dsComment, side: sideUser, created: at, updated: at, ts: at / 1000 * 1000,
		user: t.user, tUser: t.user, tDept: t.dept, ack: -1, text: text, hasText: true, isNew: fresh}
}

// buildTicket generates a ticket of the initial data with its p.n message
// rows: the ticketOpen event, the conversation (maybe a ticketTransfer event
// in the middle, internal comments, a bot greeting) and, once closed, the
// ticketClose event.
func (d *Digisac) buildTicket(p dsPlan) {
	r := d.rng
	assign := !p.open || r.IntN(10) >= 3 // 30% of open tickets wait in the queue
	ti := d.newTicket(p.contact, p.start, p.open, assign)
	t := &d.tickets[ti]
	at := p.start
	opener := int32(-1)
	if t.origin == "manual" {
		opener = t.user
	}
	d.addMessage(d.eventMessage(ti, evOpen, opener, at))
	chats := p.n - 1
	if !p.open {
		chats--
	}
	transferAt := -1
	if chats >= 5 && t.user >= 0 && (len(d.users) > 1 || len(d.departments) > 1) && r.IntN(5) == 0 {
		transferAt = 2 + r.IntN(chats-3)
	}
	bot := d.services[d.contacts[p.contact].service].bot != "" && t.origin == "automatic"
	next := sideContact
	if t.origin == "manual" {
		next = sideUser
	}
	first := true
	for k := range chats {
		if k == 0 {
			at += 1 + r.Int64N(999) // the message that opened the ticket
		} else {
			at += dsMinGap + r.Int64N(dsMaxGap-dsMinGap)
		}
		t = &d.tickets[ti]
		switch {
		case k == transferAt:
			d.transfer(ti, at)
			continue
		case k == 1 && bot:
			d.addMessage(d.chatMessage(ti, sideBot, at, false))
			continue
		case t.user >= 0 && k > 1 && r.IntN(16) == 0:
			d.addMessage(d.commentMessage(ti, at, false))
			continue
		}
		side := next
		if side == sideUser && t.user < 0 {
			side = sideContact // nobody has taken the ticket yet
		}
		m := d.chatMessage(ti, side, at, false)
		m.isFirst = first
		first = false
		d.addMessage(m)
		if r.IntN(10) < 7 {
			if next == sideContact {
				next = sideUser
			} else {
				next = sideContact
			}
		}
	}
	if !p.open {
		at += dsMinGap + r.Int64N(dsMaxGap-dsMinGap)
		d.close(ti, at)
	}
}

// transfer moves ticket ti to another department and/or agent at `at`: a
// ticketTransfer event and a ticketTransfers entry.
func (d *Digisac) transfer(ti int32, at int64) {
	r := d.rng
	t := &d.tickets[ti]
	tr := dsTransfer{id: d.newUUID(), action: actTransferred, fromUser: t.user, fromDept: t.dept, toUser: t.user, toDept: t.dept,
		comments: dsTransferComments[r.IntN(len(dsTransferComments))], created: at}
	if n := len(d.departments); n > 1 {
		tr.toDept = (max(t.dept, 0) + 1 + int32(r.IntN(n-1))) % int32(n)
	}
	if n := len(d.users); n > 1 {
		tr.toUser = (max(t.user, 0) + 1 + int32(r.IntN(n-1))) % int32(n)
	}
	t.transfers = append(t.transfers, tr)
	t.user, t.dept = tr.toUser, tr.toDept
	d.addMessage(d.eventMessage(ti, evTransfer, tr.fromUser, at))
}

// close ends ticket ti at `at` with a ticketClose event.
func (d *Digisac) close(ti int32, at int64) {
	t := &d.tickets[ti]
	t.open, t.ended = false, at
	t.transfers = append(t.transfers, dsTransfer{id: d.newUUID(), action: actClosed, fromUser: t.user, fromDept: t.dept, toUser: -1, toDept: -1, created: at})
	if c := &d.contacts[t.contact]; c.open == ti {
		c.open = -1
	}
	d.addMessage(d.eventMessage(ti, evClose, t.user, at))
}

// buildTables describes each resource to the query engine.
func (d *Digisac) buildTables() {
	id := func(i int32, of func(int32) string) val { return nullStrVal(of(i)) }
	svcID := func(i int32) string { return d.services[i].id }
	userID := func(i int32) string {
		if i < 0 {
			return ""
		}
		return d.users[i].id
	}
	deptID := func(i int32) string {
		if i < 0 {
			return ""
		}
		return d.departments[i].id
	}
	account := func(int32) val { return strVal(d.accountID) }
	null := func(int32) val { return nullVal() }
	d.tables = map[string]*dsTable{
		"services": {
			size:      func() int { return len(d.services) },
			alive:     func(i int32) bool { return !d.services[i].removed },
			removable: true,
			fields: map[string]func(int32) val{
				"id":                      func(i int32) val { return strVal(d.services[i].id) },
				"name":                    func(i int32) val { return strVal(d.services[i].name()) },
				"archivedAt":              null,
				"type":                    func(int32) val { return strVal("whatsapp") },
				"data.myId":               func(i int32) val { return strVal(d.services[i].myID()) },
				"data.status.isConnected": func(i int32) val { return boolVal(d.services[i].connected) },
				"createdAt":               func(i int32) val { return timeVal(d.services[i].created) },
				"updatedAt":               func(i int32) val { return timeVal(d.services[i].updated) },
				"deletedAt":               null,
				"accountId":               account,
				"botId":                   func(i int32) val { return nullStrVal(d.services[i].bot) },
				"defaultDepartmentId":     func(i int32) val { return id(d.services[i].dept, deptID) },
			},
		},
		"users": {
			size:      func() int { return len(d.users) },
			alive:     func(i int32) bool { return !d.users[i].removed },
			removable: true,
			fields: map[string]func(int32) val{
				"id":                   func(i int32) val { return strVal(d.users[i].id) },
				"name":                 func(i int32) val { return strVal(d.users[i].name) },
				"email":                func(i int32) val { return strVal(d.users[i].email) },
				"isSuperAdmin":         func(int32) val { return boolVal(false) },
				"isActiveInternalChat": func(i int32) val { return boolVal(d.users[i].internalChat) },
				"status":               func(i int32) val { return strVal(userStatus(d.users[i].online)) },
				"createdAt":            func(i int32) val { return timeVal(d.users[i].created) },
				"updatedAt":            func(i int32) val { return timeVal(d.users[i].updated) },
				"deletedAt":            null,
				"accountId":            account,
			},
		},
		"departments": {
			size:      func() int { return len(d.departments) },
			alive:     func(i int32) bool { return !d.departments[i].removed },
			removable: true,
			fields: map[string]func(int32) val{
				"id":        func(i int32) val { return strVal(d.departments[i].id) },
				"name":      func(i int32) val { return strVal(d.departments[i].name) },
				"createdAt": func(i int32) val { return timeVal(d.departments[i].created) },
				"updatedAt": func(i int32) val { return timeVal(d.departments[i].updated) },
				"deletedAt": null,
				"accountId": account,
			},
		},
		"contacts": {
			size:  func() int { return len(d.contacts) },
			alive: func(int32) bool { return true },
			fields: map[string]func(int32) val{
				"id":                  func(i int32) val { return strVal(d.contacts[i].id) },
				"isGroup":             func(i int32) val { return boolVal(d.contacts[i].group) },
				"isBroadcast":         func(int32) val { return boolVal(false) },
				"visible":             func(int32) val { return boolVal(true) },
				"note":                func(i int32) val { return strVal(d.contacts[i].note) },
				"lastMessageAt":       func(i int32) val { return nullTimeVal(d.contacts[i].lastMsg) },
				"accountId":           account,
				"serviceId":           func(i int32) val { return id(d.contacts[i].service, svcID) },
				"personId":            null,
				"defaultDepartmentId": func(i int32) val { return id(d.contacts[i].defDept, deptID) },
				"defaultUserId":       func(i int32) val { return id(d.contacts[i].defUser, userID) },
				"createdAt":           func(i int32) val { return timeVal(d.contacts[i].created) },
				"updatedAt":           func(i int32) val { return timeVal(d.contacts[i].updated) },
				"deletedAt":           null,
				"status":              func(i int32) val { return strVal(userStatus(d.contacts[i].online)) },
				"name":                func(i int32) val { return strVal(d.contacts[i].name) },
				"internalName":        func(i int32) val { return strVal(d.contacts[i].internal) },
				"alternativeName":     func(i int32) val { return strVal(d.contacts[i].alt) },
				"data.number":         func(i int32) val { return strVal(d.contacts[i].number) },
			},
			rels: map[string]dsRel{
				"service": {to: "services", fk: func(i int32) int32 { return d.contacts[i].service }},
			},
		},
		"tickets": {
			size:  func() int { return len(d.tickets) },
			alive: func(int32) bool { return true },
			fields: map[string]func(int32) val{
				"id":           func(i int32) val { return strVal(d.tickets[i].id) },
				"isOpen":       func(i int32) val { return boolVal(d.tickets[i].open) },
				"protocol":     func(i int32) val { return strVal(d.tickets[i].protocol) },
				"origin":       func(i int32) val { return strVal(d.tickets[i].origin) },
				"startedAt":    func(i int32) val { return timeVal(d.tickets[i].started) },
				"endedAt":      func(i int32) val { return nullTimeVal(d.tickets[i].ended) },
				"contactId":    func(i int32) val { return strVal(d.contacts[d.tickets[i].contact].id) },
				"userId":       func(i int32) val { return id(d.tickets[i].user, userID) },
				"departmentId": func(i int32) val { return id(d.tickets[i].dept, deptID) },
				"accountId":    account,
				"createdAt":    func(i int32) val { return timeVal(d.tickets[i].created) },
				"updatedAt":    func(i int32) val { return timeVal(d.tickets[i].updated) },
			},
			rels: map[string]dsRel{
				"contact":    {to: "contacts", fk: func(i int32) int32 { return d.tickets[i].contact }},
				"user":       {to: "users", fk: func(i int32) int32 { return d.tickets[i].user }},
				"department": {to: "departments", fk: func(i int32) int32 { return d.tickets[i].dept }},
			},
		},
		"messages": {
			size:  func() int { return len(d.messages) },
			alive: func(int32) bool { return true },
			fields: map[string]func(int32) val{
				"id":                  func(i int32) val { return strVal(d.messages[i].id) },
				"isFromMe":            func(i int32) val { return boolVal(d.messages[i].fromMe()) },
				"sent":                func(i int32) val { return boolVal(d.messages[i].sent()) },
				"type":                func(i int32) val { return strVal(dsTypeNames[d.messages[i].typ]) },
				"timestamp":           func(i int32) val { return timeVal(d.messages[i].ts) },
				"data.ack":            func(i int32) val { return d.msgDataVal(i, "ack") },
				"data.isNew":          func(i int32) val { return d.msgDataVal(i, "isNew") },
				"data.isFirst":        func(i int32) val { return d.msgDataVal(i, "isFirst") },
				"data.ticketOpen":     func(i int32) val { return d.msgDataVal(i, "ticketOpen") },
				"data.ticketClose":    func(i int32) val { return d.msgDataVal(i, "ticketClose") },
				"data.ticketTransfer": func(i int32) val { return d.msgDataVal(i, "ticketTransfer") },
				"visible":             func(int32) val { return boolVal(true) },
				"accountId":           account,
				"contactId":           func(i int32) val { return strVal(d.msgContact(i).id) },
				"fromId":              func(i int32) val { return nullStrVal(d.msgFromID(i)) },
				"serviceId":           func(i int32) val { return strVal(d.services[d.msgContact(i).service].id) },
				"toId":                null,
				"userId":              func(i int32) val { return id(d.messages[i].user, userID) },
				"ticketId":            func(i int32) val { return strVal(d.tickets[d.messages[i].ticket].id) },
				"ticketUserId":        func(i int32) val { return id(d.messages[i].tUser, userID) },
				"ticketDepartmentId":  func(i int32) val { return id(d.messages[i].tDept, deptID) },
				"quotedMessageId":     func(i int32) val { return nullStrVal(d.messages[i].quoted) },
				"origin":              func(i int32) val { return nullStrVal(d.messages[i].origin()) },
				"createdAt":           func(i int32) val { return timeVal(d.messages[i].created) },
				"updatedAt":           func(i int32) val { return timeVal(d.messages[i].updated) },
				"deletedAt":           null,
				"text": func(i int32) val {
					if m := &d.messages[i]; m.hasText {
						return strVal(m.text)
					}
					return nullVal()
				},
				"obfuscated": func(int32) val { return boolVal(false) },
				"isFromBot":  func(i int32) val { return boolVal(d.messages[i].side == sideBot) },
			},
			rels: map[string]dsRel{
				"contact": {to: "contacts", fk: func(i int32) int32 { return d.tickets[d.messages[i].ticket].contact }},
				"user":    {to: "users", fk: func(i int32) int32 { return d.messages[i].user }},
				"ticket":  {to: "tickets", fk: func(i int32) int32 { return d.messages[i].ticket }},
				"service": {to: "services", fk: func(i int32) int32 { return d.msgContact(i).service }},
			},
		},
	}
	for name, t := range d.tables {
		t.name = name
		t.sorted = map[string]dsSorted{}
	}
}

func userStatus(online bool) string {
	if online {
		return "online"
	}
	return "offline"
}

func (m *dsMessage) fromMe() bool { return m.side == sideUser || m.side == sideBot }

func (m *dsMessage) sent() bool {
	if m.side == sideUser && m.typ != dsComment || m.side == sideBot {
		return m.ack >= 1
	}
	return true
}

// origin is null for inbound messages, "user" for agents, "bot" for bots.
// "ticket" for ticket events is unconfirmed.
func (m *dsMessage) origin() string {
	switch m.side {
	case sideUser:
		return "user"
	case sideBot:
		return "bot"
	case sideSystem:
		return "ticket"
	}
	return ""
}

func (d *Digisac) msgContact(i int32) *dsContact {
	return &d.contacts[d.tickets[d.messages[i].ticket].contact]
}

// msgFromID is the contact for inbound messages, the connection's own id
// for what the company sends, none for ticket events.
func (d *Digisac) msgFromID(i int32) string {
	switch d.messages[i].side {
	case sideContact:
		return d.msgContact(i).id
	case sideSystem:
		return ""
	}
	return d.services[d.msgContact(i).service].selfID
}

// msgDataVal reads a key of a message's data object.
func (d *Digisac) msgDataVal(i int32, key string) val {
	m := &d.messages[i]
	if m.typ == dsEvent {
		switch {
		case key == "ticketOpen" && m.event == evOpen, key == "ticketClose" && m.event == evClose,
			key == "ticketTransfer" && m.event == evTransfer:
			return boolVal(true)
		}
		return nullVal()
	}
	switch key {
	case "ack":
		return numVal(float64(m.ack))
	case "isNew":
		return boolVal(m.isNew)
	case "isFirst":
		return boolVal(m.isFirst)
	}
	return nullVal()
}

// JSON shapes, field for field in the order the API writes them.

type dsServiceJSON struct {
	ID                  string        `json:"id"`
	Name                string        `json:"name"`
	ArchivedAt          *string       `json:"archivedAt"`
	Type                string        `json:"type"`
	Data                dsServiceData `json:"data"`
	CreatedAt           string        `json:"createdAt"`
	UpdatedAt           string        `json:"updatedAt"`
	DeletedAt           *string       `json:"deletedAt"`
	AccountID           string        `json:"accountId"`
	BotID               *string       `json:"botId"`
	DefaultDepartmentID *string       `json:"defaultDepartmentId"`
}

type dsServiceData struct {
	MyID   string `json:"myId"`
	Status struct {
		IsConnected bool `json:"isConnected"`
	} `json:"status"`
}

type dsUserJSON struct {
	ID                   string  `json:"id"`
	Name                 string  `json:"name"`
	Email                string  `json:"email"`
	IsSuperAdmin         bool    `json:"isSuperAdmin"`
	IsActiveInternalChat bool    `json:"isActiveInternalChat"`
	Status               string  `json:"status"`
	CreatedAt            string  `json:"createdAt"`
	UpdatedAt            string  `json:"updatedAt"`
	DeletedAt            *string `json:"deletedAt"`
	AccountID            string  `json:"accountId"`
}

type dsDepartmentJSON struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	CreatedAt string  `json:"createdAt"`
	UpdatedAt string  `json:"updatedAt"`
	DeletedAt *string `json:"deletedAt"`
	AccountID string  `json:"accountId"`
}

type dsContactJSON struct {
	ID                  string  `json:"id"`
	IsGroup             bool    `json:"isGroup"`
	IsBroadcast         bool    `json:"isBroadcast"`
	Visible             bool    `json:"visible"`
	Note                string  `json:"note"`
	LastMessageAt       *string `json:"lastMessageAt"`
	AccountID           string  `json:"accountId"`
	ServiceID           string  `json:"serviceId"`
	PersonID            *string `json:"personId"`
	DefaultDepartmentID *string `json:"defaultDepartmentId"`
	DefaultUserID       *string `json:"defaultUserId"`
	CreatedAt           string  `json:"createdAt"`
	UpdatedAt           string  `json:"updatedAt"`
	DeletedAt           *string `json:"deletedAt"`
	Status              string  `json:"status"`
	Name                string  `json:"name"`
	InternalName        string  `json:"internalName"`
	AlternativeName     string  `json:"alternativeName"`
	Data                struct {
		Number string `json:"number"`
	} `json:"data"`
	Service any `json:"service,omitempty"`
}

// dsMetrics are a closed ticket's durations in seconds. Unconfirmed (FACTS:
// "possibly metrics.{ticketTime,waitingTime,messagingTime,ticketTransferCount}").
type dsMetrics struct {
	TicketTime          int64 `json:"ticketTime"`
	WaitingTime         int64 `json:"waitingTime"`
	MessagingTime       int64 `json:"messagingTime"`
	TicketTransferCount int   `json:"ticketTransferCount"`
}

type dsTicketJSON struct {
	ID              string     `json:"id"`
	IsOpen          bool       `json:"isOpen"`
	Protocol        string     `json:"protocol"`
	Origin          string     `json:"origin"`
	StartedAt       string     `json:"startedAt"`
	EndedAt         *string    `json:"endedAt"`
	ContactID       string     `json:"contactId"`
	UserID          *string    `json:"userId"`
	DepartmentID    *string    `json:"departmentId"`
	AccountID       string     `json:"accountId"`
	CreatedAt       string     `json:"createdAt"`
	UpdatedAt       string     `json:"updatedAt"`
	Metrics         *dsMetrics `json:"metrics"`
	Contact         any        `json:"contact,omitempty"`
	User            any        `json:"user,omitempty"`
	Department      any        `json:"department,omitempty"`
	TicketTopics    any        `json:"ticketTopics,omitempty"`
	TicketTransfers any        `json:"ticketTransfers,omitempty"`
	FirstMessage    any        `json:"firstMessage,omitempty"`
}

type dsTopicJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type dsTransferJSON struct {
	ID               string  `json:"id"`
	Action           string  `json:"action"`
	FromUserID       *string `json:"fromUserId"`
	ToUserID         *string `json:"toUserId"`
	FromDepartmentID *string `json:"fromDepartmentId"`
	ToDepartmentID   *string `json:"toDepartmentId"`
	Comments         *string `json:"comments"`
	CreatedAt        string  `json:"createdAt"`
}

type dsMessageJSON struct {
	ID                 string  `json:"id"`
	IsFromMe           any     `json:"isFromMe"` // "yes" in malformed records
	Sent               bool    `json:"sent"`
	Type               string  `json:"type"`
	Timestamp          string  `json:"timestamp"` // "not a date" in malformed records
	Data               any     `json:"data"`
	Visible            bool    `json:"visible"`
	AccountID          string  `json:"accountId"`
	ContactID          string  `json:"contactId"`
	FromID             *string `json:"fromId"`
	ServiceID          string  `json:"serviceId"`
	ToID               *string `json:"toId"`
	UserID             *string `json:"userId"`
	TicketID           string  `json:"ticketId"`
	TicketUserID       *string `json:"ticketUserId"`
	TicketDepartmentID *string `json:"ticketDepartmentId"`
	QuotedMessageID    *string `json:"quotedMessageId"`
	Origin             *string `json:"origin"`
	CreatedAt          string  `json:"createdAt"`
	UpdatedAt          string  `json:"updatedAt"`
	DeletedAt          *string `json:"deletedAt"`
	Text               *string `json:"text"`
	Obfuscated         bool    `json:"obfuscated"`
	Files              any     `json:"files"`
	QuotedMessage      any     `json:"quotedMessage"`
	IsFromBot          bool    `json:"isFromBot"`
	File               any     `json:"file,omitempty"`
	Contact            any     `json:"contact,omitempty"`
	User               any     `json:"user,omitempty"`
	Ticket             any     `json:"ticket,omitempty"`
	Service            any     `json:"service,omitempty"`
}

type dsMessageData struct {
	Ack     int8 `json:"ack"`
	IsNew   bool `json:"isNew"`
	IsFirst bool `json:"isFirst"`
}

type dsEventData struct {
	TicketOpen     bool `json:"ticketOpen,omitempty"`
	TicketTransfer bool `json:"ticketTransfer,omitempty"`
	TicketClose    bool `json:"ticketClose,omitempty"`
}

// dsFileJSON is a message's file. URL is a *string in an interface: nil
// leaves the key out, a nil *string writes null (both readings of "missing
// for a while", FACTS).
type dsFileJSON struct {
	ID             string `json:"id"`
	URL            any    `json:"url,omitempty"`
	PublicFilename string `json:"publicFilename"`
	Mimetype       string `json:"mimetype"`
}

// nullable is s, or a JSON null when s is empty.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nullableTime(ms int64) *string {
	if ms == 0 {
		return nil
	}
	s := wire.FormatMillis(ms)
	return &s
}

func (d *Digisac) userIDOf(i int32) *string {
	if i < 0 {
		return nil
	}
	return &d.users[i].id
}

func (d *Digisac) deptIDOf(i int32) *string {
	if i < 0 {
		return nil
	}
	return &d.departments[i].id
}

// renderCtx carries what rendering a page needs besides the rows.
type renderCtx struct {
	include map[string]bool
	now     int64 // unix ms, for LateFileDelay
}

// render returns the JSON shape of row i of resource. Caller holds mu (read).
func (d *Digisac) render(resource string, i int32, rc renderCtx) any {
	switch resource {
	case "services":
		return d.renderService(i)
	case "users":
		return d.renderUser(i)
	case "departments":
		return d.renderDepartment(i)
	case "contacts":
		return d.renderContact(i, rc)
	case "tickets":
		return d.renderTicket(i, rc)
	case "messages":
		return d.renderMessage(i, rc)
	}
	return nil
}

func (d *Digisac) renderService(i int32) *dsServiceJSON {
	s := &d.services[i]
	out := &dsServiceJSON{
		ID: s.id, Name: s.name(), Type: "whatsapp",
		CreatedAt: wire.FormatMillis(s.created), UpdatedAt: wire.FormatMillis(s.updated),
		AccountID: d.accountID, BotID: nullable(s.bot), DefaultDepartmentID: d.deptIDOf(s.dept),
	}
	out.Data.MyID = s.myID()
	out.Data.Status.IsConnected = s.connected
	return out
}

// renderUserOrNull is the user of an include: null when none or removed
// (Sequelize hides soft-deleted rows from includes too).
func (d *Digisac) renderUserOrNull(i int32) any {
	if i < 0 || d.users[i].removed {
		return (*dsUserJSON)(nil)
	}
	return d.renderUser(i)
}

func (d *Digisac) renderUser(i int32) *dsUserJSON {
	u := &d.users[i]
	return &dsUserJSON{
		ID: u.id, Name: u.name, Email: u.email, IsActiveInternalChat: u.internalChat, Status: userStatus(u.online),
		CreatedAt: wire.FormatMillis(u.created), UpdatedAt: wire.FormatMillis(u.updated), AccountID: d.accountID,
	}
}

func (d *Digisac) renderDepartment(i int32) *dsDepartmentJSON {
	p := &d.departments[i]
	return &dsDepartmentJSON{ID: p.id, Name: p.name, CreatedAt: wire.FormatMillis(p.created), UpdatedAt: wire.FormatMillis(p.updated), AccountID: d.accountID}
}

func (d *Digisac) renderContact(i int32, rc renderCtx) *dsContactJSON {
	c := &d.contacts[i]
	out := &dsContactJSON{
		ID: c.id, IsGroup: c.group, Visible: true, Note: c.note, LastMessageAt: nullableTime(c.lastMsg),
		AccountID: d.accountID, ServiceID: d.services[c.service].id,
		DefaultDepartmentID: d.deptIDOf(c.defDept), DefaultUserID: d.userIDOf(c.defUser),
		CreatedAt: wire.FormatMillis(c.created), UpdatedAt: wire.FormatMillis(c.updated),
		Status: userStatus(c.online), Name: c.name, InternalName: c.internal, AlternativeName: c.alt,
	}
	out.Data.Number = c.number
	if rc.include["service"] {
		if s := &d.services[c.service]; s.removed {
			out.Service = (*dsServiceJSON)(nil)
		} else {
			out.Service = d.renderService(c.service)
		}
	}
	return out
}

func (d *Digisac) renderTicket(i int32, rc renderCtx) *dsTicketJSON {
	t := &d.tickets[i]
	out := &dsTicketJSON{
		ID: t.id, IsOpen: t.open, Protocol: t.protocol, Origin: t.origin,
		StartedAt: wire.FormatMillis(t.started), EndedAt: nullableTime(t.ended),
		ContactID: d.contacts[t.contact].id, UserID: d.userIDOf(t.user), DepartmentID: d.deptIDOf(t.dept),
		AccountID: d.accountID, CreatedAt: wire.FormatMillis(t.created), UpdatedAt: wire.FormatMillis(t.updated),
		Metrics: d.metrics(i),
	}
	inc := rc.include
	if inc["contact"] {
		out.Contact = d.renderContact(t.contact, renderCtx{})
	}
	if inc["user"] {
		out.User = d.renderUserOrNull(t.user)
	}
	if inc["department"] {
		if t.dept < 0 || d.departments[t.dept].removed {
			out.Department = (*dsDepartmentJSON)(nil)
		} else {
			out.Department = d.renderDepartment(t.dept)
		}
	}
	if inc["ticketTopics"] {
		topics := make([]dsTopicJSON, len(t.topics))
		for k, tp := range t.topics {
			topics[k] = dsTopicJSON{ID: d.topics[tp].id, Name: d.topics[tp].name}
		}
		out.TicketTopics = topics
	}
	if inc["ticketTransfers"] {
		trs := make([]dsTransferJSON, len(t.transfers))
		for k, tr := range t.transfers {
			trs[k] = dsTransferJSON{
				ID: tr.id, Action: tr.action, FromUserID: d.userIDOf(tr.fromUser), ToUserID: d.userIDOf(tr.toUser),
				FromDepartmentID: d.deptIDOf(tr.fromDept), ToDepartmentID: d.deptIDOf(tr.toDept),
				Comments: nullable(tr.comments), CreatedAt: wire.FormatMillis(tr.created),
			}
		}
		out.TicketTransfers = trs
	}
	if inc["firstMessage"] {
		out.FirstMessage = (*dsMessageJSON)(nil)
		for _, m := range t.msgs {
			if d.messages[m].typ != dsEvent {
				out.FirstMessage = d.renderMessage(m, renderCtx{})
				break
			}
		}
	}
	return out
}

// metrics computes a closed ticket's metrics: ticketTime from start to end,
// waitingTime until the first agent message, messagingTime from the first
// agent message to the end. Open tickets have none (null).
func (d *Digisac) metrics(i int32) *dsMetrics {
	t := &d.tickets[i]
	if t.open {
		return nil
	}
	m := &dsMetrics{TicketTime: (t.ended - t.started) / 1000}
	firstAgent := int64(0)
	for _, k := range t.msgs {
		if msg := &d.messages[k]; msg.side == sideUser && msg.typ != dsComment {
			firstAgent = msg.created
			break
		}
	}
	if firstAgent > 0 {
		m.WaitingTime = (firstAgent - t.started) / 1000
		m.MessagingTime = (t.ended - firstAgent) / 1000
	}
	for _, tr := range t.transfers {
		if tr.action == actTransferred {
			m.TicketTransferCount++
		}
	}
	return m
}

func (d *Digisac) renderMessage(i int32, rc renderCtx) *dsMessageJSON {
	m := &d.messages[i]
	t := &d.tickets[m.ticket]
	c := &d.contacts[t.contact]
	out := &dsMessageJSON{
		ID: m.id, IsFromMe: m.fromMe(), Sent: m.sent(), Type: dsTypeNames[m.typ], Timestamp: wire.FormatMillis(m.ts),
		Visible: true, AccountID: d.accountID, ContactID: c.id, FromID: nullable(d.msgFromID(i)),
		ServiceID: d.services[c.service].id, UserID: d.userIDOf(m.user), TicketID: t.id,
		TicketUserID: d.userIDOf(m.tUser), TicketDepartmentID: d.deptIDOf(m.tDept), QuotedMessageID: nullable(m.quoted),
		Origin: nullable(m.origin()), CreatedAt: wire.FormatMillis(m.created), UpdatedAt: wire.FormatMillis(m.updated),
		IsFromBot: m.side == sideBot,
	}
	if m.typ == dsEvent {
		out.Data = dsEventData{TicketOpen: m.event == evOpen, TicketTransfer: m.event == evTransfer, TicketClose: m.event == evClose}
	} else {
		out.Data = dsMessageData{Ack: m.ack, IsNew: m.isNew, IsFirst: m.isFirst}
	}
	if m.hasText {
		out.Text = &m.text
	}
	switch m.bad {
	case dsBadTimestamp:
		out.Timestamp = "not a date"
	case dsBadIsFromMe:
		out.IsFromMe = "yes"
	}
	inc := rc.include
	if inc["file"] {
		out.File = d.renderFile(i, rc.now)
	}
	if inc["contact"] {
		out.Contact = d.renderContact(t.contact, renderCtx{})
	}
	if inc["user"] {
		out.User = d.renderUserOrNull(m.user)
	}
	if inc["ticket"] {
		out.Ticket = d.renderTicket(m.ticket, renderCtx{})
	}
	if inc["service"] {
		if d.services[c.service].removed {
			out.Service = (*dsServiceJSON)(nil)
		} else {
			out.Service = d.renderService(c.service)
		}
	}
	return out
}

// renderFile is the file of a media message (null for others). While the
// message is younger than LateFileDelay its url is not there yet: left out
// for half the messages and null for the other half, so consumers meet both.
func (d *Digisac) renderFile(i int32, now int64) any {
	m := &d.messages[i]
	if !m.typ.media() {
		return (*dsFileJSON)(nil)
	}
	info := dsMedia[m.typ]
	seq := binary.BigEndian.Uint16([]byte(m.fileID[:2])) % 10000
	name := fmt.Sprintf("%s-%s-WA%04d.%s", info.prefix, time.UnixMilli(m.created).UTC().Format("20060102"), seq, info.ext)
	f := &dsFileJSON{ID: m.fileID, PublicFilename: name, Mimetype: info.mimetype}
	late := d.cfg.LateFileDelay > 0 && now-m.created < d.cfg.LateFileDelay.Milliseconds()
	switch {
	case !late:
		u := digisacFileBase + m.fileID + "/" + name
		f.URL = &u
	case m.id[len(m.id)-1]%2 == 0:
		f.URL = (*string)(nil)
	}
	return f
}

// Records returns every current record of resource ("services", "users",
// "departments", "contacts", "tickets" or "messages") exactly as the list
// endpoint renders it without includes, sorted by id. Removed records are
// left out. Unknown resources give nil.
func (d *Digisac) Records(resource string) []json.RawMessage {
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
func (d *Digisac) Count(resource string) int {
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
func (d *Digisac) Protocols() []string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]string, len(d.tickets))
	for i := range d.tickets {
		out[i] = d.tickets[i].protocol
	}
	return out
}

// Token returns the personal access token the simulator accepts.
func (d *Digisac) Token() string { return d.cfg.Token }

// OnList sets a hook called before each list request is served (after auth,
// faults and parameter checks, and after ChurnPerList), with the resource
// and the page asked for. Tests use it to edit or create records between
// pages. nil removes it. The hook may call Edit, Create and Remove.
func (d *Digisac) OnList(f func(resource string, page int)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.onList = f
}

// SetFaults replaces the fault knobs; a 5xx burst in progress ends.
func (d *Digisac) SetFaults(f fault.Faults) { d.faults.Set(f) }

// Stats returns what the simulator has answered so far.
func (d *Digisac) Stats() fault.Stats { return d.faults.Stats() }

// stamp is the updatedAt of an edit of a record last updated at old: Now,
// or 1ms after old if Now is not later, so a record's updatedAt strictly
// increases with each edit.
func stamp(now, old int64) int64 { return max(now, old+1) }

// pickRows draws up to n distinct rows among size for which ok holds.
// Caller holds mu (write).
func (d *Digisac) pickRows(size, n int, ok func(int32) bool) []int32 {
	if n <= 0 || size == 0 {
		return nil
	}
	r := d.rng
	var out []int32
	if n*4 <= size {
		seen := make(map[int32]bool, n)
		for try := 0; len(out) < n && try < 50*n; try++ {
			i := int32(r.IntN(size))
			if !seen[i] && ok(i) {
				seen[i] = true
				out = append(out, i)
			}
		}
		if len(out) == n {
			return out
		}
		out = out[:0]
	}
	var cands []int32
	for i := range size {
		if ok(int32(i)) {
			cands = append(cands, int32(i))
		}
	}
	n = min(n, len(cands))
	for k := range n {
		j := k + r.IntN(len(cands)-k)
		cands[k], cands[j] = cands[j], cands[k]
	}
	return cands[:n]
}

// Edit changes n existing records of resource (fewer if there are fewer):
// one field each, and updatedAt = Now (1ms after the old updatedAt if Now is
// not later). It returns their ids. What changes:
//
//	services     the connection drops or comes back (data.status.isConnected)
//	users        status online/offline
//	departments  renamed
//	contacts     renamed, or a new note
//	tickets      open ones are closed (with their ticketClose message);
//	             closed ones move to another department (or agent)
//	messages     an agent's message gets the next ack; other messages are
//	             edited (new text or caption). Ticket events are never edited.
func (d *Digisac) Edit(resource string, n int) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.edit(resource, n)
}

func (d *Digisac) edit(resource string, n int) []string {
	t, ok := d.tables[resource]
	if !ok || n <= 0 {
		return nil
	}
	r := d.rng
	now := d.cfg.Now().UnixMilli()
	canEdit := t.alive
	if resource == "messages" {
		canEdit = func(i int32) bool { return d.messages[i].typ != dsEvent }
	}
	rows := d.pickRows(t.size(), n, canEdit)
	ids := make([]string, 0, len(rows))
	for _, i := range rows {
		switch resource {
		case "services":
			s := &d.services[i]
			s.connected = !s.connected
			s.updated = stamp(now, s.updated)
			ids = append(ids, s.id)
		case "users":
			u := &d.users[i]
			u.online = !u.online
			u.updated = stamp(now, u.updated)
			ids = append(ids, u.id)
		case "departments":
			p := &d.departments[i]
			for old := p.name; p.name == old; {
				p.name = dsDepartmentNames[r.IntN(len(dsDepartmentNames))] + " - " + dsTopicNames[r.IntN(len(dsTopicNames))]
			}
			p.updated = stamp(now, p.updated)
			ids = append(ids, p.id)
		case "contacts":
			c := &d.contacts[i]
			if r.IntN(2) == 0 {
				first, last := d.fullName()
				if name := first + " " + last; name != c.name {
					c.name, c.alt = name, first+" "+last[:1]+"."
				} else {
					c.note += " (atualizado)"
				}
			} else {
				c.note = nextDifferent(r, dsNoteTexts, c.note)
			}
			c.updated = stamp(now, c.updated)
			ids = append(ids, c.id)
		case "tickets":
			tk := &d.tickets[i]
			old := tk.updated
			switch {
			case tk.open:
				d.close(i, max(now, d.messages[tk.msgs[len(tk.msgs)-1]].created))
			case len(d.departments) > 1:
				tk.dept = (max(tk.dept, 0) + 1 + int32(r.IntN(len(d.departments)-1))) % int32(len(d.departments))
			case len(d.users) > 1:
				tk.user = (max(tk.user, 0) + 1 + int32(r.IntN(len(d.users)-1))) % int32(len(d.users))
			}
			tk = &d.tickets[i]
			tk.updated = max(stamp(now, old), tk.updated)
			ids = append(ids, tk.id)
		case "messages":
			m := &d.messages[i]
			switch {
			case m.fromMe() && m.typ != dsComment && m.ack < 3:
				m.ack++
			case m.typ == dsComment:
				m.text = nextDifferent(r, dsNoteTexts, m.text)
			case m.typ.media():
				m.text, m.hasText = nextDifferent(r, sample.CaptionTexts, m.text), true
			case m.side == sideContact:
				m.text, m.hasText = nextDifferent(r, sample.CustomerTexts, m.text), true
			case m.side == sideBot:
				m.text, m.hasText = nextDifferent(r, dsBotTexts, m.text), true
			default:
				m.text, m.hasText = nextDifferent(r, sample.AgentTexts, m.text), true
			}
			m.updated = stamp(now, m.updated)
			ids = append(ids, m.id)
		}
		d.changed(resource, i)
	}
	return ids
}

// nextDifferent picks one of texts other than cur.
func nextDifferent(r *rand.Rand, texts []string, cur string) string {
	for {
		if s := texts[r.IntN(len(texts))]; s != cur {
			return s
		}
	}
}

// Create adds n new records of resource with createdAt = updatedAt = Now
// and returns their ids:
//
//	services, users, departments, contacts  new records (contacts without tickets)
//	tickets   new open tickets of contacts without one (a new contact when
//	          all have one), each with its ticketOpen event and 1 to 3
//	          inbound messages, all at Now
//	messages  messages in open tickets, taking turns between the contact and
//	          the agent; when no ticket is open, one is opened and its rows
//	          count among the n
func (d *Digisac) Create(resource string, n int) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if n <= 0 {
		return nil
	}
	now := d.cfg.Now().UnixMilli()
	var ids []string
	switch resource {
	case "services":
		for range n {
			ids = append(ids, d.services[d.addService(now)].id)
		}
	case "users":
		for range n {
			ids = append(ids, d.users[d.addUser(now)].id)
		}
	case "departments":
		for range n {
			ids = append(ids, d.departments[d.addDepartment(now)].id)
		}
	case "contacts":
		for range n {
			ids = append(ids, d.contacts[d.addContact(now)].id)
		}
	case "tickets":
		for range n {
			ti, _ := d.openFresh(now)
			ids = append(ids, d.tickets[ti].id)
		}
	case "messages":
		var open []int32
		for i := range d.tickets {
			if d.tickets[i].open {
				open = append(open, int32(i))
			}
		}
		for len(ids) < n {
			if len(open) == 0 {
				ti, rows := d.openFresh(now)
				open = append(open, ti)
				for _, m := range rows {
					if len(ids) < n {
						ids = append(ids, d.messages[m].id)
					}
				}
				continue
			}
			ti := open[d.rng.IntN(len(open))]
			ids = append(ids, d.messages[d.addMessage(d.nextFresh(ti, now))].id)
		}
	}
	return ids
}

// openFresh opens a ticket at now for a contact without an open ticket,
// with its ticketOpen event and 1 to 3 inbound messages. It returns the
// ticket and its message rows.
func (d *Digisac) openFresh(now int64) (int32, []int32) {
	c := int32(-1)
	if len(d.contacts) > 0 {
		start := d.rng.IntN(len(d.contacts))
		for k := range len(d.contacts) {
			j := int32((start + k) % len(d.contacts))
			if d.contacts[j].open < 0 {
				c = j
				break
			}
		}
	}
	if c < 0 {
		c = d.addContact(now)
	}
	ti := d.newTicket(c, now, true, d.rng.IntN(2) == 0)
	rows := []int32{d.addMessage(d.eventMessage(ti, evOpen, -1, now))}
	for k := range 1 + d.rng.IntN(3) {
		m := d.chatMessage(ti, sideContact, now, true)
		m.isFirst = k == 0
		rows = append(rows, d.addMessage(m))
	}
	return ti, rows
}

// nextFresh is the next message of open ticket ti at now: from the agent
// after the contact spoke (when the ticket has one), else from the contact.
func (d *Digisac) nextFresh(ti int32, now int64) dsMessage {
	t := &d.tickets[ti]
	side := sideContact
	for k := len(t.msgs) - 1; k >= 0; k-- {
		m := &d.messages[t.msgs[k]]
		if m.typ == dsEvent || m.typ == dsComment {
			continue
		}
		if m.side == sideContact && t.user >= 0 {
			side = sideUser
		}
		break
	}
	return d.chatMessage(ti, side, now, true)
}

// Remove makes n records of resource disappear from the lists and returns
// their ids: services (the connection was deleted), users and departments
// only; records that refer to them keep their ids. Other resources give nil.
func (d *Digisac) Remove(resource string, n int) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.tables[resource]
	if !ok || (resource != "services" && resource != "users" && resource != "departments") {
		return nil
	}
	rows := d.pickRows(t.size(), n, t.alive)
	ids := make([]string, 0, len(rows))
	for _, i := range rows {
		switch resource {
		case "services":
			d.services[i].removed = true
			ids = append(ids, d.services[i].id)
		case "users":
			d.users[i].removed = true
			ids = append(ids, d.users[i].id)
		case "departments":
			d.departments[i].removed = true
			ids = append(ids, d.departments[i].id)
		}
		d.changed(resource, i)
	}
	return ids
}

// ExpireTokens makes every access token issued by /oauth/token so far stop
// working (401), as if they had all reached their expiry. The personal
// token (DigisacConfig.Token) and refresh tokens keep working.
func (d *Digisac) ExpireTokens() {
	d.tokMu.Lock()
	defer d.tokMu.Unlock()
	clear(d.access)
}

// Transcript returns the TXT export of the ticket with this protocol, as
// POST /api/v1/tickets/export answers it, and whether the ticket exists.
//
// The real layout is unconfirmed; this is the one syncer's parser expects by
// default. A header (Protocolo, Contato with the number, Conexão,
// Departamento, Atendente, Aberto em, Fechado em: lines whose value the
// ticket lacks are left out), a blank line, then one entry per message:
// "[dd/mm/yyyy hh:mm:ss] Author: text" in America/Sao_Paulo time. Authors
// are the contact for inbound messages, the agent for outbound ones, "Bot",
// "Sistema" for ticket events (with a sentence saying what happened) and
// "<agent> (comentário interno)" for internal notes. Media show as
// "[Imagem]", "[Áudio]" and so on, then their caption. Texts of several
// lines continue on the following lines. Lines end with LF.
func (d *Digisac) Transcript(protocol string) (string, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	ti, ok := d.protocols[protocol]
	if !ok {
		return "", false
	}
	return d.transcript(ti), true
}

const transcriptTime = "02/01/2006 15:04:05"

func (d *Digisac) transcript(ti int32) string {
	t := &d.tickets[ti]
	c := &d.contacts[t.contact]
	at := func(ms int64) string { return time.UnixMilli(ms).In(d.loc).Format(transcriptTime) }
	var b strings.Builder
	b.Grow(64 * (len(t.msgs) + 8))
	fmt.Fprintf(&b, "Protocolo: %s\n", t.protocol)
	fmt.Fprintf(&b, "Contato: %s (%s)\n", c.name, c.number)
	fmt.Fprintf(&b, "Conexão: %s\n", d.services[c.service].name())
	if t.dept >= 0 {
		fmt.Fprintf(&b, "Departamento: %s\n", d.departments[t.dept].name)
	}
	if t.user >= 0 {
		fmt.Fprintf(&b, "Atendente: %s\n", d.users[t.user].name)
	}
	fmt.Fprintf(&b, "Aberto em: %s\n", at(t.started))
	if !t.open {
		fmt.Fprintf(&b, "Fechado em: %s\n", at(t.ended))
	}
	b.WriteByte('\n')
	for _, k := range t.msgs {
		m := &d.messages[k]
		author, text := "", m.text
		switch {
		case m.typ == dsEvent:
			author = "Sistema"
			switch m.event {
			case evOpen:
				text = "Chamado aberto"
			case evTransfer:
				text = "Chamado transferido"
				if m.tDept >= 0 {
					text += " para " + d.departments[m.tDept].name
				}
			case evClose:
				text = "Chamado fechado"
			}
		case m.side == sideContact:
			author = c.name
		case m.side == sideBot:
			author = "Bot"
		case m.typ == dsComment:
			author = d.userName(m.user) + " (comentário interno)"
		default:
			author = d.userName(m.user)
		}
		if m.typ.media() {
			label := dsMedia[m.typ].label
			if m.hasText && text != "" {
				text = label + " " + text
			} else {
				text = label
			}
		}
		fmt.Fprintf(&b, "[%s] %s: %s\n", at(m.ts), author, text)
	}
	return b.String()
}

func (d *Digisac) userName(i int32) string {
	if i < 0 {
		return "Atendente"
	}
	return d.users[i].name
}

// ServeHTTP answers the API's routes; see Digisac for the order of checks.
func (d *Digisac) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fi := d.faults
	if !fi.Begin(r.Context()) {
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/v1/")
	parts := strings.Split(rest, "/")
	if !ok || slices.Contains(parts, "") || len(parts) > 2 {
		fi.WriteError(w, http.StatusNotFound, digisacNoRoute)
		return
	}
	method := http.MethodGet
	switch {
	case rest == "oauth/token", rest == "tickets/export":
		method = http.MethodPost
	case d.tables[parts[0]] == nil:
		fi.WriteError(w, http.StatusNotFound, digisacNoRoute)
		return
	}
	if r.Method != method {
		w.Header().Set("Allow", method)
		fi.WriteError(w, http.StatusMethodNotAllowed, digisacNoMethod)
		return
	}
	if rest == "oauth/token" {
		d.serveToken(w, r)
		return
	}
	if !d.authorized(r) {
		fi.WriteError(w, http.StatusUnauthorized, digisacUnauthorized)
		return
	}
	out := fi.Decide()
	if fi.WriteFault(w, out) {
		return
	}
	switch {
	case rest == "tickets/export":
		d.serveExport(w, r, out)
	case len(parts) == 2:
		d.serveOne(w, r, parts[0], parts[1], out)
	default:
		d.serveList(w, r, parts[0], out)
	}
}

// authorized checks "Authorization: Bearer <token>" (scheme
// case-insensitive) against the personal token and unexpired issued ones.
func (d *Digisac) authorized(r *http.Request) bool {
	const scheme = "Bearer "
	h := r.Header.Get("Authorization")
	if len(h) <= len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return false
	}
	token := strings.TrimSpace(h[len(scheme):])
	if subtle.ConstantTimeCompare([]byte(token), []byte(d.cfg.Token)) == 1 {
		return true
	}
	d.tokMu.Lock()
	defer d.tokMu.Unlock()
	exp, ok := d.access[token]
	return ok && d.cfg.Now().UnixMilli() < exp
}

// digisacTokenResponse is the answer of /oauth/token. Its shape is
// unconfirmed (FACTS: "likely access_token, token_type, expires_in,
// refresh_token"); this is the usual OAuth 2 one.
type digisacTokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

// serveToken answers the password grant (and the refresh_token grant):
// client api/secret and the configured credentials, else 401. Checked before
// the fault knobs, like a token.
func (d *Digisac) serveToken(w http.ResponseWriter, r *http.Request) {
	fi := d.faults
	var req struct {
		GrantType    string `json:"grant_type"`
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		Username     string `json:"username"`
		Password     string `json:"password"`
		RefreshToken string `json:"refresh_token"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || json.Unmarshal(body, &req) != nil {
		fi.WriteError(w, http.StatusBadRequest, digisacBadRequest("Invalid JSON body"))
		return
	}
	d.tokMu.Lock()
	ok := req.ClientID == "api" && req.ClientSecret == "secret"
	switch req.GrantType {
	case "password":
		ok = ok && subtle.ConstantTimeCompare([]byte(req.Username), []byte(d.cfg.Username)) == 1 &&
			subtle.ConstantTimeCompare([]byte(req.Password), []byte(d.cfg.Password)) == 1
	case "refresh_token":
		ok = ok && d.refresh[req.RefreshToken]
	default:
		d.tokMu.Unlock()
		fi.WriteError(w, http.StatusBadRequest, digisacBadRequest("Unsupported grant_type"))
		return
	}
	d.tokMu.Unlock()
	if !ok {
		fi.WriteError(w, http.StatusUnauthorized, digisacBadCredentials)
		return
	}
	out := fi.Decide()
	if fi.WriteFault(w, out) {
		return
	}
	d.tokMu.Lock()
	if req.GrantType == "refresh_token" {
		delete(d.refresh, req.RefreshToken)
	}
	res := digisacTokenResponse{AccessToken: d.randomHex(20), TokenType: "Bearer", ExpiresIn: int64(d.cfg.TokenTTL / time.Second), RefreshToken: d.randomHex(20)}
	d.access[res.AccessToken] = d.cfg.Now().Add(d.cfg.TokenTTL).UnixMilli()
	d.refresh[res.RefreshToken] = true
	d.tokMu.Unlock()
	fi.WriteOK(w, r, wire.Encode(res), out)
}

// randomHex draws n random bytes as hex. Caller holds tokMu.
func (d *Digisac) randomHex(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(d.tokRng.UintN(256))
	}
	return hex.EncodeToString(b)
}

// dsPageJSON is the list envelope.
type dsPageJSON struct {
	Data        []any `json:"data"`
	Total       int   `json:"total"`
	Limit       int   `json:"limit"`
	Skip        int   `json:"skip"`
	CurrentPage int   `json:"currentPage"`
	LastPage    int   `json:"lastPage"`
	From        int   `json:"from"`
	To          int   `json:"to"`
}

func (d *Digisac) serveList(w http.ResponseWriter, r *http.Request, resource string, out fault.Outcome) {
	t := d.tables[resource]
	q, err := d.parseListQuery(t, r.URL.Query())
	if err != nil {
		d.faults.WriteError(w, http.StatusBadRequest, digisacBadRequest(err.Error()))
		return
	}
	if n := d.cfg.ChurnPerList; n > 0 {
		d.Edit(resource, n)
	}
	d.mu.RLock()
	hook := d.onList
	d.mu.RUnlock()
	if hook != nil {
		hook(resource, q.page)
	}
	if c := d.cfg.PerPageCap; c > 0 && q.perPage > c {
		q.perPage = c
	}
	skip := (q.page - 1) * q.perPage
	page := dsPageJSON{Limit: q.perPage, Skip: skip, CurrentPage: q.page, From: skip}
	rc := renderCtx{include: q.include, now: d.cfg.Now().UnixMilli()}
	d.mu.RLock()
	rows := d.sortedRows(t, q.order, q.orderKey)
	alive := t.alive
	if !t.removable {
		alive = nil
	}
	total, sel := scanPage(rows[q.start(rows):], alive, q.pred, skip, q.perPage)
	page.Data = make([]any, len(sel))
	for k, i := range sel {
		page.Data[k] = d.render(resource, i, rc)
	}
	d.mu.RUnlock()
	page.Total = total
	page.LastPage = max(1, (total+q.perPage-1)/q.perPage)
	page.To = min(skip+q.perPage, total)
	d.faults.WriteOK(w, r, wire.Encode(page), out)
}

// serveOne answers GET /api/v1/{resource}/{id}: the record with includes,
// or 404.
func (d *Digisac) serveOne(w http.ResponseWriter, r *http.Request, resource, id string, out fault.Outcome) {
	t := d.tables[resource]
	q, err := d.parseListQuery(t, r.URL.Query())
	if err != nil {
		d.faults.WriteError(w, http.StatusBadRequest, digisacBadRequest(err.Error()))
		return
	}
	rc := renderCtx{include: q.include, now: d.cfg.Now().UnixMilli()}
	d.mu.RLock()
	i, ok := d.byID[resource][id]
	var rec any
	if ok && t.alive(i) {
		rec = d.render(resource, i, rc)
	}
	d.mu.RUnlock()
	if rec == nil {
		d.faults.WriteError(w, http.StatusNotFound, digisacNoRoute)
		return
	}
	d.faults.WriteOK(w, r, wire.Encode(rec), out)
}

// serveExport answers POST /api/v1/tickets/export {"protocol":"..."} with
// the ticket's transcript as text/plain (protocol as a string or a number).
func (d *Digisac) serveExport(w http.ResponseWriter, r *http.Request, out fault.Outcome) {
	var req struct {
		Protocol any `json:"protocol"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		err = dec.Decode(&req)
	}
	var protocol string
	switch p := req.Protocol.(type) {
	case string:
		protocol = p
	case json.Number:
		protocol = p.String()
	}
	if err != nil || protocol == "" {
		d.faults.WriteError(w, http.StatusBadRequest, digisacBadRequest("protocol is required"))
		return
	}
	text, ok := d.Transcript(protocol)
	if !ok {
		d.faults.WriteError(w, http.StatusNotFound, digisacNoTicket)
		return
	}
	d.faults.WriteOKAs(w, r, "text/plain; charset=utf-8", []byte(text), out)
}

// describe is the simulator's entry in NewServer's index.
func (d *Digisac) describe(prefix string) string {
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
