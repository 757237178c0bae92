package load_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"syncer/internal/cursor"
	"syncer/internal/load"
	"syncer/internal/state"
	"syncer/internal/transform"
)

// transcriptLine is a message read from an exported transcript, filed by
// conversation id (the transcripts stream) or, with conv empty, by
// protocol (syncer import).
func transcriptLine(protocol string, n int, conv string) transform.Message {
	m := msg(fmt.Sprintf("txt:%s:%d", protocol, n), t0.Add(time.Duration(n)*time.Minute), "linha")
	m.ConversationID, m.FromTranscript = conv, true
	if conv == "" {
		m.ConversationProtocol = protocol
	}
	return m
}

// apiMessage is a message of the API in conversation conv.
func apiMessage(id, conv string) transform.Message {
	m := msg(id, t0, "da API")
	m.ConversationID = conv
	return m
}

func commitMessages(t *testing.T, l *load.Loader, run *state.Run, msgs ...transform.Message) {
	t.Helper()
	if _, err := l.Commit(context.Background(), run, load.Commit{Batch: &transform.Batch{Messages: msgs}}); err != nil {
		t.Fatal(err)
	}
}

// A conversation's messages have one source of truth: transcript lines
// only while it has no API messages, and never beside them, whichever
// arrives first.
func TestTranscriptLinesNeverStandBesideAPIMessages(t *testing.T) {
	db, l, run := setup(t)
	count := func(conv string) (api, lines int64) {
		t.Helper()
		api = scalar[int64](t, db, "SELECT count(*) FROM messages WHERE conversation_external_id = $1 AND NOT from_transcript", conv)
		lines = scalar[int64](t, db, "SELECT count(*) FROM messages WHERE conversation_external_id = $1 AND from_transcript", conv)
		return api, lines
	}

	// Lines first (the transcripts stream), then the API's messages (a
	// backfill, --full, an edit): the lines go in the same commit.
	commitMessages(t, l, run, transcriptLine("1001", 1, "T1"), transcriptLine("1001", 2, "T1"))
	if api, lines := count("T1"); api != 0 || lines != 2 {
		t.Fatalf("T1 after the transcript: %d API, %d lines", api, lines)
	}
	commitMessages(t, l, run, apiMessage("a1", "T1"), apiMessage("a2", "T1"))
	if api, lines := count("T1"); api != 2 || lines != 0 {
		t.Fatalf("T1 after the API: %d API, %d lines; want 2, 0", api, lines)
	}

	// The API first, then a transcript of the same ticket: no line goes in.
	commitMessages(t, l, run, apiMessage("b1", "T2"), apiMessage("b2", "T2"))
	commitMessages(t, l, run, transcriptLine("1002", 1, "T2"), transcriptLine("1002", 2, "T2"))
	if api, lines := count("T2"); api != 2 || lines != 0 {
		t.Fatalf("T2 after the transcript: %d API, %d lines; want 2, 0", api, lines)
	}
}

// An imported transcript of a ticket the warehouse does not know waits
// under "protocol:<n>"; when the API's ticket arrives, its lines move onto
// it, or go if the ticket has API messages by then.
func TestImportedLinesMeetTheAPITicket(t *testing.T) {
	db, l, run := setup(t)
	ctx := context.Background()
	closed := false
	ticket := func(id, protocol string) transform.Conversation {
		return transform.Conversation{ExternalID: id, Kind: "ticket", Protocol: protocol, IsOpen: &closed, UpdatedAt: t0, Raw: json.RawMessage(`{}`)}
	}
	byProtocol := func(protocol string) transform.Conversation {
		return transform.Conversation{Kind: "ticket", Protocol: protocol, IsOpen: &closed, Raw: json.RawMessage(`{}`), ByProtocol: true}
	}
	for _, p := range []string{"2001", "2002"} {
		b := &transform.Batch{Conversations: []transform.Conversation{byProtocol(p)}, Messages: []transform.Message{transcriptLine(p, 1, ""), transcriptLine(p, 2, "")}}
		if _, err := l.Commit(ctx, run, load.Commit{Batch: b}); err != nil {
			t.Fatal(err)
		}
	}
	if n := scalar[int64](t, db, "SELECT count(*) FROM messages WHERE conversation_external_id LIKE 'protocol:%'"); n != 4 {
		t.Fatalf("%d lines wait under protocol:<n>, want 4", n)
	}
	// The API's messages of ticket U2 came before its ticket.
	commitMessages(t, l, run, apiMessage("c1", "U2"))
	tickets := &transform.Batch{Conversations: []transform.Conversation{ticket("U1", "2001"), ticket("U2", "2002")}}
	if _, err := l.Commit(ctx, run, load.Commit{Batch: tickets}); err != nil {
		t.Fatal(err)
	}
	if n := scalar[int64](t, db, "SELECT count(*) FROM messages WHERE conversation_external_id = 'U1' AND from_transcript"); n != 2 {
		t.Fatalf("U1 has %d lines, want 2 (moved from protocol:2001)", n)
	}
	if n := scalar[int64](t, db, "SELECT count(*) FROM messages WHERE conversation_external_id = 'U2'"); n != 1 {
		t.Fatalf("U2 has %d messages, want its 1 API message alone", n)
	}
	if n := scalar[int64](t, db, "SELECT count(*) FROM messages WHERE conversation_external_id LIKE 'protocol:%'"); n != 0 {
		t.Fatalf("%d lines still wait", n)
	}
	// A transcript imported again once the ticket is known: the lines land
	// on U1 (no API messages), not on U2.
	for _, p := range []string{"2001", "2002"} {
		commitMessages(t, l, run, transcriptLine(p, 1, ""), transcriptLine(p, 2, ""), transcriptLine(p, 3, ""))
	}
	if n := scalar[int64](t, db, "SELECT count(*) FROM messages WHERE conversation_external_id = 'U1'"); n != 3 {
		t.Fatalf("U1 has %d lines, want 3", n)
	}
	if n := scalar[int64](t, db, "SELECT count(*) FROM messages WHERE conversation_external_id = 'U2'"); n != 1 {
		t.Fatalf("U2 has %d messages after a re-import, want 1", n)
	}
}

// Transcript lines and API messages of the same tickets, committed at once
// from many transactions: no ticket ends with both.
func TestTranscriptLinesAndAPIMessagesRacing(t *testing.T) {
	db, l, run := setup(t)
	ctx := context.Background()
	const tickets = 30
	var wg sync.WaitGroup
	errs := make(chan error, 2*tickets)
	for i := range tickets {
		conv := fmt.Sprintf("R%d", i)
		wg.Go(func() {
			_, err := l.Commit(ctx, run, load.Commit{Batch: &transform.Batch{Messages: []transform.Message{
				transcriptLine(fmt.Sprint(3000+i), 1, conv), transcriptLine(fmt.Sprint(3000+i), 2, conv)}}})
			errs <- err
		})
		wg.Go(func() {
			_, err := l.Commit(ctx, run, load.Commit{Batch: &transform.Batch{Messages: []transform.Message{apiMessage("api-"+conv, conv)}}})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := scalar[int64](t, db, `SELECT count(*) FROM messages WHERE from_transcript`); n != 0 {
		t.Fatalf("%d transcript lines stand beside API messages", n)
	}
	if n := scalar[int64](t, db, `SELECT count(*) FROM messages`); n != tickets {
		t.Fatalf("%d messages, want %d", n, tickets)
	}
}

// A full-refresh pass that saw nothing marks nothing deleted, whether its
// ids come as nil or as an empty list.
func TestEmptyFullRefreshPassMarksNothing(t *testing.T) {
	db, l, run := setup(t)
	ctx := context.Background()
	ch := transform.Channel{ExternalID: "a", Name: "Conexão a", Kind: "whatsapp", UpdatedAt: t0, Raw: json.RawMessage(`{}`)}
	if _, err := l.Commit(ctx, run, load.Commit{Batch: &transform.Batch{Channels: []transform.Channel{ch}}}); err != nil {
		t.Fatal(err)
	}
	for _, seen := range [][]string{nil, {}} {
		res, err := l.Commit(ctx, run, load.Commit{Batch: &transform.Batch{}, Complete: &load.Completion{Table: "channels", SeenIDs: seen}})
		if err != nil {
			t.Fatal(err)
		}
		if n := scalar[int64](t, db, "SELECT count(*) FROM channels WHERE deleted_at IS NOT NULL"); n != 0 || res.Written != 0 {
			t.Fatalf("a pass that saw nothing (%#v) marked %d channel(s) deleted", seen, n)
		}
	}
}

// A run whose lease was lost and taken by another process cannot commit:
// not its rows, not its cursor.
func TestRunThatLostItsLeaseCannotCommit(t *testing.T) {
	db, l, run := setup(t)
	ctx := context.Background()
	store := state.New(db.Pool, nil)
	first, ok, err := store.TryLease(ctx, run.Source, run.Stream)
	if err != nil || !ok {
		t.Fatalf("lease: %v %v", ok, err)
	}
	run.Lease = first
	cur := cursor.Cursor{TS: t0, ID: "m1"}
	if _, err := l.Commit(ctx, run, load.Commit{Batch: &transform.Batch{Messages: []transform.Message{msg("m1", t0, "x")}}, Checkpoints: []load.Checkpoint{{Partition: "p", Cursor: cur}}}); err != nil {
		t.Fatalf("commit while holding the lease: %v", err)
	}
	// The first lease's session dies (an idle-session timeout during a long
	// Retry-After wait); a second process takes the stream.
	first.Release()
	second, ok, err := store.TryLease(ctx, run.Source, run.Stream)
	if err != nil || !ok {
		t.Fatalf("second lease: %v %v", ok, err)
	}
	defer second.Release()
	later := cursor.Cursor{TS: t0.Add(time.Hour), ID: "m2"}
	_, err = l.Commit(ctx, run, load.Commit{Batch: &transform.Batch{Messages: []transform.Message{msg("m2", t0, "y")}}, Checkpoints: []load.Checkpoint{{Partition: "p", Cursor: later}}})
	if !errors.Is(err, state.ErrLeaseLost) {
		t.Fatalf("commit after the lease was taken: %v, want ErrLeaseLost", err)
	}
	if n := scalar[int64](t, db, "SELECT count(*) FROM messages"); n != 1 {
		t.Fatalf("%d messages: the fenced commit wrote rows", n)
	}
	if got := scalar[string](t, db, "SELECT cursor->>'id' FROM sync_state"); got != "m1" {
		t.Fatalf("cursor %q: the fenced commit moved it", got)
	}
}

// A cursor never moves backwards, whoever commits it.
func TestCursorNeverMovesBackwards(t *testing.T) {
	db, l, run := setup(t)
	ctx := context.Background()
	for _, c := range []cursor.Cursor{{TS: t0.Add(time.Hour), ID: "b"}, {TS: t0, ID: "z"}, {TS: t0.Add(time.Hour), ID: "a"}} {
		if _, err := l.Commit(ctx, run, load.Commit{Batch: &transform.Batch{}, Checkpoints: []load.Checkpoint{{Partition: "p", Cursor: c, Newest: t0.Add(2 * time.Hour)}}}); err != nil {
			t.Fatal(err)
		}
	}
	cursors, err := state.New(db.Pool, nil).Cursors(ctx, run.Source, run.Stream)
	if err != nil {
		t.Fatal(err)
	}
	if got := cursors["p"]; !got.TS.Equal(t0.Add(time.Hour)) || got.ID != "b" {
		t.Fatalf("cursor %v, want the latest of the three (%v b)", got, t0.Add(time.Hour))
	}
	// A cursor hand-edited to {} counts as the start: the next one moves it.
	if _, err := db.Pool.Exec(ctx, `UPDATE sync_state SET cursor = '{}'`); err != nil {
		t.Fatal(err)
	}
	forward := cursor.Cursor{TS: t0.Add(90 * time.Minute)}
	if _, err := l.Commit(ctx, run, load.Commit{Batch: &transform.Batch{}, Checkpoints: []load.Checkpoint{{Partition: "p", Cursor: forward}}}); err != nil {
		t.Fatal(err)
	}
	if got := scalar[time.Time](t, db, "SELECT (cursor->>'ts')::timestamptz FROM sync_state"); !got.Equal(forward.TS) {
		t.Fatalf("cursor %v, want it moved forward to %v", got, forward.TS)
	}
}

// A cursor's reread time moves forward on its own and stays when the
// position moves without it; its probe fingerprint is the last one
// written; a commit that changes none of them writes nothing.
func TestCursorRereadMovesOnItsOwn(t *testing.T) {
	db, l, run := setup(t)
	ctx := context.Background()
	r1, r2 := t0.Add(time.Hour), t0.Add(2*time.Hour)
	for i, step := range []struct {
		c          cursor.Cursor
		want       cursor.Cursor
		wantWrites int64
	}{
		{cursor.Cursor{TS: t0, ID: "a", Reread: r1}, cursor.Cursor{TS: t0, ID: "a", Reread: r1}, 1},
		{cursor.Cursor{TS: t0, ID: "a", Reread: r1}, cursor.Cursor{TS: t0, ID: "a", Reread: r1}, 0},                       // nothing moved
		{cursor.Cursor{TS: t0.Add(time.Minute), ID: "b"}, cursor.Cursor{TS: t0.Add(time.Minute), ID: "b", Reread: r1}, 1}, // position only
		{cursor.Cursor{TS: t0, ID: "a", Reread: r2}, cursor.Cursor{TS: t0.Add(time.Minute), ID: "b", Reread: r2}, 1},      // reread only
		{cursor.Cursor{TS: t0.Add(time.Minute), ID: "b", Reread: r1}, cursor.Cursor{TS: t0.Add(time.Minute), ID: "b", Reread: r2}, 0},
		{cursor.Cursor{TS: t0.Add(time.Minute), ID: "b", Probe: "f1"}, cursor.Cursor{TS: t0.Add(time.Minute), ID: "b", Reread: r2, Probe: "f1"}, 1}, // a probe
		{cursor.Cursor{TS: t0.Add(time.Minute), ID: "b", Probe: "f1"}, cursor.Cursor{TS: t0.Add(time.Minute), ID: "b", Reread: r2, Probe: "f1"}, 0}, // the same
		{cursor.Cursor{TS: t0, ID: "a", Probe: "f2"}, cursor.Cursor{TS: t0.Add(time.Minute), ID: "b", Reread: r2, Probe: "f2"}, 1},                  // another
		{cursor.Cursor{TS: t0.Add(time.Minute), ID: "b"}, cursor.Cursor{TS: t0.Add(time.Minute), ID: "b", Reread: r2}, 1},                           // none: cleared
	} {
		var xminBefore string
		_ = db.Pool.QueryRow(ctx, "SELECT coalesce((SELECT xmin::text FROM sync_state), '')").Scan(&xminBefore)
		if _, err := l.Commit(ctx, run, load.Commit{Batch: &transform.Batch{}, Checkpoints: []load.Checkpoint{{Partition: "p", Cursor: step.c}}}); err != nil {
			t.Fatal(err)
		}
		var xminAfter string
		_ = db.Pool.QueryRow(ctx, "SELECT xmin::text FROM sync_state").Scan(&xminAfter)
		if wrote := xminAfter != xminBefore; wrote != (step.wantWrites == 1) {
			t.Fatalf("step %d: wrote the row %v, want %v", i, wrote, step.wantWrites == 1)
		}
		cursors, err := state.New(db.Pool, nil).Cursors(ctx, run.Source, run.Stream)
		if err != nil {
			t.Fatal(err)
		}
		if got := cursors["p"]; !got.TS.Equal(step.want.TS) || got.ID != step.want.ID || !got.Reread.Equal(step.want.Reread) || got.Probe != step.want.Probe {
			t.Fatalf("step %d: cursor %+v, want %+v", i, got, step.want)
		}
	}
}

// A delivery status only moves forward, whoever brings it; a status for a
// message never seen creates it with what is known, and the platform's
// full record completes it later without moving the status back.
func TestStatusesOnlyMoveForward(t *testing.T) {
	db, l, run := setup(t)
	ctx := context.Background()
	status := func(id, st string) transform.Message {
		raw, _ := json.Marshal(map[string]string{"id": id, "status": st})
		return transform.Message{ExternalID: id, Direction: "outbound", Kind: "other", Status: st, To: "5511988887777",
			SentAt: t0, Raw: raw, StatusOnly: true}
	}
	commit := func(msgs ...transform.Message) int64 {
		t.Helper()
		res, err := l.Commit(ctx, run, load.Commit{Batch: &transform.Batch{Messages: msgs}})
		if err != nil {
			t.Fatal(err)
		}
		return res.Written
	}
	stored := func(id string) (st string, body *string) {
		t.Helper()
		if err := db.Pool.QueryRow(ctx, `SELECT status, body FROM messages WHERE external_id = $1`, id).Scan(&st, &body); err != nil {
			t.Fatal(err)
		}
		return st, body
	}
	// A status for a message never seen: created, no body.
	if n := commit(status("w1", "sent")); n != 1 {
		t.Fatalf("first status wrote %d rows", n)
	}
	if st, body := stored("w1"); st != "sent" || body != nil {
		t.Fatalf("created as %q with body %v", st, body)
	}
	// read, then a late delivered: read stays, and the late one writes nothing.
	commit(status("w1", "read"))
	if n := commit(status("w1", "delivered")); n != 0 {
		t.Fatalf("a late delivered wrote %d rows", n)
	}
	if st, _ := stored("w1"); st != "read" {
		t.Fatalf("status %q after a late delivered, want read", st)
	}
	// Several callbacks of one message in one batch: the most advanced wins.
	commit(status("w2", "delivered"), status("w2", "sent"), status("w2", "read"), status("w2", "sent"))
	if st, _ := stored("w2"); st != "read" {
		t.Fatalf("w2 status %q, want read", st)
	}
	// A read callback without sentAt (its time is readAt) comes first; the
	// sent one that follows gives the earlier, real sent_at.
	late, early := status("w3", "read"), status("w3", "sent")
	late.SentAt, early.SentAt = t0.Add(10*time.Minute), t0
	commit(late)
	if n := commit(early); n != 1 {
		t.Fatalf("an earlier sent_at wrote %d rows, want 1", n)
	}
	var sentAt time.Time
	if err := db.Pool.QueryRow(ctx, `SELECT sent_at FROM messages WHERE external_id = 'w3'`).Scan(&sentAt); err != nil || !sentAt.Equal(t0) {
		t.Fatalf("w3 sent_at %v (%v), want %v", sentAt, err, t0)
	}
	if st, _ := stored("w3"); st != "read" {
		t.Fatalf("w3 status %q, want read", st)
	}
	if n := commit(early); n != 0 {
		t.Fatalf("the same callback again wrote %d rows", n)
	}
	// The full record comes later: its body lands, its older status does not.
	full := msg("w1", t0.Add(time.Minute), "Olá, seu pedido saiu")
	full.Direction, full.Status = "outbound", "delivered"
	commit(full)
	if st, body := stored("w1"); st != "read" || body == nil || *body != "Olá, seu pedido saiu" {
		t.Fatalf("after the full record: %q, %v; want read and its body", st, body)
	}
	if n := commit(full); n != 0 {
		t.Fatalf("the same full record again wrote %d rows", n)
	}
}

// Two commits of one message at once: the one that read the row before
// the other moved its status on still leaves the status where the other
// put it (a status moves forward only, whatever the order of commits).
func TestAConcurrentCommitDoesNotLowerAStatus(t *testing.T) {
	db, l, run := setup(t)
	ctx := context.Background()
	out := func(status, body string, updated time.Time) transform.Message {
		m := msg("m1", updated, body)
		m.Direction, m.Status = "outbound", status
		return m
	}
	if _, err := l.Commit(ctx, run, load.Commit{Batch: &transform.Batch{Messages: []transform.Message{out("sent", "oi", t0)}}}); err != nil {
		t.Fatal(err)
	}
	ahead, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer ahead.Rollback(ctx)
	if _, err := l.CommitIn(ctx, ahead, run, load.Commit{Batch: &transform.Batch{Messages: []transform.Message{out("read", "oi", t0.Add(time.Minute))}}}); err != nil {
		t.Fatal(err)
	}
	behind := make(chan error, 1)
	go func() {
		// Reads the row as sent (ahead has not committed), then waits for
		// ahead's lock.
		_, err := l.Commit(ctx, run, load.Commit{Batch: &transform.Batch{Messages: []transform.Message{out("delivered", "oi!", t0.Add(time.Minute))}}})
		behind <- err
	}()
	deadline := time.Now().Add(time.Minute)
	for scalar[int](t, db, `SELECT count(*) FROM pg_locks WHERE NOT granted`) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the second commit never waited for the first")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := ahead.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-behind; err != nil {
		t.Fatal(err)
	}
	if st, body := scalar[string](t, db, `SELECT status FROM messages WHERE external_id = 'm1'`), scalar[string](t, db, `SELECT body FROM messages WHERE external_id = 'm1'`); st != "read" || body != "oi!" {
		t.Fatalf("status %q, body %q; want read, and the later commit's body", st, body)
	}
}
