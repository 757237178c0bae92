// Package digisac maps the records extract/digisac reads (the API's
// connections, users, departments, contacts, tickets and messages, and the
// exported ticket-history CSV and TXT transcripts) to warehouse rows, and
// registers each mapping for its stream or file format. Its functions are
// pure; it must not fetch nor store.
package digisac

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"syncer/internal/extract"
	dg "syncer/internal/extract/digisac"
	"syncer/internal/transform"
)

func init() {
	transform.Register(dg.Platform, "services", Services)
	transform.Register(dg.Platform, "users", Users)
	transform.Register(dg.Platform, "departments", Departments)
	transform.Register(dg.Platform, "contacts", Contacts)
	transform.Register(dg.Platform, "tickets", Tickets)
	transform.Register(dg.Platform, "messages", Messages)
	transform.Register(dg.Platform, "transcripts", TranscriptRecords)
	transform.Register(dg.Platform, dg.FormatTicketsCSV, TicketsCSV)
	transform.Register(dg.Platform, dg.FormatTranscriptTXT, TranscriptFiles)
	transform.Register(dg.Platform, extract.WebhookStream, Webhooks)
}

// Webhooks maps webhook deliveries: the message of a message.created or
// message.updated delivery becomes the same row the messages stream writes
// for it (its media_url aside, which the API's file include brings and a
// delivery may lack; the loader keeps a stored one). Other events map to
// nothing.
func Webhooks(deliveries []dg.Webhook) transform.Batch {
	var msgs []json.RawMessage
	for _, w := range deliveries {
		if w.MessageEvent() {
			msgs = append(msgs, w.Data)
		}
	}
	return Messages(msgs)
}

// times parses named RFC 3339 fields; the first failure is the reason.
type times struct{ reason string }

func (t *times) parse(field string, s string) time.Time {
	v, err := extract.ParseTime(s)
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
func decode[T any](b *transform.Batch, raw json.RawMessage, what string, v *T, id func(*T) string) bool {
	if err := json.Unmarshal(raw, v); err != nil {
		b.Reject(transform.GuessID(raw), raw, fmt.Sprintf("not a Digisac %s: %v", what, err))
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

// Services maps connections (services) to channels.
func Services(records []json.RawMessage) transform.Batch {
	var b transform.Batch
	for _, raw := range records {
		var r dg.Service
		if !decode(&b, raw, "service", &r, func(r *dg.Service) string { return r.ID }) {
			continue
		}
		var t times
		c := transform.Channel{ExternalID: r.ID, Name: strings.TrimSpace(r.Name), Kind: digisacChannelKinds[strings.ToLower(r.Type)], Raw: raw,
			CreatedAt: t.parse("createdAt", r.CreatedAt), UpdatedAt: t.parse("updatedAt", r.UpdatedAt), DeletedAt: t.parsePtr("deletedAt", r.DeletedAt)}
		if c.Kind == "" {
			c.Kind = "other"
		}
		if r.Data != nil {
			c.Phone = transform.Digits(r.Data.MyID)
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

// Users maps users to agents.
func Users(records []json.RawMessage) transform.Batch {
	var b transform.Batch
	for _, raw := range records {
		var r dg.User
		if !decode(&b, raw, "user", &r, func(r *dg.User) string { return r.ID }) {
			continue
		}
		var t times
		a := transform.Agent{ExternalID: r.ID, Name: strings.TrimSpace(r.Name), Email: strings.TrimSpace(r.Email), Raw: raw,
			CreatedAt: t.parse("createdAt", r.CreatedAt), UpdatedAt: t.parse("updatedAt", r.UpdatedAt), DeletedAt: t.parsePtr("deletedAt", r.DeletedAt)}
		if t.reason != "" {
			b.Reject(r.ID, raw, t.reason)
			continue
		}
		b.Agents = append(b.Agents, a)
	}
	return b
}

// Departments maps departments.
func Departments(records []json.RawMessage) transform.Batch {
	var b transform.Batch
	for _, raw := range records {
		var r dg.User
		if !decode(&b, raw, "department", &r, func(r *dg.User) string { return r.ID }) {
			continue
		}
		var t times
		d := transform.Department{ExternalID: r.ID, Name: strings.TrimSpace(r.Name), Raw: raw,
			CreatedAt: t.parse("createdAt", r.CreatedAt), UpdatedAt: t.parse("updatedAt", r.UpdatedAt), DeletedAt: t.parsePtr("deletedAt", r.DeletedAt)}
		if t.reason != "" {
			b.Reject(r.ID, raw, t.reason)
			continue
		}
		b.Departments = append(b.Departments, d)
	}
	return b
}

// Contacts maps contacts; the phone is data.number.
func Contacts(records []json.RawMessage) transform.Batch {
	var b transform.Batch
	for _, raw := range records {
		var r dg.Contact
		if !decode(&b, raw, "contact", &r, func(r *dg.Contact) string { return r.ID }) {
			continue
		}
		var t times
		c := transform.Contact{ExternalID: r.ID, ChannelID: strings.TrimSpace(r.ServiceID), Raw: raw,
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
			c.Phone = transform.Digits(s)
		}
		if t.reason != "" {
			b.Reject(r.ID, raw, t.reason)
			continue
		}
		b.Contacts = append(b.Contacts, c)
	}
	return b
}

// Tickets maps tickets to conversations of kind ticket. Transfers and
// every other field stay in raw.
func Tickets(records []json.RawMessage) transform.Batch {
	var b transform.Batch
	for _, raw := range records {
		var r dg.Ticket
		if !decode(&b, raw, "ticket", &r, func(r *dg.Ticket) string { return r.ID }) {
			continue
		}
		var t times
		c := transform.Conversation{ExternalID: r.ID, Kind: transform.ConversationTicket, ContactID: strings.TrimSpace(r.ContactID), IsOpen: r.IsOpen,
			AgentID: str(r.UserID), DepartmentID: str(r.DepartmentID), Raw: raw,
			OpenedAt: t.parsePtr("startedAt", r.StartedAt), ClosedAt: t.parsePtr("endedAt", r.EndedAt),
			CreatedAt: t.parse("createdAt", r.CreatedAt), UpdatedAt: t.parse("updatedAt", r.UpdatedAt)}
		c.Protocol = strings.TrimSpace(dg.ProtocolText(r.Protocol))
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

// Messages maps messages. isFromMe gives the direction; comments are
// internal notes; type "ticket" rows are ticket events, kept as system
// messages whose body names the event (ticketOpen, ticketClose,
// ticketTransfer).
func Messages(records []json.RawMessage) transform.Batch {
	var b transform.Batch
	for _, raw := range records {
		var r dg.Message
		if !decode(&b, raw, "message", &r, func(r *dg.Message) string { return r.ID }) {
			continue
		}
		var t times
		m := transform.Message{ExternalID: r.ID, ConversationID: str(r.TicketID), ChannelID: str(r.ServiceID), ContactID: str(r.ContactID),
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
		var data dg.MessageData
		_ = json.Unmarshal(r.Data, &data) // data is free-form; what does not decode stays in raw
		switch {
		case typ == "comment" || typ == "ticket":
			m.Direction = transform.DirectionInternal
		case r.IsFromMe:
			m.Direction = transform.DirectionOutbound
			if data.Ack != nil {
				m.Status = digisacAck[*data.Ack]
			} else if r.Sent != nil && *r.Sent {
				m.Status = "sent"
			}
		default:
			m.Direction = transform.DirectionInbound
			m.Status = "received"
		}
		// The user who wrote it: of an outbound message or an internal
		// note (a ticket event's user is not its author).
		if r.IsFromMe && typ != "ticket" || typ == "comment" {
			m.AgentID = str(r.UserID)
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
