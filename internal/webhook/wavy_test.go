package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"syncer/internal/sim/clock"
	wavysim "syncer/internal/sim/wavy"
)

// wavyBody is what the test reads back from a Wavy webhook body: the ids
// of an MO batch, or the callbacks of a status batch.
type wavyBody struct {
	Data []struct {
		ID          string `json:"id"`
		Source      string `json:"source"`
		Destination string `json:"destination"`
		Sent        bool   `json:"sent"`
		Delivered   bool   `json:"delivered"`
		Read        bool   `json:"read"`
		Message     *struct {
			Type string `json:"type"`
		} `json:"message"`
	} `json:"data"`
}

// wavyStatus is the status a callback states, by the rule tables.md gives
// (the simulator fails a message only at its first callback, with sent
// false).
func wavyStatus(sent, delivered, read bool) string {
	switch {
	case read:
		return "read"
	case delivered:
		return "delivered"
	case sent:
		return "sent"
	}
	return "failed"
}

// Wavy posts MO batches and status callbacks, retries them and sends some
// twice: each message is stored once, as the platform sent it, and a
// status never moves backwards.
func TestWavyWebhooks(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	clk := clock.NewManual(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	wv := wavysim.New(wavysim.Config{Seed: 7, Sessions: 5, Now: clk.Now})
	// Every acknowledged body is posted once more: Wavy's retries overlap.
	sender := wavysim.NewSender(wavysim.SenderConfig{URL: f.srv.URL + "/webhooks/acme-wavy", Token: secret, Seed: 7, DuplicateShare: 1, Timeout: 10 * time.Second})

	mo := map[string]string{}     // MO id → kind, as sent
	status := map[string]string{} // outbound id → its newest status, as sent
	for round := range 6 {
		clk.Advance(time.Minute)
		bodies := [][]byte{wv.NewMOBatch(4 + round), wv.NewStatusBatch(5)}
		for _, body := range bodies {
			if _, err := sender.Send(ctx, body); err != nil {
				t.Fatal(err)
			}
			var b wavyBody
			if err := json.Unmarshal(body, &b); err != nil {
				t.Fatal(err)
			}
			for _, d := range b.Data {
				if d.Message != nil {
					mo[d.ID] = d.Message.Type
				} else {
					status[d.ID] = wavyStatus(d.Sent, d.Delivered, d.Read)
				}
			}
		}
		if round%2 == 1 {
			f.drain()
		}
	}
	f.drain()
	posts := 0
	for _, d := range sender.Deliveries() {
		posts += d.Attempts()
	}
	if n := f.count(`SELECT count(*) FROM webhook_inbox`); n != posts || n != 2*len(sender.Deliveries()) {
		t.Fatalf("inbox holds %d deliveries; the sender posted %d (%d bodies, each twice)", n, posts, len(sender.Deliveries()))
	}
	if n := f.count(`SELECT count(*) FROM webhook_inbox WHERE processed_at IS NULL OR error IS NOT NULL`); n != 0 {
		t.Fatalf("%d deliveries unprocessed or with a note", n)
	}

	// Each MO message once, inbound, in its user's conversation.
	if n := f.count(`SELECT count(*) FROM messages WHERE direction = 'inbound'`); n != len(mo) {
		t.Errorf("%d inbound messages, want the %d MO messages sent", n, len(mo))
	}
	for id, typ := range mo {
		want := map[string]string{"TEXT": "text", "IMAGE": "image", "AUDIO": "audio", "VIDEO": "video", "DOCUMENT": "document",
			"LOCATION": "location", "CONTACTS": "contact", "STICKER": "sticker"}[typ]
		if n := f.count(`SELECT count(*) FROM messages m JOIN conversations c ON c.source_id = m.source_id AND c.external_id = m.conversation_external_id
			JOIN contacts p ON p.source_id = m.source_id AND p.external_id = m.contact_external_id
			WHERE m.external_id = $1 AND m.direction = 'inbound' AND m.status = 'received' AND m.kind = $2
			  AND c.external_id = 'session:' || p.phone AND c.kind = 'session'`, id, want); n != 1 {
			t.Errorf("MO %s (%s): %d rows as an inbound %s in its user's session conversation, want 1", id, typ, n, want)
		}
	}

	// Each outbound message once, at the newest status sent, without a body.
	if n := f.count(`SELECT count(*) FROM messages WHERE direction = 'outbound' AND body IS NULL`); n != len(status) {
		t.Errorf("%d outbound messages, want the %d the callbacks named", n, len(status))
	}
	for id, want := range status {
		if n := f.count(`SELECT count(*) FROM messages WHERE external_id = $1 AND status = $2`, id, want); n != 1 {
			t.Errorf("outbound %s: no single row at status %s", id, want)
		}
	}

	// A late callback does not move a status back: read stays read when
	// the delivered one arrives after it, and a new callback may still
	// move one forward.
	var read, sent string
	for id, s := range status {
		switch {
		case s == "read" && read == "":
			read = id
		case s == "sent" && sent == "":
			sent = id
		}
	}
	if read == "" || sent == "" {
		t.Fatalf("the seed gave no read and no sent message: %v", status)
	}
	late := fmt.Sprintf(`{"total":2,"data":[{"id":%q,"destination":"5511999990000","sent":true,"delivered":true,"deliveredAt":1700000000000},`+
		`{"id":%q,"destination":"5511999990000","sent":true,"delivered":true,"read":true,"readAt":1700000000000}]}`, read, sent)
	if code, body := f.post("/webhooks/acme-wavy", "application/json", late, map[string]string{"X-Webhook-Token": secret}); code != 200 {
		t.Fatalf("late callback: %d %s", code, body)
	}
	f.drain()
	if n := f.count(`SELECT count(*) FROM messages WHERE external_id = ANY($1) AND status = 'read'`, []string{read, sent}); n != 2 {
		t.Errorf("after a late delivered for %s and a read for %s, %d of them are read, want both", read, sent, n)
	}

	// A callback for a message never seen creates it, known by its status
	// alone.
	stub := `{"total":1,"data":[{"id":"never-seen-1","destination":"+55 11 98888-7777","origin":"5511900000000","sent":true,"sentAt":1700000000000}]}`
	if code, body := f.post("/webhooks/acme-wavy?token="+secret, "application/json", stub, nil); code != 200 {
		t.Fatalf("stub callback: %d %s", code, body)
	}
	f.drain()
	if n := f.count(`SELECT count(*) FROM messages WHERE external_id = 'never-seen-1' AND direction = 'outbound' AND status = 'sent'
		AND body IS NULL AND contact_external_id = '5511988887777' AND conversation_external_id = 'session:5511988887777'`); n != 1 {
		t.Errorf("a callback for an unseen message did not create it known by its status alone")
	}
}

// A user named only by a later delivery of a batch processed at once gets
// that name.
func TestWavyNameFromALaterDelivery(t *testing.T) {
	f := setup(t)
	hdr := map[string]string{"X-Webhook-Token": secret}
	for i, profile := range []string{``, `"userProfile":{"name":"Ana"},`} {
		body := fmt.Sprintf(`{"total":1,"data":[{"id":"mo-%d","source":"5511999990001","origin":"5511900000000",%s"message":{"type":"TEXT","messageText":"oi"},"receivedAt":%d}]}`,
			i, profile, 1740830400000+int64(i)*1000)
		if code, resp := f.post("/webhooks/acme-wavy", "application/json", body, hdr); code != 200 {
			t.Fatalf("post: %d %s", code, resp)
		}
	}
	f.drain()
	if n := f.count(`SELECT count(*) FROM webhook_inbox WHERE processed_at IS NOT NULL`); n != 2 {
		t.Fatalf("%d deliveries processed", n)
	}
	if n := f.count(`SELECT count(*) FROM contacts WHERE external_id = '5511999990001' AND name = 'Ana' AND phone = '5511999990001'`); n != 1 {
		t.Error("the contact did not get the name the second delivery gave")
	}
}
