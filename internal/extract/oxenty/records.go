package oxenty

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Session is one element of "data" in GET /api/sessions, as
// oxenty-list-sessions.txt documents it. Fields that may be missing or
// null are pointers; fields the doc does not show stay in the raw record.
type Session struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Status      *string `json:"status"` // disconnected, qr, connecting, connected
	Phone       *string `json:"phone"`
	AllowGroup  *bool   `json:"allowGroup"`
	HasWebhook  *bool   `json:"hasWebhook"`
	CreatedAt   *string `json:"createdAt"`
	ConnectedAt *string `json:"connectedAt"`
}

// Listing is one page of GET /api/sessions:
// {"data":[...],"meta":{"total","page","limit","totalPages"}}.
type Listing struct {
	Data []json.RawMessage
	// Meta is nil when the answer has none: then nothing says how long
	// the list is, and no pass over it can be known to be whole.
	Meta *Meta
}

// Meta is the paging part of a Listing.
type Meta struct {
	Total      int `json:"total"`
	Page       int `json:"page"`
	Limit      int `json:"limit"`
	TotalPages int `json:"totalPages"`
}

// DecodePage reads one answer of GET /api/sessions. The body must be a
// JSON object whose "data" is an array (of anything: each element is
// judged later, by the mapping); "meta", when present and not null, must
// be an object of non-negative integers. Unknown keys are ignored.
func DecodePage(body []byte) (*Listing, error) {
	var env struct {
		Data *[]json.RawMessage `json:"data"`
		Meta json.RawMessage    `json:"meta"`
	}
	if t := bytes.TrimSpace(body); len(t) == 0 || t[0] != '{' {
		return nil, errors.New("the answer is not a JSON object")
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("the answer is not a list of sessions: %w", err)
	}
	if env.Data == nil {
		return nil, errors.New(`the answer has no "data" array`)
	}
	out := &Listing{Data: *env.Data}
	if out.Data == nil {
		out.Data = []json.RawMessage{}
	}
	if len(env.Meta) == 0 || string(env.Meta) == "null" {
		return out, nil
	}
	var m Meta
	if err := json.Unmarshal(env.Meta, &m); err != nil {
		return nil, fmt.Errorf(`"meta" is not {"total","page","limit","totalPages"} as numbers: %w`, err)
	}
	if m.Total < 0 || m.Page < 0 || m.Limit < 0 || m.TotalPages < 0 {
		return nil, fmt.Errorf(`"meta" has a negative number: %+v`, m)
	}
	out.Meta = &m
	return out, nil
}

// sessionID reads the id of a record, "" when it has none that is a
// non-empty string.
func sessionID(raw json.RawMessage) string {
	var k struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &k) != nil || strings.TrimSpace(k.ID) == "" {
		return ""
	}
	return k.ID
}
