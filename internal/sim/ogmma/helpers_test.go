package ogmmasim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"testing"
	"time"
)

const testKey = "test-key"

var testStart = time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)

// serve builds an Ogmma simulator from cfg (APIKey defaulted to testKey)
// and serves it on an httptest server.
func serve(t *testing.T, cfg Config) (*Simulator, *httptest.Server) {
	t.Helper()
	if cfg.APIKey == "" {
		cfg.APIKey = testKey
	}
	o := New(cfg)
	srv := httptest.NewServer(o)
	t.Cleanup(srv.Close)
	return o, srv
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

func conversationURL(srv *httptest.Server, ch, conv string) string {
	return srv.URL + "/v1/channels/" + ch + "/conversations/" + conv
}

type messagesPage struct {
	Data []Message `json:"data"`
	Meta struct {
		Limit int `json:"limit"`
	} `json:"meta"`
}

func decodePage(t *testing.T, r response) messagesPage {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d, body %s", r.status, r.body)
	}
	var p messagesPage
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("decode page: %v", err)
	}
	return p
}

// wantError checks an error answer's status and exact JSON body.
func wantError(t *testing.T, r response, status int, message, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d (body %s)", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	var got map[string]string
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatalf("decode error body %s: %v", r.body, err)
	}
	want := map[string]string{"code": code}
	if message != "" {
		want["message"] = message
	} else {
		want["message"] = got["message"]
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("body %v, want %v", got, want)
	}
}

func byConversation(msgs []Message) map[string][]Message {
	out := map[string][]Message{}
	for _, m := range msgs {
		out[m.ConversationID] = append(out[m.ConversationID], m)
	}
	return out
}

// checkIncreasing checks createdAt strictly increases within each
// conversation in Messages() order.
func checkIncreasing(t *testing.T, msgs []Message) {
	t.Helper()
	for conv, ms := range byConversation(msgs) {
		for i := 1; i < len(ms); i++ {
			if ms[i].CreatedAt <= ms[i-1].CreatedAt {
				t.Fatalf("conversation %s: createdAt %s after %s", conv, ms[i].CreatedAt, ms[i-1].CreatedAt)
			}
		}
	}
}

var (
	objectIDRe = regexp.MustCompile(`^[0-9a-f]{24}$`)
	phoneRe    = regexp.MustCompile(`^55[1-9][0-9]9[0-9]{8}$`)
	timeRe     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`)
)
