package ogmma

import (
	"encoding/json"
	"testing"

	og "syncer/internal/extract/ogmma"
	"syncer/internal/golden"
	"syncer/internal/transform"
	tt "syncer/internal/transform/transformtest"
)

func TestOgmmaGolden(t *testing.T) {
	golden.JSON(t, "ogmma_page.golden.json", Messages(tt.ReadPage(t, "ogmma_page.json")))
}

// TestPagesNameTheChannel: the config's name and kind of a page's channel
// go on its row; a channel of another id keeps none.
func TestPagesNameTheChannel(t *testing.T) {
	records := tt.ReadPage(t, "ogmma_page.json")
	b := Pages([]og.Page{{Messages: records, ChannelID: "6650a1b2c3d4e5f6a7b8c9d2", ChannelName: "Vendas SP", ChannelKind: "whatsapp"}})
	if len(b.Channels) == 0 {
		t.Fatal("no channel row")
	}
	for _, c := range b.Channels {
		named := c.ExternalID == "6650a1b2c3d4e5f6a7b8c9d2"
		if named && (c.Name != "Vendas SP" || c.Kind != "whatsapp") || !named && (c.Name != "" || c.Kind != "") {
			t.Errorf("channel %s: name %q, kind %q", c.ExternalID, c.Name, c.Kind)
		}
	}
	// A page of another channel names none.
	for _, c := range Pages([]og.Page{{Messages: records, ChannelID: "other", ChannelName: "Outro", ChannelKind: "sms"}}).Channels {
		if c.Name != "" || c.Kind != "" {
			t.Errorf("channel %s named %q (%q) by a page of another channel", c.ExternalID, c.Name, c.Kind)
		}
	}
	if b2 := Messages(records); len(b2.Messages) != len(b.Messages) || len(b2.Rejections) != len(b.Rejections) {
		t.Errorf("Pages maps %d messages, Messages %d", len(b.Messages), len(b2.Messages))
	}
}

func TestRegistered(t *testing.T) {
	f, ok := transform.Lookup("ogmma", "messages")
	if !ok {
		t.Fatal("ogmma/messages is not registered")
	}
	records := tt.ReadPage(t, "ogmma_page.json")
	b, n, err := f([]og.Page{{Messages: records}})
	if err != nil || n != len(records) || len(b.Messages) == 0 {
		t.Fatalf("registered mapping: %d records, %d messages, %v", n, len(b.Messages), err)
	}
	if _, _, err := f([]string{"x"}); err == nil {
		t.Fatal("records of the wrong type were accepted")
	}
	// A quarantined message is retried as the JSON record it is.
	if _, ok := transform.LookupRecords("ogmma", "messages"); !ok {
		t.Fatal("ogmma/messages has no mapping of single records for retry")
	}
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
		check  func(transform.Message) bool
		reject string
	}{
		{"inbound", with("direction", "INBOUND"), func(m transform.Message) bool { return m.Direction == "inbound" && m.ContactID == "5511977776666" }, ""},
		{"outbound contact is the recipient", with("direction", "OUTBOUND"), func(m transform.Message) bool { return m.Direction == "outbound" && m.ContactID == "5511999998888" }, ""},
		{"status delivered", with("status", "DELIVERED"), func(m transform.Message) bool { return m.Status == "delivered" }, ""},
		{"unknown status is null", with("status", "PLAYED"), func(m transform.Message) bool { return m.Status == "" }, ""},
		{"voice is audio", with("type", "voice"), func(m transform.Message) bool { return m.Kind == "audio" }, ""},
		{"unknown type is other", with("type", "reaction"), func(m transform.Message) bool { return m.Kind == "other" }, ""},
		{"times in UTC", with("createdAt", "2024-01-15T07:29:00-03:00"), func(m transform.Message) bool {
			return m.SentAt.Location().String() == "UTC" && m.SentAt.Hour() == 10
		}, ""},
		{"missing updatedAt is createdAt", with("updatedAt", nil), func(m transform.Message) bool { return m.UpdatedAt.Equal(m.SentAt) }, ""},
		{"bad direction", with("direction", "SIDEWAYS"), nil, `unknown direction "SIDEWAYS"`},
		{"no createdAt", with("createdAt", nil), nil, "missing createdAt"},
		{"bad createdAt", with("createdAt", "ontem"), nil, `createdAt "ontem" is not an RFC 3339 time`},
		{"no id", with("id", nil), nil, "missing id"},
		{"no conversation", with("conversationId", nil), nil, "missing conversationId or channelId"},
		{"not an object", json.RawMessage(`[1,2]`), nil, "not an Ogmma message: json: cannot unmarshal array into Go value of type ogmma.Message"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := Messages([]json.RawMessage{tc.raw})
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

// FuzzOgmma: any page of records maps without panicking, every record ends
// up either a message or a rejection, and mapped messages satisfy the
// warehouse's enumerations.
func FuzzOgmma(f *testing.F) {
	tt.AddSeeds(f, "ogmma_page.json")
	f.Add([]byte(`{"id":"x","conversationId":"c","channelId":"h","direction":"INBOUND","createdAt":"2024-01-01T00:00:00Z","from":"\u0000"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, m := range tt.MapOne(t, Messages, raw) {
			if m.Direction == transform.DirectionInternal {
				t.Fatalf("an Ogmma message mapped as internal: %+v", m)
			}
			if transform.Digits(m.ContactID) != m.ContactID {
				t.Fatalf("contact id %q is not digits", m.ContactID)
			}
		}
	})
}
