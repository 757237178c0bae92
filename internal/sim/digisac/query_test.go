package digisacsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"syncer/internal/sim/clock"
	"syncer/internal/sim/wire"
)

func TestFilterStyles(t *testing.T) {
	t.Parallel()
	d, srv := serve(t, Config{Seed: 5})
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

func TestKeyset(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
	d, srv := serve(t, Config{Seed: 6, Now: clk.Now})
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

func TestOperators(t *testing.T) {
	t.Parallel()
	d, srv := serve(t, Config{Seed: 8})
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

func TestBadQuery(t *testing.T) {
	t.Parallel()
	d, srv := serve(t, Config{Seed: 9, Tickets: 10})
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
		wantError(t, r, http.StatusBadRequest, "BadRequestHttpError", "")
	}
	// Unknown includes are ignored (Sequelize would refuse them; being lenient
	// costs nothing here).
	decodeEnvelope(t, get(t, srv.URL+"/api/v1/messages?include[0]=tags", tok))
	wantError(t, get(t, srv.URL+"/api/v1/nothing", tok), http.StatusNotFound, "NotFoundHttpError", "Not Found")
	wantError(t, get(t, srv.URL+"/api/v2/messages", tok), http.StatusNotFound, "NotFoundHttpError", "Not Found")
	wantError(t, post(t, srv.URL+"/api/v1/messages", tok, "{}"), http.StatusMethodNotAllowed, "MethodNotAllowedHttpError", "Method Not Allowed")
	if s := d.Stats(); s.ClientErrors != 16 || s.OK != 1 {
		t.Errorf("stats %+v", s)
	}
}

// BenchmarkDigisacKeysetPage500 serves 500-message pages of a keyset query
// over 120,000 messages, the cursor moving through the data.
func BenchmarkKeysetPage500(b *testing.B) {
	d := New(Config{Seed: 1, Tickets: 10_000, Contacts: 2_000})
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
func BenchmarkFilteredPage500(b *testing.B) {
	d := New(Config{Seed: 1, Tickets: 10_000, Contacts: 2_000})
	req := httptest.NewRequest(http.MethodGet, "/api/v1/messages?perPage=500&where[type][$in][0]=chat&where[type][$in][1]=image&order[0][0]=createdAt", nil)
	req.Header.Set("Authorization", "Bearer "+d.Token())
	for b.Loop() {
		w := httptest.NewRecorder()
		d.ServeHTTP(w, req)
	}
}
