package oxenty

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"syncer/internal/golden"
	"syncer/internal/transform"
	tt "syncer/internal/transform/transformtest"
)

func TestOxentyGolden(t *testing.T) {
	golden.JSON(t, "oxenty_sessions.golden.json", Sessions(tt.ReadPage(t, "oxenty_sessions.json")))
}

func TestRegistered(t *testing.T) {
	f, ok := transform.Lookup("oxenty", "sessions")
	if !ok {
		t.Fatal("oxenty/sessions is not registered")
	}
	b, n, err := f(tt.ReadPage(t, "oxenty_sessions.json"))
	if err != nil || n != 13 || len(b.Channels) != 8 || len(b.Rejections) != 5 {
		t.Fatalf("registered mapping: %d records, %d channels, %d rejections, %v", n, len(b.Channels), len(b.Rejections), err)
	}
	if _, _, err := f([]string{"x"}); err == nil {
		t.Fatal("records of the wrong type were accepted")
	}
}

func TestOxentyMapping(t *testing.T) {
	base := map[string]any{
		"id": "s1", "name": "atendimento-principal", "status": "connected", "phone": "5511999999999",
		"allowGroup": true, "hasWebhook": true, "createdAt": "2024-01-15T10:00:00.000Z", "connectedAt": "2024-01-15T10:05:00.000Z",
	}
	absent := struct{}{}
	with := func(k string, v any) json.RawMessage {
		m := map[string]any{}
		for kk, vv := range base {
			m[kk] = vv
		}
		if v == absent {
			delete(m, k)
		} else {
			m[k] = v
		}
		b, _ := json.Marshal(m)
		return b
	}
	at := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }
	for _, tc := range []struct {
		name   string
		raw    json.RawMessage
		check  func(transform.Channel) bool
		reject string
	}{
		{"the doc's session", with("id", "s1"), func(c transform.Channel) bool {
			return c.ExternalID == "s1" && c.Name == "atendimento-principal" && c.Kind == "whatsapp" && c.Status == "connected" &&
				c.Phone == "5511999999999" && c.CreatedAt.Equal(at("2024-01-15T10:00:00Z")) && c.ConnectedAt.Equal(at("2024-01-15T10:05:00Z")) &&
				c.UpdatedAt.IsZero() && c.DeletedAt.IsZero() && !c.Derived
		}, ""},
		{"raw is the record", with("extra", "kept"), func(c transform.Channel) bool {
			var m map[string]any
			return json.Unmarshal(c.Raw, &m) == nil && m["extra"] == "kept" && m["allowGroup"] == true
		}, ""},
		{"qr", with("status", "qr"), func(c transform.Channel) bool { return c.Status == "qr" }, ""},
		{"connecting", with("status", "connecting"), func(c transform.Channel) bool { return c.Status == "connecting" }, ""},
		{"disconnected", with("status", "disconnected"), func(c transform.Channel) bool { return c.Status == "disconnected" }, ""},
		{"another case", with("status", " Connected "), func(c transform.Channel) bool { return c.Status == "connected" }, ""},
		{"undocumented status is unknown", with("status", "banned"), func(c transform.Channel) bool {
			return c.Status == "unknown" && string(c.Raw) != "" && json.Valid(c.Raw)
		}, ""},
		{"empty status is unknown", with("status", ""), func(c transform.Channel) bool { return c.Status == "unknown" }, ""},
		{"missing status is NULL", with("status", absent), func(c transform.Channel) bool { return c.Status == "" }, ""},
		{"null status is NULL", with("status", nil), func(c transform.Channel) bool { return c.Status == "" }, ""},
		{"name kept as given", with("name", "  Vendas  SP "), func(c transform.Channel) bool { return c.Name == "  Vendas  SP " }, ""},
		{"phone digits", with("phone", "+55 (11) 99999-8888"), func(c transform.Channel) bool { return c.Phone == "5511999998888" }, ""},
		{"phone JID", with("phone", "5511999998888@s.whatsapp.net"), func(c transform.Channel) bool { return c.Phone == "5511999998888" }, ""},
		{"phone null", with("phone", nil), func(c transform.Channel) bool { return c.Phone == "" }, ""},
		{"never connected", with("connectedAt", nil), func(c transform.Channel) bool { return c.ConnectedAt.IsZero() }, ""},
		{"no createdAt", with("createdAt", absent), func(c transform.Channel) bool { return c.CreatedAt.IsZero() }, ""},
		{"times in UTC", with("createdAt", "2024-01-15T07:00:00-03:00"), func(c transform.Channel) bool {
			return c.CreatedAt.Location() == time.UTC && c.CreatedAt.Hour() == 10
		}, ""},
		{"bad createdAt", with("createdAt", "ontem"), nil, `createdAt "ontem" is not an RFC 3339 time`},
		{"bad connectedAt", with("connectedAt", "15/01/2024 10:05"), nil, `connectedAt "15/01/2024 10:05" is not an RFC 3339 time`},
		{"createdAt a number", with("createdAt", 1705312800000), nil, "not an Oxenty session: json: cannot unmarshal number into Go struct field Session.createdAt of type string"},
		{"no id", with("id", absent), nil, "missing id"},
		{"blank id", with("id", " "), nil, "missing id"},
		{"not an object", json.RawMessage(`[1,2]`), nil, "not an Oxenty session: json: cannot unmarshal array into Go value of type oxenty.Session"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := Sessions([]json.RawMessage{tc.raw})
			if tc.reject != "" {
				if len(b.Rejections) != 1 || b.Rejections[0].Reason != tc.reject || len(b.Channels) != 0 || string(b.Rejections[0].Payload) != string(tc.raw) {
					t.Fatalf("rejections %+v, want one saying %q", b.Rejections, tc.reject)
				}
				return
			}
			if len(b.Channels) != 1 || len(b.Rejections) != 0 {
				t.Fatalf("%d channels, rejections %+v", len(b.Channels), b.Rejections)
			}
			if !tc.check(b.Channels[0]) {
				t.Fatalf("channel %+v", b.Channels[0])
			}
		})
	}
	// A rejected record keeps the id it has, so quarantine says which it was.
	if b := Sessions([]json.RawMessage{with("createdAt", "ontem")}); b.Rejections[0].ExternalID != "s1" {
		t.Errorf("rejection id %q", b.Rejections[0].ExternalID)
	}
}

// FuzzSessions maps one fuzzed record: it becomes exactly one channel or
// one rejection, and a channel satisfies the table's constraints.
func FuzzSessions(f *testing.F) {
	tt.AddSeeds(f, "oxenty_sessions.json")
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return
		}
		out := Sessions([]json.RawMessage{raw})
		if len(out.Channels)+len(out.Rejections) != 1 {
			t.Fatalf("one record became %d channels and %d rejections", len(out.Channels), len(out.Rejections))
		}
		for _, c := range out.Channels {
			if c.ExternalID == "" || c.Kind != "whatsapp" || (c.Status != "" && !slices.Contains(transform.ChannelStatuses, c.Status)) ||
				c.Phone != transform.Digits(c.Phone) || string(c.Raw) != string(raw) {
				t.Fatalf("bad channel %+v", c)
			}
		}
		for _, r := range out.Rejections {
			if r.Reason == "" || string(r.Payload) != string(raw) {
				t.Fatalf("bad rejection %+v", r)
			}
		}
	})
}
