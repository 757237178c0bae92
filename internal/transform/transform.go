// Package transform defines the warehouse's unified rows (Batch) and the
// registry of mappings: each platform's package under transform/<platform>
// registers, for each of its streams and file formats, a pure function from
// the records extract/<platform> reads to rows, or to rejections with a
// reason, never a silent drop. No I/O, no clock, no randomness here. It must
// not know how rows are stored; that is package load's job.
package transform

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// The enumerations of the warehouse tables (their CHECK constraints).
const (
	DirectionInbound  = "inbound"
	DirectionOutbound = "outbound"
	DirectionInternal = "internal"

	ConversationTicket       = "ticket"
	ConversationConversation = "conversation"
	ConversationSession      = "session"
)

// Message kinds and statuses the messages table accepts.
var (
	MessageKinds    = []string{"text", "image", "audio", "video", "document", "location", "contact", "sticker", "comment", "template", "system", "other"}
	MessageStatuses = []string{"pending", "sent", "delivered", "read", "failed", "received"}
	ChannelKinds    = []string{"whatsapp", "sms", "telegram", "instagram", "messenger", "email", "webchat", "other"}
	ChannelStatuses = []string{"connected", "connecting", "disconnected", "qr", "archived", "unknown"}
)

// Empty strings and zero times are stored as NULL.

// Channel is a connection or number a source talks through.
type Channel struct {
	ExternalID  string
	Name        string
	Kind        string
	Phone       string
	Status      string
	ConnectedAt time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
	DeletedAt   time.Time
	Raw         json.RawMessage
	// Derived rows are inferred from other records (a message names its
	// channel); they never overwrite what the platform itself said.
	Derived bool
}

// Contact is a customer.
type Contact struct {
	ExternalID string
	Name       string
	Phone      string
	ChannelID  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	DeletedAt  time.Time
	Raw        json.RawMessage
	Derived    bool
}

// Agent is a platform user who answers conversations.
type Agent struct {
	ExternalID string
	Name       string
	Email      string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	DeletedAt  time.Time
	Raw        json.RawMessage
}

// Department groups agents.
type Department struct {
	ExternalID string
	Name       string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	DeletedAt  time.Time
	Raw        json.RawMessage
}

// Conversation is a ticket, a conversation or a session.
type Conversation struct {
	ExternalID   string
	Kind         string
	ChannelID    string
	ContactID    string
	Protocol     string
	IsOpen       *bool
	OpenedAt     time.Time
	ClosedAt     time.Time
	AgentID      string
	DepartmentID string
	Topics       []string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	Raw          json.RawMessage
	// Derived conversations are built from their messages: a merge fills
	// missing ids and widens [OpenedAt, UpdatedAt], never narrows them.
	Derived bool
	// ByProtocol conversations come from exported files that name a ticket
	// only by its Protocol: they fill what the row of that protocol lacks,
	// or become a row keyed "protocol:<n>" that the API's ticket adopts
	// later. ExternalID is ignored.
	ByProtocol bool
}

// Message is one message, note or event of a conversation.
type Message struct {
	ExternalID     string
	ConversationID string
	ChannelID      string
	ContactID      string
	Direction      string
	Kind           string
	Status         string
	Body           string
	MediaURL       string
	From           string
	To             string
	SentAt         time.Time
	UpdatedAt      time.Time
	IsBot          bool
	// AgentID is the platform's id of the user (agent) who wrote the
	// message, where the platform says: outbound messages and internal
	// notes; "" for the contact's messages and where it is not known.
	AgentID string
	Raw     json.RawMessage
	// FromTranscript marks a message read from an exported transcript
	// rather than the API: a stand-in, stored only for a conversation that
	// has no API messages, and removed when API messages for it arrive.
	FromTranscript bool
	// ConversationProtocol, when ConversationID is empty, names the
	// conversation by its ticket protocol (exported files know no other
	// id): the loader files the message under the conversation of that
	// protocol, or under "protocol:<n>" until the API's ticket arrives.
	ConversationProtocol string
	// StatusOnly marks what a delivery-status callback knows of an
	// outbound message: its id, Status, its time and addresses. The loader
	// only moves the stored status forward (pending, sent, failed,
	// delivered, read), fills what the row lacks, and creates a message
	// never seen with what is known (body NULL) for later data to
	// complete. Of any message, a stored status is never moved back and a
	// stored media_url never emptied.
	StatusOnly bool
}

// Rejection is a record that could not be mapped. It goes to quarantine with
// its payload; the rest of its batch loads.
type Rejection struct {
	ExternalID string
	Reason     string
	Payload    json.RawMessage
}

// Batch is what one page of a stream becomes.
type Batch struct {
	Channels      []Channel
	Contacts      []Contact
	Agents        []Agent
	Departments   []Department
	Conversations []Conversation
	Messages      []Message
	Rejections    []Rejection
}

// Rows counts the rows of every table in the batch, rejections excluded.
func (b *Batch) Rows() int {
	return len(b.Channels) + len(b.Contacts) + len(b.Agents) + len(b.Departments) + len(b.Conversations) + len(b.Messages)
}

// Reject appends a rejection.
func (b *Batch) Reject(externalID string, payload json.RawMessage, reason string) {
	b.Rejections = append(b.Rejections, Rejection{ExternalID: externalID, Reason: reason, Payload: payload})
}

// Digits keeps only the ASCII digits of a phone number: "+55 (11) 99999-8888"
// becomes "5511999998888". WhatsApp ids like "5511999998888@c.us" keep the
// part before "@".
func Digits(s string) string {
	if i := strings.IndexByte(s, '@'); i >= 0 {
		s = s[:i]
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// DerivedRaw is the raw payload of a row inferred from other records: what
// was known of it, marked as derived.
func DerivedRaw(fields map[string]string) json.RawMessage {
	v := map[string]any{"derived": true}
	for k, s := range fields {
		v[k] = s
	}
	b, _ := json.Marshal(v) // a map of strings always marshals
	return b
}

// GuessID pulls a top-level "id" out of a record that did not decode, so a
// quarantined row still says which record it was.
func GuessID(raw json.RawMessage) string {
	var v struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(raw, &v) != nil || len(v.ID) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(v.ID, &s) == nil {
		return s
	}
	return string(v.ID)
}

// BadLine is the rejection of a line of an imported file that could not be
// read: it goes to quarantine under "<file>:<line>".
func BadLine(file string, line int, reason, text string) Rejection {
	payload, _ := json.Marshal(map[string]any{"file": file, "line": line, "text": text}) // strings and ints always marshal
	return Rejection{
		ExternalID: file + ":" + strconv.Itoa(line),
		Reason:     "line " + strconv.Itoa(line) + ": " + reason,
		Payload:    payload,
	}
}

// Append adds the rows and rejections of o to b.
func (b *Batch) Append(o *Batch) {
	b.Channels = append(b.Channels, o.Channels...)
	b.Contacts = append(b.Contacts, o.Contacts...)
	b.Agents = append(b.Agents, o.Agents...)
	b.Departments = append(b.Departments, o.Departments...)
	b.Conversations = append(b.Conversations, o.Conversations...)
	b.Messages = append(b.Messages, o.Messages...)
	b.Rejections = append(b.Rejections, o.Rejections...)
}
