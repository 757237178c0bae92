package ogmma

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"syncer/internal/cursor"
	"syncer/internal/extract"
	"syncer/internal/sim"
	"syncer/internal/sim/clock"
	ogmmasim "syncer/internal/sim/ogmma"
)

var t0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// setup serves an Ogmma simulator and returns it with a stream config
// that reads all of its conversations.
func setup(t *testing.T, sc ogmmasim.Config) (*ogmmasim.Simulator, Config) {
	t.Helper()
	if sc.Now == nil {
		sc.Now = clock.NewManual(t0).Now
	}
	og := ogmmasim.New(sc)
	srv := httptest.NewServer(sim.NewServer(og))
	t.Cleanup(srv.Close)
	client, err := extract.NewClient(extract.ClientConfig{Source: "acme-ogmma", BaseURL: srv.URL + "/ogmma", MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Client: client, APIKey: og.APIKey()}
	for _, ch := range og.Channels() {
		cfg.Channels = append(cfg.Channels, Channel{ID: ch.ID, Conversations: ch.Conversations})
	}
	return og, cfg
}

// collect runs the stream and keeps the pages it emits, by partition.
func collect(t *testing.T, cfg Config, req extract.Request) (map[string]extract.Page, error) {
	t.Helper()
	s, err := NewMessages(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	pages := map[string]extract.Page{}
	err = s.Extract(context.Background(), req, func(_ context.Context, p extract.Page) error {
		mu.Lock()
		defer mu.Unlock()
		if _, dup := pages[p.Partition]; dup {
			t.Errorf("partition %s emitted twice", p.Partition)
		}
		pages[p.Partition] = p
		return nil
	})
	return pages, err
}

func records(t *testing.T, p extract.Page) []Message {
	t.Helper()
	pages, ok := p.Records.([]Page)
	if !ok || len(pages) != 1 {
		t.Fatalf("records are %T %v, want one Page", p.Records, p.Records)
	}
	raws := pages[0].Messages
	out := make([]Message, len(raws))
	for i, r := range raws {
		if err := json.Unmarshal(r, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// Every configured conversation is one partition with one page: its newest
// messages, the cursor at the newest of them.
func TestReadsTheNewestPageOfEveryConversation(t *testing.T) {
	og, cfg := setup(t, ogmmasim.Config{Seed: 1, Channels: 2, ConversationsPerChannel: 3, MessagesPerConversation: 20})
	named := cfg.Channels[0].ID
	cfg.Channels[0].Name, cfg.Channels[0].Kind = "Vendas", "whatsapp"
	pages, err := collect(t, cfg, extract.Request{})
	if err != nil {
		t.Fatal(err)
	}
	byConv := map[string][]ogmmasim.Message{}
	for _, m := range og.Messages() {
		byConv[m.ChannelID+"/"+m.ConversationID] = append(byConv[m.ChannelID+"/"+m.ConversationID], m)
	}
	if len(pages) != len(byConv) || len(pages) != 6 {
		t.Fatalf("%d partitions, want %d", len(pages), len(byConv))
	}
	for part, msgs := range byConv {
		p, ok := pages[part]
		if !ok {
			t.Fatalf("no page for %s", part)
		}
		got := records(t, p)
		if len(got) != len(msgs) || p.SuspectedGap {
			t.Fatalf("%s: %d records (gap %v), want %d", part, len(got), p.SuspectedGap, len(msgs))
		}
		// The page names its channel as the config does.
		rec := p.Records.([]Page)[0]
		if want := strings.HasPrefix(part, named+"/"); rec.ChannelID != strings.Split(part, "/")[0] ||
			want != (rec.ChannelName == "Vendas" && rec.ChannelKind == "whatsapp") || !want && rec.ChannelName != "" {
			t.Errorf("%s: page of channel %q named %q (%q)", part, rec.ChannelID, rec.ChannelName, rec.ChannelKind)
		}
		sort.Slice(msgs, func(i, j int) bool { return msgs[i].CreatedAt < msgs[j].CreatedAt })
		newest := msgs[len(msgs)-1]
		at, _ := time.Parse(time.RFC3339Nano, newest.CreatedAt)
		if p.Cursor == nil || !p.Cursor.TS.Equal(at) || p.Cursor.ID != newest.ID || !p.Newest.Equal(at) {
			t.Fatalf("%s: cursor %v newest %v, want %v %s", part, p.Cursor, p.Newest, at, newest.ID)
		}
	}
}

// A full page whose every message is newer than the saved cursor may hide
// older messages the API can no longer give: a suspected gap. A page that
// reaches back to the cursor is not one, and a backfill never is; it keeps
// the records in its window and moves no cursor.
func TestSuspectedGapsAndBackfills(t *testing.T) {
	og, cfg := setup(t, ogmmasim.Config{Seed: 2, ConversationsPerChannel: 1, MessagesPerConversation: 30})
	cfg.PageSize = 10
	part := cfg.Channels[0].ID + "/" + cfg.Channels[0].Conversations[0]
	msgs := og.Messages()
	sort.Slice(msgs, func(i, j int) bool { return msgs[i].CreatedAt < msgs[j].CreatedAt })
	ts := func(m ogmmasim.Message) time.Time { at, _ := time.Parse(time.RFC3339Nano, m.CreatedAt); return at }

	old := cursor.Cursor{TS: ts(msgs[5]), ID: msgs[5].ID}
	pages, err := collect(t, cfg, extract.Request{Cursors: map[string]cursor.Cursor{part: old}})
	if err != nil || !pages[part].SuspectedGap {
		t.Fatalf("cursor 25 messages back, page of 10: gap %v, %v; want a suspected gap", pages[part].SuspectedGap, err)
	}
	recent := cursor.Cursor{TS: ts(msgs[25]), ID: msgs[25].ID}
	if pages, err = collect(t, cfg, extract.Request{Cursors: map[string]cursor.Cursor{part: recent}}); err != nil || pages[part].SuspectedGap {
		t.Fatalf("cursor inside the page: gap %v, %v; want none", pages[part].SuspectedGap, err)
	}

	since, until := ts(msgs[22]), ts(msgs[27])
	pages, err = collect(t, cfg, extract.Request{Backfill: true, Since: since, Until: until})
	if err != nil {
		t.Fatal(err)
	}
	p := pages[part]
	if got := records(t, p); len(got) != 5 || p.Cursor != nil || p.SuspectedGap {
		t.Fatalf("backfill [22, 27): %d records, cursor %v, gap %v; want 5, none, none", len(got), p.Cursor, p.SuspectedGap)
	}
}

// Refused credentials stop the stream at once; a conversation the API does
// not know fails alone and leaves the run partial; a page that cannot be
// committed stops the stream.
func TestErrors(t *testing.T) {
	_, cfg := setup(t, ogmmasim.Config{Seed: 3, ConversationsPerChannel: 3, MessagesPerConversation: 5})

	wrong := cfg
	wrong.APIKey = "not-the-key"
	if _, err := collect(t, wrong, extract.Request{}); !errors.Is(err, extract.ErrUnauthorized) {
		t.Fatalf("wrong key: %v", err)
	}

	unknown := cfg
	unknown.Channels = []Channel{{ID: cfg.Channels[0].ID, Conversations: append([]string{"000000000000000000000000"}, cfg.Channels[0].Conversations...)}}
	pages, err := collect(t, unknown, extract.Request{})
	if !extract.IsPartial(err) || !strings.Contains(err.Error(), "1 of 4 conversations could not be read") || len(pages) != 3 {
		t.Fatalf("an unknown conversation: %d pages, %v; want 3 and a partial error", len(pages), err)
	}

	one := cfg
	one.Concurrency = 1
	s, err := NewMessages(one)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	boom := errors.New("the database went away")
	err = s.Extract(context.Background(), extract.Request{}, func(context.Context, extract.Page) error { calls++; return boom })
	if !errors.Is(err, boom) || calls != 1 {
		t.Fatalf("emit failing: %d calls, %v; want 1 and its error", calls, err)
	}
}

func TestPageSize(t *testing.T) {
	_, cfg := setup(t, ogmmasim.Config{Seed: 4})
	cfg.PageSize = 501
	if _, err := NewMessages(cfg); err == nil || !strings.Contains(err.Error(), "above the API's maximum of 500") {
		t.Fatalf("page_size 501: %v", err)
	}
	cfg.PageSize = 0
	s, err := NewMessages(cfg)
	if err != nil || s.cfg.PageSize != MaxPageSize || s.cfg.Concurrency != 2 {
		t.Fatalf("defaults: %+v, %v", s.cfg, err)
	}
}

// discover: true lists the channel's conversations through the (guessed)
// endpoint and reads each once, configured or not.
func TestDiscover(t *testing.T) {
	_, cfg := setup(t, ogmmasim.Config{Seed: 5, ConversationsPerChannel: 4, MessagesPerConversation: 3})
	cfg.Channels = []Channel{{ID: cfg.Channels[0].ID, Conversations: cfg.Channels[0].Conversations[:1], Discover: true}}
	pages, err := collect(t, cfg, extract.Request{})
	if err != nil || len(pages) != 4 {
		t.Fatalf("%d partitions, %v; want the 4 conversations once each", len(pages), err)
	}
}

// A run with a saved cursor asks for the newest ProbeSize messages first,
// and for the full page only when all of them are new; a probe identical
// to the last one passes nothing on; the full page is read again once
// RereadEvery has passed since the last full read, and on a --full run.
// The cursor keeps when the last full read was, and the probe's
// fingerprint.
func TestProbeBeforeTheFullPage(t *testing.T) {
	clk := clock.NewManual(t0.Add(30 * 24 * time.Hour))
	og, cfg := setup(t, ogmmasim.Config{Seed: 3, Channels: 1, ConversationsPerChannel: 1, MessagesPerConversation: 300, Start: t0, Now: clk.Now})
	cfg.Now = clk.Now
	part := og.Channels()[0].ID + "/" + og.Channels()[0].Conversations[0]
	var saved *cursor.Cursor
	step := func(name string, req extract.Request, wantRecords int, wantRequests int64, wantReread time.Time) {
		t.Helper()
		if saved != nil {
			req.Cursors = map[string]cursor.Cursor{part: *saved}
		}
		before := og.Stats().Requests
		pages, err := collect(t, cfg, req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		p := pages[part]
		got := len(records(t, p))
		if got != wantRecords || og.Stats().Requests-before != wantRequests || p.Cursor == nil || !p.Cursor.Reread.Equal(wantReread) || p.SuspectedGap {
			t.Fatalf("%s: %d records in %d requests, cursor %+v, gap %v; want %d records in %d, reread at %s",
				name, got, og.Stats().Requests-before, p.Cursor, p.SuspectedGap, wantRecords, wantRequests, wantReread)
		}
		saved = p.Cursor
	}
	first := clk.Now()
	step("first run", extract.Request{}, 300, 1, first)
	clk.Advance(5 * time.Minute)
	step("nothing new", extract.Request{}, ProbeSize, 1, first)
	if saved.Probe == "" {
		t.Fatal("the probe left no fingerprint in the cursor")
	}
	clk.Advance(5 * time.Minute)
	step("the same probe again: nothing passed on", extract.Request{}, 0, 1, first)
	clk.Advance(5 * time.Minute)
	if n := len(og.AddMessages(20)); n != 20 {
		t.Fatalf("added %d messages", n)
	}
	step("fewer new than the probe", extract.Request{}, ProbeSize, 1, first)
	clk.Advance(5 * time.Minute)
	if n := len(og.AddMessages(ProbeSize + 10)); n != ProbeSize+10 {
		t.Fatalf("added %d messages", n)
	}
	step("more new than the probe", extract.Request{}, 300+20+ProbeSize+10, 2, clk.Now())
	second := clk.Now()
	due := rereadAfter(part)
	if due > RereadEvery || due < RereadEvery*3/4 {
		t.Fatalf("re-read after %s", due)
	}
	clk.Advance(due - time.Minute)
	step("not yet due", extract.Request{}, ProbeSize, 1, second)
	clk.Advance(time.Minute)
	step("due again", extract.Request{}, 380, 1, clk.Now())
	clk.Advance(time.Minute)
	step("--full", extract.Request{Full: true}, 380, 1, clk.Now())
}

// Should the API answer a conversation's oldest messages rather than its
// newest, a probe that lies wholly before the cursor does not end the
// conversation: the full page is read.
func TestAProbeOlderThanTheCursorReadsTheFullPage(t *testing.T) {
	var msgs []map[string]string
	for i := range 100 {
		msgs = append(msgs, map[string]string{"id": fmt.Sprintf("m%03d", i), "createdAt": t0.Add(time.Duration(i) * time.Minute).Format(time.RFC3339),
			"direction": "INBOUND", "type": "TEXT", "content": "oi"})
	}
	var limits []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limits = append(limits, r.URL.Query().Get("limit"))
		n, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		json.NewEncoder(w).Encode(map[string]any{"data": msgs[:min(n, len(msgs))]}) // the oldest first
	}))
	t.Cleanup(srv.Close)
	client, err := extract.NewClient(extract.ClientConfig{Source: "acme-ogmma", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Client: client, APIKey: "k", Channels: []Channel{{ID: "ch", Conversations: []string{"c"}}},
		Now: func() time.Time { return t0.Add(3 * time.Hour) }}
	saved := cursor.Cursor{TS: t0.Add(60 * time.Minute), ID: "m060", Reread: t0.Add(150 * time.Minute)}
	pages, err := collect(t, cfg, extract.Request{Cursors: map[string]cursor.Cursor{"ch/c": saved}})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(records(t, pages["ch/c"])); got != 100 || strings.Join(limits, ",") != "50,500" {
		t.Fatalf("%d records with limits %v; want all 100, the probe then the full page", got, limits)
	}
}
