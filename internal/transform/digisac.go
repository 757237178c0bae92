package transform

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// The records of Digisac's /api/v1 lists, as FACTS.md shows them. Fields
// that are not always there are pointers or RawMessage.

type digisacService struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	Type       string  `json:"type"`
	ArchivedAt *string `json:"archivedAt"`
	CreatedAt  string  `json:"createdAt"`
	UpdatedAt  string  `json:"updatedAt"`
	DeletedAt  *string `json:"deletedAt"`
	Data       *struct {
		MyID   string `json:"myId"`
		Status *struct {
			IsConnected *bool `json:"isConnected"`
		} `json:"status"`
	} `json:"data"`
}

type digisacNamed struct { // users and departments
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Email     string  `json:"email"`
	CreatedAt string  `json:"createdAt"`
	UpdatedAt string  `json:"updatedAt"`
	DeletedAt *string `json:"deletedAt"`
}

type digisacContact struct {
	ID              string  `json:"id"`
	Name            string  `json:"name"`
	AlternativeName string  `json:"alternativeName"`
	InternalName    string  `json:"internalName"`
	ServiceID       string  `json:"serviceId"`
	CreatedAt       string  `json:"createdAt"`
	UpdatedAt       string  `json:"updatedAt"`
	DeletedAt       *string `json:"deletedAt"`
	Data            *struct {
		Number json.RawMessage `json:"number"`
	} `json:"data"`
}

type digisacTicket struct {
	ID           string          `json:"id"`
	IsOpen       *bool           `json:"isOpen"`
	Protocol     json.RawMessage `json:"protocol"`
	StartedAt    *string         `json:"startedAt"`
	EndedAt      *string         `json:"endedAt"`
	ContactID    string          `json:"contactId"`
	UserID       *string         `json:"userId"`
	DepartmentID *string         `json:"departmentId"`
	CreatedAt    string          `json:"createdAt"`
	UpdatedAt    string          `json:"updatedAt"`
	Contact      *struct {
		ServiceID string `json:"serviceId"`
	} `json:"contact"`
	TicketTopics []struct {
		Name string `json:"name"`
	} `json:"ticketTopics"`
}

type digisacMessage struct {
	ID        string          `json:"id"`
	IsFromMe  bool            `json:"isFromMe"`
	Sent      *bool           `json:"sent"`
	Type      string          `json:"type"`
	Timestamp *string         `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
	ContactID *string         `json:"contactId"`
	FromID    *string         `json:"fromId"`
	ToID      *string         `json:"toId"`
	ServiceID *string         `json:"serviceId"`
	TicketID  *string         `json:"ticketId"`
	Text      *string         `json:"text"`
	IsFromBot *bool           `json:"isFromBot"`
	CreatedAt string          `json:"createdAt"`
	UpdatedAt string          `json:"updatedAt"`
	File      *struct {
		URL *string `json:"url"`
	} `json:"file"`
}

// times parses named RFC 3339 fields; the first failure is the reason.
type times struct{ reason string }

func (t *times) parse(field string, s string) time.Time {
	v, err := ParseTime(s)
	if err != nil && t.reason == "" {
		t.reason = fmt.Sprintf("%s %q is not an RFC 3339 time", field, s)
	}
	return v
}

func (t *times) parsePtr(field string, s *string) time.Time {
	if s == nil {
		return time.Time{}
	}
	return t.parse(field, *s)
}

func str(s *string) string {
	if s == nil {
		return ""
	}
	return strings.TrimSpace(*s)
}

// decode unmarshals a record, rejecting it with the reason when it is not
// the expected shape or has no id.
func decode[T any](b *Batch, raw json.RawMessage, what string, v *T, id func(*T) string) bool {
	if err := json.Unmarshal(raw, v); err != nil {
		b.Reject(guessID(raw), raw, fmt.Sprintf("not a Digisac %s: %v", what, err))
		return false
	}
	if strings.TrimSpace(id(v)) == "" {
		b.Reject("", raw, "missing id")
		return false
	}
	return true
}

var digisacChannelKinds = map[string]string{
	"whatsapp": "whatsapp", "whatsapp-business": "whatsapp", "whatsapp-remote": "whatsapp",
	"sms-wavy": "sms", "sms": "sms",
	"telegram":           "telegram",
	"instagram":          "instagram",
	"facebook-messenger": "messenger", "messenger": "messenger",
	"email":   "email",
	"webchat": "webchat",
}

// DigisacServices maps connections (services) to channels.
func DigisacServices(records []json.RawMessage) Batch {
	var b Batch
	for _, raw := range records {
		var r digisacService
		if !decode(&b, raw, "service", &r, func(r *digisacService) string { return r.ID }) {
			continue
		}
		var t times
		c := Channel{ExternalID: r.ID, Name: strings.TrimSpace(r.Name), Kind: digisacChannelKinds[strings.ToLower(r.Type)], Raw: raw,
			CreatedAt: t.parse("createdAt", r.CreatedAt), UpdatedAt: t.parse("updatedAt", r.UpdatedAt), DeletedAt: t.parsePtr("deletedAt", r.DeletedAt)}
		if c.Kind == "" {
			c.Kind = "other"
		}
		if r.Data != nil {
			c.Phone = Digits(r.Data.MyID)
			if r.Data.Status != nil && r.Data.Status.IsConnected != nil {
				c.Status = "disconnected"
				if *r.Data.Status.IsConnected {
					c.Status = "connected"
				}
			}
		}
		if str(r.ArchivedAt) != "" {
			c.Status = "archived"
		}
		if t.reason != "" {
			b.Reject(r.ID, raw, t.reason)
			continue
		}
		b.Channels = append(b.Channels, c)
	}
	return b
}

// DigisacUsers maps users to agents.
func DigisacUsers(records []json.RawMessage) Batch {
	var b Batch
	for _, raw := range records {
		var r digisacNamed
		if !decode(&b, raw, "user", &r, func(r *digisacNamed) string { return r.ID }) {
			continue
		}
		var t times
		a := Agent{ExternalID: r.ID, Name: strings.TrimSpace(r.Name), Email: strings.TrimSpace(r.Email), Raw: raw,
			CreatedAt: t.parse("createdAt", r.CreatedAt), UpdatedAt: t.parse("updatedAt", r.UpdatedAt), DeletedAt: t.parsePtr("deletedAt", r.DeletedAt)}
		if t.reason != "" {
			b.Reject(r.ID, raw, t.reason)
			continue
		}
		b.Agents = append(b.Agents, a)
	}
	return b
}

// DigisacDepartments maps departments.
func DigisacDepartments(records []json.RawMessage) Batch {
	var b Batch
	for _, raw := range records {
		var r digisacNamed
		if !decode(&b, raw, "department", &r, func(r *digisacNamed) string { return r.ID }) {
			continue
		}
		var t times
		d := Department{ExternalID: r.ID, Name: strings.TrimSpace(r.Name), Raw: raw,
			CreatedAt: t.parse("createdAt", r.CreatedAt), UpdatedAt: t.parse("updatedAt", r.UpdatedAt), DeletedAt: t.parsePtr("deletedAt", r.DeletedAt)}
		if t.reason != "" {
			b.Reject(r.ID, raw, t.reason)
			continue
		}
		b.Departments = append(b.Departments, d)
	}
	return b
}

// DigisacContacts maps contacts; the phone is data.number.
func DigisacContacts(records []json.RawMessage) Batch {
	var b Batch
	for _, raw := range records {
		var r digisacContact
		if !decode(&b, raw, "contact", &r, func(r *digisacContact) string { return r.ID }) {
			continue
		}
		var t times
		c := Contact{ExternalID: r.ID, ChannelID: strings.TrimSpace(r.ServiceID), Raw: raw,
			CreatedAt: t.parse("createdAt", r.CreatedAt), UpdatedAt: t.parse("updatedAt", r.UpdatedAt), DeletedAt: t.parsePtr("deletedAt", r.DeletedAt)}
		for _, n := range []string{r.Name, r.AlternativeName, r.InternalName} {
			if n = strings.TrimSpace(n); n != "" {
				c.Name = n
				break
			}
		}
		if r.Data != nil && len(r.Data.Number) > 0 {
			var s string
			if json.Unmarshal(r.Data.Number, &s) != nil {
				s = string(r.Data.Number) // a number without quotes
			}
			c.Phone = Digits(s)
		}
		if t.reason != "" {
			b.Reject(r.ID, raw, t.reason)
			continue
		}
		b.Contacts = append(b.Contacts, c)
	}
	return b
}

// DigisacTickets maps tickets to conversations of kind ticket. Transfers and
// every other field stay in raw.
func DigisacTickets(records []json.RawMessage) Batch {
	var b Batch
	for _, raw := range records {
		var r digisacTicket
		if !decode(&b, raw, "ticket", &r, func(r *digisacTicket) string { return r.ID }) {
			continue
		}
		var t times
		c := Conversation{ExternalID: r.ID, Kind: ConversationTicket, ContactID: strings.TrimSpace(r.ContactID), IsOpen: r.IsOpen,
			AgentID: str(r.UserID), DepartmentID: str(r.DepartmentID), Raw: raw,
			OpenedAt: t.parsePtr("startedAt", r.StartedAt), ClosedAt: t.parsePtr("endedAt", r.EndedAt),
			CreatedAt: t.parse("createdAt", r.CreatedAt), UpdatedAt: t.parse("updatedAt", r.UpdatedAt)}
		if len(r.Protocol) > 0 && string(r.Protocol) != "null" {
			var s string
			if json.Unmarshal(r.Protocol, &s) != nil {
				s = string(r.Protocol)
			}
			c.Protocol = strings.TrimSpace(s)
		}
		if r.Contact != nil {
			c.ChannelID = strings.TrimSpace(r.Contact.ServiceID)
		}
		for _, tp := range r.TicketTopics {
			if n := strings.TrimSpace(tp.Name); n != "" {
				c.Topics = append(c.Topics, n)
			}
		}
		if c.OpenedAt.IsZero() {
			c.OpenedAt = c.CreatedAt
		}
		if t.reason != "" {
			b.Reject(r.ID, raw, t.reason)
			continue
		}
		b.Conversations = append(b.Conversations, c)
	}
	return b
}

var digisacKinds = map[string]string{
	"chat": "text", "text": "text",
	"image": "image",
	"video": "video",
	"audio": "audio", "ptt": "audio",
	"document": "document",
	"vcard":    "contact", "multi_vcard": "contact",
	"location": "location",
	"sticker":  "sticker",
	"comment":  "comment",
	"ticket":   "system",
	"template": "template", "hsm": "template",
}

// digisacAck maps data.ack (WhatsApp Web's meaning) of an outbound message.
var digisacAck = map[int]string{0: "pending", 1: "sent", 2: "delivered", 3: "read", 4: "read", -1: "failed"}

// DigisacMessages maps messages. isFromMe gives the direction; comments are
// internal notes; type "ticket" rows are ticket events, kept as system
// messages whose body names the event (ticketOpen, ticketClose,
// ticketTransfer).
func DigisacMessages(records []json.RawMessage) Batch {
	var b Batch
	for _, raw := range records {
		var r digisacMessage
		if !decode(&b, raw, "message", &r, func(r *digisacMessage) string { return r.ID }) {
			continue
		}
		var t times
		m := Message{ExternalID: r.ID, ConversationID: str(r.TicketID), ChannelID: str(r.ServiceID), ContactID: str(r.ContactID),
			Body: str(r.Text), From: str(r.FromID), To: str(r.ToID), IsBot: r.IsFromBot != nil && *r.IsFromBot, Raw: raw,
			UpdatedAt: t.parse("updatedAt", r.UpdatedAt)}
		if r.Text != nil {
			m.Body = *r.Text
		}
		if r.Timestamp != nil && *r.Timestamp != "" {
			m.SentAt = t.parse("timestamp", *r.Timestamp)
		} else {
			m.SentAt = t.parse("createdAt", r.CreatedAt)
		}
		if t.reason == "" && m.SentAt.IsZero() {
			t.reason = "missing timestamp and createdAt"
		}
		if t.reason != "" {
			b.Reject(r.ID, raw, t.reason)
			continue
		}
		typ := strings.ToLower(strings.TrimSpace(r.Type))
		m.Kind = digisacKinds[typ]
		if m.Kind == "" {
			m.Kind = "other"
		}
		var data struct {
			Ack            *int `json:"ack"`
			TicketOpen     bool `json:"ticketOpen"`
			TicketClose    bool `json:"ticketClose"`
			TicketTransfer bool `json:"ticketTransfer"`
		}
		_ = json.Unmarshal(r.Data, &data) // data is free-form; what does not decode stays in raw
		switch {
		case typ == "comment" || typ == "ticket":
			m.Direction = DirectionInternal
		case r.IsFromMe:
			m.Direction = DirectionOutbound
			if data.Ack != nil {
				m.Status = digisacAck[*data.Ack]
			} else if r.Sent != nil && *r.Sent {
				m.Status = "sent"
			}
		default:
			m.Direction = DirectionInbound
			m.Status = "received"
		}
		if typ == "ticket" {
			switch {
			case data.TicketOpen:
				m.Body = "ticketOpen"
			case data.TicketClose:
				m.Body = "ticketClose"
			case data.TicketTransfer:
				m.Body = "ticketTransfer"
			default:
				m.Body = "ticketEvent"
			}
		}
		if r.File != nil {
			m.MediaURL = str(r.File.URL)
		}
		b.Messages = append(b.Messages, m)
	}
	return b
}
