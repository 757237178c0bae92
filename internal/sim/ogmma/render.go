package ogmmasim

import "syncer/internal/sim/wire"

// Message is a message as the API sends it, field for field. CreatedAt is
// omitted from the JSON only by the malformed records BadShare asks for.
type Message struct {
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

// Conversation is an entry of the (guessed) conversation listing.
type Conversation struct {
	ID        string `json:"id"`
	ChannelID string `json:"channelId"`
	CreatedAt string `json:"createdAt"`
	UpdatedAt string `json:"updatedAt"`
}

// Values of Message.Direction.
const (
	Inbound  = "INBOUND"
	Outbound = "OUTBOUND"
)

const mediaBase = "https://cdn.ogmma.com.br/media/"

// render builds the API's JSON shape of m. Caller holds mu (read).
func (cv *conv) render(m *msg) Message {
	id := m.id.String()
	out := Message{
		ID:             id,
		ConversationID: cv.id,
		ChannelID:      cv.channel.id,
		Type:           typeNames[m.typ],
		Direction:      Outbound,
		Status:         statusNames[m.status],
		From:           cv.channel.phone,
		To:             cv.customer,
		CreatedAt:      wire.FormatMillis(m.created),
		UpdatedAt:      wire.FormatMillis(m.updated),
	}
	if m.inbound {
		out.Direction, out.From, out.To = Inbound, cv.customer, cv.channel.phone
	}
	if m.hasContent {
		c := m.content
		out.Content = &c
	}
	if ext := mediaExt[m.typ]; ext != "" {
		u := mediaBase + id + "." + ext
		out.MediaURL = &u
	}
	switch m.bad {
	case ogBadNoCreatedAt:
		out.CreatedAt = ""
	case ogBadDirection:
		out.Direction = "SIDEWAYS"
	case ogBadCreatedAt:
		out.CreatedAt = badDate
	}
	return out
}
