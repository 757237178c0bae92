// Package cursor defines where a stream continues: a (timestamp, id) pair read
// with an inclusive lower bound. It only describes positions; load stores
// them and extractors read from them.
package cursor

import (
	"encoding/json"
	"fmt"
	"time"
)

// Cursor is a position in a stream ordered by (TS, ID). The zero Cursor is
// the start of time.
type Cursor struct {
	TS time.Time `json:"ts"`
	ID string    `json:"id,omitempty"`
	// Reread is when the stream last read the partition's records again
	// in full, for a stream that otherwise reads only the newest (Ogmma);
	// zero for others. It is not part of the position: Less and Max
	// ignore it, and it is kept beside the position when that moves.
	Reread time.Time `json:"reread,omitzero"`
	// Probe fingerprints the records the stream last saw of the
	// partition's newest ones (Ogmma), so that it can tell the next time
	// that they did not change; "" for others. Not part of the position.
	Probe string `json:"probe,omitempty"`
}

// Less orders cursors by timestamp, then id.
func (c Cursor) Less(o Cursor) bool {
	if !c.TS.Equal(o.TS) {
		return c.TS.Before(o.TS)
	}
	return c.ID < o.ID
}

// Max returns the later of c and o.
func (c Cursor) Max(o Cursor) Cursor {
	if c.Less(o) {
		return o
	}
	return c
}

// IsZero reports whether c is the start of time.
func (c Cursor) IsZero() bool { return c.TS.IsZero() && c.ID == "" }

// Cap keeps c at or before limit: a cursor past limit becomes (limit, ""),
// which re-reads everything from limit on next time. It is how the saved
// cursor never passes now - safety_lag.
func (c Cursor) Cap(limit time.Time) Cursor {
	if c.TS.After(limit) {
		return Cursor{TS: limit.UTC(), Reread: c.Reread, Probe: c.Probe}
	}
	return c
}

func (c Cursor) String() string {
	if c.IsZero() {
		return "start"
	}
	if c.ID == "" {
		return c.TS.UTC().Format(time.RFC3339Nano)
	}
	return c.TS.UTC().Format(time.RFC3339Nano) + " " + c.ID
}

// MarshalJSON writes {"ts":"<RFC 3339 UTC>","id":"..."}, with
// "reread":"<RFC 3339 UTC>" and "probe":"..." when they are set.
func (c Cursor) MarshalJSON() ([]byte, error) {
	type plain Cursor
	return json.Marshal(plain{TS: c.TS.UTC(), ID: c.ID, Reread: utc(c.Reread), Probe: c.Probe})
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

// Parse reads a cursor stored by MarshalJSON.
func Parse(b []byte) (Cursor, error) {
	type plain Cursor
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return Cursor{}, fmt.Errorf("cursor %s: %w", b, err)
	}
	return Cursor{TS: p.TS.UTC(), ID: p.ID, Reread: utc(p.Reread), Probe: p.Probe}, nil
}
