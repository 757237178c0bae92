package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"syncer/internal/sim/clock"
	"syncer/internal/sim/fault"
	ogmmasim "syncer/internal/sim/ogmma"
	"syncer/internal/sim/wire"
)

var (
	uuidRe     = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	dsTimeRe   = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	protocolRe = regexp.MustCompile(`^\d{13}$`)
	numberRe   = regexp.MustCompile(`^55\d\d9\d{8}$`)
)

// serveDigisac builds a Digisac simulator from cfg and serves it on an
// httptest server.
func serveDigisac(t *testing.T, cfg DigisacConfig) (*Digisac, *httptest.Server) {
	t.Helper()
	d := NewDigisac(cfg)
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	return d, srv
}

type dsEnvelope struct {
	Data        []json.RawMessage `json:"data"`
	Total       int               `json:"total"`
	Limit       int               `json:"limit"`
	Skip        int               `json:"skip"`
	CurrentPage int               `json:"currentPage"`
	LastPage    int               `json:"lastPage"`
	From        int               `json:"from"`
	To          int               `json:"to"`
}

func decodeEnvelope(t *testing.T, r response) dsEnvelope {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d, body %s", r.status, r.body)
	}
	var e dsEnvelope
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("decode envelope: %v", err)
	}
	return e
}

// withQuery appends query=<JSON of q> to path.
func withQuery(path string, q any) string {
	b, err := json.Marshal(q)
	if err != nil {
		panic(err)
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + "query=" + url.QueryEscape(string(b))
}

// listAll pages through path (perPage as given) until currentPage >= lastPage.
func listAll(t *testing.T, srv *httptest.Server, path, token string) []json.RawMessage {
	t.Helper()
	var out []json.RawMessage
	for page := 1; ; page++ {
		e := decodeEnvelope(t, get(t, srv.URL+path+"&page="+fmt.Sprint(page), token))
		out = append(out, e.Data...)
		if e.CurrentPage >= e.LastPage {
			return out
		}
		if page > 10_000 {
			t.Fatal("no end of pages")
		}
	}
}

func wantDigisacError(t *testing.T, r response, status int, name, message string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	want := fmt.Sprintf(`{"error":%q,"message":%q,"status":%d}`, name, message, status)
	if message == "" { // any message
		var got struct {
			Error  string `json:"error"`
			Status int    `json:"status"`
		}
		if err := json.Unmarshal(r.body, &got); err != nil || got.Error != name || got.Status != status {
			t.Errorf("body %s, want error %s status %d", r.body, name, status)
		}
		return
	}
	if string(r.body) != want {
		t.Errorf("body %s, want %s", r.body, want)
	}
}

// jsonKeys returns the keys of a JSON object in the order written.
func jsonKeys(t *testing.T, raw []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", raw)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func decodeMaps(t *testing.T, raws []json.RawMessage) []map[string]any {
	t.Helper()
	out := make([]map[string]any, len(raws))
	for i, r := range raws {
		if err := json.Unmarshal(r, &out[i]); err != nil {
			t.Fatalf("decode %s: %v", r, err)
		}
	}
	return out
}

func ids(recs []map[string]any) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r["id"].(string)
	}
	return out
}

func rawIDs(t *testing.T, raws []json.RawMessage) []string { return ids(decodeMaps(t, raws)) }

func str(v any) string {
	s, _ := v.(string)
	return s
}

func TestDigisacDeterministic(t *testing.T) {
	t.Parallel()
	a := NewDigisac(DigisacConfig{Seed: 7, Tickets: 40})
	b := NewDigisac(DigisacConfig{Seed: 7, Tickets: 40})
	c := NewDigisac(DigisacConfig{Seed: 8, Tickets: 40})
	for _, res := range dsResources {
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
	if a.Token() != DigisacDefaultToken || !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(a.Token()) {
		t.Errorf("default token %q", a.Token())
	}
}

func TestDigisacRecordShapes(t *testing.T) {
	t.Parallel()
	start := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	d := NewDigisac(DigisacConfig{Seed: 1, Start: start})
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
	for _, res := range dsResources {
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

func TestDigisacConversations(t *testing.T) {
	t.Parallel()
	d := NewDigisac(DigisacConfig{Seed: 2, Tickets: 200})
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

// httptestGet serves one GET with the personal token without a server.
func httptestGet(t *testing.T, d *Digisac, target string) response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Header.Set("Authorization", "Bearer "+d.Token())
	w := httptest.NewRecorder()
	d.ServeHTTP(w, req)
	return response{w.Code, w.Header(), w.Body.Bytes()}
}

func TestDigisacEnvelope(t *testing.T) {
	t.Parallel()
	d, srv := serveDigisac(t, DigisacConfig{Seed: 3})
	tok := d.Token()
	e := decodeEnvelope(t, get(t, srv.URL+"/api/v1/services", tok))
	if len(e.Data) != 3 || e.Total != 3 || e.Limit != 15 || e.Skip != 0 || e.CurrentPage != 1 || e.LastPage != 1 || e.From != 0 || e.To != 3 {
		t.Errorf("services envelope %+v", e)
	}
	var raw map[string]json.RawMessage
	r := get(t, srv.URL+"/api/v1/services", tok)
	if err := json.Unmarshal(r.body, &raw); err != nil || len(raw) != 8 {
		t.Errorf("envelope keys %v", jsonKeys(t, r.body))
	}
	if got := jsonKeys(t, r.body); !reflect.DeepEqual(got, []string{"data", "total", "limit", "skip", "currentPage", "lastPage", "from", "to"}) {
		t.Errorf("envelope keys %v", got)
	}
	n := len(d.Records("messages"))
	e = decodeEnvelope(t, get(t, srv.URL+"/api/v1/messages", tok))
	if len(e.Data) != 15 || e.Total != n || e.LastPage != (n+14)/15 || e.To != 15 {
		t.Errorf("default page %+v (of %d)", e, n)
	}
	e = decodeEnvelope(t, get(t, srv.URL+"/api/v1/messages?perPage=100&page=3&limit=7", tok))
	if len(e.Data) != 100 || e.Limit != 100 || e.Skip != 200 || e.From != 200 || e.To != 300 || e.CurrentPage != 3 || e.LastPage != (n+99)/100 {
		t.Errorf("page 3 of 100: %+v (of %d)", e, n)
	}
	last := (n + 99) / 100
	e = decodeEnvelope(t, get(t, srv.URL+fmt.Sprintf("/api/v1/messages?perPage=100&page=%d", last), tok))
	if len(e.Data) != n-(last-1)*100 || e.To != n {
		t.Errorf("last page %+v", e)
	}
	e = decodeEnvelope(t, get(t, srv.URL+fmt.Sprintf("/api/v1/messages?perPage=100&page=%d", last+2), tok))
	if e.Data == nil || len(e.Data) != 0 || e.Skip != (last+1)*100 || e.To != n {
		t.Errorf("beyond the last page %+v", e)
	}
	if !bytes.Contains(get(t, srv.URL+fmt.Sprintf("/api/v1/messages?perPage=100&page=%d", last+2), tok).body, []byte(`"data":[]`)) {
		t.Error("empty page is not data:[]")
	}
	// query's page and perPage win over the URL's.
	e = decodeEnvelope(t, get(t, srv.URL+withQuery("/api/v1/messages?perPage=3&page=9", map[string]any{"perPage": 5, "page": "2"}), tok))
	if e.Limit != 5 || e.CurrentPage != 2 || len(e.Data) != 5 {
		t.Errorf("query page/perPage: %+v", e)
	}
	e = decodeEnvelope(t, get(t, srv.URL+"/api/v1/contacts?perPage=1000", tok))
	if len(e.Data) != 50 || e.LastPage != 1 {
		t.Errorf("perPage 1000: %+v", e)
	}
	e = decodeEnvelope(t, get(t, srv.URL+withQuery("/api/v1/messages", map[string]any{"where": map[string]any{"id": "nope"}}), tok))
	if e.Total != 0 || e.LastPage != 1 || e.To != 0 {
		t.Errorf("no match: %+v", e)
	}
	for _, q := range []string{"perPage=1001", "perPage=0", "perPage=-1", "perPage=x", "page=0", "page=x"} {
		wantDigisacError(t, get(t, srv.URL+"/api/v1/messages?"+q, tok), http.StatusBadRequest, "BadRequestHttpError", "")
	}
}

func TestDigisacPagesAreRecords(t *testing.T) {
	t.Parallel()
	d, srv := serveDigisac(t, DigisacConfig{Seed: 4, Tickets: 60})
	for _, res := range dsResources {
		got := listAll(t, srv, "/api/v1/"+res+"?perPage=97", d.Token())
		want := d.Records(res)
		if len(got) != len(want) {
			t.Fatalf("%s: %d records listed, %d held", res, len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("%s %d:\n got %s\nwant %s", res, i, got[i], want[i])
			}
		}
	}
}

// filterRecords returns the records of resource for which keep holds, in
// id order.
func filterRecords(t *testing.T, d *Digisac, resource string, keep func(map[string]any) bool) []string {
	t.Helper()
	var out []string
	for _, r := range decodeMaps(t, d.Records(resource)) {
		if keep(r) {
			out = append(out, str(r["id"]))
		}
	}
	return out
}

func TestDigisacFilterStyles(t *testing.T) {
	t.Parallel()
	d, srv := serveDigisac(t, DigisacConfig{Seed: 5})
	tok := d.Token()
	tk := decodeMaps(t, d.Records("tickets"))[7]
	contact := str(tk["contactId"])
	want := filterRecords(t, d, "messages", func(m map[string]any) bool { return m["contactId"] == contact && m["type"] == "chat" })
	if len(want) == 0 {
		t.Fatal("no messages to find")
	}
	jsonStyle := listAll(t, srv, withQuery("/api/v1/messages?perPage=5", map[string]any{"where": map[string]any{"contactId": contact, "type": map[string]any{"$eq": "chat"}}}), tok)
	qsStyle := listAll(t, srv, "/api/v1/messages?perPage=5&where[contactId]="+contact+"&where[type][$eq]=chat", tok)
	if got := rawIDs(t, jsonStyle); !reflect.DeepEqual(got, want) {
		t.Errorf("query style: %v, want %v", got, want)
	}
	if got := rawIDs(t, qsStyle); !reflect.DeepEqual(got, want) {
		t.Errorf("qs style: %v, want %v", got, want)
	}

	// Order, both styles: timestamp DESC, then id.
	check := func(name string, raws []json.RawMessage) {
		t.Helper()
		recs := decodeMaps(t, raws)
		if len(recs) != len(filterRecords(t, d, "messages", func(m map[string]any) bool { return m["contactId"] == contact })) {
			t.Errorf("%s: %d records", name, len(recs))
		}
		for i := 1; i < len(recs); i++ {
			a, b := str(recs[i-1]["timestamp"]), str(recs[i]["timestamp"])
			if a < b || (a == b && str(recs[i-1]["id"]) > str(recs[i]["id"])) {
				t.Fatalf("%s: not in timestamp DESC, id order at %d", name, i)
			}
		}
	}
	check("qs", listAll(t, srv, "/api/v1/messages?perPage=4&where[contactId]="+contact+"&order[0][0]=timestamp&order[0][1]=DESC", tok))
	check("json", listAll(t, srv, withQuery("/api/v1/messages?perPage=4", map[string]any{"where": map[string]any{"contactId": contact}, "order": [][]string{{"timestamp", "desc"}}}), tok))

	// Both styles at once: both wheres hold.
	mixed := listAll(t, srv, withQuery("/api/v1/messages?perPage=50&where[type]=chat", map[string]any{"where": map[string]any{"contactId": contact}}), tok)
	if got := rawIDs(t, mixed); !reflect.DeepEqual(got, want) {
		t.Errorf("mixed styles: %v, want %v", got, want)
	}

	// Booleans and numbers from a query string.
	open := filterRecords(t, d, "tickets", func(r map[string]any) bool { return r["isOpen"] == true })
	if got := rawIDs(t, listAll(t, srv, "/api/v1/tickets?perPage=100&where[isOpen]=true", tok)); !reflect.DeepEqual(got, open) || len(open) == 0 {
		t.Errorf("isOpen=true: %d tickets, want %d", len(got), len(open))
	}
	read := filterRecords(t, d, "messages", func(r map[string]any) bool { return r["data"].(map[string]any)["ack"] == 3.0 })
	if got := rawIDs(t, listAll(t, srv, "/api/v1/messages?perPage=1000&where[data.ack]=3", tok)); !reflect.DeepEqual(got, read) || len(read) == 0 {
		t.Errorf("data.ack=3: %d messages, want %d", len(got), len(read))
	}
	if got := rawIDs(t, listAll(t, srv, withQuery("/api/v1/messages?perPage=1000", map[string]any{"where": map[string]any{"data": map[string]any{"ack": 3}}}), tok)); !reflect.DeepEqual(got, read) {
		t.Errorf(`{"data":{"ack":3}}: %d messages, want %d`, len(got), len(read))
	}
}

func TestDigisacKeyset(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
	d, srv := serveDigisac(t, DigisacConfig{Seed: 6, Now: clk.Now})
	tok := d.Token()
	order := [][]string{{"updatedAt", "ASC"}, {"id", "ASC"}}
	// Warm the sorted-order cache, then edit records so that it is repaired.
	decodeEnvelope(t, get(t, srv.URL+withQuery("/api/v1/messages", map[string]any{"order": order}), tok))
	clk.Advance(time.Minute)
	edited := d.Edit("messages", 6) // six records tie on updatedAt
	if len(edited) != 6 {
		t.Fatalf("edited %d", len(edited))
	}

	type key struct{ at, id string }
	var all []key
	for _, m := range decodeMaps(t, d.Records("messages")) {
		all = append(all, key{str(m["updatedAt"]), str(m["id"])})
	}
	slices.SortFunc(all, func(a, b key) int {
		if c := strings.Compare(a.at, b.at); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	// Cursors: in the middle of the old data, and inside the tie.
	tie := slices.IndexFunc(all, func(k key) bool { return k.at == wire.FormatMillis(clk.Now().UnixMilli()) })
	for _, cut := range []int{len(all) / 3, tie + 2, len(all) - 1} {
		c := all[cut]
		var want []string
		for _, k := range all[cut+1:] {
			want = append(want, k.id)
		}
		where := map[string]any{"$or": []any{
			map[string]any{"updatedAt": map[string]any{"$gt": c.at}},
			map[string]any{"$and": []any{map[string]any{"updatedAt": c.at}, map[string]any{"id": map[string]any{"$gt": c.id}}}},
		}}
		got := rawIDs(t, listAll(t, srv, withQuery("/api/v1/messages?perPage=200", map[string]any{"where": where, "order": order}), tok))
		if !slices.Equal(got, want) {
			t.Errorf("cursor %d (%v): %d records, want %d", cut, c, len(got), len(want))
		}
		qs := "/api/v1/messages?perPage=200&where[$or][0][updatedAt][$gt]=" + url.QueryEscape(c.at) +
			"&where[$or][1][$and][0][updatedAt]=" + url.QueryEscape(c.at) + "&where[$or][1][$and][1][id][$gt]=" + c.id +
			"&order[0][0]=updatedAt&order[0][1]=ASC&order[1][0]=id&order[1][1]=ASC"
		if got := rawIDs(t, listAll(t, srv, qs, tok)); !slices.Equal(got, want) {
			t.Errorf("qs cursor %d: %d records, want %d", cut, len(got), len(want))
		}
	}
}

func TestDigisacOperators(t *testing.T) {
	t.Parallel()
	d, srv := serveDigisac(t, DigisacConfig{Seed: 8})
	tok := d.Token()
	list := func(res string, where any) []string {
		t.Helper()
		return rawIDs(t, listAll(t, srv, withQuery("/api/v1/"+res+"?perPage=1000", map[string]any{"where": where}), tok))
	}
	contacts := decodeMaps(t, d.Records("contacts"))
	pickIDs := []any{contacts[3]["id"], contacts[9]["id"], contacts[20]["id"], "not-there"}
	want := []string{str(contacts[3]["id"]), str(contacts[9]["id"]), str(contacts[20]["id"])}
	if got := list("contacts", map[string]any{"id": map[string]any{"$in": pickIDs}}); !reflect.DeepEqual(got, want) {
		t.Errorf("$in: %v, want %v", got, want)
	}
	if got := list("contacts", map[string]any{"id": pickIDs}); !reflect.DeepEqual(got, want) {
		t.Errorf("list as $in: %v", got)
	}
	qs := rawIDs(t, listAll(t, srv, fmt.Sprintf("/api/v1/contacts?perPage=100&where[id][$in][0]=%s&where[id][$in][1]=%s&where[id][$in][2]=%s", want[0], want[1], want[2]), tok))
	if !reflect.DeepEqual(qs, want) {
		t.Errorf("qs $in: %v", qs)
	}
	// $iLike, on a JSON path and on names (case and accents).
	number := str(contacts[5]["data"].(map[string]any)["number"])
	part := number[4:9]
	wantLike := filterRecords(t, d, "contacts", func(c map[string]any) bool {
		return strings.Contains(str(c["data"].(map[string]any)["number"]), part)
	})
	if got := rawIDs(t, listAll(t, srv, "/api/v1/contacts?perPage=100&where[data.number][$iLike]="+url.QueryEscape("%"+part+"%"), tok)); !reflect.DeepEqual(got, wantLike) {
		t.Errorf("$iLike on data.number: %v, want %v", got, wantLike)
	}
	name := str(contacts[5]["name"])
	last := name[strings.IndexByte(name, ' ')+1:]
	wantName := filterRecords(t, d, "contacts", func(c map[string]any) bool { return strings.HasSuffix(str(c["name"]), " "+last) })
	if got := list("contacts", map[string]any{"name": map[string]any{"$iLike": "%_ " + strings.ToUpper(last)}}); !reflect.DeepEqual(got, wantName) {
		t.Errorf("$iLike %q: %v, want %v", strings.ToUpper(last), got, wantName)
	}
	if got := list("contacts", map[string]any{"name": map[string]any{"$iLike": strings.ToLower(name)}}); len(got) == 0 {
		t.Errorf("$iLike without wildcards found nothing for %q", name)
	}
	// Comparisons, $ne, null, nested $and/$or.
	tickets := decodeMaps(t, d.Records("tickets"))
	mid := str(tickets[40]["startedAt"])
	wantRange := filterRecords(t, d, "tickets", func(r map[string]any) bool {
		s := str(r["startedAt"])
		return s >= mid && r["isOpen"] == false
	})
	if got := list("tickets", map[string]any{"$and": []any{map[string]any{"startedAt": map[string]any{"$gte": mid}}, map[string]any{"isOpen": map[string]any{"$ne": true}}}}); !reflect.DeepEqual(got, wantRange) {
		t.Errorf("$gte/$ne: %d, want %d", len(got), len(wantRange))
	}
	wantOpen := filterRecords(t, d, "tickets", func(r map[string]any) bool { return r["endedAt"] == nil })
	if got := list("tickets", map[string]any{"endedAt": nil}); !reflect.DeepEqual(got, wantOpen) || len(wantOpen) == 0 {
		t.Errorf("endedAt null: %d, want %d", len(got), len(wantOpen))
	}
	if got := list("tickets", map[string]any{"endedAt": map[string]any{"$ne": nil}}); len(got) != len(tickets)-len(wantOpen) {
		t.Errorf("endedAt not null: %d", len(got))
	}
	if got := list("services", map[string]any{"archivedAt": map[string]any{"$eq": nil}}); len(got) != 3 {
		t.Errorf("archivedAt null: %d services", len(got))
	}
	wantOr := filterRecords(t, d, "tickets", func(r map[string]any) bool {
		return str(r["startedAt"]) < mid || (r["isOpen"] == true && str(r["startedAt"]) <= mid)
	})
	if got := list("tickets", map[string]any{"$or": []any{
		map[string]any{"startedAt": map[string]any{"$lt": mid}},
		map[string]any{"$and": map[string]any{"isOpen": true, "startedAt": map[string]any{"$lte": mid}}},
	}}); !reflect.DeepEqual(got, wantOr) {
		t.Errorf("nested $or/$and: %d, want %d", len(got), len(wantOr))
	}
	// Include-level where filters the parent (Postman: open tickets of a contact).
	c := str(tickets[0]["contactId"])
	wantOf := filterRecords(t, d, "tickets", func(r map[string]any) bool { return r["contactId"] == c })
	got := rawIDs(t, listAll(t, srv, withQuery("/api/v1/tickets?perPage=100", map[string]any{"include": []any{map[string]any{"model": "contact", "required": true, "where": map[string]any{"visible": true, "id": c}}}}), tok))
	if !reflect.DeepEqual(got, wantOf) {
		t.Errorf("include where: %v, want %v", got, wantOf)
	}
}

func TestDigisacBadQuery(t *testing.T) {
	t.Parallel()
	d, srv := serveDigisac(t, DigisacConfig{Seed: 9, Tickets: 10})
	tok := d.Token()
	for _, path := range []string{
		"/api/v1/messages?query=" + url.QueryEscape(`{"where":`),
		"/api/v1/messages?query=" + url.QueryEscape(`[1,2]`),
		"/api/v1/messages?query=" + url.QueryEscape(`{} {}`),
		withQuery("/api/v1/messages", map[string]any{"where": map[string]any{"updatedAt": map[string]any{"$after": "2024-01-01T00:00:00Z"}}}),
		withQuery("/api/v1/messages", map[string]any{"where": map[string]any{"$nor": []any{}}}),
		withQuery("/api/v1/messages", map[string]any{"where": map[string]any{"nope": 1}}),
		withQuery("/api/v1/messages", map[string]any{"where": map[string]any{"id": map[string]any{"$gt": map[string]any{"x": 1}}}}),
		withQuery("/api/v1/messages", map[string]any{"order": [][]string{{"updatedAt", "SIDEWAYS"}}}),
		withQuery("/api/v1/messages", map[string]any{"order": [][]string{{"nope", "ASC"}}}),
		withQuery("/api/v1/tickets", map[string]any{"include": []any{map[string]any{"model": "contact", "where": map[string]any{"nope": 1}}}}),
		"/api/v1/messages?where[nope]=1",
		"/api/v1/messages?where[id][$regexp]=1",
		"/api/v1/messages?order[0][0]=nope",
	} {
		r := get(t, srv.URL+path, tok)
		wantDigisacError(t, r, http.StatusBadRequest, "BadRequestHttpError", "")
	}
	// Unknown includes are ignored (Sequelize would refuse them; being lenient
	// costs nothing here).
	decodeEnvelope(t, get(t, srv.URL+"/api/v1/messages?include[0]=tags", tok))
	wantDigisacError(t, get(t, srv.URL+"/api/v1/nothing", tok), http.StatusNotFound, "NotFoundHttpError", "Not Found")
	wantDigisacError(t, get(t, srv.URL+"/api/v2/messages", tok), http.StatusNotFound, "NotFoundHttpError", "Not Found")
	wantDigisacError(t, post(t, srv.URL+"/api/v1/messages", tok, "{}"), http.StatusMethodNotAllowed, "MethodNotAllowedHttpError", "Method Not Allowed")
	if s := d.Stats(); s.ClientErrors != 16 || s.OK != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestDigisacAuth(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	d, srv := serveDigisac(t, DigisacConfig{Seed: 10, Tickets: 5, Token: "personal", Now: clk.Now, TokenTTL: 10 * time.Minute})
	list := srv.URL + "/api/v1/services"
	const invalid = "Invalid token: access token is invalid"
	wantDigisacError(t, get(t, list, ""), http.StatusUnauthorized, "HttpError", invalid)
	wantDigisacError(t, get(t, list, "wrong"), http.StatusUnauthorized, "HttpError", invalid)
	decodeEnvelope(t, get(t, list, "personal"))

	tokenURL := srv.URL + "/api/v1/oauth/token"
	grant := func(user, pass string) string {
		b, _ := json.Marshal(map[string]string{"grant_type": "password", "client_id": "api", "client_secret": "secret", "username": user, "password": pass})
		return string(b)
	}
	wantDigisacError(t, post(t, tokenURL, "", grant("ana@acme.com.br", "errada")), http.StatusUnauthorized, "HttpError", "Invalid credentials")
	wantDigisacError(t, post(t, tokenURL, "", `{"grant_type":"password","client_id":"api","client_secret":"nope","username":"ana@acme.com.br","password":"senha-secreta"}`),
		http.StatusUnauthorized, "HttpError", "Invalid credentials")
	wantDigisacError(t, post(t, tokenURL, "", `{`), http.StatusBadRequest, "BadRequestHttpError", "")
	if r := get(t, tokenURL, ""); r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != http.MethodPost {
		t.Errorf("GET token: %d %v", r.status, r.header)
	}

	issue := func(body string) digisacTokenResponse {
		t.Helper()
		r := post(t, tokenURL, "", body)
		var tr digisacTokenResponse
		if r.status != http.StatusOK || json.Unmarshal(r.body, &tr) != nil {
			t.Fatalf("token: %d %s", r.status, r.body)
		}
		if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(tr.AccessToken) || tr.TokenType != "Bearer" || tr.ExpiresIn != 600 || tr.RefreshToken == "" {
			t.Errorf("token response %+v", tr)
		}
		return tr
	}
	tr := issue(grant("ana@acme.com.br", "senha-secreta"))
	decodeEnvelope(t, get(t, list, tr.AccessToken))
	clk.Advance(9 * time.Minute)
	decodeEnvelope(t, get(t, list, tr.AccessToken))
	clk.Advance(time.Minute)
	wantDigisacError(t, get(t, list, tr.AccessToken), http.StatusUnauthorized, "HttpError", invalid)

	tr = issue(grant("ana@acme.com.br", "senha-secreta"))
	decodeEnvelope(t, get(t, list, tr.AccessToken))
	d.ExpireTokens()
	wantDigisacError(t, get(t, list, tr.AccessToken), http.StatusUnauthorized, "HttpError", invalid)
	decodeEnvelope(t, get(t, list, "personal"))

	// The refresh token renews once.
	refreshed := issue(fmt.Sprintf(`{"grant_type":"refresh_token","client_id":"api","client_secret":"secret","refresh_token":%q}`, tr.RefreshToken))
	decodeEnvelope(t, get(t, list, refreshed.AccessToken))
	wantDigisacError(t, post(t, tokenURL, "", fmt.Sprintf(`{"grant_type":"refresh_token","client_id":"api","client_secret":"secret","refresh_token":%q}`, tr.RefreshToken)),
		http.StatusUnauthorized, "HttpError", "Invalid credentials")
}

func TestDigisacFaultsAfterAuth(t *testing.T) {
	t.Parallel()
	d, srv := serveDigisac(t, DigisacConfig{Seed: 11, Tickets: 5, Faults: fault.Faults{RateLimitShare: 1, RetryAfter: "3"}})
	list := srv.URL + "/api/v1/messages"
	for range 30 {
		wantDigisacError(t, get(t, list, "wrong"), http.StatusUnauthorized, "HttpError", "Invalid token: access token is invalid")
		wantDigisacError(t, post(t, srv.URL+"/api/v1/oauth/token", "", `{"grant_type":"password","client_id":"api","client_secret":"secret","username":"x","password":"y"}`),
			http.StatusUnauthorized, "HttpError", "Invalid credentials")
	}
	r := get(t, list, d.Token())
	wantDigisacError(t, r, http.StatusTooManyRequests, "TooManyRequestsHttpError", "Too many requests")
	if r.header.Get("Retry-After") != "3" {
		t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
	}
	d.SetFaults(fault.Faults{ServerErrorShare: 1})
	r = get(t, list, d.Token())
	if r.status < 500 || string(r.body) != `{"error":"HttpError","message":"Internal Server Error","status":500}` {
		t.Errorf("5xx: %d %s", r.status, r.body)
	}
	d.SetFaults(fault.Faults{})
	decodeEnvelope(t, get(t, list, d.Token()))
	if s := d.Stats(); s.Requests != 63 || s.Unauthorized != 60 || s.RateLimited != 1 || s.ServerErrors != 1 || s.OK != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestDigisacCutBody(t *testing.T) {
	t.Parallel()
	d, srv := serveDigisac(t, DigisacConfig{Seed: 11, Tickets: 5, Faults: fault.Faults{CutBodyShare: 1}})
	for _, req := range []func() (*http.Response, error){
		func() (*http.Response, error) {
			r, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/api/v1/messages?perPage=100", nil)
			r.Header.Set("Authorization", "Bearer "+d.Token())
			return http.DefaultClient.Do(r)
		},
		func() (*http.Response, error) {
			r, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/api/v1/tickets/export", strings.NewReader(`{"protocol":"`+d.Protocols()[0]+`"}`))
			r.Header.Set("Authorization", "Bearer "+d.Token())
			return http.DefaultClient.Do(r)
		},
	} {
		res, err := req()
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.ReadAll(res.Body)
		res.Body.Close()
		if err == nil {
			t.Error("whole body read despite CutBodyShare 1")
		}
	}
	if s := d.Stats(); s.CutBodies != 2 {
		t.Errorf("stats %+v", s)
	}
}

func TestDigisacLateFiles(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(time.Time{})
	d, srv := serveDigisac(t, DigisacConfig{Seed: 12, Tickets: 100, Now: clk.Now, LateFileDelay: 48 * time.Hour})
	var newest string
	for _, m := range decodeMaps(t, d.Records("messages")) {
		newest = max(newest, str(m["createdAt"]))
	}
	end, _ := time.Parse(time.RFC3339, newest)
	clk.Set(end.Add(time.Hour))
	cut := wire.FormatMillis(end.Add(time.Hour - 48*time.Hour).UnixMilli())

	fetch := func() []map[string]any {
		return decodeMaps(t, listAll(t, srv, "/api/v1/messages?perPage=1000&include[0][model]=file", d.Token()))
	}
	withURL, missing, null, texts := 0, 0, 0, 0
	for _, m := range fetch() {
		f, present := m["file"]
		if !present {
			t.Fatalf("include=file left file out: %v", m)
		}
		switch m["type"] {
		case "chat", "comment", "ticket":
			texts++
			if f != nil {
				t.Errorf("%s message with a file: %v", m["type"], f)
			}
			continue
		}
		file := f.(map[string]any)
		if !uuidRe.MatchString(str(file["id"])) || file["publicFilename"] == "" || file["mimetype"] == "" {
			t.Errorf("file %v", file)
		}
		u, has := file["url"]
		young := str(m["createdAt"]) > cut
		switch {
		case young && !has:
			missing++
		case young && u == nil:
			null++
		case young:
			t.Errorf("young media message has url %v", u)
		case !strings.HasPrefix(str(u), "https://"):
			t.Errorf("old media message without url: %v", file)
		default:
			withURL++
		}
	}
	if withURL == 0 || missing == 0 || null == 0 || texts == 0 {
		t.Errorf("urls %d, missing %d, null %d, texts %d", withURL, missing, null, texts)
	}
	// Without include, no file key at all.
	for _, m := range decodeMaps(t, d.Records("messages")) {
		if _, ok := m["file"]; ok {
			t.Fatal("file without include")
		}
	}
	clk.Advance(48 * time.Hour)
	for _, m := range fetch() {
		if f, ok := m["file"].(map[string]any); ok && !strings.HasPrefix(str(f["url"]), "https://") {
			t.Errorf("url still missing after the delay: %v", f)
		}
	}
}

func TestDigisacIncludes(t *testing.T) {
	t.Parallel()
	d, srv := serveDigisac(t, DigisacConfig{Seed: 13, Tickets: 30})
	tok := d.Token()
	e := decodeEnvelope(t, get(t, srv.URL+withQuery("/api/v1/messages?perPage=200", map[string]any{"include": []any{"contact", map[string]any{"model": "user"}, "ticket"}}), tok))
	for _, m := range decodeMaps(t, e.Data) {
		c, _ := m["contact"].(map[string]any)
		tk, _ := m["ticket"].(map[string]any)
		if c == nil || c["id"] != m["contactId"] || tk == nil || tk["id"] != m["ticketId"] {
			t.Fatalf("includes of %v", m["id"])
		}
		u, present := m["user"]
		if !present || (m["userId"] == nil) != (u == nil) {
			t.Fatalf("user include %v for userId %v", u, m["userId"])
		}
	}
	e = decodeEnvelope(t, get(t, srv.URL+"/api/v1/tickets?perPage=100&include[0]=contact&include[1]=user&include[2]=department", tok))
	for _, tk := range decodeMaps(t, e.Data) {
		if tk["contact"].(map[string]any)["id"] != tk["contactId"] {
			t.Fatal("ticket contact include")
		}
		if d, ok := tk["department"].(map[string]any); tk["departmentId"] != nil && (!ok || d["id"] != tk["departmentId"]) {
			t.Fatal("ticket department include")
		}
	}
	// One record, with includes.
	m := decodeMaps(t, d.Records("messages"))[0]
	r := get(t, srv.URL+"/api/v1/messages/"+str(m["id"])+"?include[0]=file", tok)
	var one map[string]any
	if r.status != http.StatusOK || json.Unmarshal(r.body, &one) != nil || one["id"] != m["id"] {
		t.Fatalf("one message: %d %s", r.status, r.body)
	}
	if _, ok := one["file"]; !ok {
		t.Error("one message without its file include")
	}
	wantDigisacError(t, get(t, srv.URL+"/api/v1/messages/nope", tok), http.StatusNotFound, "NotFoundHttpError", "Not Found")
}

func TestDigisacChurn(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	d, srv := serveDigisac(t, DigisacConfig{Seed: 14, Tickets: 30, Now: clk.Now, ChurnPerList: 4})
	before := map[string]string{}
	for _, m := range decodeMaps(t, d.Records("messages")) {
		before[str(m["id"])] = str(m["updatedAt"])
	}
	moved := func(now time.Time) int {
		n := 0
		for _, m := range decodeMaps(t, d.Records("messages")) {
			if old := before[str(m["id"])]; str(m["updatedAt"]) != old {
				n++
				if str(m["updatedAt"]) <= old || str(m["updatedAt"]) > wire.FormatMillis(now.UnixMilli()) {
					t.Errorf("updatedAt %s after %s", m["updatedAt"], old)
				}
			}
		}
		return n
	}
	decodeEnvelope(t, get(t, srv.URL+"/api/v1/messages?perPage=50&page=1", d.Token()))
	if n := moved(clk.Now()); n != 4 {
		t.Errorf("%d messages moved after one page, want 4", n)
	}
	clk.Advance(time.Second)
	decodeEnvelope(t, get(t, srv.URL+"/api/v1/messages?perPage=50&page=2", d.Token()))
	if n := moved(clk.Now()); n < 5 || n > 8 {
		t.Errorf("%d messages moved after two pages", n)
	}
	// Only the resource listed churns.
	contacts := d.Records("contacts")
	decodeEnvelope(t, get(t, srv.URL+"/api/v1/services", d.Token()))
	if !reflect.DeepEqual(contacts, d.Records("contacts")) {
		t.Error("listing services changed contacts")
	}
}

func TestDigisacOnList(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	d, srv := serveDigisac(t, DigisacConfig{Seed: 15, Tickets: 20, Now: clk.Now})
	type call struct {
		res  string
		page int
	}
	var calls []call
	d.OnList(func(res string, page int) {
		calls = append(calls, call{res, page})
		if page == 2 {
			d.Create("contacts", 3)
		}
	})
	n := len(d.Records("contacts"))
	e1 := decodeEnvelope(t, get(t, srv.URL+"/api/v1/contacts?perPage=10&page=1", d.Token()))
	e2 := decodeEnvelope(t, get(t, srv.URL+"/api/v1/contacts?perPage=10&page=2", d.Token()))
	if e1.Total != n || e2.Total != n+3 {
		t.Errorf("totals %d, %d; want %d then %d", e1.Total, e2.Total, n, n+3)
	}
	if !reflect.DeepEqual(calls, []call{{"contacts", 1}, {"contacts", 2}}) {
		t.Errorf("calls %v", calls)
	}
	d.OnList(nil)
	decodeEnvelope(t, get(t, srv.URL+"/api/v1/contacts", d.Token()))
	if len(calls) != 2 {
		t.Error("hook still called after OnList(nil)")
	}
}

func TestDigisacCreateEditRemove(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC))
	d := NewDigisac(DigisacConfig{Seed: 16, Tickets: 40, Now: clk.Now})
	nowS := wire.FormatMillis(clk.Now().UnixMilli())
	byID := func(res string) map[string]map[string]any {
		out := map[string]map[string]any{}
		for _, r := range decodeMaps(t, d.Records(res)) {
			out[str(r["id"])] = r
		}
		return out
	}
	counts := map[string]int{}
	for _, res := range dsResources {
		counts[res] = len(d.Records(res))
	}

	for _, res := range dsResources {
		created := d.Create(res, 3)
		recs := byID(res)
		if len(created) != 3 {
			t.Fatalf("%s: created %v", res, created)
		}
		for _, id := range created {
			r := recs[id]
			if r == nil || r["createdAt"] != nowS || r["updatedAt"] != nowS {
				t.Errorf("%s: new record %v", res, r)
			}
		}
	}
	newTickets := byID("tickets")
	msgs := byID("messages")
	for _, m := range msgs {
		if m["createdAt"] == nowS && newTickets[str(m["ticketId"])]["isOpen"] != true {
			t.Errorf("new message %v in a closed ticket", m["id"])
		}
	}

	for _, res := range dsResources {
		// Twice at the same Now: updatedAt still grows per record.
		for round, n := range []int{2, 40} {
			old := byID(res)
			edited := d.Edit(res, n)
			now := byID(res)
			if len(edited) != min(n, len(old)) {
				t.Fatalf("%s round %d: edited %d", res, round, len(edited))
			}
			for _, id := range edited {
				o, n := old[id], now[id]
				if str(n["updatedAt"]) < nowS || str(n["updatedAt"]) <= str(o["updatedAt"]) {
					t.Errorf("%s %s: updatedAt %v → %v", res, id, o["updatedAt"], n["updatedAt"])
				}
				delete(o, "updatedAt")
				delete(n, "updatedAt")
				if reflect.DeepEqual(o, n) {
					t.Errorf("%s %s: edit changed nothing but updatedAt", res, id)
				}
			}
		}
	}
	clk.Advance(time.Minute)
	for _, id := range d.Edit("messages", 5) {
		if byID("messages")[id]["updatedAt"] != wire.FormatMillis(clk.Now().UnixMilli()) {
			t.Errorf("edit after the clock moved: updatedAt is not Now")
		}
	}

	for _, res := range []string{"services", "users", "departments"} {
		n := len(d.Records(res))
		gone := d.Remove(res, 1)
		if len(gone) != 1 || len(d.Records(res)) != n-1 || byID(res)[gone[0]] != nil || d.Count(res) != n-1 {
			t.Errorf("%s: remove %v", res, gone)
		}
		e := decodeEnvelope(t, httptestGet(t, d, "/api/v1/"+res+"?perPage=100"))
		if e.Total != n-1 || slices.Contains(rawIDs(t, e.Data), gone[0]) {
			t.Errorf("%s: removed record still listed", res)
		}
	}
	for _, res := range []string{"contacts", "tickets", "messages", "nope"} {
		if got := d.Remove(res, 1); got != nil {
			t.Errorf("Remove(%s) = %v", res, got)
		}
	}
	if d.Create("nope", 1) != nil || d.Edit("nope", 1) != nil || d.Records("nope") != nil {
		t.Error("unknown resource did something")
	}
}

// dsFixture indexes a simulator's records, decoded once.
type dsFixture struct {
	names    map[string]string           // id → name of services, users, departments, contacts
	contacts map[string]map[string]any   // id → contact
	messages map[string][]map[string]any // ticketId → messages, oldest first
}

func newFixture(t *testing.T, d *Digisac) dsFixture {
	t.Helper()
	f := dsFixture{names: map[string]string{}, contacts: map[string]map[string]any{}, messages: map[string][]map[string]any{}}
	for _, res := range []string{"services", "users", "departments", "contacts"} {
		for _, r := range decodeMaps(t, d.Records(res)) {
			f.names[str(r["id"])] = str(r["name"])
			if res == "contacts" {
				f.contacts[str(r["id"])] = r
			}
		}
	}
	for _, m := range decodeMaps(t, d.Records("messages")) {
		f.messages[str(m["ticketId"])] = append(f.messages[str(m["ticketId"])], m)
	}
	for _, msgs := range f.messages {
		slices.SortFunc(msgs, func(a, b map[string]any) int { return strings.Compare(str(a["createdAt"]), str(b["createdAt"])) })
	}
	return f
}

// expectedTranscript rebuilds a ticket's transcript from the records, the
// way a reader of the layout would.
func expectedTranscript(t *testing.T, f dsFixture, loc *time.Location, ticket map[string]any) string {
	t.Helper()
	names := f.names
	contact := f.contacts[str(ticket["contactId"])]
	at := func(s string) string {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.In(loc).Format("02/01/2006 15:04:05")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Protocolo: %s\nContato: %s (%s)\nConexão: %s\n", ticket["protocol"], contact["name"],
		contact["data"].(map[string]any)["number"], names[str(contact["serviceId"])])
	if ticket["departmentId"] != nil {
		fmt.Fprintf(&b, "Departamento: %s\n", names[str(ticket["departmentId"])])
	}
	if ticket["userId"] != nil {
		fmt.Fprintf(&b, "Atendente: %s\n", names[str(ticket["userId"])])
	}
	fmt.Fprintf(&b, "Aberto em: %s\n", at(str(ticket["startedAt"])))
	if ticket["endedAt"] != nil {
		fmt.Fprintf(&b, "Fechado em: %s\n", at(str(ticket["endedAt"])))
	}
	b.WriteString("\n")
	msgs := f.messages[str(ticket["id"])]
	labels := map[string]string{"image": "[Imagem]", "audio": "[Áudio]", "ptt": "[Mensagem de voz]", "video": "[Vídeo]", "document": "[Documento]", "sticker": "[Figurinha]"}
	for _, m := range msgs {
		author, text := names[str(m["userId"])], str(m["text"])
		data := m["data"].(map[string]any)
		switch {
		case m["type"] == "ticket":
			author = "Sistema"
			switch {
			case data["ticketOpen"] == true:
				text = "Chamado aberto"
			case data["ticketClose"] == true:
				text = "Chamado fechado"
			default:
				text = "Chamado transferido para " + names[str(m["ticketDepartmentId"])]
			}
		case m["isFromMe"] == false:
			author = str(contact["name"])
		case m["isFromBot"] == true:
			author = "Bot"
		case m["type"] == "comment":
			author += " (comentário interno)"
		}
		if l := labels[str(m["type"])]; l != "" {
			text = strings.TrimSpace(l + " " + text)
		}
		fmt.Fprintf(&b, "[%s] %s: %s\n", at(str(m["timestamp"])), author, text)
	}
	return b.String()
}

func TestDigisacTranscript(t *testing.T) {
	t.Parallel()
	d, srv := serveDigisac(t, DigisacConfig{Seed: 17, Tickets: 30})
	loc, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		t.Fatal(err)
	}
	lineRe := regexp.MustCompile(`^\[\d\d/\d\d/\d{4} \d\d:\d\d:\d\d\] [^:]+: `)
	multiline := 0
	fixture := newFixture(t, d)
	for _, tk := range decodeMaps(t, d.Records("tickets")) {
		got, ok := d.Transcript(str(tk["protocol"]))
		if !ok {
			t.Fatalf("no transcript for %s", tk["protocol"])
		}
		if want := expectedTranscript(t, fixture, loc, tk); got != want {
			t.Fatalf("transcript of %s\n got:\n%s\nwant:\n%s", tk["protocol"], got, want)
		}
		head, body, _ := strings.Cut(got, "\n\n")
		if !strings.HasPrefix(head, "Protocolo: "+str(tk["protocol"])+"\nContato: ") || strings.Contains(got, "\r") || !strings.HasSuffix(got, "\n") {
			t.Errorf("layout of %s:\n%s", tk["protocol"], got)
		}
		for _, line := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
			if !lineRe.MatchString(line) {
				multiline++
			}
		}
	}
	if multiline == 0 {
		t.Error("no multi-line texts in 30 tickets")
	}
	if _, ok := d.Transcript("0000000000000"); ok {
		t.Error("transcript of an unknown protocol")
	}

	p := d.Protocols()[2]
	want, _ := d.Transcript(p)
	r := post(t, srv.URL+"/api/v1/tickets/export", d.Token(), `{"protocol":"`+p+`"}`)
	if r.status != http.StatusOK || string(r.body) != want || r.header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("export: %d %q %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	r = post(t, srv.URL+"/api/v1/tickets/export", d.Token(), `{"protocol":`+p+`}`)
	if r.status != http.StatusOK || string(r.body) != want {
		t.Errorf("export with a numeric protocol: %d", r.status)
	}
	wantDigisacError(t, post(t, srv.URL+"/api/v1/tickets/export", d.Token(), `{"protocol":"0000000000000"}`), http.StatusNotFound, "NotFoundHttpError", "Ticket not found")
	wantDigisacError(t, post(t, srv.URL+"/api/v1/tickets/export", d.Token(), `{`), http.StatusBadRequest, "BadRequestHttpError", "")
	wantDigisacError(t, post(t, srv.URL+"/api/v1/tickets/export", "wrong", `{"protocol":"`+p+`"}`), http.StatusUnauthorized, "HttpError", "Invalid token: access token is invalid")
}

func TestDigisacTranscriptLayout(t *testing.T) {
	t.Parallel()
	// A closed ticket of the default data, checked line by line against the
	// documented layout.
	d := NewDigisac(DigisacConfig{Seed: 1})
	var tk map[string]any
	for _, r := range decodeMaps(t, d.Records("tickets")) {
		if r["isOpen"] == false && r["userId"] != nil && r["departmentId"] != nil {
			tk = r
			break
		}
	}
	got, _ := d.Transcript(str(tk["protocol"]))
	lines := strings.Split(got, "\n")
	prefixes := []string{"Protocolo: ", "Contato: ", "Conexão: ", "Departamento: ", "Atendente: ", "Aberto em: ", "Fechado em: "}
	for i, p := range prefixes {
		if !strings.HasPrefix(lines[i], p) {
			t.Fatalf("line %d %q, want prefix %q", i+1, lines[i], p)
		}
	}
	if !regexp.MustCompile(`^Contato: .+ \(55\d{11}\)$`).MatchString(lines[1]) ||
		!regexp.MustCompile(`^Aberto em: \d\d/\d\d/\d{4} \d\d:\d\d:\d\d$`).MatchString(lines[5]) || lines[7] != "" {
		t.Errorf("header:\n%s", strings.Join(lines[:8], "\n"))
	}
	if !strings.HasSuffix(lines[8], "] Sistema: Chamado aberto") || !strings.HasSuffix(lines[len(lines)-2], "] Sistema: Chamado fechado") {
		t.Errorf("events:\n%s", got)
	}
}

func TestDigisacBadShare(t *testing.T) {
	t.Parallel()
	kinds := map[string]int{}
	recs := decodeMaps(t, NewDigisac(DigisacConfig{Seed: 18, BadShare: 0.1}).Records("messages"))
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
	for _, m := range decodeMaps(t, NewDigisac(DigisacConfig{Seed: 18}).Records("messages")) {
		if _, ok := m["isFromMe"].(bool); !ok || !dsTimeRe.MatchString(str(m["timestamp"])) {
			t.Fatalf("malformed record at BadShare 0: %v", m)
		}
	}
}

func TestDigisacConcurrent(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	d, srv := serveDigisac(t, DigisacConfig{Seed: 19, Tickets: 50, Now: clk.Now, ChurnPerList: 1})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 40 {
			clk.Advance(time.Second)
			res := dsResources[i%len(dsResources)]
			d.Edit(res, 2)
			d.Create(res, 1)
			d.Records(res)
		}
	}()
	for i := range 40 {
		res := dsResources[i%len(dsResources)]
		decodeEnvelope(t, get(t, srv.URL+"/api/v1/"+res+"?perPage=20&query="+url.QueryEscape(`{"order":[["updatedAt","ASC"]]}`), d.Token()))
		decodeEnvelope(t, get(t, srv.URL+"/api/v1/"+res+"?perPage=20&order[0][0]=createdAt&order[0][1]=DESC", d.Token()))
	}
	<-done
	if s := d.Stats(); s.Requests != 80 || s.OK != 80 {
		t.Errorf("stats %+v", s)
	}
	// After all that, the cached orders still agree with a fresh sort.
	for _, res := range dsResources {
		got := rawIDs(t, listAll(t, srv, withQuery("/api/v1/"+res+"?perPage=1000", map[string]any{"order": [][]string{{"updatedAt", "DESC"}}}), d.Token()))
		recs := decodeMaps(t, d.Records(res))
		slices.SortStableFunc(recs, func(a, b map[string]any) int { return -strings.Compare(str(a["updatedAt"]), str(b["updatedAt"])) })
		if want := ids(recs); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: cached order differs from a fresh sort", res)
		}
	}
}

func TestServers(t *testing.T) {
	t.Parallel()
	og := ogmmasim.New(ogmmasim.Config{Seed: 1, APIKey: testKey})
	dg := NewDigisac(DigisacConfig{Seed: 1, Tickets: 10})
	srv := httptest.NewServer(NewServers(Simulators{Ogmma: og, Digisac: dg}))
	t.Cleanup(srv.Close)
	r := get(t, srv.URL+"/", "")
	for _, want := range []string{"/ogmma/v1/channels/", "/digisac/api/v1/", "/_sim/digisac/edit"} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("index lacks %q:\n%s", want, r.body)
		}
	}
	e := decodeEnvelope(t, get(t, srv.URL+"/digisac/api/v1/tickets?perPage=5", dg.Token()))
	if e.Total != 10 {
		t.Errorf("tickets through the server: %+v", e)
	}
	var created struct {
		Data []string `json:"data"`
	}
	r = post(t, srv.URL+"/_sim/digisac/create?resource=tickets&n=2", "", "")
	if r.status != http.StatusOK || json.Unmarshal(r.body, &created) != nil || len(created.Data) != 2 {
		t.Fatalf("create control: %d %s", r.status, r.body)
	}
	if e := decodeEnvelope(t, get(t, srv.URL+"/digisac/api/v1/tickets", dg.Token())); e.Total != 12 {
		t.Errorf("%d tickets after create", e.Total)
	}
	r = post(t, srv.URL+"/_sim/digisac/edit?resource=messages&n=3", "", "")
	if r.status != http.StatusOK || json.Unmarshal(r.body, &created) != nil || len(created.Data) != 3 {
		t.Errorf("edit control: %d %s", r.status, r.body)
	}
	r = post(t, srv.URL+"/_sim/digisac/remove?resource=messages", "", "")
	if r.status != http.StatusOK || string(r.body) != "{\"data\":[]}\n" {
		t.Errorf("remove control on messages: %d %s", r.status, r.body)
	}
	for _, q := range []string{"edit?resource=nope", "create?resource=tickets&n=0", "edit?resource=tickets&n=x"} {
		if r := post(t, srv.URL+"/_sim/digisac/"+q, "", ""); r.status != http.StatusBadRequest {
			t.Errorf("%s: %d", q, r.status)
		}
	}
	// Digisac alone; Ogmma unmounted.
	only := httptest.NewServer(NewServers(Simulators{Digisac: dg}))
	t.Cleanup(only.Close)
	if r := get(t, only.URL+"/ogmma/v1/channels/x/conversations", testKey); r.status != http.StatusNotFound {
		t.Errorf("unmounted ogmma: %d", r.status)
	}
	decodeEnvelope(t, get(t, only.URL+"/digisac/api/v1/services", dg.Token()))
}

func BenchmarkNewDigisac10k(b *testing.B) {
	for b.Loop() {
		NewDigisac(DigisacConfig{Seed: 1, Tickets: 10_000, Contacts: 2_000})
	}
}

// BenchmarkDigisacKeysetPage500 serves 500-message pages of a keyset query
// over 120,000 messages, the cursor moving through the data.
func BenchmarkDigisacKeysetPage500(b *testing.B) {
	d := NewDigisac(DigisacConfig{Seed: 1, Tickets: 10_000, Contacts: 2_000})
	recs := d.Records("messages")
	var cursors []string
	for i := 0; i < len(recs); i += len(recs) / 16 {
		var m struct{ ID, UpdatedAt string }
		_ = json.Unmarshal(recs[i], &m)
		q := fmt.Sprintf(`{"where":{"$or":[{"updatedAt":{"$gt":%q}},{"$and":[{"updatedAt":%q},{"id":{"$gt":%q}}]}]},"order":[["updatedAt","ASC"],["id","ASC"]],"perPage":500}`,
			m.UpdatedAt, m.UpdatedAt, m.ID)
		cursors = append(cursors, "/api/v1/messages?query="+url.QueryEscape(q))
	}
	i := 0
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, cursors[i%len(cursors)], nil)
		req.Header.Set("Authorization", "Bearer "+d.Token())
		w := httptest.NewRecorder()
		d.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
		i++
	}
}

// BenchmarkDigisacFilteredPage500 serves 500-message pages of a filter no
// index helps with (every message is tested).
func BenchmarkDigisacFilteredPage500(b *testing.B) {
	d := NewDigisac(DigisacConfig{Seed: 1, Tickets: 10_000, Contacts: 2_000})
	req := httptest.NewRequest(http.MethodGet, "/api/v1/messages?perPage=500&where[type][$in][0]=chat&where[type][$in][1]=image&order[0][0]=createdAt", nil)
	req.Header.Set("Authorization", "Bearer "+d.Token())
	for b.Loop() {
		w := httptest.NewRecorder()
		d.ServeHTTP(w, req)
	}
}
