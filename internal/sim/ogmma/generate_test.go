package ogmmasim

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"syncer/internal/sim/clock"
)

func TestDeterministic(t *testing.T) {
	t.Parallel()
	cfg := Config{Seed: 7, Channels: 2, ConversationsPerChannel: 5, MessagesPerConversation: 40, BadShare: 0.05}
	a, b := New(cfg), New(cfg)
	if !reflect.DeepEqual(a.Channels(), b.Channels()) {
		t.Error("same seed, different channels")
	}
	if !reflect.DeepEqual(a.Messages(), b.Messages()) {
		t.Error("same seed, different messages")
	}
	cfg.Seed = 8
	c := New(cfg)
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
	a = New(cfg)
	cfg.Now = clockB.Now
	b = New(cfg)
	if !reflect.DeepEqual(a.AddMessages(13), b.AddMessages(13)) || !reflect.DeepEqual(a.Touch(9), b.Touch(9)) {
		t.Error("same seed, different AddMessages or Touch")
	}
	if !reflect.DeepEqual(a.Messages(), b.Messages()) {
		t.Error("same seed, different messages after changes")
	}
}

func TestDataShape(t *testing.T) {
	t.Parallel()
	o := New(Config{Seed: 1, Channels: 2, ConversationsPerChannel: 10, MessagesPerConversation: 500, Start: testStart})
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
	statuses := map[string]map[string]int{Inbound: {}, Outbound: {}}
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
		if m.Direction == Inbound {
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
		if m.Type == "template" && m.Direction != Outbound {
			t.Errorf("inbound template %+v", m)
		}
	}
	if !oldest.Equal(testStart) {
		t.Errorf("oldest message at %v, want Start %v", oldest, testStart)
	}
	for _, typ := range typeNames {
		if types[typ] == 0 {
			t.Errorf("no %s messages", typ)
		}
	}
	if types["text"] < len(msgs)/2 {
		t.Errorf("text is not most of the traffic: %v", types)
	}
	for _, s := range []string{"PENDING", "SENT", "DELIVERED", "READ", "FAILED"} {
		if statuses[Outbound][s] == 0 {
			t.Errorf("no outbound %s: %v", s, statuses)
		}
	}
	if len(statuses[Inbound]) != 2 || statuses[Inbound]["RECEIVED"] == 0 || statuses[Inbound]["READ"] == 0 {
		t.Errorf("inbound statuses %v", statuses[Inbound])
	}
	// About 1 text in 500 carries a NUL: ~14 expected here.
	if nul == 0 || nul > 60 {
		t.Errorf("%d texts with NUL", nul)
	}
}

func TestCreatedAtIncreasing(t *testing.T) {
	t.Parallel()
	o := New(Config{Seed: 3, ConversationsPerChannel: 4, MessagesPerConversation: 300, Step: 2 * time.Millisecond})
	checkIncreasing(t, o.Messages())
}

func TestBadShare(t *testing.T) {
	t.Parallel()
	o, srv := serve(t, Config{Seed: 9, ConversationsPerChannel: 4, MessagesPerConversation: 250, BadShare: 0.1})
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

	for _, m := range New(Config{Seed: 9, ConversationsPerChannel: 4, MessagesPerConversation: 250}).Messages() {
		if !timeRe.MatchString(m.CreatedAt) || (m.Direction != Inbound && m.Direction != Outbound) {
			t.Fatalf("bad record at BadShare 0: %+v", m)
		}
	}
}

func TestLarge(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ convs, msgs int }{{200, 500}, {2000, 50}} {
		o := New(Config{Seed: 1, ConversationsPerChannel: tc.convs, MessagesPerConversation: tc.msgs})
		if got := o.MessageCount(); got != tc.convs*tc.msgs {
			t.Errorf("%d×%d: %d messages", tc.convs, tc.msgs, got)
		}
	}
}

func TestVaryMessages(t *testing.T) {
	t.Parallel()
	o := New(Config{Seed: 1, ConversationsPerChannel: 20, MessagesPerConversation: 40, VaryMessages: true})
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

func BenchmarkNew100k(b *testing.B) {
	for b.Loop() {
		New(Config{Seed: 1, ConversationsPerChannel: 200, MessagesPerConversation: 500})
	}
}
