package wavysim

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"syncer/internal/sim/fault"
)

// fileURL asks the API for the link and returns it.
func fileURL(t *testing.T, s *Simulator, apiURL, query string) string {
	t.Helper()
	r := get(t, http.DefaultClient, apiURL+"/v1/session?"+query, s.Username(), s.Token())
	if r.status != http.StatusOK {
		t.Fatalf("GET /v1/session: %d %s", r.status, r.body)
	}
	var v struct {
		FileURL string `json:"file_url"`
	}
	if err := json.Unmarshal([]byte(r.body), &v); err != nil || v.FileURL == "" {
		t.Fatalf("body %s: %v", r.body, err)
	}
	return v.FileURL
}

func TestSessionAPI(t *testing.T) {
	t.Parallel()
	s, api, files, _ := serve(t, Config{Seed: 1, Sessions: 5})
	link := fileURL(t, s, api.URL, "customerId=42&subAccountId=1291")
	if !strings.HasPrefix(link, files.URL+"/2025/03/01/") {
		t.Fatalf("file_url %s", link)
	}
	r := get(t, files.Client(), link, "", "")
	lines := strings.Split(strings.TrimSuffix(r.body, "\n"), "\n")
	if r.status != http.StatusOK || len(lines) != 6 || lines[0] != "origem;session_created_at" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("file: %d %q", r.status, r.body)
	}
	for i, se := range s.OpenSessions() {
		want := se.Phone + ";" + time.UnixMilli(se.CreatedAt).In(s.cfg.TimeZone).Format(time.DateTime)
		if lines[i+1] != want {
			t.Errorf("line %d = %q, want %q", i+2, lines[i+1], want)
		}
	}
	if q := s.APIQueries(); len(q) != 1 || q[0] != "customerId=42&subAccountId=1291" {
		t.Errorf("queries %v", q)
	}
	if h := s.FileRequests(); len(h) != 1 {
		t.Errorf("file requests %d", len(h))
	}
}

func TestSessionAPIErrors(t *testing.T) {
	t.Parallel()
	s, api, _, _ := serve(t, Config{Seed: 1})
	const unauthorized = `{"errorCode":401,"errorMessage":"Authentication Error: No user was found with this combination of username and Authentication token."}`
	for _, tc := range []struct {
		name, path, user, token string
		status                  int
		body                    string
	}{
		{"no credentials", "/v1/session?customerId=42", "", "", 401, unauthorized},
		{"wrong token", "/v1/session?customerId=42", s.Username(), "nope", 401, unauthorized},
		{"wrong user", "/v1/session?customerId=42", "someone", s.Token(), 401, unauthorized},
		{"no customer", "/v1/session", s.Username(), s.Token(), 400, `{"errorCode":400,"errorMessage":"customerId is required"}`},
		{"no route", "/v1/sessions", s.Username(), s.Token(), 404, `{"errorCode":404,"errorMessage":"Not Found"}`},
	} {
		r := get(t, http.DefaultClient, api.URL+tc.path, tc.user, tc.token)
		if r.status != tc.status || r.body != tc.body {
			t.Errorf("%s: %d %s, want %d %s", tc.name, r.status, r.body, tc.status, tc.body)
		}
	}
	// Header names are read without case, as some clients capitalise them.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, api.URL+"/v1/session?customerId=42", nil)
	req.Header.Set("USERNAME", s.Username())
	req.Header.Set("AuthenticationToken", s.Token())
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("capitalised headers: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	resp, err := http.Post(api.URL+"/v1/session?customerId=42", "application/json", nil)
	if err != nil || resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET" {
		t.Errorf("POST: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

// Another customer gets a file of only the header, as Wavy answers when
// nothing matches.
func TestSessionAPIOtherCustomer(t *testing.T) {
	t.Parallel()
	s, api, files, _ := serve(t, Config{Seed: 1})
	r := get(t, files.Client(), fileURL(t, s, api.URL, "customerId=7"), "", "")
	if r.body != "origem;session_created_at\n" {
		t.Fatalf("file %q", r.body)
	}
}

// A link is a snapshot: sessions added later are in the next link only;
// sessions older than the window drop out of later files.
func TestSessionFilesAreSnapshots(t *testing.T) {
	t.Parallel()
	s, api, files, clk := serve(t, Config{Seed: 2, Sessions: 3, Window: time.Hour})
	first := fileURL(t, s, api.URL, "customerId=42")
	clk.Advance(time.Minute)
	added := s.AddSessions(2)
	second := fileURL(t, s, api.URL, "customerId=42")
	count := func(link string) int {
		return strings.Count(get(t, files.Client(), link, "", "").body, "\n") - 1
	}
	if count(first) != 3 || count(second) != 5 {
		t.Fatalf("first %d, second %d sessions; want 3 and 5", count(first), count(second))
	}
	for _, a := range added {
		if a.CreatedAt > clk.Now().UnixMilli() {
			t.Errorf("session added after the clock: %+v", a)
		}
	}
	clk.Advance(2 * time.Hour)
	if n := count(fileURL(t, s, api.URL, "customerId=42")); n != 0 || len(s.Sessions()) != 5 {
		t.Errorf("after the window: %d open, %d held", n, len(s.Sessions()))
	}
	if r := get(t, files.Client(), files.URL+"/2025/03/01/nope/nope", "", ""); r.status != 404 {
		t.Errorf("unknown file: %d", r.status)
	}
}

func TestSessionFileFormats(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cfg        Config
		head, date string
	}{
		{Config{Comma: ',', Header: "source"}, "source,session_created_at\n", "2006-01-02 15:04:05"},
		{Config{BOM: true, CRLF: true}, "\ufefforigem;session_created_at\r\n", "2006-01-02 15:04:05"},
		{Config{DateFormat: "iso"}, "origem;session_created_at\n", "2006-01-02T15:04:05.000-03:00"},
		{Config{DateFormat: "epoch-ms"}, "origem;session_created_at\n", "1740830400000"},
		{Config{DateFormat: "02/01/2006 15:04"}, "origem;session_created_at\n", "01/03/2025 09:00"},
	} {
		tc.cfg.Seed, tc.cfg.Sessions = 3, 2
		s, api, files, _ := serve(t, tc.cfg)
		body := get(t, files.Client(), fileURL(t, s, api.URL, "customerId=42"), "", "").body
		lines := strings.SplitAfter(body, "\n")
		if lines[0] != tc.head || len(lines) != 4 || lines[3] != "" {
			t.Errorf("%+v: %q", tc.cfg, body)
			continue
		}
		_, date, _ := strings.Cut(strings.TrimRight(lines[1], "\r\n"), string(s.cfg.Comma))
		if len(date) != len(tc.date) {
			t.Errorf("%+v: date %q, want the shape of %q", tc.cfg, date, tc.date)
		}
	}
}

// Faults apply after authentication: 420 or 429 with Retry-After, 5xx,
// cut bodies; on the file host too.
func TestSessionAPIFaults(t *testing.T) {
	t.Parallel()
	s, api, files, _ := serve(t, Config{Seed: 4, Faults: fault.Faults{RateLimitShare: 1, RateLimitStatus: 420, RetryAfter: "2"}})
	if r := get(t, http.DefaultClient, api.URL+"/v1/session?customerId=42", "x", "y"); r.status != 401 {
		t.Errorf("a wrong token reached the faults: %d", r.status)
	}
	r := get(t, http.DefaultClient, api.URL+"/v1/session?customerId=42", s.Username(), s.Token())
	if r.status != 420 || r.header.Get("Retry-After") != "2" || !strings.Contains(r.body, `"errorCode":429`) {
		t.Errorf("420: %d %v %s", r.status, r.header, r.body)
	}
	s.SetFaults(fault.Faults{})
	link := fileURL(t, s, api.URL, "customerId=42")
	s.SetFileFaults(fault.Faults{CutBodyShare: 1})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, link, nil)
	resp, err := files.Client().Do(req)
	if err == nil {
		_, err = readBody(resp)
	}
	if err == nil || s.FileStats().CutBodies != 1 {
		t.Errorf("cut body: %v, stats %+v", err, s.FileStats())
	}
}

// BadShare writes a share of sessions with a date no one can read.
func TestSessionFileBadLines(t *testing.T) {
	t.Parallel()
	s, api, files, _ := serve(t, Config{Seed: 8, Sessions: 50, BadShare: 0.2})
	bad := 0
	for _, se := range s.OpenSessions() {
		if se.Bad {
			bad++
		}
	}
	body := get(t, files.Client(), fileURL(t, s, api.URL, "customerId=42"), "", "").body
	if bad == 0 || bad == 50 || strings.Count(body, ";"+badDate+"\n") != bad {
		t.Fatalf("%d bad sessions, %d bad lines", bad, strings.Count(body, badDate))
	}
}
