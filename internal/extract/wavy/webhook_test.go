package wavy

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"syncer/internal/extract"
	"syncer/internal/golden"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeWebhookGolden(t *testing.T) {
	for _, name := range []string{"mo_batch", "status_batch"} {
		w, err := DecodeWebhook(readTestdata(t, name+".json"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		golden.JSON(t, name+".golden.json", w)
	}
}

func TestDecodeWebhookShapes(t *testing.T) {
	mo, err := DecodeWebhook(readTestdata(t, "mo_batch.json"))
	if err != nil || len(mo.MO) != 3 || len(mo.Statuses) != 0 || len(mo.Invalid) != 0 || *mo.Total != 3 {
		t.Fatalf("MO batch: %+v, %v", mo, err)
	}
	first := mo.MO[0]
	if first.ID != "ce425ffe-bc62-421f-9261-e6819a5eab43" || first.Message.Type != "TEXT" || first.UserProfile.Name != "name of the user" ||
		!first.ReceivedAt.Time().Equal(time.UnixMilli(1513616971473)) || !json.Valid(first.Raw) || !strings.Contains(string(first.Raw), `"flowId"`) {
		t.Errorf("first MO %+v", first)
	}
	if mo.MO[1].ReceivedAt != 1740830400000 || mo.MO[2].Source != "5521977776666" || mo.MO[2].Message.Location.GeoPoint != "-22.89,-47.04" {
		t.Errorf("string millis, numeric phone or location: %+v %+v", mo.MO[1], mo.MO[2])
	}

	st, err := DecodeWebhook(readTestdata(t, "status_batch.json"))
	if err != nil || len(st.Statuses) != 4 || len(st.MO) != 0 || !strings.Contains(string(st.ClientInfo), `"customerId": 42`) {
		t.Fatalf("status batch: %+v, %v", st, err)
	}
	s := st.Statuses[0]
	if !bool(*s.Read) || !bool(*s.Delivered) || s.DeliveredStatus != "DELIVERED_SUCCESS" || s.SentAt != "1740830460000" {
		t.Errorf("first status %+v", s)
	}
	if at, err := st.Statuses[1].SentAt.Time(); err != nil || !at.Equal(time.Date(2025, 3, 1, 12, 2, 0, 0, time.UTC)) {
		t.Errorf("RFC 3339 sentAt: %v %v", at, err)
	}
}

func TestDecodeWebhookTolerance(t *testing.T) {
	for body, check := range map[string]func(Webhook) bool{
		`{"total":0,"data":[]}`: func(w Webhook) bool { return len(w.MO)+len(w.Statuses)+len(w.Invalid) == 0 },
		`{"data":[{"id":"1","message":{"type":"TEXT","messageText":"oi"},"receivedAt":1,"novo":{"x":[1]}}],"extra":true}`: func(w Webhook) bool { return len(w.MO) == 1 },
		`{"data":[{"id":1,"sent":"true","sentAt":"1740830460000"}]}`: func(w Webhook) bool {
			return len(w.Statuses) == 1 && w.Statuses[0].ID == "1" && bool(*w.Statuses[0].Sent)
		},
		// An item of neither shape, or one that does not decode, is kept for quarantine.
		`{"data":[{"id":"1","message":{"type":"TEXT"},"receivedAt":1},{"id":"2"},7,{"id":"3","message":"oi"}]}`: func(w Webhook) bool {
			return len(w.MO) == 1 && len(w.Invalid) == 3 && strings.Contains(w.Invalid[0].Reason, "neither an MO message") &&
				strings.Contains(w.Invalid[1].Reason, "not a JSON object") && strings.Contains(w.Invalid[2].Reason, "an MO message that does not decode")
		},
	} {
		w, err := DecodeWebhook([]byte(body))
		if err != nil || !check(w) {
			t.Errorf("%s: %+v, %v", body, w, err)
		}
	}
	for _, body := range []string{``, `nope`, `[1]`, `"x"`, `{}`, `{"data":{}}`, `{"data":[{"id":"1"}]}`, `{"data":[1,2]}`, `{"data":[`} {
		if _, err := DecodeWebhook([]byte(body)); !errors.Is(err, ErrNotAWebhook) {
			t.Errorf("%q: err = %v, want ErrNotAWebhook", body, err)
		}
	}
}

// The registered decoder gives the slice the webhooks mapping takes.
func TestWebhookRegistered(t *testing.T) {
	p, ok := extract.Lookup(Platform)
	if !ok || p.Webhook == nil {
		t.Fatal("wavy has no webhook decoder registered")
	}
	v, err := p.Webhook.Decode(readTestdata(t, "mo_batch.json"))
	if ws, ok := v.([]Webhook); err != nil || !ok || len(ws) != 1 || len(ws[0].MO) != 3 {
		t.Fatalf("decoded %T %v", v, err)
	}
	if _, err := p.Webhook.Decode([]byte("<html>")); err == nil {
		t.Fatal("HTML decoded")
	}
}

// FuzzDecodeWebhook: any body decodes or is refused without panicking; a
// decoded body accounts for every item of its data, and the raw it keeps
// is JSON.
func FuzzDecodeWebhook(f *testing.F) {
	for _, name := range []string{"mo_batch.json", "status_batch.json"} {
		f.Add(readTestdata(f, name))
	}
	f.Add([]byte(`{"data":[{"id":"1","message":null,"receivedAt":"x"},{"sent":1.5}]}`))
	f.Add([]byte(`{"total":"2","data":[{"destination":5511,"readAt":-1}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		w, err := DecodeWebhook(body)
		if err != nil {
			if !errors.Is(err, ErrNotAWebhook) {
				t.Fatalf("error %v does not wrap ErrNotAWebhook", err)
			}
			return
		}
		var env struct {
			Data []json.RawMessage `json:"data"`
		}
		if json.Unmarshal(body, &env) != nil {
			t.Fatalf("a body that is not a JSON object decoded: %q", body)
		}
		if got := len(w.MO) + len(w.Statuses) + len(w.Invalid); got != len(env.Data) {
			t.Fatalf("%d items accounted for, of %d", got, len(env.Data))
		}
		for _, m := range w.MO {
			if !json.Valid(m.Raw) {
				t.Fatalf("MO raw is not JSON: %q", m.Raw)
			}
		}
		for _, s := range w.Statuses {
			if !json.Valid(s.Raw) {
				t.Fatalf("status raw is not JSON: %q", s.Raw)
			}
		}
	})
}
