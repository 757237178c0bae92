package ogmmasim

import (
	"reflect"
	"testing"
	"time"

	"syncer/internal/sim/clock"
	"syncer/internal/sim/wire"
)

func TestAddMessages(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(testStart.AddDate(0, 1, 0))
	o, srv := serve(t, Config{Seed: 5, Channels: 2, ConversationsPerChannel: 3, MessagesPerConversation: 20, Now: clk.Now})
	before := len(o.Messages())

	// 2 rounds over the 6 conversations and 1 more, all at the same instant.
	added := o.AddMessages(13)
	if len(added) != 13 || len(o.Messages()) != before+13 || o.MessageCount() != before+13 {
		t.Fatalf("added %d, now %d messages (was %d)", len(added), len(o.Messages()), before)
	}
	now := clk.Now()
	perConv := map[string][]Message{}
	for _, m := range added {
		perConv[m.ConversationID] = append(perConv[m.ConversationID], m)
		created, err := time.Parse(time.RFC3339Nano, m.CreatedAt)
		if err != nil || created.Before(now) || created.After(now.Add(10*time.Millisecond)) {
			t.Errorf("added message created at %s, clock %s", m.CreatedAt, now)
		}
		if m.UpdatedAt != m.CreatedAt {
			t.Errorf("new message updatedAt %s createdAt %s", m.UpdatedAt, m.CreatedAt)
		}
		if m.Direction == Inbound && m.Status != "RECEIVED" {
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
	clk.Set(testStart.AddDate(-1, 0, 0))
	o.AddMessages(20)
	checkIncreasing(t, o.Messages())

	// Round-robin continues where it stopped.
	clk.Set(testStart.AddDate(0, 2, 0))
	var order []string
	for _, ch := range o.Channels() {
		order = append(order, ch.Conversations...)
	}
	if next := o.AddMessages(1)[0]; next.ConversationID != order[(13+20)%6] {
		t.Errorf("round-robin went to %s, want %s", next.ConversationID, order[(13+20)%6])
	}
}

func TestTouch(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(testStart.AddDate(0, 1, 0))
	o, srv := serve(t, Config{Seed: 6, ConversationsPerChannel: 2, MessagesPerConversation: 30, Now: clk.Now})
	before := map[string]Message{}
	for _, m := range o.Messages() {
		before[m.ID] = m
	}
	clk.Advance(time.Hour)
	touched := o.Touch(5)
	if len(touched) != 5 {
		t.Fatalf("touched %d", len(touched))
	}
	next := map[string]string{"PENDING": "SENT", "SENT": "DELIVERED", "DELIVERED": "READ", "RECEIVED": "READ"}
	wantUpdated := wire.FormatMillis(clk.Now().UnixMilli())
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
	after := map[string]Message{}
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
