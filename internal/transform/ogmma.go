package transform

import (
	"encoding/json"
	"fmt"
	"strings"
)

// ogmmaMessage is one element of "data" in
// GET /v1/channels/{channelId}/conversations/{conversationId}.
type ogmmaMessage struct {
	ID             string  `json:"id"`
	ConversationID string  `json:"conversationId"`
	ChannelID      string  `json:"channelId"`
	Type           string  `json:"type"`
	Direction      string  `json:"direction"`
	Status         *string `json:"status"`
	Content        *string `json:"content"`
	MediaURL       *string `json:"mediaUrl"`
	From           string  `json:"from"`
	To             string  `json:"to"`
	CreatedAt      string  `json:"createdAt"`
	UpdatedAt      string  `json:"updatedAt"`
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

// Ogmma maps the messages of Ogmma conversation pages. Each conversation,
// its channel and its customer contact are derived from the messages: Ogmma
// has no endpoint that lists them. The contact is identified by its phone.
func Ogmma(records []json.RawMessage) Batch {
	var b Batch
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
			if m.Direction == DirectionOutbound {
				channelPhone = m.From
			}
			b.Channels = append(b.Channels, Channel{
				ExternalID: m.ChannelID,
				Phone:      Digits(channelPhone),
				Raw:        derivedRaw(map[string]string{"id": m.ChannelID}),
				Derived:    true,
			})
		}
		if m.ContactID != "" && !seenContact[m.ContactID] {
			seenContact[m.ContactID] = true
			b.Contacts = append(b.Contacts, Contact{
				ExternalID: m.ContactID,
				Phone:      m.ContactID,
				ChannelID:  m.ChannelID,
				Raw:        derivedRaw(map[string]string{"phone": m.ContactID, "channelId": m.ChannelID}),
				Derived:    true,
			})
		}
		i, ok := convs[m.ConversationID]
		if !ok {
			i = len(b.Conversations)
			convs[m.ConversationID] = i
			b.Conversations = append(b.Conversations, Conversation{
				ExternalID: m.ConversationID,
				Kind:       ConversationConversation,
				ChannelID:  m.ChannelID,
				ContactID:  m.ContactID,
				OpenedAt:   m.SentAt,
				UpdatedAt:  m.UpdatedAt,
				Raw:        derivedRaw(map[string]string{"id": m.ConversationID, "channelId": m.ChannelID}),
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

func ogmmaMap(raw json.RawMessage) (Message, string) {
	var r ogmmaMessage
	if err := json.Unmarshal(raw, &r); err != nil {
		return Message{ExternalID: guessID(raw)}, "not an Ogmma message: " + err.Error()
	}
	m := Message{ExternalID: strings.TrimSpace(r.ID)}
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
		m.Direction = DirectionInbound
	case "OUTBOUND":
		m.Direction = DirectionOutbound
	default:
		return m, fmt.Sprintf("unknown direction %q", r.Direction)
	}
	var err error
	if r.CreatedAt == "" {
		return m, "missing createdAt"
	}
	if m.SentAt, err = ParseTime(r.CreatedAt); err != nil {
		return m, fmt.Sprintf("createdAt %q is not an RFC 3339 time", r.CreatedAt)
	}
	if m.UpdatedAt, err = ParseTime(r.UpdatedAt); err != nil {
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
	if m.Direction == DirectionInbound {
		m.ContactID = Digits(m.From)
	} else {
		m.ContactID = Digits(m.To)
	}
	m.Raw = raw
	return m, ""
}

// derivedRaw is the raw payload of a row inferred from other records: what
// was known of it, marked as derived.
func derivedRaw(fields map[string]string) json.RawMessage {
	v := map[string]any{"derived": true}
	for k, s := range fields {
		v[k] = s
	}
	b, _ := json.Marshal(v) // a map of strings always marshals
	return b
}

// guessID pulls a top-level "id" out of a record that did not decode, so a
// quarantined row still says which record it was.
func guessID(raw json.RawMessage) string {
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
