package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"syncer/internal/dbtest"
	"syncer/internal/sim"
	ogmmasim "syncer/internal/sim/ogmma"
)

// TestStateShowAndReset: state show lists a stream's cursors; reset asks
// on a terminal, refuses off one without --yes, waits for no run (the
// lease), sets cursors back or deletes them, and leaves a record in
// sync_runs that names who did it; the next sync reads again from there.
func TestStateShowAndReset(t *testing.T) {
	db := dbtest.New(t)
	og := ogmmasim.New(ogmmasim.Config{Seed: 17, ConversationsPerChannel: 3, MessagesPerConversation: 30})
	srv := httptest.NewServer(sim.NewServer(og))
	defer srv.Close()
	cfg := ogmmaConfig(t, srv.URL, og.APIKey(), og, "")
	base := []string{"--config", cfg, "--database-url", db.URL, "--log-level", "error"}
	if code, out, errs := cli(t, append([]string{"sync"}, base...)...); code != exitOK {
		t.Fatalf("sync: %d\n%s\n%s", code, out, errs)
	}
	code, out, errs := cli(t, append([]string{"state", "show", "--source", "acme-ogmma", "--stream", "messages", "--json"}, base...)...)
	var shown struct {
		Cursors []struct {
			Partition string          `json:"partition"`
			Cursor    json.RawMessage `json:"cursor"`
		} `json:"cursors"`
	}
	if err := json.Unmarshal([]byte(out), &shown); code != exitOK || err != nil || len(shown.Cursors) != 3 {
		t.Fatalf("state show --json: %d %v\n%s\n%s", code, err, out, errs)
	}
	conv := shown.Cursors[0].Partition

	// Off a terminal, without --yes: refused, nothing changed.
	stdinIsTerminal = func() bool { return false }
	code, _, errs = cli(t, append([]string{"state", "reset", "--source", "acme-ogmma", "--stream", "messages"}, base...)...)
	if code != exitUsage || !strings.Contains(errs, "--yes") {
		t.Fatalf("reset off a terminal: %d %s", code, errs)
	}
	// On a terminal: asked; anything but yes changes nothing.
	stdinIsTerminal = func() bool { return true }
	promptInput = strings.NewReader("no\n")
	code, out, _ = cli(t, append([]string{"state", "reset", "--source", "acme-ogmma", "--stream", "messages", "--partition", conv, "--to", "2024-01-01"}, base...)...)
	if code != exitFailed || !strings.Contains(out, "Type yes") || !strings.Contains(out, "Nothing changed") {
		t.Fatalf("reset answered no: %d\n%s", code, out)
	}
	promptInput = strings.NewReader("yes\n")
	code, out, errs = cli(t, append([]string{"state", "reset", "--source", "acme-ogmma", "--stream", "messages", "--partition", conv, "--to", "2024-01-01"}, base...)...)
	if code != exitOK || !strings.Contains(out, "1 cursor(s) changed") {
		t.Fatalf("reset --to: %d\n%s\n%s", code, out, errs)
	}
	stdinIsTerminal = func() bool { return false }
	var ts string
	if err := db.Pool.QueryRow(context.Background(), "SELECT cursor->>'ts' FROM sync_state WHERE partition_key = $1", conv).Scan(&ts); err != nil || !strings.HasPrefix(ts, "2024-01-01T00:00:00") {
		t.Fatalf("the cursor after reset --to: %q %v", ts, err)
	}

	// While a run holds the stream's lease, a reset waits for nothing: it
	// refuses.
	ctx := context.Background()
	acquired, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lock := acquired.Hijack() // closed below, which drops the lock with the session
	if _, err := lock.Exec(ctx, "SELECT pg_advisory_lock(hashtextextended(current_schema() || '/acme-ogmma/messages', 0))"); err != nil {
		t.Fatal(err)
	}
	code, _, errs = cli(t, append([]string{"state", "reset", "--yes", "--source", "acme-ogmma", "--stream", "messages"}, base...)...)
	if err := lock.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if code != exitFailed || !strings.Contains(errs, "run of the stream is going on") {
		t.Fatalf("reset during a run: %d %s", code, errs)
	}

	code, out, _ = cli(t, append([]string{"state", "reset", "--yes", "--source", "acme-ogmma", "--stream", "messages"}, base...)...)
	if code != exitOK || !strings.Contains(out, "3 cursor(s) changed") {
		t.Fatalf("reset --yes: %d\n%s", code, out)
	}
	var who, note string
	if err := db.Pool.QueryRow(ctx, "SELECT worker, note FROM sync_runs WHERE mode = 'reset' ORDER BY id DESC LIMIT 1").Scan(&who, &note); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(who, "@") || !strings.Contains(note, "3 deleted") || !strings.Contains(note, who) {
		t.Fatalf("the record: worker %q, note %q", who, note)
	}
	code, out, _ = cli(t, append([]string{"state", "show", "--source", "acme-ogmma", "--stream", "messages"}, base...)...)
	if code != exitOK || !strings.Contains(out, "no saved cursor") {
		t.Fatalf("show after reset: %d\n%s", code, out)
	}
	// The next sync reads everything again and writes nothing new.
	if code, out, errs := cli(t, append([]string{"sync"}, base...)...); code != exitOK {
		t.Fatalf("sync after reset: %d\n%s\n%s", code, out, errs)
	}
	compareWithSimulator(t, db, og)
	for _, bad := range [][]string{{"state"}, {"state", "list"}, {"state", "show"}, {"state", "show", "--source", "acme-ogmma", "--stream", "messages", "--to", "2024-01-01"},
		{"state", "reset", "--source", "acme-ogmma", "--stream", "tickets"}} {
		if code, _, _ := cli(t, append(bad, base...)...); code != exitUsage {
			t.Errorf("%v: exit %d, want 2", bad, code)
		}
	}
}
