package wavy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"syncer/internal/extract"
	wv "syncer/internal/extract/wavy"
	"syncer/internal/golden"
	"syncer/internal/transform"
)

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decode(t testing.TB, body []byte) wv.Webhook {
	t.Helper()
	w, err := wv.DecodeWebhook(body)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// readPages reads testdata/wavy_sessions.csv as the sessions stream does.
func readPages(t testing.TB) []wv.SessionsPage {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "wavy_sessions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	loc, _ := time.LoadLocation("America/Sao_Paulo")
	var pages []wv.SessionsPage
	if _, err := wv.ReadSessionsCSV("wavy_sessions.csv", f, false, loc, 100, func(p wv.SessionsPage) error {
		pages = append(pages, p)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return pages
}

func TestWavyGolden(t *testing.T) {
	golden.JSON(t, "wavy_sessions.golden.json", SessionPages(readPages(t)))
	golden.JSON(t, "wavy_mo_batch.golden.json", Webhooks([]wv.Webhook{decode(t, readFile(t, "wavy_mo_batch.json"))}))
	golden.JSON(t, "wavy_status_batch.golden.json", Webhooks([]wv.Webhook{decode(t, readFile(t, "wavy_status_batch.json"))}))
}

func TestRegistered(t *testing.T) {
	pages := readPages(t)
	for name, records := range map[string]any{
		"sessions":            pages,
		wv.FormatSessionsCSV:  pages[0].Rows,
		wv.FormatMOJSON:       []wv.Webhook{decode(t, readFile(t, "wavy_mo_batch.json"))},
		extract.WebhookStream: []wv.Webhook{decode(t, readFile(t, "wavy_status_batch.json"))},
	} {
		f, ok := transform.Lookup(wv.Platform, name)
		if !ok {
			t.Fatalf("wavy/%s is not registered", name)
		}
		b, n, err := f(records)
		if err != nil || n == 0 || b.Rows() == 0 {
			t.Fatalf("wavy/%s: %d records, %d rows, %v", name, n, b.Rows(), err)
		}
		if _, _, err := f([]string{"x"}); err == nil {
			t.Fatalf("wavy/%s took records of the wrong type", name)
		}
	}
}

// A session is a conversation of kind session keyed by phone and time,
// its contact derived; the same session twice (two files, two lines) is
// the same rows, raw included.
func TestSessionsMapping(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	row := wv.Session{File: "a.csv", Line: 2, Phone: "+55 (19) 90000-0000", CreatedAt: at, CreatedText: "2025-03-01 09:00:00",
		Extra: []wv.Column{{Header: "canal", Value: "whatsapp"}, {Header: "source", Value: "dup"}}}
	b := Sessions([]wv.Session{row})
	if len(b.Conversations) != 1 || len(b.Contacts) != 1 || len(b.Rejections) != 0 {
		t.Fatalf("batch %+v", b)
	}
	c := b.Conversations[0]
	if c.ExternalID != "session:5519900000000:1740830400000" || c.Kind != "session" || c.ContactID != "5519900000000" || c.Derived ||
		!c.OpenedAt.Equal(at) || !c.UpdatedAt.Equal(at) || c.IsOpen != nil || c.ChannelID != "" {
		t.Errorf("conversation %+v", c)
	}
	var raw map[string]string
	if err := json.Unmarshal(c.Raw, &raw); err != nil || raw["source"] != "+55 (19) 90000-0000" || raw["canal"] != "whatsapp" || raw["source (2)"] != "dup" || len(raw) != 4 {
		t.Errorf("raw %s", c.Raw)
	}
	if k := b.Contacts[0]; k.ExternalID != "5519900000000" || k.Phone != "5519900000000" || !k.Derived || k.Name != "" {
		t.Errorf("contact %+v", k)
	}
	other := row
	other.File, other.Line = "b.csv", 90
	if b2 := Sessions([]wv.Session{other}); string(b2.Conversations[0].Raw) != string(c.Raw) {
		t.Errorf("the same session from another file has another raw: %s", b2.Conversations[0].Raw)
	}
	// Two sessions of one user: two conversations, one contact.
	later := row
	later.CreatedAt = at.Add(26 * time.Hour)
	if b := Sessions([]wv.Session{row, later}); len(b.Conversations) != 2 || len(b.Contacts) != 1 {
		t.Errorf("two sessions: %+v", b)
	}
	if b := Sessions([]wv.Session{{File: "a.csv", Line: 3, Phone: "abc", CreatedAt: at}}); len(b.Rejections) != 1 || b.Rejections[0].ExternalID != "a.csv:3" {
		t.Errorf("no phone: %+v", b)
	}
}

// A bad line of the stream's file is quarantined under "<file>:<line>",
// with a reason and payload that do not depend on the file's name or the
// line's place, so later runs that see it again add no quarantine row.
func TestSessionPagesQuarantineBadLines(t *testing.T) {
	pages := readPages(t)
	b := SessionPages(pages)
	if len(b.Rejections) != 1 || b.Rejections[0].ExternalID != "wavy_sessions.csv:6" ||
		b.Rejections[0].Reason != `a line of the session file: source "not-a-phone" is not a phone number` ||
		string(b.Rejections[0].Payload) != `{"text":"not-a-phone;2025-03-01 09:00:00;whatsapp"}` {
		t.Fatalf("rejections %+v", b.Rejections)
	}
	pages[0].File = "another-link"
	pages[0].Bad[0].Line = 40
	again := SessionPages(pages).Rejections[0]
	if again.Reason != b.Rejections[0].Reason || string(again.Payload) != string(b.Rejections[0].Payload) {
		t.Errorf("the same line from another download: %+v", again)
	}
}

func moItem(fields map[string]any) wv.Webhook {
	item := map[string]any{"id": "m1", "source": "5511988887777", "origin": "5519900000001", "userProfile": map[string]any{"name": "Ana"},
		"message": map[string]any{"type": "TEXT", "messageText": "oi"}, "receivedAt": 1740830400000}
	for k, v := range fields {
		if v == nil {
			delete(item, k)
		} else {
			item[k] = v
		}
	}
	body, _ := json.Marshal(map[string]any{"total": 1, "data": []any{item}})
	w, err := wv.DecodeWebhook(body)
	if err != nil {
		panic(err)
	}
	return w
}

func TestMOMapping(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		fields map[string]any
		check  func(transform.Message) bool
		reject string
	}{
		{"text", nil, func(m transform.Message) bool {
			return m.ExternalID == "m1" && m.Direction == "inbound" && m.Kind == "text" && m.Body == "oi" && m.Status == "received" &&
				m.From == "5511988887777" && m.To == "5519900000001" && m.ContactID == "5511988887777" &&
				m.ConversationID == "session:5511988887777" && m.SentAt.Equal(at) && !m.StatusOnly
		}, ""},
		{"image with caption", map[string]any{"message": map[string]any{"type": "IMAGE", "mediaUrl": " https://x/y.jpg ", "caption": "foto"}},
			func(m transform.Message) bool {
				return m.Kind == "image" && m.Body == "foto" && m.MediaURL == "https://x/y.jpg"
			}, ""},
		{"audio", map[string]any{"message": map[string]any{"type": "audio"}}, func(m transform.Message) bool { return m.Kind == "audio" }, ""},
		{"video", map[string]any{"message": map[string]any{"type": "VIDEO"}}, func(m transform.Message) bool { return m.Kind == "video" }, ""},
		{"document", map[string]any{"message": map[string]any{"type": "DOCUMENT"}}, func(m transform.Message) bool { return m.Kind == "document" }, ""},
		{"location", map[string]any{"message": map[string]any{"type": "LOCATION", "location": map[string]any{"geoPoint": "-22.89,-47.04"}}},
			func(m transform.Message) bool { return m.Kind == "location" }, ""},
		{"contacts", map[string]any{"message": map[string]any{"type": "CONTACTS"}}, func(m transform.Message) bool { return m.Kind == "contact" }, ""},
		{"sticker", map[string]any{"message": map[string]any{"type": "STICKER"}}, func(m transform.Message) bool { return m.Kind == "sticker" }, ""},
		{"unknown type is other", map[string]any{"message": map[string]any{"type": "REACTION"}}, func(m transform.Message) bool { return m.Kind == "other" }, ""},
		{"receivedDate when no receivedAt", map[string]any{"receivedAt": nil, "receivedDate": "2025-03-01T09:00:00-03:00"},
			func(m transform.Message) bool { return m.SentAt.Equal(at) && m.SentAt.Location() == time.UTC }, ""},
		{"phone with punctuation", map[string]any{"source": "+55 (11) 98888-7777"},
			func(m transform.Message) bool {
				return m.ContactID == "5511988887777" && m.From == "+55 (11) 98888-7777"
			}, ""},
		{"no id", map[string]any{"id": nil}, nil, "an MO message without an id"},
		{"no source", map[string]any{"source": "whatsapp"}, nil, `an MO message whose source "whatsapp" holds no phone number`},
		{"no time", map[string]any{"receivedAt": nil}, nil, "an MO message without receivedAt or receivedDate"},
		{"bad receivedDate", map[string]any{"receivedAt": nil, "receivedDate": "ontem"}, nil, `receivedDate "ontem" is not an RFC 3339 time`},
		{"epoch seconds", map[string]any{"receivedAt": 1740830400}, nil, "an MO message received at 1970-01-21T03:33:50Z, not a plausible time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := Webhooks([]wv.Webhook{moItem(tc.fields)})
			if tc.reject != "" {
				if len(b.Rejections) != 1 || b.Rejections[0].Reason != tc.reject || len(b.Messages) != 0 || len(b.Rejections[0].Payload) == 0 {
					t.Fatalf("rejections %+v, want one saying %q", b.Rejections, tc.reject)
				}
				return
			}
			if len(b.Messages) != 1 || len(b.Rejections) != 0 || !tc.check(b.Messages[0]) {
				t.Fatalf("messages %+v, rejections %+v", b.Messages, b.Rejections)
			}
			if !json.Valid(b.Messages[0].Raw) || !strings.Contains(string(b.Messages[0].Raw), `"userProfile"`) {
				t.Errorf("raw %s", b.Messages[0].Raw)
			}
		})
	}
}

// A user's messages share one derived conversation spanning them, and
// one derived contact named from the profile.
func TestMOThread(t *testing.T) {
	b := Webhooks([]wv.Webhook{decode(t, []byte(`{"total":3,"data":[
		{"id":"a","source":"5511988887777","message":{"type":"TEXT","messageText":"1"},"receivedAt":1740830500000},
		{"id":"b","source":"5511988887777","userProfile":{"name":"Ana"},"message":{"type":"TEXT","messageText":"2"},"receivedAt":1740830400000},
		{"id":"c","source":"5521977776666","message":{"type":"TEXT","messageText":"3"},"receivedAt":1740830600000}]}`))})
	if len(b.Messages) != 3 || len(b.Conversations) != 2 || len(b.Contacts) != 2 {
		t.Fatalf("batch %+v", b)
	}
	c := b.Conversations[0]
	if c.ExternalID != "session:5511988887777" || !c.Derived || c.Kind != "session" || c.ContactID != "5511988887777" ||
		c.OpenedAt.UnixMilli() != 1740830400000 || c.UpdatedAt.UnixMilli() != 1740830500000 {
		t.Errorf("thread %+v", c)
	}
	if k := b.Contacts[0]; k.Name != "Ana" || !k.Derived || !strings.Contains(string(k.Raw), `"name":"Ana"`) {
		t.Errorf("contact %+v %s", k, k.Raw)
	}
}

func statusItem(fields map[string]any) wv.Webhook {
	item := map[string]any{"id": "s1", "correlationId": "c1", "destination": "5511988887777", "origin": "5519900000001",
		"sent": true, "sentStatus": "SENT_SOURCE", "sentAt": 1740830400000}
	for k, v := range fields {
		if v == nil {
			delete(item, k)
		} else {
			item[k] = v
		}
	}
	body, _ := json.Marshal(map[string]any{"total": 1, "data": []any{item}, "clientInfo": map[string]any{"customerId": 42}})
	w, err := wv.DecodeWebhook(body)
	if err != nil {
		panic(err)
	}
	return w
}

func TestStatusMapping(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		fields map[string]any
		status string
		check  func(transform.Message) bool
		reject string
	}{
		{"sent", nil, "sent", func(m transform.Message) bool {
			return m.ExternalID == "s1" && m.StatusOnly && m.Direction == "outbound" && m.Kind == "other" && m.To == "5511988887777" &&
				m.From == "5519900000001" && m.ContactID == "5511988887777" && m.ConversationID == "session:5511988887777" &&
				m.SentAt.Equal(at) && m.Body == "" && strings.Contains(string(m.Raw), `"correlationId"`)
		}, ""},
		{"delivered", map[string]any{"delivered": true, "deliveredAt": 1740830405000}, "delivered", nil, ""},
		{"read beats delivered", map[string]any{"delivered": true, "read": true}, "read", nil, ""},
		{"read alone", map[string]any{"sent": nil, "sentStatus": nil, "read": "true"}, "read", nil, ""},
		{"delivery failed", map[string]any{"delivered": false, "deliveredStatus": "NOT_DELIVERED_EXPIRED"}, "failed", nil, ""},
		{"send failed", map[string]any{"sent": false, "sentStatus": "INVALID_DESTINATION_NUMBER"}, "failed", nil, ""},
		{"not sent yet", map[string]any{"sent": false, "sentStatus": nil}, "pending", nil, ""},
		{"RFC 3339 sentAt", map[string]any{"sentAt": "2025-03-01T09:00:00-03:00"}, "sent", func(m transform.Message) bool { return m.SentAt.Equal(at) }, ""},
		{"no sentAt: the next time given", map[string]any{"sentAt": nil, "delivered": true, "deliveredAt": 1740830400000}, "delivered",
			func(m transform.Message) bool { return m.SentAt.Equal(at) }, ""},
		{"sentAt 0: the next time given", map[string]any{"sentAt": 0, "delivered": true, "deliveredAt": 1740830400000}, "delivered",
			func(m transform.Message) bool { return m.SentAt.Equal(at) }, ""},
		{"sentAt 0 and no other time", map[string]any{"sentAt": "0"}, "", nil, "a status callback without any time (sentAt, deliveredAt, readAt, updatedAt)"},
		{"negative sentAt", map[string]any{"sentAt": -5}, "", nil, `a status callback whose sentAt: time "-5" is not a time`},
		{"no destination", map[string]any{"destination": nil}, "sent", func(m transform.Message) bool { return m.ConversationID == "" && m.ContactID == "" }, ""},
		{"no id", map[string]any{"id": nil}, "", nil, "a status callback without an id"},
		{"no flag", map[string]any{"sent": nil, "sentStatus": nil}, "", nil, "a status callback with no sent, delivered or read flag"},
		{"no time", map[string]any{"sentAt": nil}, "", nil, "a status callback without any time (sentAt, deliveredAt, readAt, updatedAt)"},
		{"bad time", map[string]any{"sentAt": "ontem"}, "", nil, `a status callback whose sentAt: time "ontem" is neither epoch milliseconds nor RFC 3339`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := Webhooks([]wv.Webhook{statusItem(tc.fields)})
			if tc.reject != "" {
				if len(b.Rejections) != 1 || b.Rejections[0].Reason != tc.reject || len(b.Messages) != 0 {
					t.Fatalf("rejections %+v, want one saying %q", b.Rejections, tc.reject)
				}
				return
			}
			if len(b.Messages) != 1 || len(b.Rejections) != 0 || b.Messages[0].Status != tc.status || (tc.check != nil && !tc.check(b.Messages[0])) {
				t.Fatalf("messages %+v, rejections %+v; want status %q", b.Messages, b.Rejections, tc.status)
			}
		})
	}
}

// Items of neither shape are rejected with their payload, never dropped.
func TestInvalidItemsAreRejected(t *testing.T) {
	w := decode(t, []byte(`{"data":[{"id":"x1","source":"5511988887777","message":{"type":"TEXT"},"receivedAt":1740830400000},{"id":"x2","foo":1},{"id":"x3","message":"oi"}]}`))
	b := Webhooks([]wv.Webhook{w})
	var ids []string
	for _, r := range b.Rejections {
		ids = append(ids, r.ExternalID)
	}
	if len(b.Messages) != 1 || !slices.Equal(ids, []string{"x2", "x3"}) {
		t.Fatalf("messages %d, rejections %v", len(b.Messages), ids)
	}
}

// mapBody checks what every mapping of a webhook body promises: each item
// is one message or one rejection, messages satisfy the warehouse's
// enumerations, and the contacts and conversations they name are in the
// batch.
func mapBody(t *testing.T, body []byte) {
	w, err := wv.DecodeWebhook(body)
	if err != nil {
		return
	}
	b := Webhooks([]wv.Webhook{w})
	items := len(w.MO) + len(w.Statuses) + len(w.Invalid)
	if len(b.Messages)+len(b.Rejections) != items {
		t.Fatalf("%d items became %d messages and %d rejections", items, len(b.Messages), len(b.Rejections))
	}
	convs := map[string]bool{}
	for _, c := range b.Conversations {
		convs[c.ExternalID] = true
		if c.Kind != transform.ConversationSession || !c.Derived || c.OpenedAt.After(c.UpdatedAt) {
			t.Fatalf("conversation %+v", c)
		}
	}
	for _, m := range b.Messages {
		if !slices.Contains(transform.MessageKinds, m.Kind) || !slices.Contains(transform.MessageStatuses, m.Status) ||
			!plausible(m.SentAt) || m.ExternalID == "" || (m.ConversationID != "" && !convs[m.ConversationID]) ||
			transform.Digits(m.ContactID) != m.ContactID || m.StatusOnly != (m.Direction == transform.DirectionOutbound) {
			t.Fatalf("bad message %+v", m)
		}
	}
}

// FuzzMOBody: any MO body maps without panicking and keeps the promises of
// mapBody.
func FuzzMOBody(f *testing.F) {
	f.Add(readFile(f, "wavy_mo_batch.json"))
	f.Add([]byte(`{"data":[{"id":"1","source":"+55 11","message":{"type":"IMAGE","caption":"\u0000"},"receivedAt":-5}]}`))
	f.Add([]byte(`{"data":[{"id":2,"source":5511988887777,"message":null,"receivedDate":"2025-03-01T12:00:00Z"}]}`))
	f.Fuzz(mapBody)
}

// FuzzStatusBody: any status body maps without panicking and keeps the
// promises of mapBody.
func FuzzStatusBody(f *testing.F) {
	f.Add(readFile(f, "wavy_status_batch.json"))
	f.Add([]byte(`{"data":[{"id":"1","read":1,"readAt":"9223372036854775807"},{"id":"2","sent":"false","sentDate":"x"}],"clientInfo":null}`))
	f.Fuzz(mapBody)
}
