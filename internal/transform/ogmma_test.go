package transform

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"syncer/internal/golden"
)

func readPage(t *testing.T, name string) []json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var records []json.RawMessage
	if err := json.Unmarshal(b, &records); err != nil {
		t.Fatal(err)
	}
	return records
}

func TestOgmmaGolden(t *testing.T) {
	golden.JSON(t, "ogmma_page.golden.json", Ogmma(readPage(t, "ogmma_page.json")))
}

func TestOgmmaMapping(t *testing.T) {
	base := map[string]any{
		"id": "m1", "conversationId": "c1", "channelId": "ch1", "type": "text", "direction": "INBOUND",
		"status": "READ", "content": "oi", "mediaUrl": nil, "from": "5511977776666", "to": "5511999998888",
		"createdAt": "2024-01-15T10:29:00.000Z", "updatedAt": "2024-01-15T10:29:01.000Z",
	}
	with := func(k string, v any) json.RawMessage {
		m := map[string]any{}
		for kk, vv := range base {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		b, _ := json.Marshal(m)
		return b
	}
	for _, tc := range []struct {
		name   string
		raw    json.RawMessage
		check  func(Message) bool
		reject string
	}{
		{"inbound", with("direction", "INBOUND"), func(m Message) bool { return m.Direction == "inbound" && m.ContactID == "5511977776666" }, ""},
		{"outbound contact is the recipient", with("direction", "OUTBOUND"), func(m Message) bool { return m.Direction == "outbound" && m.ContactID == "5511999998888" }, ""},
		{"status delivered", with("status", "DELIVERED"), func(m Message) bool { return m.Status == "delivered" }, ""},
		{"unknown status is null", with("status", "PLAYED"), func(m Message) bool { return m.Status == "" }, ""},
		{"voice is audio", with("type", "voice"), func(m Message) bool { return m.Kind == "audio" }, ""},
		{"unknown type is other", with("type", "reaction"), func(m Message) bool { return m.Kind == "other" }, ""},
		{"times in UTC", with("createdAt", "2024-01-15T07:29:00-03:00"), func(m Message) bool { return m.SentAt.Location().String() == "UTC" && m.SentAt.Hour() == 10 }, ""},
		{"missing updatedAt is createdAt", with("updatedAt", nil), func(m Message) bool { return m.UpdatedAt.Equal(m.SentAt) }, ""},
		{"bad direction", with("direction", "SIDEWAYS"), nil, `unknown direction "SIDEWAYS"`},
		{"no createdAt", with("createdAt", nil), nil, "missing createdAt"},
		{"bad createdAt", with("createdAt", "ontem"), nil, `createdAt "ontem" is not an RFC 3339 time`},
		{"no id", with("id", nil), nil, "missing id"},
		{"no conversation", with("conversationId", nil), nil, "missing conversationId or channelId"},
		{"not an object", json.RawMessage(`[1,2]`), nil, "not an Ogmma message: json: cannot unmarshal array into Go value of type transform.ogmmaMessage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := Ogmma([]json.RawMessage{tc.raw})
			if tc.reject != "" {
				if len(b.Rejections) != 1 || b.Rejections[0].Reason != tc.reject || len(b.Messages) != 0 {
					t.Fatalf("rejections %+v, want one saying %q", b.Rejections, tc.reject)
				}
				return
			}
			if len(b.Messages) != 1 || len(b.Rejections) != 0 {
				t.Fatalf("messages %d, rejections %+v", len(b.Messages), b.Rejections)
			}
			if !tc.check(b.Messages[0]) {
				t.Fatalf("mapped to %+v", b.Messages[0])
			}
		})
	}
}

func TestDigits(t *testing.T) {
	for in, want := range map[string]string{
		"+55 (11) 97777-6666": "5511977776666",
		"5511999998888@c.us":  "5511999998888",
		"":                    "",
		"abc":                 "",
	} {
		if got := Digits(in); got != want {
			t.Errorf("Digits(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzOgmma: any page of records maps without panicking, every record ends
// up either a message or a rejection, and mapped messages satisfy the
// warehouse's enumerations.
func FuzzOgmma(f *testing.F) {
	addSeeds(f, "ogmma_page.json")
	f.Add([]byte(`{"id":"x","conversationId":"c","channelId":"h","direction":"INBOUND","createdAt":"2024-01-01T00:00:00Z","from":"\u0000"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, m := range mapOne(t, Ogmma, raw) {
			if m.Direction == DirectionInternal {
				t.Fatalf("an Ogmma message mapped as internal: %+v", m)
			}
			if Digits(m.ContactID) != m.ContactID {
				t.Fatalf("contact id %q is not digits", m.ContactID)
			}
		}
	})
}

// addSeeds adds every record of a testdata page to a fuzz corpus.
func addSeeds(f *testing.F, page string) {
	b, err := os.ReadFile(filepath.Join("testdata", page))
	if err != nil {
		f.Fatal(err)
	}
	var records []json.RawMessage
	if err := json.Unmarshal(b, &records); err != nil {
		f.Fatal(err)
	}
	for _, r := range records {
		f.Add([]byte(r))
	}
}

// mapOne maps one fuzzed record and checks what every message mapping
// promises: one record becomes exactly one message or one rejection, and a
// message satisfies the warehouse's constraints.
func mapOne(t *testing.T, mapping func([]json.RawMessage) Batch, raw []byte) []Message {
	t.Helper()
	if !json.Valid(raw) {
		return nil
	}
	out := mapping([]json.RawMessage{raw})
	if len(out.Messages)+len(out.Rejections) != 1 {
		t.Fatalf("one record became %d messages and %d rejections", len(out.Messages), len(out.Rejections))
	}
	for _, m := range out.Messages {
		if !oneOf(m.Direction, []string{DirectionInbound, DirectionOutbound, DirectionInternal}) || !oneOf(m.Kind, MessageKinds) ||
			(m.Status != "" && !oneOf(m.Status, MessageStatuses)) || m.SentAt.IsZero() || m.ExternalID == "" {
			t.Fatalf("bad message %+v", m)
		}
	}
	return out.Messages
}
