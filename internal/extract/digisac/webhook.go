package digisac

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Webhook is one delivery of Digisac's webhooks:
// {"event":"message.created","data":{<the message, as the messages list
// sends it>}}. Events other than message.created and message.updated are
// kept (the inbox row is marked ignored), never an error.
type Webhook struct {
	Event string          `json:"event"`
	Data  json.RawMessage `json:"data"`
}

// MessageEvent reports whether the delivery carries a message.
func (w Webhook) MessageEvent() bool {
	return w.Event == "message.created" || w.Event == "message.updated"
}

// DecodeWebhook reads one delivery's body. It fails only when the body is
// not a JSON object with an event name.
func DecodeWebhook(body []byte) (any, error) {
	var w Webhook
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("not a Digisac webhook delivery: %w", err)
	}
	w.Event = strings.TrimSpace(w.Event)
	if w.Event == "" {
		return nil, errors.New(`not a Digisac webhook delivery: no "event"`)
	}
	return []Webhook{w}, nil
}
