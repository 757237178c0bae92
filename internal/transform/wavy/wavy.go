// Package wavy maps the records extract/wavy reads to warehouse rows, and
// registers those mappings: the sessions stream and the wavy-sessions-csv
// format (sessions become conversations of kind session), and the webhook
// deliveries, live (the webhooks stream) or saved (wavy-mo-json): inbound
// messages, and the delivery statuses of outbound ones. Its functions are
// pure; it must not fetch nor store.
//
// Ids. Wavy names a user by phone only, so a contact's external id is the
// phone's digits (E.164 without "+"). A session of the sessions file is the
// conversation "session:<phone>:<session_created_at in unix ms>": one row
// per session Wavy reports, the same id however often the file lists it.
// Webhooks do not say which session a message belongs to (and a message
// can arrive before the file that lists its session), so every message of
// a user goes to one conversation per user, "session:<phone>": derived
// from its messages, it spans the first to the last of them. A session's
// messages are those of its contact sent from its opened_at on (until the
// next session of that contact); docs/tables.md shows the join.
package wavy

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"syncer/internal/extract"
	wv "syncer/internal/extract/wavy"
	"syncer/internal/transform"
)

func init() {
	transform.Register(wv.Platform, "sessions", SessionPages)
	transform.Register(wv.Platform, wv.FormatSessionsCSV, Sessions)
	transform.Register(wv.Platform, wv.FormatMOJSON, Webhooks)
	transform.Register(wv.Platform, extract.WebhookStream, Webhooks)
}

// SessionID is the external id of the conversation of a session of the
// sessions file: "session:<phone digits>:<created at, unix ms>".
func SessionID(phone string, created time.Time) string {
	return "session:" + phone + ":" + strconv.FormatInt(created.UnixMilli(), 10)
}

// ThreadID is the external id of the conversation that holds every message
// of a user: "session:<phone digits>".
func ThreadID(phone string) string { return "session:" + phone }

// SessionPages maps the pages of the sessions stream: their sessions, and
// their bad lines as rejections under "<file>:<line>". Every run downloads
// the file again under a new name, and lines move as sessions come and go,
// so the reason and payload of a bad line hold only what it says ({"text"}):
// the same bad line seen by later runs stays one quarantine row.
func SessionPages(pages []wv.SessionsPage) transform.Batch {
	var b batch
	for _, p := range pages {
		b.sessions(p.Rows)
		for _, l := range p.Bad {
			b.Reject(p.File+":"+strconv.Itoa(l.Line), mustJSON(map[string]string{"text": l.Text}), "a line of the session file: "+l.Reason)
		}
	}
	return b.Batch
}

// Sessions maps rows of a sessions CSV: one conversation of kind session
// per row, and the user's contact (derived: Wavy has no contact records).
// Rows carry no line number nor file name in their raw, so the same
// session read from another file, or another line, writes nothing new.
func Sessions(rows []wv.Session) transform.Batch {
	var b batch
	b.sessions(rows)
	return b.Batch
}

// Webhooks maps webhook deliveries (live or saved): each MO message is an
// inbound message, each status callback what is known of an outbound
// message (StatusOnly), each in the conversation of its user with the
// user's contact; an item that cannot be mapped is rejected.
func Webhooks(ws []wv.Webhook) transform.Batch {
	var b batch
	for _, w := range ws {
		for _, m := range w.MO {
			b.mo(m)
		}
		for _, s := range w.Statuses {
			b.status(s)
		}
		for _, it := range w.Invalid {
			b.Reject(transform.GuessID(it.Raw), it.Raw, it.Reason)
		}
	}
	return b.Batch
}

// batch is a Batch being built, with the contacts and conversations it
// holds so far, so that each goes in once.
type batch struct {
	transform.Batch
	contacts map[string]int // phone → index in Contacts
	threads  map[string]int // conversation id → index in Conversations (derived ones)
}

func (b *batch) sessions(rows []wv.Session) {
	for _, r := range rows {
		phone := transform.Digits(r.Phone)
		if phone == "" || r.CreatedAt.IsZero() {
			b.Rejections = append(b.Rejections, transform.BadLine(r.File, r.Line, "a session without a phone or a time", r.Phone+";"+r.CreatedText))
			continue
		}
		at := r.CreatedAt.UTC()
		raw := map[string]string{"source": r.Phone, "session_created_at": r.CreatedText}
		for _, c := range r.Extra {
			raw[rawKey(raw, c.Header)] = c.Value
		}
		b.Conversations = append(b.Conversations, transform.Conversation{
			ExternalID: SessionID(phone, at),
			Kind:       transform.ConversationSession,
			ContactID:  phone,
			OpenedAt:   at,
			CreatedAt:  at,
			UpdatedAt:  at,
			Raw:        mustJSON(raw),
		})
		b.contact(phone, "")
	}
}

// rawKey is header, or header with " (2)", " (3)"... when raw holds it.
func rawKey(raw map[string]string, header string) string {
	key := header
	for n := 2; ; n++ {
		if _, dup := raw[key]; !dup {
			return key
		}
		key = header + " (" + strconv.Itoa(n) + ")"
	}
}

// contact adds the derived contact of a phone, once; a name fills one
// added without.
func (b *batch) contact(phone, name string) {
	if b.contacts == nil {
		b.contacts = map[string]int{}
	}
	if i, ok := b.contacts[phone]; ok {
		if c := &b.Contacts[i]; c.Name == "" && name != "" {
			c.Name = name
			c.Raw = transform.DerivedRaw(map[string]string{"phone": phone, "name": name})
		}
		return
	}
	fields := map[string]string{"phone": phone}
	if name != "" {
		fields["name"] = name
	}
	b.contacts[phone] = len(b.Contacts)
	b.Contacts = append(b.Contacts, transform.Contact{ExternalID: phone, Name: name, Phone: phone, Raw: transform.DerivedRaw(fields), Derived: true})
}

// thread adds (or widens) the derived conversation of a user's messages.
func (b *batch) thread(phone string, at time.Time) {
	if b.threads == nil {
		b.threads = map[string]int{}
	}
	id := ThreadID(phone)
	if i, ok := b.threads[id]; ok {
		c := &b.Conversations[i]
		if at.Before(c.OpenedAt) {
			c.OpenedAt = at
		}
		if at.After(c.UpdatedAt) {
			c.UpdatedAt = at
		}
		return
	}
	b.threads[id] = len(b.Conversations)
	b.Conversations = append(b.Conversations, transform.Conversation{
		ExternalID: id,
		Kind:       transform.ConversationSession,
		ContactID:  phone,
		OpenedAt:   at,
		UpdatedAt:  at,
		Raw:        transform.DerivedRaw(map[string]string{"id": id, "phone": phone}),
		Derived:    true,
	})
}

// moKinds maps Wavy's message types; others are "other".
var moKinds = map[string]string{
	"TEXT": "text", "IMAGE": "image", "AUDIO": "audio", "VOICE": "audio", "VIDEO": "video", "DOCUMENT": "document",
	"LOCATION": "location", "CONTACTS": "contact", "CONTACT": "contact", "STICKER": "sticker",
}

func (b *batch) mo(m wv.MO) {
	id := strings.TrimSpace(string(m.ID))
	if id == "" {
		b.Reject("", m.Raw, "an MO message without an id")
		return
	}
	phone := transform.Digits(string(m.Source))
	if phone == "" {
		b.Reject(id, m.Raw, fmt.Sprintf("an MO message whose source %q holds no phone number", string(m.Source)))
		return
	}
	at := m.ReceivedAt.Time()
	if at.IsZero() {
		var err error
		if at, err = extract.ParseTime(string(m.ReceivedDate)); err != nil {
			b.Reject(id, m.Raw, fmt.Sprintf("receivedDate %q is not an RFC 3339 time", string(m.ReceivedDate)))
			return
		}
		if at.IsZero() {
			b.Reject(id, m.Raw, "an MO message without receivedAt or receivedDate")
			return
		}
	}
	if !plausible(at) {
		b.Reject(id, m.Raw, fmt.Sprintf("an MO message received at %s, not a plausible time", at.Format(time.RFC3339)))
		return
	}
	msg := transform.Message{
		ExternalID:     id,
		ConversationID: ThreadID(phone),
		ContactID:      phone,
		Direction:      transform.DirectionInbound,
		Kind:           "other",
		Status:         "received",
		From:           strings.TrimSpace(string(m.Source)),
		To:             strings.TrimSpace(string(m.Origin)),
		SentAt:         at,
		UpdatedAt:      at,
		Raw:            m.Raw,
	}
	if c := m.Message; c != nil {
		if k, ok := moKinds[strings.ToUpper(strings.TrimSpace(string(c.Type)))]; ok {
			msg.Kind = k
		}
		msg.Body = string(c.MessageText)
		if msg.Body == "" {
			msg.Body = string(c.Caption)
		}
		msg.MediaURL = strings.TrimSpace(string(c.MediaURL))
	}
	b.Messages = append(b.Messages, msg)
	name := ""
	if m.UserProfile != nil {
		name = strings.TrimSpace(string(m.UserProfile.Name))
	}
	b.contact(phone, name)
	b.thread(phone, at)
}

// failedWords mark a Wavy status name as a failure ("NOT_DELIVERED",
// "INVALID_DESTINATION_NUMBER", "EXPIRED"...).
var failedWords = []string{"FAIL", "ERROR", "NOT_", "INVALID", "EXPIRED", "REJECT", "UNDELIVER", "BLOCK"}

func failedName(name wv.Text) bool {
	n := strings.ToUpper(string(name))
	for _, w := range failedWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// statusOf is the most advanced state a callback reports: read, then
// delivered, then a failed delivery, then sent, then a failed send; a
// message not sent yet (sent false, no failure) is pending.
func statusOf(s wv.Status) string {
	on := func(f *wv.Flag) bool { return f != nil && bool(*f) }
	switch {
	case on(s.Read):
		return "read"
	case on(s.Delivered):
		return "delivered"
	case failedName(s.DeliveredStatus):
		return "failed"
	case on(s.Sent):
		return "sent"
	case failedName(s.SentStatus):
		return "failed"
	case s.Sent != nil:
		return "pending"
	}
	return ""
}

// statusTime is when the message was sent: sentAt, else the first other
// time the callback gives (sentDate, deliveredAt, deliveredDate, readAt,
// readDate, updatedAt, updatedDate). A time that cannot be read is an
// error, not skipped.
func statusTime(s wv.Status) (time.Time, error) {
	for _, f := range []struct {
		name  string
		stamp wv.Stamp
	}{{"sentAt", s.SentAt}, {"sentDate", s.SentDate}, {"deliveredAt", s.DeliveredAt}, {"deliveredDate", s.DeliveredDate},
		{"readAt", s.ReadAt}, {"readDate", s.ReadDate}, {"updatedAt", s.UpdatedAt}, {"updatedDate", s.UpdatedDate}} {
		t, err := f.stamp.Time()
		if err != nil {
			return time.Time{}, fmt.Errorf("%s: %w", f.name, err)
		}
		if !t.IsZero() {
			return t, nil
		}
	}
	return time.Time{}, nil
}

func (b *batch) status(s wv.Status) {
	id := strings.TrimSpace(string(s.ID))
	if id == "" {
		b.Reject("", s.Raw, "a status callback without an id")
		return
	}
	status := statusOf(s)
	if status == "" {
		b.Reject(id, s.Raw, "a status callback with no sent, delivered or read flag")
		return
	}
	at, err := statusTime(s)
	if err != nil {
		b.Reject(id, s.Raw, "a status callback whose "+err.Error())
		return
	}
	if at.IsZero() {
		b.Reject(id, s.Raw, "a status callback without any time (sentAt, deliveredAt, readAt, updatedAt)")
		return
	}
	if !plausible(at) {
		b.Reject(id, s.Raw, fmt.Sprintf("a status callback sent at %s, not a plausible time", at.Format(time.RFC3339)))
		return
	}
	phone := transform.Digits(string(s.Destination))
	msg := transform.Message{
		ExternalID: id,
		ContactID:  phone,
		Direction:  transform.DirectionOutbound,
		Kind:       "other",
		Status:     status,
		From:       strings.TrimSpace(string(s.Origin)),
		To:         strings.TrimSpace(string(s.Destination)),
		SentAt:     at,
		Raw:        s.Raw,
		StatusOnly: true,
	}
	if phone != "" {
		msg.ConversationID = ThreadID(phone)
		b.contact(phone, "")
		b.thread(phone, at)
	}
	b.Messages = append(b.Messages, msg)
}

// Times outside [2000, 2200) are not Wavy's: a number misread (epoch
// seconds, a negative value), or one PostgreSQL cannot store.
var (
	earliest = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	latest   = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

func plausible(t time.Time) bool { return !t.Before(earliest) && t.Before(latest) }

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil { // maps of strings always marshal
		panic("transform/wavy: " + err.Error())
	}
	return b
}
