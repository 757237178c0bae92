package digisac

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	dg "syncer/internal/extract/digisac"
	"syncer/internal/golden"
	"syncer/internal/transform"
	tt "syncer/internal/transform/transformtest"
)

func TestDigisacGolden(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "digisac_entities.json"))
	if err != nil {
		t.Fatal(err)
	}
	var entities map[string][]json.RawMessage
	if err := json.Unmarshal(b, &entities); err != nil {
		t.Fatal(err)
	}
	golden.JSON(t, "digisac_services.golden.json", Services(entities["services"]))
	golden.JSON(t, "digisac_users.golden.json", Users(entities["users"]))
	golden.JSON(t, "digisac_departments.golden.json", Departments(entities["departments"]))
	golden.JSON(t, "digisac_contacts.golden.json", Contacts(entities["contacts"]))
	golden.JSON(t, "digisac_tickets.golden.json", Tickets(entities["tickets"]))
	golden.JSON(t, "digisac_messages.golden.json", Messages(tt.ReadPage(t, "digisac_messages.json")))
}

func TestDigisacMessageMapping(t *testing.T) {
	b := Messages(tt.ReadPage(t, "digisac_messages.json"))
	byID := map[string]transform.Message{}
	for _, m := range b.Messages {
		byID[m.ExternalID[len(m.ExternalID)-2:]] = m
	}
	for _, tc := range []struct {
		id                      string
		direction, kind, status string
		body, media             string
		bot                     bool
	}{
		{"01", "outbound", "text", "read", "Hello", "", false},
		{"02", "inbound", "text", "received", "Olá, tudo bem? 😊", "", false},
		{"03", "internal", "system", "", "ticketOpen", "", false},
		{"04", "internal", "comment", "", "Cliente VIP, priorizar", "", false},
		{"05", "inbound", "image", "received", "", "https://acme.digisac.app/files/f1.jpg", false},
		{"06", "inbound", "audio", "received", "", "", false},
		{"07", "outbound", "text", "delivered", "Sou o assistente virtual.\nDigite 1 para vendas.", "", true},
		{"08", "internal", "system", "", "ticketClose", "", false},
	} {
		m, ok := byID[tc.id]
		if !ok {
			t.Errorf("message %s missing", tc.id)
			continue
		}
		if m.Direction != tc.direction || m.Kind != tc.kind || m.Status != tc.status || m.Body != tc.body || m.MediaURL != tc.media || m.IsBot != tc.bot {
			t.Errorf("message %s = %s/%s/%s %q %q bot=%v; want %s/%s/%s %q %q bot=%v", tc.id,
				m.Direction, m.Kind, m.Status, m.Body, m.MediaURL, m.IsBot, tc.direction, tc.kind, tc.status, tc.body, tc.media, tc.bot)
		}
	}
	if len(b.Rejections) != 2 {
		t.Fatalf("rejections %+v, want 2 (isFromMe \"yes\", timestamp \"ontem\")", b.Rejections)
	}
}

func FuzzMessages(f *testing.F) {
	tt.AddSeeds(f, "digisac_messages.json")
	f.Fuzz(func(t *testing.T, raw []byte) { tt.MapOne(t, Messages, raw) })
}

// FuzzWebhooks: any delivery body decodes or fails cleanly, and a message
// event maps to exactly one message or one rejection.
func FuzzWebhooks(f *testing.F) {
	for _, raw := range tt.ReadPage(f, "digisac_messages.json") {
		f.Add([]byte(`{"event":"message.created","data":` + string(raw) + `}`))
	}
	f.Add([]byte(`{"event":"ticket.created","data":{"id":"t1"}}`))
	f.Add([]byte(`{"event":"message.updated","data":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		recs, err := dg.DecodeWebhook(body)
		if err != nil {
			return
		}
		hooks := recs.([]dg.Webhook)
		b := Webhooks(hooks)
		if hooks[0].MessageEvent() {
			if len(b.Messages)+len(b.Rejections) != 1 {
				t.Fatalf("a message event became %d messages and %d rejections", len(b.Messages), len(b.Rejections))
			}
		} else if b.Rows()+len(b.Rejections) != 0 {
			t.Fatalf("event %q mapped to rows", hooks[0].Event)
		}
	})
}
