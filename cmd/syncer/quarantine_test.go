package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"syncer/internal/dbtest"
	"syncer/internal/sim"
	ogmmasim "syncer/internal/sim/ogmma"
)

// quarantineCLI runs syncer quarantine in process as run does and returns
// its exit code and output.
func quarantineCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	g, rest, err := parseGlobals(nil)
	if err != nil || len(rest) > 0 {
		t.Fatalf("parseGlobals: %v %v", rest, err)
	}
	var out, errb bytes.Buffer
	e := &env{globals: g, stdout: &out, stderr: &errb}
	defer e.close()
	code := exitCode(e.quarantine(context.Background(), args), e)
	return code, out.String(), errb.String()
}

type quarantineList struct {
	Count   int `json:"count"`
	Records []struct {
		ID         int64           `json:"id"`
		Source     string          `json:"source"`
		Stream     string          `json:"stream"`
		RunID      *int64          `json:"run_id"`
		ExternalID *string         `json:"external_id"`
		Reason     string          `json:"reason"`
		Payload    json.RawMessage `json:"payload"`
	} `json:"records"`
}

func listQuarantineJSON(t *testing.T, args ...string) quarantineList {
	t.Helper()
	code, out, errs := quarantineCLI(t, append([]string{"list", "--json"}, args...)...)
	var got quarantineList
	if code != exitOK || json.Unmarshal([]byte(out), &got) != nil {
		t.Fatalf("quarantine list --json %v: exit %d\n%s\n%s", args, code, out, errs)
	}
	if got.Count != len(got.Records) {
		t.Fatalf("count %d, %d records", got.Count, len(got.Records))
	}
	return got
}

// TestQuarantineListShowRetry: a sync quarantines Ogmma's bad records; list
// and show print them; once one's payload maps (as if today's transform
// had been fixed), retry writes its message and takes it out of the
// quarantine, leaves the others, moves no cursor and exits 3 while some
// still fail; with all mapping it exits 0.
func TestQuarantineListShowRetry(t *testing.T) {
	t.Parallel()
	db, base := quarantinedWarehouse(t)
	ctx := context.Background()

	all := listQuarantineJSON(t, base...)
	if all.Count < 3 {
		t.Fatalf("%d records quarantined, want at least 3", all.Count)
	}
	first := all.Records[0]
	if first.Source != "acme-ogmma" || first.Stream != "messages" || first.Reason == "" || first.RunID == nil || len(first.Payload) == 0 {
		t.Fatalf("first record: %+v", first)
	}

	code, out, errs := quarantineCLI(t, append([]string{"list"}, base...)...)
	if code != exitOK || !strings.Contains(out, "ID  ") || !strings.Contains(out, "REASON") ||
		!strings.Contains(out, fmt.Sprintf("%d record(s)", all.Count)) {
		t.Fatalf("list: exit %d\n%s\n%s", code, out, errs)
	}

	// Filters.
	if got := listQuarantineJSON(t, append([]string{"--source", "acme-ogmma", "--stream", "messages"}, base...)...); got.Count != all.Count {
		t.Errorf("--source --stream: %d, want %d", got.Count, all.Count)
	}
	if got := listQuarantineJSON(t, append([]string{"--stream", "nope"}, base...)...); got.Count != 0 {
		t.Errorf("--stream nope: %d", got.Count)
	}
	if got := listQuarantineJSON(t, append([]string{"--source", "other"}, base...)...); got.Count != 0 {
		t.Errorf("--source other: %d", got.Count)
	}
	if got := listQuarantineJSON(t, append([]string{"--since", "2999-01-01"}, base...)...); got.Count != 0 {
		t.Errorf("--since 2999-01-01: %d", got.Count)
	}
	if got := listQuarantineJSON(t, append([]string{"--since", "2000-01-01T00:00:00Z"}, base...)...); got.Count != all.Count {
		t.Errorf("--since 2000: %d, want %d", got.Count, all.Count)
	}
	if got := listQuarantineJSON(t, append([]string{"--id", fmt.Sprint(first.ID)}, base...)...); got.Count != 1 || got.Records[0].ID != first.ID {
		t.Errorf("--id: %+v", got)
	}

	code, out, errs = quarantineCLI(t, append([]string{"show", "--id", fmt.Sprint(first.ID)}, base...)...)
	if code != exitOK || !strings.Contains(out, first.Reason) || !strings.Contains(out, "Payload:\n{\n  ") ||
		!strings.Contains(out, fmt.Sprintf("Run:         %d", *first.RunID)) {
		t.Fatalf("show: exit %d\n%s\n%s", code, out, errs)
	}
	if code, _, errs := quarantineCLI(t, append([]string{"show", "--id", "999999"}, base...)...); code != exitFailed || !strings.Contains(errs, "no quarantined record") {
		t.Errorf("show of a missing id: exit %d %s", code, errs)
	}

	// Today's transform now maps the first record: its payload becomes a
	// valid message of its own id.
	if _, err := db.Pool.Exec(ctx, `UPDATE quarantine SET payload = (SELECT raw FROM messages ORDER BY external_id LIMIT 1) || '{"id":"retry-fixed-1"}' WHERE id = $1`, first.ID); err != nil {
		t.Fatal(err)
	}
	var cursorsBefore string
	if err := db.Pool.QueryRow(ctx, `SELECT coalesce(string_agg(partition_key || '=' || cursor::text || updated_at::text, ',' ORDER BY partition_key), '') FROM sync_state`).Scan(&cursorsBefore); err != nil {
		t.Fatal(err)
	}
	code, out, errs = quarantineCLI(t, append([]string{"retry"}, base...)...)
	want := fmt.Sprintf("Tried %d, now mapped 1 (rows written ", all.Count)
	if code != exitPartial || !strings.Contains(out, want) || !strings.Contains(out, fmt.Sprintf("still failing %d.", all.Count-1)) {
		t.Fatalf("retry: exit %d, want 3 and %q\n%s\n%s", code, want, out, errs)
	}
	var n int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE external_id = 'retry-fixed-1'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("retried message: %d rows, %v", n, err)
	}
	after := listQuarantineJSON(t, base...)
	if after.Count != all.Count-1 {
		t.Fatalf("after retry %d records, want %d", after.Count, all.Count-1)
	}
	for _, r := range after.Records {
		if r.ID == first.ID {
			t.Fatalf("record %d still quarantined", first.ID)
		}
	}
	var cursorsAfter string
	if err := db.Pool.QueryRow(ctx, `SELECT coalesce(string_agg(partition_key || '=' || cursor::text || updated_at::text, ',' ORDER BY partition_key), '') FROM sync_state`).Scan(&cursorsAfter); err != nil {
		t.Fatal(err)
	}
	if cursorsAfter != cursorsBefore {
		t.Errorf("retry moved cursors:\n%s\n%s", cursorsBefore, cursorsAfter)
	}
	var runs int
	var status string
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) OVER (), status FROM sync_runs WHERE mode = 'retry' ORDER BY id DESC LIMIT 1`).Scan(&runs, &status); err != nil || runs != 1 || status != "partial" {
		t.Fatalf("retry runs: %d %q %v", runs, status, err)
	}

	// A stream whose records are not single JSON records is skipped.
	if _, err := db.Pool.Exec(ctx, `INSERT INTO quarantine (source_id, stream, reason, payload, fingerprint)
		SELECT source_id, 'some-file-format', 'line 3: bad', '{}', 'fp' FROM quarantine LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	code, out, _ = quarantineCLI(t, append([]string{"retry", "--stream", "some-file-format"}, base...)...)
	if code != exitPartial || !strings.Contains(out, "acme-ogmma/some-file-format: 1 record(s) cannot be retried yet") || !strings.Contains(out, "Tried 0,") {
		t.Fatalf("retry of a file format: exit %d\n%s", code, out)
	}

	// All fixed: exit 0 and the quarantine of messages is empty.
	if _, err := db.Pool.Exec(ctx, `UPDATE quarantine SET payload = (SELECT raw FROM messages ORDER BY external_id LIMIT 1) || jsonb_build_object('id', 'retry-fixed-' || id) WHERE stream = 'messages'`); err != nil {
		t.Fatal(err)
	}
	code, out, errs = quarantineCLI(t, append([]string{"retry", "--stream", "messages"}, base...)...)
	if code != exitOK || !strings.Contains(out, "still failing 0.") {
		t.Fatalf("retry of all: exit %d\n%s\n%s", code, out, errs)
	}
	if got := listQuarantineJSON(t, append([]string{"--stream", "messages"}, base...)...); got.Count != 0 {
		t.Fatalf("%d messages records left", got.Count)
	}
}

// TestQuarantineStillFailingReason: a retried record that fails for
// another reason keeps its row, with the new reason.
func TestQuarantineStillFailingReason(t *testing.T) {
	t.Parallel()
	db, base := quarantinedWarehouse(t)
	// A record quarantined for another reason than the direction (the
	// simulator's bad direction is "SIDEWAYS" too).
	var first struct{ ID int64 }
	for _, r := range listQuarantineJSON(t, base...).Records {
		if !strings.HasPrefix(r.Reason, "unknown direction") {
			first.ID = r.ID
			break
		}
	}
	if first.ID == 0 {
		t.Fatal("no record quarantined for a reason other than its direction")
	}
	if _, err := db.Pool.Exec(context.Background(), `UPDATE quarantine SET payload = '{"id":"x","conversationId":"c","channelId":"h","createdAt":"2024-01-01T00:00:00Z","direction":"UPWARDS"}' WHERE id = $1`, first.ID); err != nil {
		t.Fatal(err)
	}
	code, out, errs := quarantineCLI(t, append([]string{"retry", "--id", fmt.Sprint(first.ID)}, base...)...)
	if code != exitPartial || !strings.Contains(out, "Tried 1, now mapped 0 (rows written 0), still failing 1.") || !strings.Contains(out, `unknown direction "UPWARDS"`) {
		t.Fatalf("retry: exit %d\n%s\n%s", code, out, errs)
	}
	got := listQuarantineJSON(t, append([]string{"--id", fmt.Sprint(first.ID)}, base...)...)
	if got.Count != 1 || got.Records[0].Reason != `unknown direction "UPWARDS"` {
		t.Fatalf("after retry: %+v", got)
	}
}

func TestQuarantineUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{},
		{"purge"},
		{"list", "show"},
		{"show"},
		{"show", "--id", "1", "--stream", "messages"},
		{"list", "--id", "-4"},
		{"list", "--since", "yesterday"},
		{"retry", "--json"},
		{"list", "--nope"},
	} {
		code, _, errs := quarantineCLI(t, append(args, "--database-url", "postgres://127.0.0.1:1/none")...)
		if code != exitUsage || errs == "" {
			t.Errorf("quarantine %v: exit %d, want 2 (%q)", args, code, errs)
		}
	}
	code, out, _ := quarantineCLI(t, "--help")
	if code != exitOK || !strings.Contains(out, "--since T") || !strings.Contains(out, "--id N") || !strings.Contains(out, "--json") {
		t.Fatalf("--help: exit %d\n%s", code, out)
	}
}

// TestQuarantineRetryNeverWritesOverANewerVersion: a quarantined record
// whose record has been read since (its row is in the warehouse) is not
// written over that row, even when its old payload now maps; it leaves
// the quarantine as superseded.
func TestQuarantineRetryNeverWritesOverANewerVersion(t *testing.T) {
	t.Parallel()
	db, base := quarantinedWarehouse(t)
	ctx := context.Background()
	first := listQuarantineJSON(t, base...).Records[0]
	// The quarantined payload is an old version of a stored message: the
	// same id, another body.
	var id, body string
	if err := db.Pool.QueryRow(ctx, `SELECT external_id, body FROM messages WHERE body IS NOT NULL ORDER BY external_id LIMIT 1`).Scan(&id, &body); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE quarantine SET payload = (SELECT raw FROM messages WHERE external_id = $2) || jsonb_build_object('content', 'an old version') - 'updatedAt' WHERE id = $1`, first.ID, id); err != nil {
		t.Fatal(err)
	}
	code, out, errs := quarantineCLI(t, append([]string{"retry", "--id", fmt.Sprint(first.ID)}, base...)...)
	if code != exitOK || !strings.Contains(out, "now mapped 0 (rows written 0)") || !strings.Contains(out, "superseded 1") {
		t.Fatalf("retry: exit %d\n%s\n%s", code, out, errs)
	}
	var now string
	if err := db.Pool.QueryRow(ctx, `SELECT body FROM messages WHERE external_id = $1`, id).Scan(&now); err != nil || now != body {
		t.Fatalf("the stored message's body is %q (%v), want %q: the old payload went over it", now, err, body)
	}
	if got := listQuarantineJSON(t, append([]string{"--id", fmt.Sprint(first.ID)}, base...)...); got.Count != 0 {
		t.Fatalf("the superseded record is still quarantined: %+v", got)
	}
}

// quarantinedWarehouse is a warehouse synced once from an Ogmma simulator
// that serves 5% bad records, so that some are quarantined, and the flags
// that point a command at it.
func quarantinedWarehouse(t *testing.T) (*dbtest.DB, []string) {
	t.Helper()
	db := dbtest.New(t)
	og := ogmmasim.New(ogmmasim.Config{Seed: 5, ConversationsPerChannel: 2, MessagesPerConversation: 100, BadShare: 0.05})
	srv := httptest.NewServer(sim.NewServer(og))
	defer srv.Close()
	cfg := ogmmaConfig(t, srv.URL, og.APIKey(), og, "")
	if code, stdout, stderr := cli(t, "sync", "--config", cfg, "--database-url", db.URL, "--log-level", "error"); code != exitPartial {
		t.Fatalf("sync: exit %d\n%s\n%s", code, stdout, stderr)
	}
	return db, []string{"--config", cfg, "--database-url", db.URL, "--log-level", "error"}
}
