package sim

import (
	"crypto/subtle"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"syncer/internal/sim/fault"
	"syncer/internal/sim/sample"
	"syncer/internal/sim/wire"
)

// Ogmma simulates Ogmma's API as its "Listar Mensagens" page documents it
// (shared/api-docs/ogmma-list-messages.txt).
// Routes are relative to wherever the handler is mounted:
//
//	GET /v1/channels/{channelId}/conversations/{conversationId}?limit=N
//	GET /v1/channels/{channelId}/conversations
//
// The first is the one documented endpoint: the newest N messages of a
// conversation (limit default 50, max 500), newest first, as
// {"data":[...],"meta":{"limit":N}}. Newest first is unconfirmed; the doc's
// sample is ordered that way. There is no other paging parameter.
//
// The second is a GUESS (FACTS.md: no endpoint that lists conversations is
// documented; syncer uses it only when configured to): the channel's
// conversations as {"data":[{"id","channelId","createdAt","updatedAt"}],
// "meta":{"total":N}}, all of them, unpaged.
//
// A request goes through these checks, in order:
//
//  1. latency (Faults.Latency), abandoned if the client gives up;
//  2. route: anything but the two paths above → 404 NOT_FOUND;
//  3. method: anything but GET → 405 METHOD_NOT_ALLOWED with Allow: GET;
//  4. auth: "Authorization: Bearer <APIKey>", else 401 UNAUTHORIZED. A wrong key
//     never reaches the fault knobs: it gets 401, never 429 or 5xx;
//  5. faults: 5xx burst, then 429 RATE_LIMIT_EXCEEDED with Retry-After;
//  6. limit: not a positive integer, or above 500 → 400 VALIDATION_ERROR. The doc
//     gives only the default and the maximum; rejecting the rest is our choice;
//  7. channel and conversation: unknown → 404 NOT_FOUND;
//  8. 200, whose body may be cut off midway (Faults.CutBodyShare).
type Ogmma struct {
	cfg    OgmmaConfig
	faults *fault.Injector

	mu       sync.RWMutex
	rng      *rand.Rand // data generator; under mu (write)
	ids      objectIDGen
	channels []*ogmmaChannel
	byID     map[string]*ogmmaChannel
	convs    []*ogmmaConv // every conversation, in (channel, conversation) order
	next     int          // AddMessages' round-robin position in convs
}

var _ http.Handler = (*Ogmma)(nil)

// OgmmaConfig configures an Ogmma simulator. Zero fields take their defaults.
type OgmmaConfig struct {
	Seed int64
	// APIKey is the only key accepted; anything else gets 401. Default
	// "ogmma-sim-key".
	APIKey string
	// Channels is how many channels (WhatsApp numbers) there are; default 1.
	Channels int
	// ConversationsPerChannel defaults to 10.
	ConversationsPerChannel int
	// MessagesPerConversation is how many messages each conversation starts
	// with; default 50.
	MessagesPerConversation int
	// VaryMessages makes the initial count vary per conversation, seeded, between
	// half and one and a half times MessagesPerConversation (at least 1).
	VaryMessages bool
	// Start is the createdAt of the oldest generated message; default
	// 2024-01-01T00:00:00Z. Conversations start within Step ×
	// MessagesPerConversation of it.
	Start time.Time
	// Step is the typical gap between consecutive messages of a conversation;
	// default 1m. Gaps are drawn between Step/2 and 3·Step/2, at least 1ms, so
	// createdAt is strictly increasing within a conversation.
	Step time.Duration
	// Now is the clock of messages added or touched later; default time.Now.
	Now func() time.Time
	// BadShare is the share of messages that are malformed in a way a consumer
	// must reject: createdAt missing, direction "SIDEWAYS", or createdAt not a
	// date (one of the three, seeded). Default 0.
	BadShare float64
	Faults   fault.Faults
}

// OgmmaChannel is a channel (one WhatsApp number) and its conversations' ids,
// in the order the simulator holds them.
type OgmmaChannel struct {
	ID            string
	Phone         string
	Conversations []string
}

// OgmmaMessage is a message as the API sends it, field for field. CreatedAt is
// omitted from the JSON only by the malformed records BadShare asks for.
type OgmmaMessage struct {
	ID             string  `json:"id"`
	ConversationID string  `json:"conversationId"`
	ChannelID      string  `json:"channelId"`
	Type           string  `json:"type"`
	Direction      string  `json:"direction"`
	Status         string  `json:"status"`
	Content        *string `json:"content"`
	MediaURL       *string `json:"mediaUrl"`
	From           string  `json:"from"`
	To             string  `json:"to"`
	CreatedAt      string  `json:"createdAt,omitempty"`
	UpdatedAt      string  `json:"updatedAt"`
}

// OgmmaConversation is an entry of the (guessed) conversation listing.
type OgmmaConversation struct {
	ID        string `json:"id"`
	ChannelID string `json:"channelId"`
	CreatedAt string `json:"createdAt"`
	UpdatedAt string `json:"updatedAt"`
}

// Values of OgmmaMessage.Direction.
const (
	OgmmaInbound  = "INBOUND"
	OgmmaOutbound = "OUTBOUND"
)

// Ogmma's error bodies. 401 and 429 are the documented ones; the others follow
// their shape.
var (
	ogmmaUnauthorized    = errorBody("Token de autenticacao invalido ou ausente.", "UNAUTHORIZED")
	ogmmaRateLimited     = errorBody("Limite de requisicoes excedido. Tente novamente em alguns segundos.", "RATE_LIMIT_EXCEEDED")
	ogmmaServerError     = errorBody("Erro interno", "INTERNAL_ERROR")
	ogmmaBadLimit        = errorBody("O parametro limit deve ser um numero inteiro entre 1 e 500.", "VALIDATION_ERROR")
	ogmmaNoConversation  = errorBody("Conversa nao encontrada.", "NOT_FOUND")
	ogmmaNoChannel       = errorBody("Canal nao encontrado.", "NOT_FOUND")
	ogmmaNoRoute         = errorBody("Rota nao encontrada.", "NOT_FOUND")
	ogmmaMethodForbidden = errorBody("Metodo nao permitido.", "METHOD_NOT_ALLOWED")
)

const (
	ogmmaDefaultLimit = 50
	ogmmaMaxLimit     = 500
	ogmmaMediaBase    = "https://cdn.ogmma.com.br/media/"
)

// Message types, with realistic weights (text is most of the traffic).
type ogmmaType uint8

const (
	ogText ogmmaType = iota
	ogImage
	ogAudio
	ogVideo
	ogDocument
	ogLocation
	ogSticker
	ogTemplate
)

var ogmmaTypeNames = [...]string{"text", "image", "audio", "video", "document", "location", "sticker", "template"}

// ogmmaMediaExt is the file extension of each type that carries mediaUrl.
var ogmmaMediaExt = [ogTemplate + 1]string{ogImage: "jpg", ogAudio: "ogg", ogVideo: "mp4", ogDocument: "pdf", ogSticker: "webp"}

var ogmmaTypeWeights = []sample.Weighted[ogmmaType]{
	{V: ogText, W: 72}, {V: ogImage, W: 9}, {V: ogAudio, W: 8}, {V: ogVideo, W: 3}, {V: ogDocument, W: 4},
	{V: ogLocation, W: 1}, {V: ogSticker, W: 2}, {V: ogTemplate, W: 1},
}

// Statuses. OUTBOUND moves PENDING → SENT → DELIVERED → READ or ends FAILED;
// INBOUND is RECEIVED then READ (our guess: the doc shows READ on an inbound).
type ogmmaStatus uint8

const (
	ogPending ogmmaStatus = iota
	ogSent
	ogDelivered
	ogRead
	ogFailed
	ogReceived
)

var ogmmaStatusNames = [...]string{"PENDING", "SENT", "DELIVERED", "READ", "FAILED", "RECEIVED"}

// ogmmaNextStatus is where Touch moves a status; absent means it is final.
var ogmmaNextStatus = map[ogmmaStatus]ogmmaStatus{
	ogPending: ogSent, ogSent: ogDelivered, ogDelivered: ogRead, ogReceived: ogRead,
}

var (
	ogmmaOutboundStatus = []sample.Weighted[ogmmaStatus]{
		{V: ogRead, W: 50}, {V: ogDelivered, W: 30}, {V: ogSent, W: 10}, {V: ogPending, W: 3}, {V: ogFailed, W: 7},
	}
	ogmmaInboundStatus = []sample.Weighted[ogmmaStatus]{{V: ogRead, W: 75}, {V: ogReceived, W: 25}}
	// Messages AddMessages creates have just arrived.
	ogmmaNewOutboundStatus = []sample.Weighted[ogmmaStatus]{{V: ogPending, W: 20}, {V: ogSent, W: 60}, {V: ogDelivered, W: 20}}
)

// Malformed records (OgmmaConfig.BadShare).
const (
	ogGood uint8 = iota
	ogBadNoCreatedAt
	ogBadDirection
	ogBadCreatedAt
)

const ogmmaBadDate = "ontem às 10h30"

// ogmmaMsg is a message in its compact stored form; render builds the JSON shape.
type ogmmaMsg struct {
	id         objectID
	created    int64 // unix ms; orders messages even when the record is malformed
	updated    int64 // unix ms
	content    string
	hasContent bool // false: "content": null
	typ        ogmmaType
	inbound    bool
	status     ogmmaStatus
	bad        uint8
}

type ogmmaConv struct {
	id       string
	channel  *ogmmaChannel
	customer string     // the customer's phone
	created  int64      // unix ms
	updated  int64      // unix ms of the last message created or touched
	msgs     []ogmmaMsg // by created, oldest first
}

type ogmmaChannel struct {
	id    string
	phone string
	convs []*ogmmaConv
	byID  map[string]*ogmmaConv
}

// NewOgmma builds a simulator and all its initial data. Building is cheap:
// 100,000 messages take a few tens of milliseconds and a few megabytes, because
// messages are stored compactly and rendered to JSON only when served.
func NewOgmma(cfg OgmmaConfig) *Ogmma {
	if cfg.APIKey == "" {
		cfg.APIKey = "ogmma-sim-key"
	}
	if cfg.Channels <= 0 {
		cfg.Channels = 1
	}
	if cfg.ConversationsPerChannel <= 0 {
		cfg.ConversationsPerChannel = 10
	}
	if cfg.MessagesPerConversation <= 0 {
		cfg.MessagesPerConversation = 50
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if cfg.Step <= 0 {
		cfg.Step = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	o := &Ogmma{
		cfg:    cfg,
		faults: fault.NewInjector(sample.NewRand(cfg.Seed, streamOgmmaFaults), cfg.Faults, fault.Bodies{RateLimit: ogmmaRateLimited, ServerError: ogmmaServerError}),
		rng:    sample.NewRand(cfg.Seed, streamOgmmaData),
		byID:   make(map[string]*ogmmaChannel, cfg.Channels),
	}
	o.ids = newObjectIDGen(o.rng)
	o.generate()
	return o
}

// generate builds channels, conversations and their initial messages.
func (o *Ogmma) generate() {
	cfg := o.cfg
	r := o.rng
	start := cfg.Start.UnixMilli()
	stepMs := max(cfg.Step.Milliseconds(), 1)
	spreadMs := stepMs * int64(cfg.MessagesPerConversation) // how far apart conversations start
	for c := range cfg.Channels {
		chCreated := cfg.Start.Add(-time.Duration(30+r.IntN(335)) * 24 * time.Hour)
		ch := &ogmmaChannel{
			id:    o.ids.next(chCreated).String(),
			phone: sample.BrazilMobile(r),
			byID:  make(map[string]*ogmmaConv, cfg.ConversationsPerChannel),
		}
		for k := range cfg.ConversationsPerChannel {
			first := start // the very first conversation starts exactly at Start
			if c > 0 || k > 0 {
				first += r.Int64N(spreadMs)
			}
			n := cfg.MessagesPerConversation
			if cfg.VaryMessages {
				n = max(1, n/2+r.IntN(n+1))
			}
			convCreated := first - r.Int64N(60_000) // opened shortly before its first message
			cv := &ogmmaConv{
				id:       o.ids.next(time.UnixMilli(convCreated)).String(),
				channel:  ch,
				customer: sample.BrazilMobile(r),
				created:  convCreated,
				msgs:     make([]ogmmaMsg, n),
			}
			at := first
			for i := range cv.msgs {
				if i > 0 {
					at += max(stepMs/2+r.Int64N(stepMs), 1)
				}
				m := &cv.msgs[i]
				o.fill(m, at, false)
				m.updated = at + 1000 + r.Int64N(9000) // delivered/read a few seconds later
			}
			cv.updated = cv.msgs[len(cv.msgs)-1].updated
			ch.convs = append(ch.convs, cv)
			ch.byID[cv.id] = cv
			o.convs = append(o.convs, cv)
		}
		o.channels = append(o.channels, ch)
		o.byID[ch.id] = ch
	}
}

// fill draws a message created at (unix ms): id, direction, type, status,
// content, and whether it is malformed. fresh messages (AddMessages) get the
// statuses of something that just arrived. Caller holds mu or is building.
func (o *Ogmma) fill(m *ogmmaMsg, at int64, fresh bool) {
	r := o.rng
	// Draw the same values in the same order for every message, so one knob or
	// type does not reshuffle the rest of the data.
	uDir, uStatus, uText, uCaption, uNUL, uBad, uBadKind := r.Float64(), r.IntN(100), r.Uint32(), r.Float64(), r.IntN(500), r.Float64(), r.IntN(3)
	typ := sample.Pick(r, ogmmaTypeWeights)
	*m = ogmmaMsg{id: o.ids.next(time.UnixMilli(at)), created: at, updated: at, typ: typ}
	m.inbound = uDir < 0.5 && typ != ogTemplate // templates are only ever sent
	switch {
	case m.inbound && fresh:
		m.status = ogReceived
	case m.inbound:
		m.status = sample.PickPercent(ogmmaInboundStatus, uStatus)
	case fresh:
		m.status = sample.PickPercent(ogmmaNewOutboundStatus, uStatus)
	default:
		m.status = sample.PickPercent(ogmmaOutboundStatus, uStatus)
	}
	texts := sample.AgentTexts
	if m.inbound {
		texts = sample.CustomerTexts
	}
	switch typ {
	case ogText:
		m.content, m.hasContent = texts[int(uText)%len(texts)], true
		if uNUL == 0 { // about 1 text in 500
			m.content = withNUL(m.content)
		}
	case ogImage, ogVideo, ogDocument:
		if uCaption < 0.3 {
			m.content, m.hasContent = sample.CaptionTexts[int(uText)%len(sample.CaptionTexts)], true
		}
	case ogLocation:
		m.content, m.hasContent = locationTexts[int(uText)%len(locationTexts)], true
	case ogTemplate:
		m.content, m.hasContent = templateTexts[int(uText)%len(templateTexts)], true
	}
	if uBad < o.cfg.BadShare {
		m.bad = ogBadNoCreatedAt + uint8(uBadKind)
	}
}

// render builds the API's JSON shape of m. Caller holds mu (read).
func (cv *ogmmaConv) render(m *ogmmaMsg) OgmmaMessage {
	id := m.id.String()
	out := OgmmaMessage{
		ID:             id,
		ConversationID: cv.id,
		ChannelID:      cv.channel.id,
		Type:           ogmmaTypeNames[m.typ],
		Direction:      OgmmaOutbound,
		Status:         ogmmaStatusNames[m.status],
		From:           cv.channel.phone,
		To:             cv.customer,
		CreatedAt:      wire.FormatMillis(m.created),
		UpdatedAt:      wire.FormatMillis(m.updated),
	}
	if m.inbound {
		out.Direction, out.From, out.To = OgmmaInbound, cv.customer, cv.channel.phone
	}
	if m.hasContent {
		c := m.content
		out.Content = &c
	}
	if ext := ogmmaMediaExt[m.typ]; ext != "" {
		u := ogmmaMediaBase + id + "." + ext
		out.MediaURL = &u
	}
	switch m.bad {
	case ogBadNoCreatedAt:
		out.CreatedAt = ""
	case ogBadDirection:
		out.Direction = "SIDEWAYS"
	case ogBadCreatedAt:
		out.CreatedAt = ogmmaBadDate
	}
	return out
}

// Channels returns the channels and their conversations' ids.
func (o *Ogmma) Channels() []OgmmaChannel {
	o.mu.RLock()
	defer o.mu.RUnlock()
	out := make([]OgmmaChannel, len(o.channels))
	for i, ch := range o.channels {
		out[i] = OgmmaChannel{ID: ch.id, Phone: ch.phone, Conversations: make([]string, len(ch.convs))}
		for k, cv := range ch.convs {
			out[i].Conversations[k] = cv.id
		}
	}
	return out
}

// Messages returns every message now held, malformed ones included, ordered by
// channel, conversation and createdAt (oldest first).
func (o *Ogmma) Messages() []OgmmaMessage {
	o.mu.RLock()
	defer o.mu.RUnlock()
	out := make([]OgmmaMessage, 0, o.messageCount())
	for _, cv := range o.convs {
		for i := range cv.msgs {
			out = append(out, cv.render(&cv.msgs[i]))
		}
	}
	return out
}

// MessageCount returns how many messages the simulator holds.
func (o *Ogmma) MessageCount() int {
	o.mu.RLock()
	defer o.mu.RUnlock()
	return o.messageCount()
}

// messageCount is MessageCount with mu held.
func (o *Ogmma) messageCount() int {
	n := 0
	for _, cv := range o.convs {
		n += len(cv.msgs)
	}
	return n
}

// AddMessages adds n new messages, one conversation after the other
// (round-robin, continuing where the last call stopped). Each is created at
// Now(), or 1ms after its conversation's newest message if that is not
// earlier, so createdAt stays strictly increasing per conversation. Their
// updatedAt equals createdAt. It returns the new messages in the order added.
func (o *Ogmma) AddMessages(n int) []OgmmaMessage {
	if n <= 0 {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.cfg.Now().UnixMilli()
	out := make([]OgmmaMessage, 0, n)
	for range n {
		cv := o.convs[o.next]
		o.next = (o.next + 1) % len(o.convs)
		at := max(now, cv.msgs[len(cv.msgs)-1].created+1)
		cv.msgs = append(cv.msgs, ogmmaMsg{})
		m := &cv.msgs[len(cv.msgs)-1]
		o.fill(m, at, true)
		cv.updated = max(cv.updated, at)
		out = append(out, cv.render(m))
	}
	return out
}

// Touch moves the status of up to n messages, picked at random among those
// whose status can still move, one step on (PENDING→SENT→DELIVERED→READ,
// RECEIVED→READ), with updatedAt = Now() (or 1ms after the old updatedAt if
// that is not earlier). It returns the changed messages; fewer than n when
// fewer can move.
func (o *Ogmma) Touch(n int) []OgmmaMessage {
	if n <= 0 {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	type ref struct{ conv, msg int32 }
	var movable []ref
	for c, cv := range o.convs {
		for i := range cv.msgs {
			if _, ok := ogmmaNextStatus[cv.msgs[i].status]; ok {
				movable = append(movable, ref{int32(c), int32(i)})
			}
		}
	}
	n = min(n, len(movable))
	now := o.cfg.Now().UnixMilli()
	out := make([]OgmmaMessage, 0, n)
	for k := range n {
		j := k + o.rng.IntN(len(movable)-k) // partial Fisher-Yates
		movable[k], movable[j] = movable[j], movable[k]
		cv := o.convs[movable[k].conv]
		m := &cv.msgs[movable[k].msg]
		m.status = ogmmaNextStatus[m.status]
		m.updated = max(now, m.updated+1)
		cv.updated = max(cv.updated, m.updated)
		out = append(out, cv.render(m))
	}
	return out
}

// SetFaults replaces the fault knobs; a 5xx burst in progress ends.
func (o *Ogmma) SetFaults(f fault.Faults) { o.faults.Set(f) }

// Stats returns what the simulator has answered so far.
func (o *Ogmma) Stats() fault.Stats { return o.faults.Stats() }

// APIKey returns the key the simulator accepts (OgmmaConfig.APIKey or its
// default).
func (o *Ogmma) APIKey() string { return o.cfg.APIKey }

// ServeHTTP answers the API's routes; see Ogmma for the order of checks.
func (o *Ogmma) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fi := o.faults
	if !fi.Begin(r.Context()) {
		return
	}
	channelID, conversationID, ok := parseOgmmaPath(r.URL.Path)
	if !ok {
		fi.WriteError(w, http.StatusNotFound, ogmmaNoRoute)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		fi.WriteError(w, http.StatusMethodNotAllowed, ogmmaMethodForbidden)
		return
	}
	if !o.authorized(r) {
		fi.WriteError(w, http.StatusUnauthorized, ogmmaUnauthorized)
		return
	}
	out := fi.Decide()
	if fi.WriteFault(w, out) {
		return
	}
	if conversationID == "" {
		o.serveConversations(w, r, channelID, out)
		return
	}
	limit, ok := parseOgmmaLimit(r)
	if !ok {
		fi.WriteError(w, http.StatusBadRequest, ogmmaBadLimit)
		return
	}
	o.serveMessages(w, r, channelID, conversationID, limit, out)
}

// parseOgmmaPath matches /v1/channels/{channelId}/conversations[/{conversationId}].
// conversationID is empty for the conversation listing.
func parseOgmmaPath(path string) (channelID, conversationID string, ok bool) {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if len(parts) < 4 || len(parts) > 5 || parts[0] != "v1" || parts[1] != "channels" ||
		parts[2] == "" || parts[3] != "conversations" {
		return "", "", false
	}
	if len(parts) == 5 {
		if parts[4] == "" {
			return "", "", false
		}
		return parts[2], parts[4], true
	}
	return parts[2], "", true
}

// parseOgmmaLimit reads ?limit=: absent means 50; otherwise decimal digits
// only, 1 to 500.
func parseOgmmaLimit(r *http.Request) (int, bool) {
	vs, present := r.URL.Query()["limit"]
	if !present {
		return ogmmaDefaultLimit, true
	}
	s := vs[0]
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > ogmmaMaxLimit {
		return 0, false
	}
	return n, true
}

// authorized checks "Authorization: Bearer <APIKey>" (scheme case-insensitive).
func (o *Ogmma) authorized(r *http.Request) bool {
	const scheme = "Bearer "
	h := r.Header.Get("Authorization")
	if len(h) <= len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return false
	}
	token := strings.TrimSpace(h[len(scheme):])
	return subtle.ConstantTimeCompare([]byte(token), []byte(o.cfg.APIKey)) == 1
}

func (o *Ogmma) serveMessages(w http.ResponseWriter, r *http.Request, channelID, conversationID string, limit int, out fault.Outcome) {
	var page struct {
		Data []OgmmaMessage `json:"data"`
		Meta struct {
			Limit int `json:"limit"`
		} `json:"meta"`
	}
	page.Meta.Limit = limit
	o.mu.RLock()
	var cv *ogmmaConv
	if ch := o.byID[channelID]; ch != nil {
		cv = ch.byID[conversationID]
	}
	if cv != nil {
		n := min(limit, len(cv.msgs))
		page.Data = make([]OgmmaMessage, n)
		for i := range n {
			page.Data[i] = cv.render(&cv.msgs[len(cv.msgs)-1-i])
		}
	}
	o.mu.RUnlock()
	if cv == nil {
		o.faults.WriteError(w, http.StatusNotFound, ogmmaNoConversation)
		return
	}
	o.faults.WriteOK(w, r, wire.Encode(page), out)
}

func (o *Ogmma) serveConversations(w http.ResponseWriter, r *http.Request, channelID string, out fault.Outcome) {
	var page struct {
		Data []OgmmaConversation `json:"data"`
		Meta struct {
			Total int `json:"total"`
		} `json:"meta"`
	}
	o.mu.RLock()
	ch := o.byID[channelID]
	if ch != nil {
		page.Data = make([]OgmmaConversation, len(ch.convs))
		for i, cv := range ch.convs {
			page.Data[i] = OgmmaConversation{
				ID:        cv.id,
				ChannelID: ch.id,
				CreatedAt: wire.FormatMillis(cv.created),
				UpdatedAt: wire.FormatMillis(cv.updated),
			}
		}
		page.Meta.Total = len(ch.convs)
	}
	o.mu.RUnlock()
	if ch == nil {
		o.faults.WriteError(w, http.StatusNotFound, ogmmaNoChannel)
		return
	}
	o.faults.WriteOK(w, r, wire.Encode(page), out)
}

// describe is the simulator's entry in NewServer's index.
func (o *Ogmma) describe(prefix string) string {
	o.mu.RLock()
	defer o.mu.RUnlock()
	msgs := o.messageCount()
	var b strings.Builder
	fmt.Fprintf(&b, "Ogmma  %s  (Authorization: Bearer <key>)\n", prefix)
	fmt.Fprintf(&b, "  GET %sv1/channels/{channelId}/conversations/{conversationId}?limit=N\n", prefix)
	fmt.Fprintf(&b, "  GET %sv1/channels/{channelId}/conversations   (guessed endpoint)\n", prefix)
	fmt.Fprintf(&b, "  %d channels, %d conversations, %d messages\n", len(o.channels), len(o.convs), msgs)
	if len(o.convs) > 0 {
		cv := o.convs[0]
		fmt.Fprintf(&b, "  e.g. %sv1/channels/%s/conversations/%s\n", prefix, cv.channel.id, cv.id)
	}
	return b.String()
}
