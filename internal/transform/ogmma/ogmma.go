// Package ogmma maps the records extract/ogmma reads (messages of Ogmma
// conversations) to warehouse rows, and registers that mapping for the
// platform's streams. Its functions are pure; it must not fetch nor store.
package ogmma

import (
	"encoding/json"
	"fmt"
	"strings"

	"syncer/internal/extract"
	og "syncer/internal/extract/ogmma"
	"syncer/internal/transform"
)

func init() {
	transform.Register(og.Platform, "messages", Pages)
	transform.RegisterRecords(og.Platform, "messages", Messages)
}

// Pages maps the stream's pages: their messages as Messages does, and the
// channel's name and kind, where the config gives them, on its row.
func Pages(pages []og.Page) transform.Batch {
	var b transform.Batch
	for _, p := range pages {
		pb := Messages(p.Messages)
		for i := range pb.Channels {
			if c := &pb.Channels[i]; c.ExternalID == p.ChannelID {
				c.Name, c.Kind = p.ChannelName, p.ChannelKind
			}
		}
		b.Append(&pb)
	}
	return b
}

var ogmmaKinds = map[string]string{
	"text": "text", "chat": "text",
	"image": "image",
	"audio": "audio", "voice": "audio", "ptt": "audio",
	"video":    "video",
	"document": "document", "file": "document",
	"location": "location",
	"contact":  "contact", "contacts": "contact", "vcard": "contact",
	"sticker":  "sticker",
	"template": "template",
}

var ogmmaStatuses = map[string]string{
	"PENDING": "pending", "QUEUED": "pending",
	"SENT":      "sent",
	"DELIVERED": "delivered",
	"READ":      "read", "SEEN": "read",
	"FAILED": "failed", "ERROR": "failed", "UNDELIVERED": "failed",
	"RECEIVED": "received",
}

// Messages maps the messages of Ogmma conversation pages. Each conversation,
// its channel and its customer contact are derived from the messages: Ogmma
// has no endpoint that lists them. The contact is identified by its phone.
func Messages(records []json.RawMessage) transform.Batch {
	var b transform.Batch
	convs := map[string]int{} // conversation id → index in b.Conversations
	seenChannel := map[string]bool{}
	seenContact := map[string]bool{}
	for _, raw := range records {
		m, reason := ogmmaMap(raw)
		if reason != "" {
			b.Reject(m.ExternalID, raw, reason)
			continue
		}
		b.Messages = append(b.Messages, m)

		if !seenChannel[m.ChannelID] {
			seenChannel[m.ChannelID] = true
			channelPhone := m.To
			if m.Direction == transform.DirectionOutbound {
				channelPhone = m.From
			}
			b.Channels = append(b.Channels, transform.Channel{
				ExternalID: m.ChannelID,
				Phone:      transform.Digits(channelPhone),
				Raw:        transform.DerivedRaw(map[string]string{"id": m.ChannelID}),
				Derived:    true,
			})
		}
		if m.ContactID != "" && !seenContact[m.ContactID] {
			seenContact[m.ContactID] = true
			b.Contacts = append(b.Contacts, transform.Contact{
				ExternalID: m.ContactID,
				Phone:      m.ContactID,
				ChannelID:  m.ChannelID,
				Raw:        transform.DerivedRaw(map[string]string{"phone": m.ContactID, "channelId": m.ChannelID}),
				Derived:    true,
			})
		}
		i, ok := convs[m.ConversationID]
		if !ok {
			i = len(b.Conversations)
			convs[m.ConversationID] = i
			b.Conversations = append(b.Conversations, transform.Conversation{
				ExternalID: m.ConversationID,
				Kind:       transform.ConversationConversation,
				ChannelID:  m.ChannelID,
				ContactID:  m.ContactID,
				OpenedAt:   m.SentAt,
				UpdatedAt:  m.UpdatedAt,
				Raw:        transform.DerivedRaw(map[string]string{"id": m.ConversationID, "channelId": m.ChannelID}),
				Derived:    true,
			})
		}
		c := &b.Conversations[i]
		if m.SentAt.Before(c.OpenedAt) {
			c.OpenedAt = m.SentAt
		}
		if m.UpdatedAt.After(c.UpdatedAt) {
			c.UpdatedAt = m.UpdatedAt
		}
		if c.ContactID == "" {
			c.ContactID = m.ContactID
		}
	}
	return b
}

func ogmmaMap(raw json.RawMessage) (transform.Message, string) {
	var r og.Message
	if err := json.Unmarshal(raw, &r); err != nil {
		return transform.Message{ExternalID: transform.GuessID(raw)}, "not an Ogmma message: " + err.Error()
	}
	m := transform.Message{ExternalID: strings.TrimSpace(r.ID)}
	if m.ExternalID == "" {
		return m, "missing id"
	}
	m.ConversationID = strings.TrimSpace(r.ConversationID)
	m.ChannelID = strings.TrimSpace(r.ChannelID)
	if m.ConversationID == "" || m.ChannelID == "" {
		return m, "missing conversationId or channelId"
	}
	switch strings.ToUpper(strings.TrimSpace(r.Direction)) {
	case "INBOUND":
		m.Direction = transform.DirectionInbound
	case "OUTBOUND":
		m.Direction = transform.DirectionOutbound
	default:
		return m, fmt.Sprintf("unknown direction %q", r.Direction)
	}
	var err error
	if r.CreatedAt == "" {
		return m, "missing createdAt"
	}
	if m.SentAt, err = extract.ParseTime(r.CreatedAt); err != nil {
		return m, fmt.Sprintf("createdAt %q is not an RFC 3339 time", r.CreatedAt)
	}
	if m.UpdatedAt, err = extract.ParseTime(r.UpdatedAt); err != nil {
		return m, fmt.Sprintf("updatedAt %q is not an RFC 3339 time", r.UpdatedAt)
	}
	if m.UpdatedAt.IsZero() {
		m.UpdatedAt = m.SentAt
	}
	m.Kind = ogmmaKinds[strings.ToLower(strings.TrimSpace(r.Type))]
	if m.Kind == "" {
		m.Kind = "other"
	}
	if r.Status != nil {
		m.Status = ogmmaStatuses[strings.ToUpper(strings.TrimSpace(*r.Status))]
	}
	if r.Content != nil {
		m.Body = *r.Content
	}
	if r.MediaURL != nil {
		m.MediaURL = strings.TrimSpace(*r.MediaURL)
	}
	m.From = strings.TrimSpace(r.From)
	m.To = strings.TrimSpace(r.To)
	if m.Direction == transform.DirectionInbound {
		m.ContactID = transform.Digits(m.From)
	} else {
		m.ContactID = transform.Digits(m.To)
	}
	m.Raw = raw
	return m, ""
}
