// Package oxenty maps the records extract/oxenty reads (the sessions of an
// Oxenty tenant) to channels, and registers that mapping for the
// platform's stream. Its functions are pure; it must not fetch nor store.
package oxenty

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"syncer/internal/extract"
	ox "syncer/internal/extract/oxenty"
	"syncer/internal/transform"
)

func init() {
	transform.Register(ox.Platform, "sessions", Sessions)
}

// statuses are the session statuses the documentation lists; each is also
// a channels.status value.
var statuses = map[string]bool{"disconnected": true, "qr": true, "connecting": true, "connected": true}

// Sessions maps sessions to channels of kind whatsapp: the external id is
// the session's id, the name is kept as given, the phone keeps its digits.
// A documented status (disconnected, qr, connecting, connected, in any
// case) is kept; any other is "unknown" (the original stays in raw), and a
// missing one is NULL. connectedAt and createdAt must be RFC 3339 times
// when present. A record that is not a session object, has no id or has a
// time that does not read is rejected with the reason.
func Sessions(records []json.RawMessage) transform.Batch {
	var b transform.Batch
	for _, raw := range records {
		c, reason := session(raw)
		if reason != "" {
			b.Reject(c.ExternalID, raw, reason)
			continue
		}
		b.Channels = append(b.Channels, c)
	}
	return b
}

// session maps one record, or gives the reason it cannot be mapped (with
// the id when it has one).
func session(raw json.RawMessage) (transform.Channel, string) {
	var r ox.Session
	if err := json.Unmarshal(raw, &r); err != nil {
		return transform.Channel{ExternalID: transform.GuessID(raw)}, fmt.Sprintf("not an Oxenty session: %v", err)
	}
	if strings.TrimSpace(r.ID) == "" {
		return transform.Channel{}, "missing id"
	}
	c := transform.Channel{ExternalID: r.ID, Name: r.Name, Kind: "whatsapp", Raw: raw}
	if r.Status != nil {
		c.Status = strings.ToLower(strings.TrimSpace(*r.Status))
		if !statuses[c.Status] {
			c.Status = "unknown"
		}
	}
	if r.Phone != nil {
		c.Phone = transform.Digits(*r.Phone)
	}
	var err error
	if c.CreatedAt, err = parse("createdAt", r.CreatedAt); err != nil {
		return c, err.Error()
	}
	if c.ConnectedAt, err = parse("connectedAt", r.ConnectedAt); err != nil {
		return c, err.Error()
	}
	return c, ""
}

// parse reads an optional RFC 3339 time; null and "" are the zero time.
func parse(field string, s *string) (time.Time, error) {
	if s == nil {
		return time.Time{}, nil
	}
	t, err := extract.ParseTime(*s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q is not an RFC 3339 time", field, *s)
	}
	return t, nil
}
