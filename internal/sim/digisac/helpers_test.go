package digisacsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var (
	uuidRe     = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	dsTimeRe   = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	protocolRe = regexp.MustCompile(`^\d{13}$`)
	numberRe   = regexp.MustCompile(`^55\d\d9\d{8}$`)
)

// serve builds a Digisac simulator from cfg and serves it on an
// httptest server.
func serve(t *testing.T, cfg Config) (*Simulator, *httptest.Server) {
	t.Helper()
	d := New(cfg)
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

func wantError(t *testing.T, r response, status int, name, message string) {
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

// httptestGet serves one GET with the personal token without a server.
func httptestGet(t *testing.T, d *Simulator, target string) response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Header.Set("Authorization", "Bearer "+d.Token())
	w := httptest.NewRecorder()
	d.ServeHTTP(w, req)
	return response{w.Code, w.Header(), w.Body.Bytes()}
}

// filterRecords returns the records of resource for which keep holds, in
// id order.
func filterRecords(t *testing.T, d *Simulator, resource string, keep func(map[string]any) bool) []string {
	t.Helper()
	var out []string
	for _, r := range decodeMaps(t, d.Records(resource)) {
		if keep(r) {
			out = append(out, str(r["id"]))
		}
	}
	return out
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// get sends a GET to url with the bearer key ("" sends no Authorization).
func get(t *testing.T, url, key string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return response{res.StatusCode, res.Header, body}
}

// post sends a POST with a JSON body and the bearer token ("" sends none).
func post(t *testing.T, url, token, body string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("POST %s: read body: %v", url, err)
	}
	return response{res.StatusCode, res.Header, b}
}
