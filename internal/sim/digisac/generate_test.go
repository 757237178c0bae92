package digisacsim

import (
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDeterministic(t *testing.T) {
	t.Parallel()
	a := New(Config{Seed: 7, Tickets: 40})
	b := New(Config{Seed: 7, Tickets: 40})
	c := New(Config{Seed: 8, Tickets: 40})
	for _, res := range resourceNames {
		ra, rb := a.Records(res), b.Records(res)
		if len(ra) == 0 || !reflect.DeepEqual(ra, rb) {
			t.Errorf("%s: same seed, different records (%d vs %d)", res, len(ra), len(rb))
		}
		if reflect.DeepEqual(ra, c.Records(res)) {
			t.Errorf("%s: different seeds, same records", res)
		}
	}
	if !reflect.DeepEqual(a.Protocols(), b.Protocols()) {
		t.Error("same seed, different protocols")
	}
	pa, _ := a.Transcript(a.Protocols()[3])
	pb, _ := b.Transcript(b.Protocols()[3])
	if pa != pb || pa == "" {
		t.Error("same seed, different transcripts")
	}
	if a.Token() != DefaultToken || !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(a.Token()) {
		t.Errorf("default token %q", a.Token())
	}
}

func TestRecordShapes(t *testing.T) {
	t.Parallel()
	start := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	d := New(Config{Seed: 1, Start: start})
	want := map[string][]string{
		"services":    {"id", "name", "archivedAt", "type", "data", "createdAt", "updatedAt", "deletedAt", "accountId", "botId", "defaultDepartmentId"},
		"users":       {"id", "name", "email", "isSuperAdmin", "isActiveInternalChat", "status", "createdAt", "updatedAt", "deletedAt", "accountId"},
		"departments": {"id", "name", "createdAt", "updatedAt", "deletedAt", "accountId"},
		"contacts": {"id", "isGroup", "isBroadcast", "visible", "note", "lastMessageAt", "accountId", "serviceId", "personId",
			"defaultDepartmentId", "defaultUserId", "createdAt", "updatedAt", "deletedAt", "status", "name", "internalName", "alternativeName", "data"},
		"tickets": {"id", "isOpen", "protocol", "origin", "startedAt", "endedAt", "contactId", "userId", "departmentId", "accountId", "createdAt", "updatedAt", "metrics"},
		"messages": {"id", "isFromMe", "sent", "type", "timestamp", "data", "visible", "accountId", "contactId", "fromId", "serviceId", "toId",
			"userId", "ticketId", "ticketUserId", "ticketDepartmentId", "quotedMessageId", "origin", "createdAt", "updatedAt", "deletedAt",
			"text", "obfuscated", "files", "quotedMessage", "isFromBot"},
	}
	counts := map[string]int{"services": 3, "users": 5, "departments": 3, "contacts": 50, "tickets": 100}
	oldest := ""
	for _, res := range resourceNames {
		raws := d.Records(res)
		if n, ok := counts[res]; ok && len(raws) != n {
			t.Errorf("%s: %d records, want %d", res, len(raws), n)
		}
		recs := decodeMaps(t, raws)
		if !slices.IsSorted(ids(recs)) {
			t.Errorf("%s: Records not sorted by id", res)
		}
		for k, raw := range raws {
			if got := jsonKeys(t, raw); !reflect.DeepEqual(got, want[res]) {
				t.Fatalf("%s keys\n got %v\nwant %v", res, got, want[res])
			}
			r := recs[k]
			if !uuidRe.MatchString(str(r["id"])) {
				t.Errorf("%s id %v", res, r["id"])
			}
			for _, f := range []string{"createdAt", "updatedAt"} {
				if !dsTimeRe.MatchString(str(r[f])) {
					t.Errorf("%s %s %v", res, f, r[f])
				}
			}
			if str(r["updatedAt"]) < str(r["createdAt"]) {
				t.Errorf("%s %s: updatedAt %v before createdAt %v", res, r["id"], r["updatedAt"], r["createdAt"])
			}
			if c := str(r["createdAt"]); oldest == "" || c < oldest {
				oldest = c
			}
		}
	}
	if oldest != "2024-03-01T12:00:00.000Z" {
		t.Errorf("oldest createdAt %s, want Start", oldest)
	}

	svc := decodeMaps(t, d.Records("services"))[0]
	nameRe := regexp.MustCompile(`^\d+ - [^-]+ - (\d\d)9(\d{8})$`)
	m := nameRe.FindStringSubmatch(str(svc["name"]))
	data := svc["data"].(map[string]any)
	if m == nil || data["myId"] != "55"+m[1]+m[2]+"@c.us" || svc["type"] != "whatsapp" ||
		data["status"].(map[string]any)["isConnected"] != true {
		t.Errorf("service %v", svc)
	}
	for _, c := range decodeMaps(t, d.Records("contacts")) {
		if !numberRe.MatchString(str(c["data"].(map[string]any)["number"])) {
			t.Errorf("contact number %v", c["data"])
		}
	}
	protocols := map[string]bool{}
	open := 0
	for _, tk := range decodeMaps(t, d.Records("tickets")) {
		p := str(tk["protocol"])
		if !protocolRe.MatchString(p) || protocols[p] {
			t.Errorf("protocol %q bad or repeated", p)
		}
		protocols[p] = true
		if tk["isOpen"] == true {
			open++
			if tk["endedAt"] != nil || tk["metrics"] != nil {
				t.Errorf("open ticket with endedAt or metrics: %v", tk)
			}
		} else if !dsTimeRe.MatchString(str(tk["endedAt"])) || tk["metrics"] == nil {
			t.Errorf("closed ticket without endedAt or metrics: %v", tk)
		}
	}
	if open < 8 || open > 35 {
		t.Errorf("%d open tickets of 100, want about 20", open)
	}
}

func TestConversations(t *testing.T) {
	t.Parallel()
	d := New(Config{Seed: 2, Tickets: 200})
	tickets := map[string]map[string]any{}
	for _, tk := range decodeMaps(t, d.Records("tickets")) {
		tickets[str(tk["id"])] = tk
	}
	byTicket := map[string][]map[string]any{}
	types := map[string]int{}
	events := map[string]int{}
	bots, quoted := 0, 0
	for _, m := range decodeMaps(t, d.Records("messages")) {
		byTicket[str(m["ticketId"])] = append(byTicket[str(m["ticketId"])], m)
		types[str(m["type"])]++
		data := m["data"].(map[string]any)
		tk := tickets[str(m["ticketId"])]
		if tk == nil || m["contactId"] != tk["contactId"] {
			t.Fatalf("message %v of unknown ticket or wrong contact", m["id"])
		}
		if m["quotedMessageId"] != nil {
			quoted++
		}
		switch {
		case m["type"] == "ticket":
			if m["text"] != nil || len(data) != 1 {
				t.Errorf("event %v", m)
			}
			for k := range data {
				events[k]++
			}
		case m["isFromBot"] == true:
			bots++
			if m["origin"] != "bot" || m["isFromMe"] != true {
				t.Errorf("bot message %v", m)
			}
		case m["isFromMe"] == false:
			if m["fromId"] != m["contactId"] || m["origin"] != nil || data["ack"] != -1.0 || m["userId"] != nil {
				t.Errorf("inbound message %v", m)
			}
		default:
			ack := data["ack"].(float64)
			if m["userId"] == nil || m["origin"] != "user" || (m["type"] != "comment" && (ack < 0 || ack > 3)) {
				t.Errorf("outbound message %v", m)
			}
		}
	}
	for _, typ := range []string{"chat", "ticket", "comment", "image", "audio", "ptt", "video", "document"} {
		if types[typ] == 0 {
			t.Errorf("no %s messages: %v", typ, types)
		}
	}
	if events["ticketOpen"] != 200 || events["ticketTransfer"] == 0 || events["ticketClose"] == 0 || bots == 0 || quoted == 0 {
		t.Errorf("events %v, bot messages %d, quotes %d", events, bots, quoted)
	}
	total := 0
	for id, msgs := range byTicket {
		total += len(msgs)
		slices.SortFunc(msgs, func(a, b map[string]any) int { return strings.Compare(str(a["createdAt"]), str(b["createdAt"])) })
		tk := tickets[id]
		first, last := msgs[0], msgs[len(msgs)-1]
		if first["data"].(map[string]any)["ticketOpen"] != true || first["createdAt"] != tk["startedAt"] {
			t.Errorf("ticket %s does not start with ticketOpen at startedAt", id)
		}
		closed := last["type"] == "ticket" && last["data"].(map[string]any)["ticketClose"] == true
		if closed != (tk["isOpen"] == false) || (closed && last["createdAt"] != tk["endedAt"]) {
			t.Errorf("ticket %s: open %v, last message %v", id, tk["isOpen"], last["data"])
		}
	}
	if avg := float64(total) / 200; avg < 10 || avg > 14 {
		t.Errorf("%.1f messages per ticket, want about 12", avg)
	}

	// ticketTransfers match the transfer events.
	r := httptestGet(t, d, "/api/v1/tickets?perPage=1000&include[0]=ticketTransfers&include[1]=ticketTopics&include[2]=firstMessage")
	e := decodeEnvelope(t, r)
	transfers := 0
	for _, tk := range decodeMaps(t, e.Data) {
		for _, tr := range tk["ticketTransfers"].([]any) {
			tr := tr.(map[string]any)
			if tr["action"] == "transferred" {
				transfers++
				if !uuidRe.MatchString(str(tr["toDepartmentId"])) || !dsTimeRe.MatchString(str(tr["createdAt"])) {
					t.Errorf("transfer %v", tr)
				}
			}
		}
		if _, ok := tk["ticketTopics"].([]any); !ok {
			t.Errorf("ticketTopics %v", tk["ticketTopics"])
		}
		if fm, ok := tk["firstMessage"].(map[string]any); !ok || fm["type"] == "ticket" || fm["ticketId"] != tk["id"] {
			t.Errorf("firstMessage %v", tk["firstMessage"])
		}
	}
	if transfers != events["ticketTransfer"] {
		t.Errorf("%d transfers, %d ticketTransfer events", transfers, events["ticketTransfer"])
	}
}

func TestBadShare(t *testing.T) {
	t.Parallel()
	kinds := map[string]int{}
	recs := decodeMaps(t, New(Config{Seed: 18, BadShare: 0.1}).Records("messages"))
	for _, m := range recs {
		switch {
		case m["timestamp"] == "not a date":
			kinds["timestamp"]++
		case m["isFromMe"] == "yes":
			kinds["isFromMe"]++
		case !dsTimeRe.MatchString(str(m["timestamp"])):
			t.Errorf("bad timestamp %v", m["timestamp"])
		}
	}
	if total := kinds["timestamp"] + kinds["isFromMe"]; len(kinds) != 2 || total < len(recs)/20 || total > len(recs)/5 {
		t.Errorf("bad records %v of %d at BadShare 0.1", kinds, len(recs))
	}
	for _, m := range decodeMaps(t, New(Config{Seed: 18}).Records("messages")) {
		if _, ok := m["isFromMe"].(bool); !ok || !dsTimeRe.MatchString(str(m["timestamp"])) {
			t.Fatalf("malformed record at BadShare 0: %v", m)
		}
	}
}

func BenchmarkNew10k(b *testing.B) {
	for b.Loop() {
		New(Config{Seed: 1, Tickets: 10_000, Contacts: 2_000})
	}
}
