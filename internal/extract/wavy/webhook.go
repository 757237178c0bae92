package wavy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrNotAWebhook means a body is not JSON, or not a batch Wavy sends.
var ErrNotAWebhook = errors.New("not a Wavy webhook body")

// moKeys and statusKeys tell an MO item from a status callback item: an
// item is an MO message when it has one of moKeys, else a status callback
// when it has one of statusKeys.
var (
	moKeys     = []string{"message", "receivedAt", "receivedDate", "userProfile"}
	statusKeys = []string{"sent", "sentStatus", "sentAt", "delivered", "deliveredStatus", "deliveredAt",
		"read", "readAt", "destination"}
)

// DecodeWebhook reads one webhook delivery: {"total", "data": [...]} whose
// items are MO messages or status callbacks (with "clientInfo" beside
// "data"). Unknown fields are ignored (they stay in each item's Raw). An
// item that is neither, or does not decode as the one it looks like, is
// kept in Invalid for the mapping to quarantine. The error (wrapping
// ErrNotAWebhook) is for a body that is not a JSON object with a "data"
// array, or whose items are none of them MO messages or status
// callbacks.
func DecodeWebhook(body []byte) (Webhook, error) {
	var env struct {
		Total      json.RawMessage   `json:"total"`
		Data       []json.RawMessage `json:"data"`
		ClientInfo json.RawMessage   `json:"clientInfo"`
	}
	var w Webhook
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return w, fmt.Errorf("%w: want a JSON object {\"total\",\"data\":[...]}", ErrNotAWebhook)
	}
	if err := json.Unmarshal(trimmed, &env); err != nil {
		return w, fmt.Errorf("%w: %v", ErrNotAWebhook, err)
	}
	if env.Data == nil {
		return w, fmt.Errorf("%w: no \"data\" array", ErrNotAWebhook)
	}
	if len(env.Total) > 0 && !bytes.Equal(env.Total, []byte("null")) {
		var n Millis // a number or a string of digits
		if err := n.UnmarshalJSON(env.Total); err == nil {
			v := int64(n)
			w.Total = &v
		}
	}
	if len(env.ClientInfo) > 0 && !bytes.Equal(env.ClientInfo, []byte("null")) {
		w.ClientInfo = env.ClientInfo
	}
	for _, raw := range env.Data {
		decodeItem(&w, raw)
	}
	if len(env.Data) > 0 && len(w.MO) == 0 && len(w.Statuses) == 0 {
		return Webhook{}, fmt.Errorf("%w: none of its %d items is an MO message (with \"message\", \"receivedAt\") or a status callback (with \"sent\", \"delivered\", \"read\")",
			ErrNotAWebhook, len(env.Data))
	}
	return w, nil
}

// decodeItem files one element of "data" under MO, Statuses or Invalid.
func decodeItem(w *Webhook, raw json.RawMessage) {
	raw = bytes.TrimSpace(raw)
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil || keys == nil {
		w.Invalid = append(w.Invalid, InvalidItem{Raw: raw, Reason: "an item of data is not a JSON object"})
		return
	}
	has := func(names []string) bool {
		for _, k := range names {
			if _, ok := keys[k]; ok {
				return true
			}
		}
		return false
	}
	switch {
	case has(moKeys):
		var m MO
		if err := json.Unmarshal(raw, &m); err != nil {
			w.Invalid = append(w.Invalid, InvalidItem{Raw: raw, Reason: "an MO message that does not decode: " + err.Error()})
			return
		}
		m.Raw = raw
		w.MO = append(w.MO, m)
	case has(statusKeys):
		var s Status
		if err := json.Unmarshal(raw, &s); err != nil {
			w.Invalid = append(w.Invalid, InvalidItem{Raw: raw, Reason: "a status callback that does not decode: " + err.Error()})
			return
		}
		s.Raw = raw
		w.Statuses = append(w.Statuses, s)
	default:
		w.Invalid = append(w.Invalid, InvalidItem{Raw: raw, Reason: "an item of data that is neither an MO message (no \"message\" nor \"receivedAt\") nor a status callback (no \"sent\", \"delivered\" nor \"read\")"})
	}
}

// decodeWebhooks is WebhookSpec.Decode: one delivery as a slice of one
// Webhook, the record type the webhooks mapping takes.
func decodeWebhooks(body []byte) (any, error) {
	w, err := DecodeWebhook(body)
	if err != nil {
		return nil, err
	}
	return []Webhook{w}, nil
}
