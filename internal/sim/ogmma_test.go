package sim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"syncer/internal/sim/clock"
	"syncer/internal/sim/wire"
)

const testKey = "test-key"

var testStart = time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)

// serveOgmma builds an Ogmma simulator from cfg (APIKey defaulted to testKey)
// and serves it on an httptest server.
func serveOgmma(t *testing.T, cfg OgmmaConfig) (*Ogmma, *httptest.Server) {
	t.Helper()
	if cfg.APIKey == "" {
		cfg.APIKey = testKey
	}
	o := NewOgmma(cfg)
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
	Data []OgmmaMessage `json:"data"`
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

func byConversation(msgs []OgmmaMessage) map[string][]OgmmaMessage {
	out := map[string][]OgmmaMessage{}
	for _, m := range msgs {
		out[m.ConversationID] = append(out[m.ConversationID], m)
	}
	return out
}

func TestOgmmaDeterministic(t *testing.T) {
	t.Parallel()
	cfg := OgmmaConfig{Seed: 7, Channels: 2, ConversationsPerChannel: 5, MessagesPerConversation: 40, BadShare: 0.05}
	a, b := NewOgmma(cfg), NewOgmma(cfg)
	if !reflect.DeepEqual(a.Channels(), b.Channels()) {
		t.Error("same seed, different channels")
	}
	if !reflect.DeepEqual(a.Messages(), b.Messages()) {
		t.Error("same seed, different messages")
	}
	cfg.Seed = 8
	c := NewOgmma(cfg)
	if reflect.DeepEqual(a.Messages(), c.Messages()) {
		t.Error("different seeds, same messages")
	}
	if a.Channels()[0].ID == c.Channels()[0].ID {
		t.Error("different seeds, same channel id")
	}

	// Later changes are deterministic too, given the same clock.
	clockA, clockB := clock.NewManual(testStart.AddDate(1, 0, 0)), clock.NewManual(testStart.AddDate(1, 0, 0))
	cfg.Seed = 7
	cfg.Now = clockA.Now
	a = NewOgmma(cfg)
	cfg.Now = clockB.Now
	b = NewOgmma(cfg)
	if !reflect.DeepEqual(a.AddMessages(13), b.AddMessages(13)) || !reflect.DeepEqual(a.Touch(9), b.Touch(9)) {
		t.Error("same seed, different AddMessages or Touch")
	}
	if !reflect.DeepEqual(a.Messages(), b.Messages()) {
		t.Error("same seed, different messages after changes")
	}
}

var (
	objectIDRe = regexp.MustCompile(`^[0-9a-f]{24}$`)
	phoneRe    = regexp.MustCompile(`^55[1-9][0-9]9[0-9]{8}$`)
	timeRe     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`)
)

func TestOgmmaDataShape(t *testing.T) {
	t.Parallel()
	o := NewOgmma(OgmmaConfig{Seed: 1, Channels: 2, ConversationsPerChannel: 10, MessagesPerConversation: 500, Start: testStart})
	chPhone := map[string]string{}
	for _, ch := range o.Channels() {
		if !objectIDRe.MatchString(ch.ID) || !phoneRe.MatchString(ch.Phone) {
			t.Errorf("channel %q phone %q", ch.ID, ch.Phone)
		}
		chPhone[ch.ID] = ch.Phone
	}
	msgs := o.Messages()
	if len(msgs) != 2*10*500 {
		t.Fatalf("%d messages", len(msgs))
	}
	types := map[string]int{}
	statuses := map[string]map[string]int{OgmmaInbound: {}, OgmmaOutbound: {}}
	var oldest time.Time
	ids := map[string]bool{}
	nul := 0
	for _, m := range msgs {
		types[m.Type]++
		statuses[m.Direction][m.Status]++
		if !objectIDRe.MatchString(m.ID) || ids[m.ID] {
			t.Fatalf("bad or repeated id %q", m.ID)
		}
		ids[m.ID] = true
		if !timeRe.MatchString(m.CreatedAt) || !timeRe.MatchString(m.UpdatedAt) {
			t.Fatalf("times %q %q", m.CreatedAt, m.UpdatedAt)
		}
		created, _ := time.Parse(time.RFC3339Nano, m.CreatedAt)
		updated, _ := time.Parse(time.RFC3339Nano, m.UpdatedAt)
		if d := updated.Sub(created); d < time.Second || d > 10*time.Second {
			t.Errorf("updatedAt - createdAt = %v", d)
		}
		if oldest.IsZero() || created.Before(oldest) {
			oldest = created
		}
		secs, _ := strconv.ParseInt(m.ID[:8], 16, 64)
		if secs != created.Unix() {
			t.Errorf("id %s time %d, createdAt %s", m.ID, secs, m.CreatedAt)
		}
		channel, customer := chPhone[m.ChannelID], m.To
		if m.Direction == OgmmaInbound {
			customer = m.From
			if m.To != channel {
				t.Errorf("inbound to %s, channel phone %s", m.To, channel)
			}
		} else if m.From != channel {
			t.Errorf("outbound from %s, channel phone %s", m.From, channel)
		}
		if !phoneRe.MatchString(customer) {
			t.Errorf("customer phone %q", customer)
		}
		switch m.Type {
		case "text", "template", "location":
			if m.Content == nil || *m.Content == "" || m.MediaURL != nil {
				t.Errorf("%s message %+v", m.Type, m)
			}
			if m.Content != nil && strings.ContainsRune(*m.Content, 0) {
				nul++
			}
		default:
			if m.MediaURL == nil || !strings.HasPrefix(*m.MediaURL, "https://cdn.ogmma.com.br/media/"+m.ID+".") {
				t.Errorf("%s message without media URL: %+v", m.Type, m)
			}
		}
		if m.Type == "template" && m.Direction != OgmmaOutbound {
			t.Errorf("inbound template %+v", m)
		}
	}
	if !oldest.Equal(testStart) {
		t.Errorf("oldest message at %v, want Start %v", oldest, testStart)
	}
	for _, typ := range ogmmaTypeNames {
		if types[typ] == 0 {
			t.Errorf("no %s messages", typ)
		}
	}
	if types["text"] < len(msgs)/2 {
		t.Errorf("text is not most of the traffic: %v", types)
	}
	for _, s := range []string{"PENDING", "SENT", "DELIVERED", "READ", "FAILED"} {
		if statuses[OgmmaOutbound][s] == 0 {
			t.Errorf("no outbound %s: %v", s, statuses)
		}
	}
	if len(statuses[OgmmaInbound]) != 2 || statuses[OgmmaInbound]["RECEIVED"] == 0 || statuses[OgmmaInbound]["READ"] == 0 {
		t.Errorf("inbound statuses %v", statuses[OgmmaInbound])
	}
	// About 1 text in 500 carries a NUL: ~14 expected here.
	if nul == 0 || nul > 60 {
		t.Errorf("%d texts with NUL", nul)
	}
}

func TestOgmmaCreatedAtIncreasing(t *testing.T) {
	t.Parallel()
	o := NewOgmma(OgmmaConfig{Seed: 3, ConversationsPerChannel: 4, MessagesPerConversation: 300, Step: 2 * time.Millisecond})
	checkIncreasing(t, o.Messages())
}

// checkIncreasing checks createdAt strictly increases within each
// conversation in Messages() order.
func checkIncreasing(t *testing.T, msgs []OgmmaMessage) {
	t.Helper()
	for conv, ms := range byConversation(msgs) {
		for i := 1; i < len(ms); i++ {
			if ms[i].CreatedAt <= ms[i-1].CreatedAt {
				t.Fatalf("conversation %s: createdAt %s after %s", conv, ms[i].CreatedAt, ms[i-1].CreatedAt)
			}
		}
	}
}

func TestOgmmaListNewestFirst(t *testing.T) {
	t.Parallel()
	o, srv := serveOgmma(t, OgmmaConfig{Seed: 2, ConversationsPerChannel: 3, MessagesPerConversation: 60})
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

func TestOgmmaRawJSON(t *testing.T) {
	t.Parallel()
	o, srv := serveOgmma(t, OgmmaConfig{Seed: 2})
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

func TestOgmmaAuth(t *testing.T) {
	t.Parallel()
	o, srv := serveOgmma(t, OgmmaConfig{Seed: 1})
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

func TestOgmmaDefaultKey(t *testing.T) {
	t.Parallel()
	o := NewOgmma(OgmmaConfig{})
	if o.APIKey() != "ogmma-sim-key" {
		t.Errorf("default key %q", o.APIKey())
	}
}

func TestOgmmaBadLimit(t *testing.T) {
	t.Parallel()
	o, srv := serveOgmma(t, OgmmaConfig{Seed: 1})
	ch := o.Channels()[0]
	for _, limit := range []string{"501", "0", "abc", "-1", "", "+5", "1.5", "99999999999999999999"} {
		r := get(t, conversationURL(srv, ch.ID, ch.Conversations[0])+"?limit="+limit, testKey)
		t.Run(limit, func(t *testing.T) {
			wantError(t, r, http.StatusBadRequest, "", "VALIDATION_ERROR")
		})
	}
}

func TestOgmmaNotFound(t *testing.T) {
	t.Parallel()
	o, srv := serveOgmma(t, OgmmaConfig{Seed: 1, Channels: 2, ConversationsPerChannel: 2})
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

func TestOgmmaMethodNotAllowed(t *testing.T) {
	t.Parallel()
	o, srv := serveOgmma(t, OgmmaConfig{Seed: 1})
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

func TestOgmmaConversations(t *testing.T) {
	t.Parallel()
	o, srv := serveOgmma(t, OgmmaConfig{Seed: 4, Channels: 2, ConversationsPerChannel: 3})
	ch := o.Channels()[1]
	r := get(t, srv.URL+"/v1/channels/"+ch.ID+"/conversations", testKey)
	if r.status != http.StatusOK {
		t.Fatalf("status %d %s", r.status, r.body)
	}
	var p struct {
		Data []OgmmaConversation `json:"data"`
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

func TestOgmmaAddMessages(t *testing.T) {
	t.Parallel()
	clock := clock.NewManual(testStart.AddDate(0, 1, 0))
	o, srv := serveOgmma(t, OgmmaConfig{Seed: 5, Channels: 2, ConversationsPerChannel: 3, MessagesPerConversation: 20, Now: clock.Now})
	before := len(o.Messages())

	// 2 rounds over the 6 conversations and 1 more, all at the same instant.
	added := o.AddMessages(13)
	if len(added) != 13 || len(o.Messages()) != before+13 || o.MessageCount() != before+13 {
		t.Fatalf("added %d, now %d messages (was %d)", len(added), len(o.Messages()), before)
	}
	now := clock.Now()
	perConv := map[string][]OgmmaMessage{}
	for _, m := range added {
		perConv[m.ConversationID] = append(perConv[m.ConversationID], m)
		created, err := time.Parse(time.RFC3339Nano, m.CreatedAt)
		if err != nil || created.Before(now) || created.After(now.Add(10*time.Millisecond)) {
			t.Errorf("added message created at %s, clock %s", m.CreatedAt, now)
		}
		if m.UpdatedAt != m.CreatedAt {
			t.Errorf("new message updatedAt %s createdAt %s", m.UpdatedAt, m.CreatedAt)
		}
		if m.Direction == OgmmaInbound && m.Status != "RECEIVED" {
			t.Errorf("new inbound message %s", m.Status)
		}
	}
	if len(perConv) != 6 {
		t.Errorf("added to %d conversations, want round-robin over 6", len(perConv))
	}
	checkIncreasing(t, o.Messages())

	// The newest come first in the listing.
	ch := o.Channels()[0]
	conv := ch.Conversations[0]
	p := decodePage(t, get(t, conversationURL(srv, ch.ID, conv)+"?limit=3", testKey))
	mine := perConv[conv]
	if len(mine) != 3 {
		t.Fatalf("conversation got %d new messages", len(mine))
	}
	for i := range 3 {
		if !reflect.DeepEqual(p.Data[i], mine[2-i]) {
			t.Errorf("listing[%d] = %+v, want %+v", i, p.Data[i], mine[2-i])
		}
	}

	// A clock behind the data still gives increasing createdAt.
	clock.Set(testStart.AddDate(-1, 0, 0))
	o.AddMessages(20)
	checkIncreasing(t, o.Messages())

	// Round-robin continues where it stopped.
	clock.Set(testStart.AddDate(0, 2, 0))
	var order []string
	for _, ch := range o.Channels() {
		order = append(order, ch.Conversations...)
	}
	if next := o.AddMessages(1)[0]; next.ConversationID != order[(13+20)%6] {
		t.Errorf("round-robin went to %s, want %s", next.ConversationID, order[(13+20)%6])
	}
}

func TestOgmmaTouch(t *testing.T) {
	t.Parallel()
	clock := clock.NewManual(testStart.AddDate(0, 1, 0))
	o, srv := serveOgmma(t, OgmmaConfig{Seed: 6, ConversationsPerChannel: 2, MessagesPerConversation: 30, Now: clock.Now})
	before := map[string]OgmmaMessage{}
	for _, m := range o.Messages() {
		before[m.ID] = m
	}
	clock.Advance(time.Hour)
	touched := o.Touch(5)
	if len(touched) != 5 {
		t.Fatalf("touched %d", len(touched))
	}
	next := map[string]string{"PENDING": "SENT", "SENT": "DELIVERED", "DELIVERED": "READ", "RECEIVED": "READ"}
	wantUpdated := wire.FormatMillis(clock.Now().UnixMilli())
	seen := map[string]bool{}
	for _, m := range touched {
		if seen[m.ID] {
			t.Errorf("touched %s twice", m.ID)
		}
		seen[m.ID] = true
		old := before[m.ID]
		if next[old.Status] != m.Status {
			t.Errorf("status %s → %s", old.Status, m.Status)
		}
		if m.UpdatedAt != wantUpdated || m.CreatedAt != old.CreatedAt {
			t.Errorf("touched %+v, was %+v", m, old)
		}
	}
	after := map[string]OgmmaMessage{}
	for _, m := range o.Messages() {
		after[m.ID] = m
	}
	for _, m := range touched {
		if !reflect.DeepEqual(after[m.ID], m) {
			t.Errorf("Messages() has %+v, Touch returned %+v", after[m.ID], m)
		}
	}
	// The listing shows the new status.
	ch := o.Channels()[0]
	for _, conv := range ch.Conversations {
		for _, m := range decodePage(t, get(t, conversationURL(srv, ch.ID, conv)+"?limit=500", testKey)).Data {
			if !reflect.DeepEqual(m, after[m.ID]) {
				t.Errorf("listing has %+v, want %+v", m, after[m.ID])
			}
		}
	}
	// Everything moves to a final status eventually; then Touch finds nothing.
	for len(o.Touch(1000)) > 0 {
	}
	for _, m := range o.Messages() {
		if m.Status != "READ" && m.Status != "FAILED" {
			t.Fatalf("status %s left after touching everything", m.Status)
		}
	}
	if got := o.Touch(1); len(got) != 0 {
		t.Errorf("touched %d final messages", len(got))
	}
}

func TestOgmmaBadShare(t *testing.T) {
	t.Parallel()
	o, srv := serveOgmma(t, OgmmaConfig{Seed: 9, ConversationsPerChannel: 4, MessagesPerConversation: 250, BadShare: 0.1})
	kinds := map[string]int{}
	for _, m := range o.Messages() {
		switch {
		case m.CreatedAt == "":
			kinds["no createdAt"]++
		case m.Direction == "SIDEWAYS":
			kinds["sideways"]++
		case !timeRe.MatchString(m.CreatedAt):
			kinds["not a date"]++
		}
	}
	total := kinds["no createdAt"] + kinds["sideways"] + kinds["not a date"]
	if len(kinds) != 3 || total < 50 || total > 150 {
		t.Errorf("bad records %v out of 1000 at BadShare 0.1", kinds)
	}
	// Missing createdAt is missing from the JSON, not empty.
	ch := o.Channels()[0]
	missing := 0
	for _, conv := range ch.Conversations {
		r := get(t, conversationURL(srv, ch.ID, conv)+"?limit=500", testKey)
		var raw struct {
			Data []map[string]any `json:"data"`
		}
		if err := json.Unmarshal(r.body, &raw); err != nil {
			t.Fatal(err)
		}
		for _, m := range raw.Data {
			if v, ok := m["createdAt"]; !ok {
				missing++
			} else if v == "" {
				t.Errorf("empty createdAt in %v", m)
			}
		}
	}
	if missing != kinds["no createdAt"] {
		t.Errorf("%d records without createdAt in JSON, %d in Messages()", missing, kinds["no createdAt"])
	}

	for _, m := range NewOgmma(OgmmaConfig{Seed: 9, ConversationsPerChannel: 4, MessagesPerConversation: 250}).Messages() {
		if !timeRe.MatchString(m.CreatedAt) || (m.Direction != OgmmaInbound && m.Direction != OgmmaOutbound) {
			t.Fatalf("bad record at BadShare 0: %+v", m)
		}
	}
}

func TestOgmmaLarge(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ convs, msgs int }{{200, 500}, {2000, 50}} {
		o := NewOgmma(OgmmaConfig{Seed: 1, ConversationsPerChannel: tc.convs, MessagesPerConversation: tc.msgs})
		if got := o.MessageCount(); got != tc.convs*tc.msgs {
			t.Errorf("%d×%d: %d messages", tc.convs, tc.msgs, got)
		}
	}
}

func TestOgmmaVaryMessages(t *testing.T) {
	t.Parallel()
	o := NewOgmma(OgmmaConfig{Seed: 1, ConversationsPerChannel: 20, MessagesPerConversation: 40, VaryMessages: true})
	counts := map[int]bool{}
	for _, ms := range byConversation(o.Messages()) {
		if len(ms) < 20 || len(ms) > 60 {
			t.Errorf("%d messages", len(ms))
		}
		counts[len(ms)] = true
	}
	if len(counts) < 2 {
		t.Errorf("counts do not vary: %v", counts)
	}
}

func TestOgmmaConcurrent(t *testing.T) {
	t.Parallel()
	clock := clock.NewManual(testStart.AddDate(0, 1, 0))
	o, srv := serveOgmma(t, OgmmaConfig{Seed: 1, ConversationsPerChannel: 4, Now: clock.Now})
	ch := o.Channels()[0]
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 50 {
			clock.Advance(time.Second)
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

func TestServer(t *testing.T) {
	t.Parallel()
	o := NewOgmma(OgmmaConfig{Seed: 1, APIKey: testKey})
	srv := httptest.NewServer(NewServer(o))
	t.Cleanup(srv.Close)

	r := get(t, srv.URL+"/", "")
	if r.status != http.StatusOK || !strings.Contains(string(r.body), "/ogmma/v1/channels/") {
		t.Errorf("index %d %s", r.status, r.body)
	}
	ch := o.Channels()[0]
	p := decodePage(t, get(t, srv.URL+"/ogmma/v1/channels/"+ch.ID+"/conversations/"+ch.Conversations[0]+"?limit=5", testKey))
	if len(p.Data) != 5 {
		t.Errorf("%d messages through the server", len(p.Data))
	}
	wantError(t, get(t, srv.URL+"/ogmma/v1/nothing", testKey), http.StatusNotFound, "Rota nao encontrada.", "NOT_FOUND")
	if r := get(t, srv.URL+"/wavy/", ""); r.status != http.StatusNotFound {
		t.Errorf("unmounted prefix: %d", r.status)
	}
}

func BenchmarkNewOgmma100k(b *testing.B) {
	for b.Loop() {
		NewOgmma(OgmmaConfig{Seed: 1, ConversationsPerChannel: 200, MessagesPerConversation: 500})
	}
}

func BenchmarkOgmmaPage500(b *testing.B) {
	o := NewOgmma(OgmmaConfig{Seed: 1, APIKey: testKey, MessagesPerConversation: 500})
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

func TestServerControlsChangeTheData(t *testing.T) {
	o := NewOgmma(OgmmaConfig{Seed: 1, ConversationsPerChannel: 2, MessagesPerConversation: 3})
	srv := httptest.NewServer(NewServer(o))
	defer srv.Close()
	before := o.MessageCount()
	resp, err := http.Post(srv.URL+"/_sim/ogmma/add?n=4", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Data []OgmmaMessage }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(body.Data) != 4 || o.MessageCount() != before+4 {
		t.Fatalf("add: status %d, %d messages returned, count %d → %d", resp.StatusCode, len(body.Data), before, o.MessageCount())
	}
	resp, err = http.Post(srv.URL+"/_sim/ogmma/touch?n=zero", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("touch?n=zero: status %d", resp.StatusCode)
	}
}
