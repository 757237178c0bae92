package wavy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"syncer/internal/extract"
)

// Session is one good row of a sessions CSV: a WhatsApp session a user
// opened with the account. Only the columns syncer understands have
// fields; the others are kept in Extra.
type Session struct {
	File string `json:"file"` // the file's base name (the download link's last path segment for the stream)
	Line int    `json:"line"` // the physical line (1-based; the header is line 1)

	// Phone is the source ("origem") column as written: the user's phone.
	Phone string `json:"phone"`
	// CreatedAt is session_created_at in UTC; CreatedText as written.
	CreatedAt   time.Time `json:"created_at"`
	CreatedText string    `json:"created_at_text"`
	// Extra holds the other cells of the row, in file order, under their
	// headers as written.
	Extra []Column `json:"extra,omitempty"`
}

// Column is one cell of a CSV row under its header as written.
type Column struct {
	Header string `json:"header"`
	Value  string `json:"value"`
}

// SessionsPage is a part of a sessions CSV, in file order: its good rows
// and its bad lines. It is the record type of the sessions stream (one page
// per record); the wavy-sessions-csv format hands its Rows and Bad to the
// importer separately.
type SessionsPage struct {
	File string
	Rows []Session
	Bad  []extract.BadLine
	// Done counts the rows and bad lines of the file up to the end of this
	// page; Offset the bytes read.
	Done   int64
	Offset int64
}

// Count is the sessions and bad lines the page holds: what a run reports
// as rows read (transform.Counted).
func (p SessionsPage) Count() int { return len(p.Rows) + len(p.Bad) }

// Webhook is one delivery of Wavy's webhooks (the body of one POST), read
// by DecodeWebhook: a batch of inbound (MO) messages, a batch of delivery
// status callbacks, or, should Wavy ever mix them, both. It is the record
// type of the webhooks stream and of the wavy-mo-json file format.
type Webhook struct {
	Total      *int64          `json:"total,omitempty"`
	MO         []MO            `json:"mo,omitempty"`
	Statuses   []Status        `json:"statuses,omitempty"`
	Invalid    []InvalidItem   `json:"invalid,omitempty"`
	ClientInfo json.RawMessage `json:"clientInfo,omitempty"`
}

// InvalidItem is an element of "data" that is neither an MO message nor a
// status callback, or that does not decode as the one it looks like. The
// mapping quarantines it with Reason.
type InvalidItem struct {
	Raw    json.RawMessage `json:"raw"`
	Reason string          `json:"reason"`
}

// MO is one inbound message of an MO batch, as FACTS.md shows it.
// Unknown fields are ignored (they stay in Raw).
type MO struct {
	ID            Text         `json:"id"`
	Source        Text         `json:"source"` // the user's phone
	Origin        Text         `json:"origin"` // the account's number the user wrote to
	UserProfile   *UserProfile `json:"userProfile"`
	CorrelationID Text         `json:"correlationId"`
	Message       *MOMessage   `json:"message"`
	ReceivedAt    Millis       `json:"receivedAt"`   // epoch milliseconds
	ReceivedDate  Text         `json:"receivedDate"` // RFC 3339
	// Raw is the item as Wavy sent it.
	Raw json.RawMessage `json:"-"`
}

// UserProfile is what WhatsApp tells of the user.
type UserProfile struct {
	Name Text `json:"name"`
}

// MOMessage is the content of an MO message: TEXT carries MessageText;
// IMAGE, AUDIO, VIDEO, DOCUMENT (and STICKER) carry MediaURL, MimeType and
// Caption; LOCATION carries Location.
type MOMessage struct {
	Type        Text      `json:"type"`
	MessageText Text      `json:"messageText"`
	MediaURL    Text      `json:"mediaUrl"`
	MimeType    Text      `json:"mimeType"`
	Caption     Text      `json:"caption"`
	Location    *Location `json:"location"`
}

// Location is a shared place: GeoPoint is "latitude,longitude".
type Location struct {
	GeoPoint Text `json:"geoPoint"`
	Name     Text `json:"name"`
	Address  Text `json:"address"`
}

// Status is one delivery-status callback of an outbound message. The
// boolean flags say how far the message got; the *Status texts carry
// Wavy's status names (a failure among them); times are epoch milliseconds
// or RFC 3339 (Stamp).
type Status struct {
	ID            Text `json:"id"` // the outbound message's id
	CorrelationID Text `json:"correlationId"`
	Destination   Text `json:"destination"` // the user's phone
	Origin        Text `json:"origin"`      // the account's number

	Sent            *Flag `json:"sent"`
	SentStatus      Text  `json:"sentStatus"`
	SentAt          Stamp `json:"sentAt"`
	SentDate        Stamp `json:"sentDate"`
	Delivered       *Flag `json:"delivered"`
	DeliveredStatus Text  `json:"deliveredStatus"`
	DeliveredAt     Stamp `json:"deliveredAt"`
	DeliveredDate   Stamp `json:"deliveredDate"`
	Read            *Flag `json:"read"`
	ReadAt          Stamp `json:"readAt"`
	ReadDate        Stamp `json:"readDate"`
	UpdatedAt       Stamp `json:"updatedAt"`
	UpdatedDate     Stamp `json:"updatedDate"`

	// Raw is the item as Wavy sent it.
	Raw json.RawMessage `json:"-"`
}

// Text is a JSON string that also takes a number or a boolean (ids and
// phones come as either), kept as written; null is "".
type Text string

// UnmarshalJSON reads a string, number or boolean.
func (t *Text) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*t = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = Text(s)
	case bytes.Equal(b, []byte("true")), bytes.Equal(b, []byte("false")):
		*t = Text(b)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("want a string or a number, got %s", abbreviate(b))
		}
		*t = Text(n)
	}
	return nil
}

// Millis is epoch milliseconds, written as a JSON number or a string of
// digits; zero when absent or null.
type Millis int64

// UnmarshalJSON reads a number or a string of digits.
func (m *Millis) UnmarshalJSON(b []byte) error {
	var t Text
	if err := t.UnmarshalJSON(b); err != nil {
		return err
	}
	if t == "" {
		*m = 0
		return nil
	}
	v, err := strconv.ParseInt(string(t), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(string(t), 64)
		if ferr != nil || f != float64(int64(f)) {
			return fmt.Errorf("want epoch milliseconds, got %s", abbreviate(b))
		}
		v = int64(f)
	}
	*m = Millis(v)
	return nil
}

// Time is m as a time in UTC; zero for 0.
func (m Millis) Time() time.Time {
	if m == 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(m)).UTC()
}

// Stamp is a time as Wavy's callbacks write it: epoch milliseconds (a
// number or a string of digits) or RFC 3339; kept as written, read by Time.
type Stamp string

// UnmarshalJSON reads a number or a string.
func (s *Stamp) UnmarshalJSON(b []byte) error {
	var t Text
	if err := t.UnmarshalJSON(b); err != nil {
		return err
	}
	*s = Stamp(t)
	return nil
}

// Time reads the stamp: epoch milliseconds or RFC 3339, in UTC. Empty and
// 0 (which senders write for a time they do not have) are the zero time.
func (s Stamp) Time() (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if ms, err := strconv.ParseInt(string(s), 10, 64); err == nil {
		if ms == 0 {
			return time.Time{}, nil
		}
		if ms < 0 {
			return time.Time{}, fmt.Errorf("time %q is not a time", string(s))
		}
		return time.UnixMilli(ms).UTC(), nil
	}
	t, err := extract.ParseTime(string(s))
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q is neither epoch milliseconds nor RFC 3339", string(s))
	}
	return t, nil
}

// Flag is a JSON boolean that also takes "true"/"false" strings and 0/1.
type Flag bool

// UnmarshalJSON reads a boolean, a "true"/"false" string or 0/1.
func (f *Flag) UnmarshalJSON(b []byte) error {
	var t Text
	if err := t.UnmarshalJSON(b); err != nil {
		return err
	}
	v, err := strconv.ParseBool(string(t))
	if err != nil && t != "" {
		return fmt.Errorf("want true or false, got %s", abbreviate(b))
	}
	*f = Flag(v)
	return nil
}

// abbreviate cuts a JSON value for an error message.
func abbreviate(b []byte) string {
	const n = 40
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "…"
}
