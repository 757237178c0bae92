package digisacsim

import (
	"cmp"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"syncer/internal/sim/clock"
	"syncer/internal/sim/wire"
)

// dateKeys are the keys whose values are instants, wherever they appear.
var dateKeys = map[string]bool{"createdAt": true, "updatedAt": true, "timestamp": true, "startedAt": true, "endedAt": true, "lastMessageAt": true}

// checkDates fails the test when any instant in v (a decoded record,
// includes and nested lists too) is after now. The malformed timestamps
// BadShare asks for are no instants and pass.
func checkDates(t *testing.T, what string, v any, now time.Time) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if s, ok := e.(string); ok && dateKeys[k] {
				if k == "timestamp" && s == "not a date" {
					continue
				}
				at, err := time.Parse(time.RFC3339Nano, s)
				if err != nil {
					t.Fatalf("%s: %s %q is not an instant", what, k, s)
				}
				if at.After(now) {
					t.Fatalf("%s: %s %s, after the simulator's clock %s", what, k, s, now.Format(time.RFC3339Nano))
				}
				continue
			}
			checkDates(t, what+"."+k, e, now)
		}
	case []any:
		for _, e := range v {
			checkDates(t, what, e, now)
		}
	}
}

// servedMessage is what checkServed reads of a message: decoding 30,000
// messages into maps is slow under -race, and these are its only instants.
type servedMessage struct {
	ID, TicketID, ContactID         string
	CreatedAt, UpdatedAt, Timestamp string
	Data                            struct{ TicketOpen, TicketClose bool }
}

// checkServed reads every resource through the API (tickets with their
// transfers and first message) and every transcript, checks that nothing
// is dated after now, that the counts are what the API serves and that the
// tickets hang together.
func checkServed(t *testing.T, d *Simulator, srv *httptest.Server, now time.Time) {
	t.Helper()
	recs := map[string][]map[string]any{}
	var msgRaws []json.RawMessage
	for _, res := range resourceNames {
		path := "/api/v1/" + res + "?perPage=1000"
		if res == "tickets" {
			path += "&include[0]=ticketTransfers&include[1]=firstMessage"
		}
		raws := listAll(t, srv, path, d.Token())
		if len(raws) != d.Count(res) {
			t.Fatalf("%s: API served %d, Count says %d", res, len(raws), d.Count(res))
		}
		if res == "messages" {
			msgRaws = raws
			continue
		}
		recs[res] = decodeMaps(t, raws)
		for _, r := range recs[res] {
			checkDates(t, res+" "+str(r["id"]), r, now)
		}
	}
	var msgs []servedMessage
	for _, raw := range msgRaws {
		var m servedMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		checkDates(t, "message "+m.ID, map[string]any{"createdAt": m.CreatedAt, "updatedAt": m.UpdatedAt, "timestamp": m.Timestamp}, now)
		msgs = append(msgs, m)
	}

	// Each ticket starts with its ticketOpen event and is closed exactly
	// when its last message is the ticketClose event (a ticket opened by
	// Create has its first messages at the same instant as the event; the
	// event goes first); a contact's lastMessageAt is its newest message.
	rank := func(m servedMessage) int {
		switch {
		case m.Data.TicketOpen:
			return -1
		case m.Data.TicketClose:
			return 1
		}
		return 0
	}
	byTicket := map[string][]servedMessage{}
	lastOf := map[string]string{}
	for _, m := range msgs {
		byTicket[m.TicketID] = append(byTicket[m.TicketID], m)
		lastOf[m.ContactID] = max(lastOf[m.ContactID], m.CreatedAt)
	}
	for _, tk := range recs["tickets"] {
		ms := byTicket[str(tk["id"])]
		slices.SortStableFunc(ms, func(a, b servedMessage) int {
			return cmp.Or(strings.Compare(a.CreatedAt, b.CreatedAt), rank(a)-rank(b))
		})
		if len(ms) == 0 || !ms[0].Data.TicketOpen || ms[0].CreatedAt != tk["startedAt"] {
			t.Fatalf("ticket %s does not start with its ticketOpen event", tk["id"])
		}
		last := ms[len(ms)-1]
		closed := last.Data.TicketClose
		if closed != (tk["isOpen"] == false) || closed != (tk["endedAt"] != nil) || closed != (tk["metrics"] != nil) ||
			(closed && last.CreatedAt != tk["endedAt"]) {
			t.Fatalf("ticket %s: isOpen %v, endedAt %v, last message %+v", tk["id"], tk["isOpen"], tk["endedAt"], last.Data)
		}
	}
	for _, c := range recs["contacts"] {
		if got, want := str(c["lastMessageAt"]), lastOf[str(c["id"])]; got != want {
			t.Fatalf("contact %s: lastMessageAt %q, its newest message %q", c["id"], got, want)
		}
	}

	// Transcripts: every line's instant, and the opening and closing ones.
	stamp := regexp.MustCompile(`\d\d/\d\d/\d{4} \d\d:\d\d:\d\d`)
	for i, p := range d.Protocols() {
		text, ok := d.Transcript(p)
		if !ok {
			t.Fatalf("no transcript for protocol %s", p)
		}
		if i%100 == 0 { // and now and then through the API
			r := post(t, srv.URL+"/api/v1/tickets/export", d.Token(), `{"protocol":"`+p+`"}`)
			if r.status != http.StatusOK || string(r.body) != text {
				t.Fatalf("export of %s: %d", p, r.status)
			}
		}
		for _, s := range stamp.FindAllString(text, -1) {
			at, err := time.ParseInLocation("02/01/2006 15:04:05", s, d.loc)
			if err != nil || at.After(now) {
				t.Fatalf("transcript of %s: %s, after the clock %s", p, s, now.In(d.loc))
			}
		}
	}
}

// demoConfig is a Digisac simulator sized as `syncer demo --messages N`
// sizes it (internal/demo): max(50, N/40) tickets of 12 messages, one an
// hour on average, starting as many hours before the clock.
func demoConfig(messages int, now func() time.Time) Config {
	tickets := max(50, messages/40)
	return Config{
		Seed: 2024, Contacts: tickets * 3 / 5, Tickets: tickets, MessagesPerTicket: 12,
		Start: now().Add(-time.Duration(tickets) * time.Hour), TicketEvery: time.Hour, Now: now,
	}
}

// TestNothingAfterTheClock: with the demo's sizes (where the history used
// to run hours past the clock: 29,891 messages announced for 100,000, of
// which a sync bounded by now loaded 29,748), and with a clock in the
// middle of the default data, nothing the API serves is dated after the
// clock, the counts are what the API serves, and so after records are
// created and edited at the clock and after it moved.
func TestNothingAfterTheClock(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 1, 7, 48, 0, 0, time.UTC)
	for name, cfg := range map[string]func(func() time.Time) Config{
		"demo 20000":  func(c func() time.Time) Config { return demoConfig(20_000, c) },
		"demo 100000": func(c func() time.Time) Config { return demoConfig(100_000, c) },
		"clock mid-data": func(c func() time.Time) Config {
			return Config{Seed: 3, BadShare: 0.05, Start: c().Add(-50 * time.Hour), Now: c}
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			big := name == "demo 100000"
			if big && testing.Short() {
				t.Skip("the 100,000-message sizing is slow; -short skips it")
			}
			clk := clock.NewManual(now)
			d, srv := serve(t, cfg(clk.Now))
			checkServed(t, d, srv, clk.Now())
			if big {
				return // the changes are the same at any size
			}
			for round := range 2 {
				if round > 0 {
					clk.Advance(time.Second)
				}
				for _, res := range resourceNames {
					d.Create(res, 3)
					d.Edit(res, 50)
				}
				d.Create("messages", 200) // several to a ticket, at one instant
				d.Edit("messages", 200)
			}
			checkServed(t, d, srv, clk.Now())
		})
	}
}

// TestClockCutsTheData: the clock stops the generated history, and what
// stands before it is the same as without the cut. The messages are those
// of the full history created by then, field for field but for updatedAt,
// brought back to the clock; tickets started by then keep their ids and
// protocols, and those still in progress are open; every contact exists.
func TestClockCutsTheData(t *testing.T) {
	t.Parallel()
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	full := Config{Seed: 21, Tickets: 200, Contacts: 60, BadShare: 0.05, Start: start,
		Now: func() time.Time { return start.AddDate(1, 0, 0) }}
	all := New(full)
	byID := func(d *Simulator, res string) map[string]map[string]any {
		out := map[string]map[string]any{}
		for _, r := range decodeMaps(t, d.Records(res)) {
			out[str(r["id"])] = r
		}
		return out
	}
	allMsgs, allTickets, allContacts := byID(all, "messages"), byID(all, "tickets"), byID(all, "contacts")
	inProgress := 0
	for _, after := range []time.Duration{0, time.Minute, time.Hour, 30 * time.Hour, 100*time.Hour + 17*time.Minute, 150 * time.Hour, 1000 * time.Hour} {
		cut := start.Add(after)
		cutS := wire.FormatMillis(cut.UnixMilli())
		cfg := full
		cfg.Now = func() time.Time { return cut }
		d := New(cfg)

		want := 0
		for _, m := range allMsgs {
			if str(m["createdAt"]) <= cutS {
				want++
			}
		}
		got := byID(d, "messages")
		if len(got) != want {
			t.Errorf("cut %v after Start: %d messages, want the %d created by then", after, len(got), want)
		}
		for id, m := range got {
			w := maps.Clone(allMsgs[id])
			if w == nil {
				t.Fatalf("cut %v after Start: message %s not in the full history", after, id)
			}
			w["updatedAt"] = min(str(w["updatedAt"]), cutS)
			if !reflect.DeepEqual(m, w) {
				t.Fatalf("cut %v after Start: message\n%v\nwant\n%v", after, m, w)
			}
		}

		tickets := byID(d, "tickets")
		for id, w := range allTickets {
			tk, started := tickets[id], str(w["startedAt"]) <= cutS
			if started != (tk != nil) {
				t.Fatalf("cut %v after Start: ticket %s started %v, generated %v", after, id, w["startedAt"], tk != nil)
			}
			if tk == nil {
				continue
			}
			for _, k := range []string{"protocol", "origin", "startedAt", "contactId", "createdAt"} {
				if tk[k] != w[k] {
					t.Errorf("cut %v after Start: ticket %s %s %v, full history %v", after, id, k, tk[k], w[k])
				}
			}
			closedBy := w["endedAt"] != nil && str(w["endedAt"]) <= cutS
			if tk["isOpen"] == closedBy || (closedBy && tk["endedAt"] != w["endedAt"]) {
				t.Errorf("cut %v after Start: ticket %s open %v, ended %v in the full history", after, id, tk["isOpen"], w["endedAt"])
			}
			if w["isOpen"] == false && !closedBy {
				inProgress++
			}
		}

		contacts := byID(d, "contacts")
		if len(contacts) != len(allContacts) {
			t.Errorf("cut %v after Start: %d contacts, want %d", after, len(contacts), len(allContacts))
		}
		for id, c := range contacts {
			w := allContacts[id]
			if c["name"] != w["name"] || c["createdAt"] != min(str(w["createdAt"]), cutS) {
				t.Errorf("cut %v after Start: contact %s %v %v, full history %v %v", after, id, c["name"], c["createdAt"], w["name"], w["createdAt"])
			}
		}
	}
	if inProgress == 0 {
		t.Error("no cut fell inside a ticket: the test proves less than it says")
	}
}
