package digisacsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"syncer/internal/sim/clock"
	"syncer/internal/sim/fault"
	"syncer/internal/sim/wire"
)

func TestEnvelope(t *testing.T) {
	t.Parallel()
	d, srv := serve(t, Config{Seed: 3})
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
		wantError(t, get(t, srv.URL+"/api/v1/messages?"+q, tok), http.StatusBadRequest, "BadRequestHttpError", "")
	}
}

func TestPagesAreRecords(t *testing.T) {
	t.Parallel()
	d, srv := serve(t, Config{Seed: 4, Tickets: 60})
	for _, res := range resourceNames {
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

func TestFaultsAfterAuth(t *testing.T) {
	t.Parallel()
	d, srv := serve(t, Config{Seed: 11, Tickets: 5, Faults: fault.Faults{RateLimitShare: 1, RetryAfter: "3"}})
	list := srv.URL + "/api/v1/messages"
	for range 30 {
		wantError(t, get(t, list, "wrong"), http.StatusUnauthorized, "HttpError", "Invalid token: access token is invalid")
		wantError(t, post(t, srv.URL+"/api/v1/oauth/token", "", `{"grant_type":"password","client_id":"api","client_secret":"secret","username":"x","password":"y"}`),
			http.StatusUnauthorized, "HttpError", "Invalid credentials")
	}
	r := get(t, list, d.Token())
	wantError(t, r, http.StatusTooManyRequests, "TooManyRequestsHttpError", "Too many requests")
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

func TestCutBody(t *testing.T) {
	t.Parallel()
	d, srv := serve(t, Config{Seed: 11, Tickets: 5, Faults: fault.Faults{CutBodyShare: 1}})
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

func TestLateFiles(t *testing.T) {
	t.Parallel()
	// Built with the clock well after the data (Start is 2024-01-01 by
	// default), then set to an hour after its newest message.
	clk := clock.NewManual(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	d, srv := serve(t, Config{Seed: 12, Tickets: 100, Now: clk.Now, LateFileDelay: 48 * time.Hour})
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

func TestIncludes(t *testing.T) {
	t.Parallel()
	d, srv := serve(t, Config{Seed: 13, Tickets: 30})
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
	wantError(t, get(t, srv.URL+"/api/v1/messages/nope", tok), http.StatusNotFound, "NotFoundHttpError", "Not Found")
}

func TestChurn(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	d, srv := serve(t, Config{Seed: 14, Tickets: 30, Now: clk.Now, ChurnPerList: 4})
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

func TestOnList(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	d, srv := serve(t, Config{Seed: 15, Tickets: 20, Now: clk.Now})
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
