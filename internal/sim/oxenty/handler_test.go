package oxentysim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// The doc's example answers this shape, field for field.
func TestListShape(t *testing.T) {
	t.Parallel()
	_, srv := serve(t, Config{Seed: 1, Sessions: 2})
	r := get(t, srv.URL+"/api/sessions?page=1&limit=10", testKey)
	if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	var generic struct {
		Data []map[string]any `json:"data"`
		Meta map[string]any   `json:"meta"`
	}
	p := decodePage(t, r)
	if err := json.Unmarshal(r.body, &generic); err != nil {
		t.Fatal(err)
	}
	want := []string{"allowGroup", "connectedAt", "createdAt", "hasWebhook", "id", "name", "phone", "status"}
	for _, s := range generic.Data {
		keys := make([]string, 0, len(s))
		for k := range s {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, want) {
			t.Errorf("session keys %v, want %v", keys, want)
		}
	}
	if p.Meta != (Meta{Total: 2, Page: 1, Limit: 10, TotalPages: 1}) || len(p.Data) != 2 {
		t.Errorf("meta %+v with %d sessions", p.Meta, len(p.Data))
	}
	if !(p.Data[0].CreatedAt > p.Data[1].CreatedAt) {
		t.Errorf("not newest first: %s then %s", p.Data[0].CreatedAt, p.Data[1].CreatedAt)
	}
}

func TestPaging(t *testing.T) {
	t.Parallel()
	for _, oldest := range []bool{false, true} {
		o, srv := serve(t, Config{Seed: 2, Sessions: 23, Step: time.Hour, OldestFirst: oldest})
		all := ids(o.Sessions())
		var got []string
		for page := 1; page <= 4; page++ {
			p := decodePage(t, get(t, fmt.Sprintf("%s/api/sessions?page=%d&limit=10", srv.URL, page), testKey))
			if p.Meta != (Meta{Total: 23, Page: page, Limit: 10, TotalPages: 3}) {
				t.Errorf("page %d: meta %+v", page, p.Meta)
			}
			if want := min(10, max(0, 23-(page-1)*10)); len(p.Data) != want {
				t.Errorf("page %d: %d sessions, want %d", page, len(p.Data), want)
			}
			got = append(got, ids(p.Data)...)
		}
		if !slices.Equal(got, all) {
			t.Errorf("oldest first %v: pages give %v, want %v", oldest, got, all)
		}
		first, last := o.Sessions()[0].CreatedAt, o.Sessions()[22].CreatedAt
		if oldest != (first < last) {
			t.Errorf("oldest first %v: first %s, last %s", oldest, first, last)
		}
	}
}

func TestDefaultsAndStatusFilter(t *testing.T) {
	t.Parallel()
	o, srv := serve(t, Config{Seed: 3, Sessions: 40, Step: time.Hour})
	p := decodePage(t, get(t, srv.URL+"/api/sessions", testKey))
	if p.Meta != (Meta{Total: 40, Page: 1, Limit: 10, TotalPages: 4}) || len(p.Data) != 10 {
		t.Errorf("no parameters: meta %+v with %d sessions", p.Meta, len(p.Data))
	}
	counts := map[string]int{}
	for _, s := range o.Sessions() {
		counts[s.Status]++
	}
	for _, st := range Statuses {
		p := decodePage(t, get(t, srv.URL+"/api/sessions?limit=100&status="+st, testKey))
		if p.Meta.Total != counts[st] || len(p.Data) != counts[st] {
			t.Errorf("status=%s: total %d, %d sessions; want %d", st, p.Meta.Total, len(p.Data), counts[st])
		}
		for _, s := range p.Data {
			if s.Status != st {
				t.Errorf("status=%s served a session in %s", st, s.Status)
			}
		}
	}
	if counts[StatusConnected] == 0 || counts[StatusQR]+counts[StatusConnecting]+counts[StatusDisconnected] == 0 {
		t.Errorf("40 sessions all alike: %v", counts)
	}
}

func TestBadRequests(t *testing.T) {
	t.Parallel()
	_, srv := serve(t, Config{Seed: 4})
	for _, tc := range []struct {
		query, want string
	}{
		{"page=0", `{"message":["page must be a positive integer"],"error":"Bad Request","statusCode":400}`},
		{"page=x", `{"message":["page must be a positive integer"],"error":"Bad Request","statusCode":400}`},
		{"limit=-1", `{"message":["limit must be a positive integer"],"error":"Bad Request","statusCode":400}`},
		{"limit=101", `{"message":["limit must not be greater than 100"],"error":"Bad Request","statusCode":400}`},
		{"status=online", `{"message":["status must be one of the following values: disconnected, qr, connecting, connected"],"error":"Bad Request","statusCode":400}`},
	} {
		r := get(t, srv.URL+"/api/sessions?"+tc.query, testKey)
		if r.status != http.StatusBadRequest || string(r.body) != tc.want {
			t.Errorf("%s: %d %s", tc.query, r.status, r.body)
		}
	}
	clamped, srv2 := serve(t, Config{Seed: 4, Sessions: 30, MaxLimit: 7, ClampLimit: true})
	p := decodePage(t, get(t, srv2.URL+"/api/sessions?limit=50", testKey))
	if p.Meta != (Meta{Total: clamped.Count(), Page: 1, Limit: 7, TotalPages: 5}) || len(p.Data) != 7 {
		t.Errorf("clamped: meta %+v with %d sessions", p.Meta, len(p.Data))
	}
}

func TestRoutesAndAuth(t *testing.T) {
	t.Parallel()
	o, srv := serve(t, Config{Seed: 5})
	if r := get(t, srv.URL+"/api/sessions/", testKey); r.status != http.StatusOK {
		t.Errorf("trailing slash: %d", r.status)
	}
	r := get(t, srv.URL+"/api/nothing", testKey)
	if r.status != http.StatusNotFound || string(r.body) != `{"message":"Cannot GET /api/nothing","error":"Not Found","statusCode":404}` {
		t.Errorf("unknown route: %d %s", r.status, r.body)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/api/sessions", nil)
	req.Header.Set("X-API-Key", testKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("POST: %d", res.StatusCode)
	}
	for _, key := range []string{"", "wrong-key", strings.ToUpper(testKey)} {
		r := get(t, srv.URL+"/api/sessions", key)
		if r.status != http.StatusUnauthorized || string(r.body) != `{"message":"Invalid API key","error":"Unauthorized","statusCode":401}` {
			t.Errorf("key %q: %d %s", key, r.status, r.body)
		}
	}
	// The bearer scheme of the other platforms is not Oxenty's.
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/api/sessions", nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusUnauthorized {
		t.Errorf("bearer: %v %v", res.StatusCode, err)
	} else {
		res.Body.Close()
	}
	if s := o.Stats(); s.Unauthorized != 4 || s.ClientErrors != 2 || s.OK != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	o := New(Config{Seed: 6, Sessions: 3, Now: func() time.Time { return testNow }})
	d := o.Describe("/oxenty/")
	for _, want := range []string{"X-API-Key", "GET /oxenty/api/sessions?page=N&limit=L", "3 sessions"} {
		if !strings.Contains(d, want) {
			t.Errorf("Describe lacks %q:\n%s", want, d)
		}
	}
}
