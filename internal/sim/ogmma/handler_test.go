package ogmmasim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"syncer/internal/sim/clock"
)

func TestListNewestFirst(t *testing.T) {
	t.Parallel()
	o, srv := serve(t, Config{Seed: 2, ConversationsPerChannel: 3, MessagesPerConversation: 60})
	ch := o.Channels()[0]
	conv := ch.Conversations[1]
	all := byConversation(o.Messages())[conv]

	for _, tc := range []struct {
		query     string
		wantLimit int
		wantN     int
	}{
		{"", 50, 50},
		{"?limit=10", 10, 10},
		{"?limit=1", 1, 1},
		{"?limit=500", 500, 60},
		{"?limit=060", 60, 60},
	} {
		r := get(t, conversationURL(srv, ch.ID, conv)+tc.query, testKey)
		if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", tc.query, ct)
		}
		p := decodePage(t, r)
		if p.Meta.Limit != tc.wantLimit || len(p.Data) != tc.wantN {
			t.Fatalf("%s: meta.limit %d, %d messages; want %d, %d", tc.query, p.Meta.Limit, len(p.Data), tc.wantLimit, tc.wantN)
		}
		for i, m := range p.Data {
			if want := all[len(all)-1-i]; !reflect.DeepEqual(m, want) {
				t.Fatalf("%s: message %d is %+v, want %+v", tc.query, i, m, want)
			}
		}
	}
}

func TestRawJSON(t *testing.T) {
	t.Parallel()
	o, srv := serve(t, Config{Seed: 2})
	ch := o.Channels()[0]
	r := get(t, conversationURL(srv, ch.ID, ch.Conversations[0])+"?limit=500", testKey)
	var raw struct {
		Data []map[string]any `json:"data"`
	}
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatal(err)
	}
	want := []string{"channelId", "content", "conversationId", "createdAt", "direction", "from", "id", "mediaUrl", "status", "to", "type", "updatedAt"}
	for _, m := range raw.Data {
		var keys []string
		for k := range m {
			keys = append(keys, k)
		}
		if len(keys) != len(want) {
			t.Fatalf("keys %v, want %v", keys, want)
		}
		for _, k := range want {
			if _, ok := m[k]; !ok {
				t.Fatalf("no %q in %v", k, m)
			}
		}
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	o, srv := serve(t, Config{Seed: 1})
	ch := o.Channels()[0]
	url := conversationURL(srv, ch.ID, ch.Conversations[0])
	for name, header := range map[string]string{
		"missing":      "",
		"wrong key":    "Bearer nope",
		"empty bearer": "Bearer ",
		"basic":        "Basic " + testKey,
		"bare key":     testKey,
		"key prefix":   "Bearer " + testKey + "x",
	} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		t.Run(name, func(t *testing.T) {
			wantError(t, response{res.StatusCode, res.Header, body}, http.StatusUnauthorized,
				"Token de autenticacao invalido ou ausente.", "UNAUTHORIZED")
		})
	}
	if got := o.Stats().Unauthorized; got != 6 {
		t.Errorf("Stats.Unauthorized %d", got)
	}
	// The scheme is case-insensitive.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	req.Header.Set("Authorization", "bearer "+testKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("lower-case bearer: %d", res.StatusCode)
	}
}

func TestDefaultKey(t *testing.T) {
	t.Parallel()
	o := New(Config{})
	if o.APIKey() != "ogmma-sim-key" {
		t.Errorf("default key %q", o.APIKey())
	}
}

func TestBadLimit(t *testing.T) {
	t.Parallel()
	o, srv := serve(t, Config{Seed: 1})
	ch := o.Channels()[0]
	for _, limit := range []string{"501", "0", "abc", "-1", "", "+5", "1.5", "99999999999999999999"} {
		r := get(t, conversationURL(srv, ch.ID, ch.Conversations[0])+"?limit="+limit, testKey)
		t.Run(limit, func(t *testing.T) {
			wantError(t, r, http.StatusBadRequest, "", "VALIDATION_ERROR")
		})
	}
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	o, srv := serve(t, Config{Seed: 1, Channels: 2, ConversationsPerChannel: 2})
	chs := o.Channels()
	for name, url := range map[string]string{
		"unknown channel":      conversationURL(srv, "000000000000000000000000", chs[0].Conversations[0]),
		"unknown conversation": conversationURL(srv, chs[0].ID, "000000000000000000000000"),
		"other channel's":      conversationURL(srv, chs[0].ID, chs[1].Conversations[0]),
		"unknown, with limit":  conversationURL(srv, chs[0].ID, "x") + "?limit=5",
	} {
		r := get(t, url, testKey)
		t.Run(name, func(t *testing.T) {
			wantError(t, r, http.StatusNotFound, "Conversa nao encontrada.", "NOT_FOUND")
		})
	}
	for _, path := range []string{"/", "/v1/channels", "/v1/channels/" + chs[0].ID, "/v2/channels/a/conversations/b",
		"/v1/channels/a/conversations/b/messages", "/v1/channels//conversations/b", "/v1/channels/a/conversations/"} {
		r := get(t, srv.URL+path, testKey)
		t.Run(path, func(t *testing.T) {
			wantError(t, r, http.StatusNotFound, "Rota nao encontrada.", "NOT_FOUND")
		})
	}
	if got := o.Stats().ClientErrors; got != 11 {
		t.Errorf("Stats.ClientErrors %d", got)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	t.Parallel()
	o, srv := serve(t, Config{Seed: 1})
	ch := o.Channels()[0]
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, conversationURL(srv, ch.ID, ch.Conversations[0]), strings.NewReader("{}"))
	req.Header.Set("Authorization", "Bearer "+testKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	wantError(t, response{res.StatusCode, res.Header, body}, http.StatusMethodNotAllowed, "", "METHOD_NOT_ALLOWED")
	if res.Header.Get("Allow") != http.MethodGet {
		t.Errorf("Allow %q", res.Header.Get("Allow"))
	}
}

func TestConversations(t *testing.T) {
	t.Parallel()
	o, srv := serve(t, Config{Seed: 4, Channels: 2, ConversationsPerChannel: 3})
	ch := o.Channels()[1]
	r := get(t, srv.URL+"/v1/channels/"+ch.ID+"/conversations", testKey)
	if r.status != http.StatusOK {
		t.Fatalf("status %d %s", r.status, r.body)
	}
	var p struct {
		Data []Conversation `json:"data"`
		Meta struct {
			Total int `json:"total"`
		} `json:"meta"`
	}
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Meta.Total != 3 || len(p.Data) != 3 {
		t.Fatalf("total %d, %d conversations", p.Meta.Total, len(p.Data))
	}
	msgs := byConversation(o.Messages())
	for i, c := range p.Data {
		ms := msgs[c.ID]
		if c.ID != ch.Conversations[i] || c.ChannelID != ch.ID || !timeRe.MatchString(c.CreatedAt) ||
			c.CreatedAt > ms[0].CreatedAt || c.UpdatedAt != ms[len(ms)-1].UpdatedAt {
			t.Errorf("conversation %+v", c)
		}
	}
	wantError(t, get(t, srv.URL+"/v1/channels/nope/conversations", testKey), http.StatusNotFound, "Canal nao encontrado.", "NOT_FOUND")
	wantError(t, get(t, srv.URL+"/v1/channels/"+ch.ID+"/conversations", "wrong"), http.StatusUnauthorized, "", "UNAUTHORIZED")
}

func TestConcurrent(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(testStart.AddDate(0, 1, 0))
	o, srv := serve(t, Config{Seed: 1, ConversationsPerChannel: 4, Now: clk.Now})
	ch := o.Channels()[0]
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 50 {
			clk.Advance(time.Second)
			o.AddMessages(3)
			o.Touch(2)
		}
	}()
	for i := range 40 {
		get(t, conversationURL(srv, ch.ID, ch.Conversations[i%4]), testKey)
	}
	<-done
	if s := o.Stats(); s.Requests != 40 || s.OK != 40 {
		t.Errorf("stats %+v", s)
	}
}

func BenchmarkPage500(b *testing.B) {
	o := New(Config{Seed: 1, APIKey: testKey, MessagesPerConversation: 500})
	ch := o.Channels()[0]
	req := httptest.NewRequest(http.MethodGet, "/v1/channels/"+ch.ID+"/conversations/"+ch.Conversations[0]+"?limit=500", nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	for b.Loop() {
		w := httptest.NewRecorder()
		o.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}
