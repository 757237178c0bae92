package wavysim

import (
	"encoding/json"
	"testing"
	"time"
)

func TestMOBatch(t *testing.T) {
	t.Parallel()
	s, _, _, clk := serve(t, Config{Seed: 5, Sessions: 4})
	var b moBatch
	if err := json.Unmarshal(s.NewMOBatch(30), &b); err != nil {
		t.Fatal(err)
	}
	if b.Total != 30 || len(b.Data) != 30 {
		t.Fatalf("total %d, %d items", b.Total, len(b.Data))
	}
	phones := map[string]bool{}
	for _, se := range s.Sessions() {
		phones[se.Phone] = true
	}
	ids := map[string]bool{}
	last := int64(0)
	for _, m := range b.Data {
		if !phones[m.Source] || m.Origin != accountNumber || ids[m.ID] || m.ReceivedAt > clk.Now().UnixMilli() || m.ReceivedAt < last {
			t.Fatalf("MO %+v", m)
		}
		ids[m.ID], last = true, m.ReceivedAt
		if at, err := time.Parse(time.RFC3339Nano, m.ReceivedDate); err != nil || at.UnixMilli() != m.ReceivedAt {
			t.Errorf("receivedDate %q for receivedAt %d", m.ReceivedDate, m.ReceivedAt)
		}
		switch m.Message.Type {
		case "TEXT":
			if m.Message.MessageText == "" {
				t.Errorf("empty text %+v", m)
			}
		case "IMAGE", "AUDIO", "VIDEO", "DOCUMENT", "STICKER":
			if m.Message.MediaURL == "" || m.Message.MimeType == "" {
				t.Errorf("media without url %+v", m)
			}
		}
	}
	// The same seed makes the same batches.
	again, _, _, _ := serve(t, Config{Seed: 5, Sessions: 4})
	if string(again.NewMOBatch(30)) != string(mustJSON(t, b)) {
		t.Error("the same seed made another batch")
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// Status callbacks move each outbound message forward: sent, delivered,
// read (or failed at once), never back.
func TestStatusBatches(t *testing.T) {
	t.Parallel()
	s, _, _, clk := serve(t, Config{Seed: 6})
	rank := func(st Status) int {
		switch {
		case st.Read:
			return 3
		case st.Delivered:
			return 2
		case st.Sent:
			return 1
		}
		return 0
	}
	seen := map[string]int{}
	for range 20 {
		clk.Advance(time.Second)
		var b statusBatch
		if err := json.Unmarshal(s.NewStatusBatch(5), &b); err != nil {
			t.Fatal(err)
		}
		if b.ClientInfo.CustomerID != 42 || len(b.Data) != 5 {
			t.Fatalf("batch %+v", b)
		}
		for _, st := range b.Data {
			if prev, ok := seen[st.ID]; ok && rank(st) <= prev {
				t.Fatalf("%s went from %d to %d", st.ID, prev, rank(st))
			}
			seen[st.ID] = rank(st)
			if st.SentAt > clk.Now().UnixMilli() || st.UpdatedAt > clk.Now().UnixMilli() || st.SentAt > st.UpdatedAt {
				t.Fatalf("times %+v after the clock %v", st, clk.Now())
			}
			if !st.Sent && st.SentStatus == "SENT_SOURCE" {
				t.Fatalf("status %+v", st)
			}
		}
	}
	read := 0
	for _, r := range seen {
		if r == 3 {
			read++
		}
	}
	if read == 0 {
		t.Error("no message was ever read")
	}
}
