package ogmma

// Message is one element of "data" in
// GET /v1/channels/{channelId}/conversations/{conversationId}, as
// ogmma-list-messages.txt documents it. Fields that may be missing or null
// are pointers.
type Message struct {
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
