package ogmmasim

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

// Simulator simulates Ogmma's API as its "Listar Mensagens" page documents it
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
type Simulator struct {
	cfg    Config
	faults *fault.Injector

	mu       sync.RWMutex
	rng      *rand.Rand // data generator; under mu (write)
	ids      objectIDGen
	channels []*channel
	byID     map[string]*channel
	convs    []*conv // every conversation, in (channel, conversation) order
	next     int     // AddMessages' round-robin position in convs
}

var _ http.Handler = (*Simulator)(nil)

// Config configures an Ogmma simulator. Zero fields take their defaults.
type Config struct {
	Seed int64
	// APIKey is the only key accepted; anything else gets 401. Default
	// "ogmma-sim-key".
	APIKey string
	// Channels is how many channels (WhatsApp numbers) there are; default 1.
	Channels int
	// ConversationsPerChannel defaults to 10: fewer when some would only
	// start after Now (see Now).
	ConversationsPerChannel int
	// MessagesPerConversation is how many messages each conversation starts
	// with; default 50: fewer in the conversations that reach Now (see Now).
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
	// Now is the simulator's clock; default time.Now. Nothing the simulator
	// holds is dated after Now at the moment it was made:
	//
	//   - New generates the history as it stands at Now(), read once: each
	//     conversation is drawn in full as Start, Step and
	//     MessagesPerConversation say, then keeps only the messages created
	//     by Now(), their updatedAt brought back to Now() at most; a
	//     conversation whose first message would come later is left out.
	//     Generation stops at the clock; it is not squeezed to fit, so the
	//     messages before Now() are the same whatever Now() is, and
	//     MessageCount and Channels say what is actually held and served;
	//   - AddMessages dates new messages at Now() at most, and Touch moves
	//     only messages updated before Now().
	Now func() time.Time
	// BadShare is the share of messages that are malformed in a way a consumer
	// must reject: createdAt missing, direction "SIDEWAYS", or createdAt not a
	// date (one of the three, seeded). Default 0.
	BadShare float64
	Faults   fault.Faults
}

// Channel is a channel (one WhatsApp number) and its conversations' ids,
// in the order the simulator holds them.
type Channel struct {
	ID            string
	Phone         string
	Conversations []string
}

// Streams of the seeded generators, so that each simulator's data and faults
// draw from independent sequences of the same seed: serving requests (and their
// fault decisions) never shifts the data a later AddMessages generates.
const (
	streamData   uint64 = 0x6f676d6d612d6461 // "ogmma-da"
	streamFaults uint64 = 0x6f676d6d612d6661 // "ogmma-fa"
)

// New builds a simulator and all its initial data. Building is cheap:
// 100,000 messages take a few tens of milliseconds and a few megabytes, because
// messages are stored compactly and rendered to JSON only when served.
func New(cfg Config) *Simulator {
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
	o := &Simulator{
		cfg:    cfg,
		faults: fault.NewInjector(sample.NewRand(cfg.Seed, streamFaults), cfg.Faults, fault.Bodies{RateLimit: bodyRateLimited, ServerError: bodyServerError}),
		rng:    sample.NewRand(cfg.Seed, streamData),
		byID:   make(map[string]*channel, cfg.Channels),
	}
	o.ids = newObjectIDGen(o.rng)
	o.generate(cfg.Now().UnixMilli())
	return o
}

// Channels returns the channels and their conversations' ids.
func (o *Simulator) Channels() []Channel {
	o.mu.RLock()
	defer o.mu.RUnlock()
	out := make([]Channel, len(o.channels))
	for i, ch := range o.channels {
		out[i] = Channel{ID: ch.id, Phone: ch.phone, Conversations: make([]string, len(ch.convs))}
		for k, cv := range ch.convs {
			out[i].Conversations[k] = cv.id
		}
	}
	return out
}

// Messages returns every message now held, malformed ones included, ordered by
// channel, conversation and createdAt (oldest first).
func (o *Simulator) Messages() []Message {
	o.mu.RLock()
	defer o.mu.RUnlock()
	out := make([]Message, 0, o.messageCount())
	for _, cv := range o.convs {
		for i := range cv.msgs {
			out = append(out, cv.render(&cv.msgs[i]))
		}
	}
	return out
}

// MessageCount returns how many messages the simulator holds.
func (o *Simulator) MessageCount() int {
	o.mu.RLock()
	defer o.mu.RUnlock()
	return o.messageCount()
}

// messageCount is MessageCount with mu held.
func (o *Simulator) messageCount() int {
	n := 0
	for _, cv := range o.convs {
		n += len(cv.msgs)
	}
	return n
}

// SetFaults replaces the fault knobs; a 5xx burst in progress ends.
func (o *Simulator) SetFaults(f fault.Faults) { o.faults.Set(f) }

// Stats returns what the simulator has answered so far.
func (o *Simulator) Stats() fault.Stats { return o.faults.Stats() }

// APIKey returns the key the simulator accepts (Config.APIKey or its
// default).
func (o *Simulator) APIKey() string { return o.cfg.APIKey }

// Describe is the simulator's entry in the index of internal/sim's server:
// its routes and a sample conversation, under prefix.
func (o *Simulator) Describe(prefix string) string {
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
