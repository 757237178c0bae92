package ogmmasim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"testing"
	"time"

	"syncer/internal/sim/clock"
	"syncer/internal/sim/wire"
)

// notAfter fails the test when ts (as the API writes instants) is after now.
func notAfter(t *testing.T, what, ts string, now time.Time) {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		t.Fatalf("%s: %q is not an instant", what, ts)
	}
	if at.After(now) {
		t.Fatalf("%s dated %s, after the simulator's clock %s", what, ts, now.Format(time.RFC3339Nano))
	}
}

// checkServed reads every conversation and message through the API and
// checks that none is dated after now. It returns how many messages the
// API served. It calls the handler directly: 100,000 messages through a
// socket and full decoding are slow under -race, and prove nothing more.
func checkServed(t *testing.T, o *Simulator, now time.Time) int {
	t.Helper()
	type dated struct{ ID, CreatedAt, UpdatedAt string }
	serve := func(path string) []dated {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer "+o.APIKey())
		rec := httptest.NewRecorder()
		o.ServeHTTP(rec, req)
		var page struct{ Data []dated }
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &page) != nil {
			t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
		}
		return page.Data
	}
	served := 0
	for _, ch := range o.Channels() {
		convs := serve("/v1/channels/" + ch.ID + "/conversations")
		if len(convs) != len(ch.Conversations) {
			t.Fatalf("channel %s: %d conversations listed, %d held", ch.ID, len(convs), len(ch.Conversations))
		}
		for _, c := range convs {
			notAfter(t, "conversation "+c.ID+" createdAt", c.CreatedAt, now)
			notAfter(t, "conversation "+c.ID+" updatedAt", c.UpdatedAt, now)
			msgs := serve("/v1/channels/" + ch.ID + "/conversations/" + c.ID + "?limit=500")
			if len(msgs) == 0 || len(msgs) == 500 {
				t.Fatalf("conversation %s: %d messages served, want all of them and at least one", c.ID, len(msgs))
			}
			for _, m := range msgs {
				notAfter(t, "message "+m.ID+" createdAt", m.CreatedAt, now)
				notAfter(t, "message "+m.ID+" updatedAt", m.UpdatedAt, now)
			}
			served += len(msgs)
		}
	}
	return served
}

// demoConfig is an Ogmma simulator sized as `syncer demo --messages N` sizes
// it (internal/demo): 4 channels of conversations of 200 messages, starting
// 60 days before the clock, one step every 30 days / 200.
func demoConfig(messages int, now func() time.Time) Config {
	span := 30 * 24 * time.Hour
	return Config{
		Seed: 2024, Channels: 4, ConversationsPerChannel: max(1, messages/(4*200)), MessagesPerConversation: 200,
		Start: now().Add(-2 * span), Step: span / 200, Now: now,
	}
}

// TestNothingAfterTheClock: with the demo's sizes, the history generated at
// construction stops at the clock (it used to run hours past it, so a sync
// bounded by now missed what the simulator announced), and so do the
// messages added and touched later, at the same instant or after.
func TestNothingAfterTheClock(t *testing.T) {
	t.Parallel()
	for _, messages := range []int{20_000, 100_000} {
		t.Run(strconv.Itoa(messages), func(t *testing.T) {
			t.Parallel()
			if testing.Short() && messages > 20_000 {
				t.Skip("the 100,000-message sizing is slow; -short skips it")
			}
			clk := clock.NewManual(time.Date(2025, 6, 1, 7, 48, 0, 0, time.UTC))
			cfg := demoConfig(messages, clk.Now)
			o := New(cfg)
			generated := o.MessageCount()
			// Generation reaches the clock: it stops there, it is not
			// squeezed back.
			newest := ""
			for _, m := range o.Messages() {
				newest = max(newest, m.CreatedAt)
			}
			notAfter(t, "newest message", newest, clk.Now())
			if newest < wire.FormatMillis(clk.Now().Add(-24*time.Hour).UnixMilli()) {
				t.Errorf("newest message at %s, more than a day before the clock %s", newest, clk.Now())
			}

			// Changes at the instant of the data's newest messages, then
			// after the clock moved: several new messages per conversation,
			// status changes.
			convs := cfg.Channels * cfg.ConversationsPerChannel
			added := 0
			for round := range 2 {
				if round > 0 {
					clk.Advance(time.Second)
				}
				add := o.AddMessages(3*convs + 7)
				added += len(add)
				for _, m := range append(add, o.Touch(convs)...) {
					notAfter(t, "changed message "+m.ID+" createdAt", m.CreatedAt, clk.Now())
					notAfter(t, "changed message "+m.ID+" updatedAt", m.UpdatedAt, clk.Now())
				}
			}
			if added == 0 {
				t.Error("AddMessages added nothing")
			}
			// What the API serves: the generated history and the changes,
			// nothing after the clock, as many messages as MessageCount says.
			if got := checkServed(t, o, clk.Now()); got != o.MessageCount() || got != generated+added {
				t.Fatalf("API served %d messages, MessageCount says %d (%d generated, %d added)", got, o.MessageCount(), generated, added)
			}
		})
	}
}

// TestClockCutsTheData: the clock stops the generated history, and what
// stands before it is the same as without the cut: the same messages, ids
// and contents, only updatedAt brought back to the clock. Conversations
// that have not started yet are left out.
func TestClockCutsTheData(t *testing.T) {
	t.Parallel()
	start := time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)
	far := func() time.Time { return start.AddDate(10, 0, 0) }
	full := demoConfig(20_000, far)
	full.Start, full.VaryMessages, full.BadShare = start, true, 0.02
	all := New(full).Messages()
	// Malformed records hide createdAt; read the instants from a well-formed
	// twin (BadShare draws nothing else differently).
	twin := full
	twin.BadShare = 0
	clean := New(twin).Messages()
	for _, after := range []time.Duration{0, time.Hour, 3 * 24 * time.Hour, 20 * 24 * time.Hour, 45 * 24 * time.Hour} {
		cut := start.Add(after)
		cfg := full
		cfg.Now = func() time.Time { return cut }
		o := New(cfg)
		until := cut.UnixMilli()
		var want []Message
		convs := map[string]bool{}
		for i, m := range all {
			if clean[i].CreatedAt > wire.FormatMillis(until) {
				continue
			}
			m.UpdatedAt = min(m.UpdatedAt, wire.FormatMillis(until))
			want = append(want, m)
			convs[m.ConversationID] = true
		}
		if got := o.Messages(); !reflect.DeepEqual(got, want) {
			t.Errorf("cut %v after Start: %d messages, want the %d of the full history dated by then", after, len(got), len(want))
		}
		n := 0
		for _, ch := range o.Channels() {
			for _, c := range ch.Conversations {
				if !convs[c] {
					t.Errorf("cut %v after Start: conversation %s without messages", after, c)
				}
				n++
			}
		}
		if n != len(convs) {
			t.Errorf("cut %v after Start: %d conversations, want %d", after, n, len(convs))
		}
	}
}
