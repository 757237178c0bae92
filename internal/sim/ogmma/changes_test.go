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

	// 2 rounds over the 6 conversations and 1 more, all at the same instant:
	// a conversation that gets 3 has them at Now-2ms, Now-1ms and Now.
	added := o.AddMessages(13)
	if len(added) != 13 || len(o.Messages()) != before+13 || o.MessageCount() != before+13 {
		t.Fatalf("added %d, now %d messages (was %d)", len(added), len(o.Messages()), before)
	}
	now := clk.Now()
	perConv := map[string][]Message{}
	for _, m := range added {
		perConv[m.ConversationID] = append(perConv[m.ConversationID], m)
		created, err := time.Parse(time.RFC3339Nano, m.CreatedAt)
		if err != nil || created.After(now) || created.Before(now.Add(-10*time.Millisecond)) {
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
	for conv, ms := range perConv {
		if last := ms[len(ms)-1]; last.CreatedAt != wire.FormatMillis(now.UnixMilli()) {
			t.Errorf("conversation %s: newest added at %s, want the clock %s", conv, last.CreatedAt, now)
		}
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

	// Every conversation has a message at Now already: until the clock
	// moves, there is no room for another, and a clock behind the data
	// leaves none either. Nothing is ever dated after the clock.
	if got := o.AddMessages(5); len(got) != 0 {
		t.Errorf("added %d messages at the instant of the last ones", len(got))
	}
	// With 1ms of room, each conversation takes one more, whatever n asks.
	clk.Advance(time.Millisecond)
	if got := o.AddMessages(10); len(got) != 6 {
		t.Errorf("1ms after the last ones, added %d messages, want one per conversation", len(got))
	}
	clk.Set(testStart.AddDate(-1, 0, 0))
	if got := o.AddMessages(20); len(got) != 0 || o.MessageCount() != before+13+6 {
		t.Errorf("a clock behind the data added %d messages", len(got))
	}
	checkIncreasing(t, o.Messages())

	// Round-robin continues after the last conversation served.
	clk.Set(testStart.AddDate(0, 2, 0))
	var order []string
	for _, ch := range o.Channels() {
		order = append(order, ch.Conversations...)
	}
	if next := o.AddMessages(1)[0]; next.ConversationID != order[(13+6)%6] {
		t.Errorf("round-robin went to %s, want %s", next.ConversationID, order[(13+6)%6])
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
	// At the same instant, what was just touched does not move again: its
	// updatedAt would pass the clock.
	for _, m := range o.Touch(1000) {
		if seen[m.ID] || m.UpdatedAt != wantUpdated {
			t.Errorf("touched again at the same instant: %+v", m)
		}
	}
	if got := o.Touch(1000); len(got) != 0 {
		t.Errorf("touched %d messages already updated at the clock", len(got))
	}
	// Everything moves to a final status eventually, as the clock moves; then
	// Touch finds nothing.
	for {
		clk.Advance(time.Millisecond)
		if len(o.Touch(1000)) == 0 {
			break
		}
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
