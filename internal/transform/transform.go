// Package transform maps platform records to the warehouse's unified rows.
// Its functions are pure: no I/O, no clock, no randomness. A record that
// cannot be mapped becomes a Rejection with a reason, never a silent drop.
// It must not know how rows are stored; that is package load's job.
package transform

import (
	"encoding/json"
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
	Raw            json.RawMessage
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

// ParseTime reads the timestamps platforms send: RFC 3339 with or without
// fractional seconds, and returns it in UTC. Empty input is the zero time.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

func oneOf(v string, set []string) bool {
	for _, s := range set {
		if v == s {
			return true
		}
	}
	return false
}
