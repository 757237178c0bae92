package load_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"syncer/internal/cursor"
	"syncer/internal/dbtest"
	"syncer/internal/load"
	"syncer/internal/state"
	"syncer/internal/transform"
)

var t0 = time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC)

func setup(t *testing.T) (*dbtest.DB, *load.Loader, *state.Run) {
	t.Helper()
	t.Parallel()
	db := dbtest.New(t)
	store := state.New(db.Pool, nil)
	l := load.New(store, nil)
	ctx := context.Background()
	src, err := store.Source(ctx, "acme-ogmma", "ogmma")
	if err != nil {
		t.Fatal(err)
	}
	run, err := store.StartRun(ctx, src, "messages", state.ModeIncremental, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return db, l, run
}

func msg(id string, updated time.Time, body string) transform.Message {
	raw, _ := json.Marshal(map[string]string{"id": id, "content": body, "updatedAt": updated.Format(time.RFC3339)})
	return transform.Message{
		ExternalID: id, ConversationID: "conv1", ChannelID: "chan1", ContactID: "5511977776666",
		Direction: "inbound", Kind: "text", Status: "received", Body: body,
		SentAt: t0, UpdatedAt: updated, Raw: raw,
	}
}

func scalar[T any](t *testing.T, db *dbtest.DB, q string, args ...any) T {
	t.Helper()
	var v T
	if err := db.Pool.QueryRow(context.Background(), q, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v
}

func TestCommitWritesOnlyChanges(t *testing.T) {
	db, l, run := setup(t)
	ctx := context.Background()
	b := &transform.Batch{Messages: []transform.Message{msg("m1", t0, "Olá"), msg("m2", t0, "Tudo bem?")}}
	cur := cursor.Cursor{TS: t0, ID: "m2"}

	res, err := l.Commit(ctx, run, load.Commit{Batch: b, Checkpoints: []load.Checkpoint{{Partition: "p", Cursor: cur}}, Pages: 1, RowsRead: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Written != 2 {
		t.Fatalf("first commit wrote %d rows, want 2", res.Written)
	}
	res, err = l.Commit(ctx, run, load.Commit{Batch: b, Checkpoints: []load.Checkpoint{{Partition: "p", Cursor: cur}}, Pages: 1, RowsRead: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Written != 0 {
		t.Fatalf("same batch again wrote %d rows, want 0", res.Written)
	}
	changed := &transform.Batch{Messages: []transform.Message{msg("m1", t0.Add(time.Second), "Olá!")}}
	if res, err = l.Commit(ctx, run, load.Commit{Batch: changed}); err != nil || res.Written != 1 {
		t.Fatalf("changed row: written %d, err %v; want 1, nil", res.Written, err)
	}
	if got := scalar[string](t, db, "SELECT body FROM messages WHERE external_id = 'm1'"); got != "Olá!" {
		t.Fatalf("body = %q", got)
	}
	cursors, err := state.New(db.Pool, nil).Cursors(ctx, run.Source, "messages")
	if err != nil {
		t.Fatal(err)
	}
	if got := cursors["p"]; !got.TS.Equal(t0) || got.ID != "m2" {
		t.Fatalf("cursor = %v", got)
	}
	tot, err := state.New(db.Pool, nil).FinishRun(ctx, run, state.StatusSucceeded, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tot.Pages != 2 || tot.RowsRead != 4 || tot.RowsWritten != 3 {
		t.Fatalf("totals = %+v", tot)
	}
}

func TestCommitKeepsNewestOfDuplicateKeys(t *testing.T) {
	db, l, run := setup(t)
	ctx := context.Background()
	b := &transform.Batch{Messages: []transform.Message{
		msg("m1", t0.Add(2*time.Second), "newest"),
		msg("m1", t0, "oldest"),
		msg("m1", t0.Add(time.Second), "middle"),
	}}
	if _, err := l.Commit(ctx, run, load.Commit{Batch: b}); err != nil {
		t.Fatal(err)
	}
	if got := scalar[string](t, db, "SELECT body FROM messages WHERE external_id = 'm1'"); got != "newest" {
		t.Fatalf("body = %q, want newest", got)
	}
	// An older version arriving later (a retried webhook) does not win.
	old := &transform.Batch{Messages: []transform.Message{msg("m1", t0, "oldest")}}
	if res, err := l.Commit(ctx, run, load.Commit{Batch: old}); err != nil || res.Written != 0 {
		t.Fatalf("older version: written %d, err %v", res.Written, err)
	}
}

func TestCommitCleansTextAndKeepsRaw(t *testing.T) {
	db, l, run := setup(t)
	m := msg("m1", t0, "a\x00b \xff c")
	m.Raw = json.RawMessage(`{"id":"m1","content":"a\u0000b","note":"keep \\u0000 literal"}`)
	if _, err := l.Commit(context.Background(), run, load.Commit{Batch: &transform.Batch{Messages: []transform.Message{m}}}); err != nil {
		t.Fatal(err)
	}
	if got := scalar[string](t, db, "SELECT body FROM messages"); got != "ab  c" {
		t.Fatalf("body = %q", got)
	}
	if got := scalar[string](t, db, "SELECT raw->>'note' FROM messages"); got != `keep \u0000 literal` {
		t.Fatalf("raw note = %q", got)
	}
}

func TestCommitQuarantinesOnceAndLoadsTheRest(t *testing.T) {
	db, l, run := setup(t)
	ctx := context.Background()
	bad := msg("m2", t0, "x")
	bad.Direction = "sideways"
	b := &transform.Batch{
		Messages:   []transform.Message{msg("m1", t0, "ok"), bad},
		Rejections: []transform.Rejection{{ExternalID: "m3", Reason: "missing createdAt", Payload: json.RawMessage(`{"id":"m3"}`)}},
	}
	for i := 0; i < 2; i++ {
		res, err := l.Commit(ctx, run, load.Commit{Batch: b})
		if err != nil {
			t.Fatal(err)
		}
		if res.Quarantined != 2 {
			t.Fatalf("quarantined %d, want 2", res.Quarantined)
		}
	}
	if n := scalar[int64](t, db, "SELECT count(*) FROM quarantine"); n != 2 {
		t.Fatalf("quarantine rows = %d, want 2 (the same records seen twice)", n)
	}
	if got := scalar[string](t, db, "SELECT reason FROM quarantine WHERE external_id = 'm2'"); !strings.Contains(got, "direction") {
		t.Fatalf("reason = %q", got)
	}
	if n := scalar[int64](t, db, "SELECT count(*) FROM messages"); n != 1 {
		t.Fatalf("messages = %d, want 1", n)
	}
}

func TestFailedCommitMovesNothing(t *testing.T) {
	db, l, run := setup(t)
	ctx := context.Background()
	cur := cursor.Cursor{TS: t0, ID: "m1"}
	ghost := &state.Run{ID: run.ID, Source: run.Source, Stream: run.Stream, Mode: run.Mode}
	ghost.Source.ID = 999999 // violates the foreign key at merge time
	_, err := l.Commit(ctx, ghost, load.Commit{Batch: &transform.Batch{Messages: []transform.Message{msg("m1", t0, "x")}}, Checkpoints: []load.Checkpoint{{Partition: "p", Cursor: cur}}})
	if err == nil {
		t.Fatal("commit for a missing source succeeded")
	}
	if n := scalar[int64](t, db, "SELECT count(*) FROM sync_state"); n != 0 {
		t.Fatalf("cursor saved by a failed commit")
	}
	if n := scalar[int64](t, db, "SELECT count(*) FROM messages"); n != 0 {
		t.Fatalf("rows saved by a failed commit")
	}
}

func TestDerivedRowsFillAndWiden(t *testing.T) {
	db, l, run := setup(t)
	ctx := context.Background()
	conv := func(opened, updated time.Time, contact string) transform.Conversation {
		return transform.Conversation{ExternalID: "c1", Kind: "conversation", ContactID: contact, OpenedAt: opened, UpdatedAt: updated, Raw: json.RawMessage(`{"derived":true}`), Derived: true}
	}
	ch := transform.Channel{ExternalID: "chan1", Phone: "5511999998888", Raw: json.RawMessage(`{}`), Derived: true}
	steps := []struct {
		c       transform.Conversation
		written int64
	}{
		{conv(t0, t0.Add(time.Minute), ""), 2},                      // conversation + channel
		{conv(t0.Add(time.Hour), t0.Add(time.Hour), "5511"), 1},     // fills the contact only
		{conv(t0.Add(-time.Hour), t0.Add(2*time.Hour), "5599"), 1},  // widens both ends, keeps the contact
		{conv(t0.Add(time.Minute), t0.Add(time.Minute), "5599"), 0}, // inside the span: nothing
	}
	for i, s := range steps {
		res, err := l.Commit(ctx, run, load.Commit{Batch: &transform.Batch{Channels: []transform.Channel{ch}, Conversations: []transform.Conversation{s.c}}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Written != s.written {
			t.Errorf("step %d wrote %d, want %d", i, res.Written, s.written)
		}
	}
	var opened, updated time.Time
	var contact string
	if err := db.Pool.QueryRow(ctx, "SELECT opened_at, updated_at, contact_external_id FROM conversations").Scan(&opened, &updated, &contact); err != nil {
		t.Fatal(err)
	}
	if !opened.Equal(t0.Add(-time.Hour)) || !updated.Equal(t0.Add(2*time.Hour)) || contact != "5511" {
		t.Fatalf("conversation = %v %v %q", opened, updated, contact)
	}
}

func TestEveryTableMerges(t *testing.T) {
	db, l, run := setup(t)
	open := true
	raw := json.RawMessage(`{"x":1}`)
	b := &transform.Batch{
		Channels:      []transform.Channel{{ExternalID: "s1", Name: "Vendas", Kind: "whatsapp", Phone: "5541990000001", Status: "connected", CreatedAt: t0, UpdatedAt: t0, Raw: raw}},
		Contacts:      []transform.Contact{{ExternalID: "k1", Name: "Ana", Phone: "5541990000000", ChannelID: "s1", UpdatedAt: t0, Raw: raw}},
		Agents:        []transform.Agent{{ExternalID: "u1", Name: "João", Email: "joao@example.com", UpdatedAt: t0, Raw: raw}},
		Departments:   []transform.Department{{ExternalID: "d1", Name: "Suporte", UpdatedAt: t0, Raw: raw}},
		Conversations: []transform.Conversation{{ExternalID: "t1", Kind: "ticket", Protocol: "2025102948644", IsOpen: &open, OpenedAt: t0, Topics: []string{"entrega", "pagamento"}, UpdatedAt: t0, Raw: raw}},
		Messages:      []transform.Message{msg("m1", t0, "oi")},
	}
	ctx := context.Background()
	for i, want := range []int64{6, 0} {
		res, err := l.Commit(ctx, run, load.Commit{Batch: b})
		if err != nil {
			t.Fatal(err)
		}
		if res.Written != want {
			t.Fatalf("commit %d wrote %d, want %d", i, res.Written, want)
		}
	}
	if got := scalar[[]string](t, db, "SELECT topics FROM conversations"); len(got) != 2 || got[0] != "entrega" {
		t.Fatalf("topics = %v", got)
	}
}

func TestCompletePassMarksMissingRowsDeleted(t *testing.T) {
	db, l, run := setup(t)
	ctx := context.Background()
	ch := func(id string) transform.Channel {
		return transform.Channel{ExternalID: id, Name: "Conexão " + id, Kind: "whatsapp", UpdatedAt: t0, Raw: json.RawMessage(`{}`)}
	}
	first := &transform.Batch{Channels: []transform.Channel{ch("a"), ch("b"), ch("c")}}
	if _, err := l.Commit(ctx, run, load.Commit{Batch: first, Complete: &load.Completion{Table: "channels", SeenIDs: []string{"a", "b", "c"}}}); err != nil {
		t.Fatal(err)
	}
	second := &transform.Batch{Channels: []transform.Channel{ch("a"), ch("c")}}
	res, err := l.Commit(ctx, run, load.Commit{Batch: second, Complete: &load.Completion{Table: "channels", SeenIDs: []string{"a", "c"}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Written != 1 {
		t.Fatalf("wrote %d, want 1 (b marked deleted)", res.Written)
	}
	if n := scalar[int64](t, db, "SELECT count(*) FROM channels WHERE deleted_at IS NOT NULL"); n != 1 {
		t.Fatalf("%d deleted channels, want 1", n)
	}
	if n := scalar[int64](t, db, "SELECT count(*) FROM channels"); n != 3 {
		t.Fatalf("%d channels, want 3 (never a hard delete)", n)
	}
	// It comes back: the merge clears deleted_at.
	if _, err := l.Commit(ctx, run, load.Commit{Batch: first, Complete: &load.Completion{Table: "channels", SeenIDs: []string{"a", "b", "c"}}}); err != nil {
		t.Fatal(err)
	}
	if n := scalar[int64](t, db, "SELECT count(*) FROM channels WHERE deleted_at IS NOT NULL"); n != 0 {
		t.Fatalf("%d deleted channels after b came back", n)
	}
}

func TestImportedTicketsMeetTheAPIByProtocol(t *testing.T) {
	db, l, run := setup(t)
	ctx := context.Background()
	closed := false
	// The export's times are later than the API's updatedAt: they must not
	// keep the API's row out.
	imported := transform.Conversation{Kind: "ticket", Protocol: "2025102948644", IsOpen: &closed, OpenedAt: t0, ClosedAt: t0.Add(time.Hour),
		UpdatedAt: t0.Add(5 * time.Hour), Topics: []string{"entrega"}, Raw: json.RawMessage(`{"protocolo":"2025102948644"}`), ByProtocol: true}
	file := &state.ImportedFileRecord{SHA256: "abc", Path: "tickets.csv", Format: "digisac-tickets-csv", Rows: 1, Done: 1}
	line := msg("txt:2025102948644:1", t0, "Olá")
	line.ConversationID, line.ConversationProtocol, line.FromTranscript = "", "2025102948644", true
	if _, err := l.Commit(ctx, run, load.Commit{Batch: &transform.Batch{Conversations: []transform.Conversation{imported}, Messages: []transform.Message{line}}, File: file}); err != nil {
		t.Fatal(err)
	}
	if got := scalar[string](t, db, "SELECT external_id FROM conversations"); got != "protocol:2025102948644" {
		t.Fatalf("imported ticket keyed %q", got)
	}
	if p, ok, err := state.New(db.Pool, nil).ImportedFile(ctx, run.Source, "abc"); err != nil || !ok || p.Done != 1 || p.Complete {
		t.Fatalf("file progress not recorded: %+v %v %v", p, ok, err)
	}
	// The API's ticket of that protocol adopts the row.
	api := transform.Conversation{ExternalID: "9c00-uuid", Kind: "ticket", Protocol: "2025102948644", IsOpen: &closed, OpenedAt: t0,
		AgentID: "u1", UpdatedAt: t0.Add(2 * time.Hour), Raw: json.RawMessage(`{"id":"9c00-uuid"}`)}
	if _, err := l.Commit(ctx, run, load.Commit{Batch: &transform.Batch{Conversations: []transform.Conversation{api}}}); err != nil {
		t.Fatal(err)
	}
	if got := scalar[string](t, db, "SELECT string_agg(external_id, ',') FROM conversations"); got != "9c00-uuid" {
		t.Fatalf("conversations after the API sync: %q, want one row 9c00-uuid", got)
	}
	if got := scalar[string](t, db, "SELECT conversation_external_id FROM messages"); got != "9c00-uuid" {
		t.Fatalf("the imported message still points at %q", got)
	}
	if got := scalar[string](t, db, "SELECT agent_external_id FROM conversations"); got != "u1" {
		t.Fatalf("the API's values did not land: agent %q", got)
	}
	// Importing again only fills what the API's row lacks.
	if _, err := l.Commit(ctx, run, load.Commit{Batch: &transform.Batch{Conversations: []transform.Conversation{imported}}}); err != nil {
		t.Fatal(err)
	}
	if n := scalar[int64](t, db, "SELECT count(*) FROM conversations"); n != 1 {
		t.Fatalf("%d conversations after a re-import, want 1", n)
	}
	if got := scalar[[]string](t, db, "SELECT topics FROM conversations"); len(got) != 1 || got[0] != "entrega" {
		t.Fatalf("topics not filled from the import: %v", got)
	}
}

func TestImportAndAPIRacingForOneTicketLeaveOneRow(t *testing.T) {
	db, l, run := setup(t)
	ctx := context.Background()
	closed := false
	const n = 20
	errs := make(chan error, 2*n)
	for i := range n {
		p := fmt.Sprintf("20250000000%02d", i)
		imported := transform.Conversation{Kind: "ticket", Protocol: p, IsOpen: &closed, Raw: json.RawMessage(`{}`), ByProtocol: true}
		line := msg("txt:"+p+":1", t0, "Olá")
		line.ConversationID, line.ConversationProtocol, line.FromTranscript = "", p, true
		api := transform.Conversation{ExternalID: "uuid-" + p, Kind: "ticket", Protocol: p, IsOpen: &closed, UpdatedAt: t0, Raw: json.RawMessage(`{}`)}
		go func() {
			_, err := l.Commit(ctx, run, load.Commit{Batch: &transform.Batch{Conversations: []transform.Conversation{imported}, Messages: []transform.Message{line}}})
			errs <- err
		}()
		go func() {
			_, err := l.Commit(ctx, run, load.Commit{Batch: &transform.Batch{Conversations: []transform.Conversation{api}}})
			errs <- err
		}()
	}
	for range 2 * n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := scalar[int64](t, db, "SELECT count(*) FROM conversations"); got != n {
		t.Fatalf("%d conversations for %d tickets", got, n)
	}
	if got := scalar[int64](t, db, "SELECT count(*) FROM messages WHERE conversation_external_id LIKE 'protocol:%'"); got != 0 {
		t.Fatalf("%d messages still point at placeholders", got)
	}
}
