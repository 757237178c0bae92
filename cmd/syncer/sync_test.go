package main

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"syncer/internal/dbtest"
	"syncer/internal/pipeline"
	"syncer/internal/redact"
	"syncer/internal/sim"
	digisacsim "syncer/internal/sim/digisac"
	ogmmasim "syncer/internal/sim/ogmma"
	"syncer/internal/state"
	"syncer/internal/state/statedb"
)

func TestOutcomeCode(t *testing.T) {
	const (
		ok      = state.StatusSucceeded
		partial = state.StatusPartial
		failed  = state.StatusFailed
		skipped = pipeline.StatusSkipped
	)
	for _, tc := range []struct {
		statuses []string
		want     int
	}{
		{[]string{ok}, exitOK},
		{[]string{ok, ok}, exitOK},
		{[]string{ok, skipped}, exitOK},
		{[]string{skipped}, exitOK},
		{[]string{skipped, skipped}, exitOK},
		{[]string{failed}, exitFailed},
		{[]string{failed, skipped}, exitFailed},
		{[]string{failed, failed, skipped}, exitFailed},
		{[]string{ok, failed}, exitPartial},
		{[]string{ok, failed, skipped}, exitPartial},
		{[]string{partial}, exitPartial},
		{[]string{partial, skipped}, exitPartial},
		{[]string{partial, failed}, exitPartial},
		{nil, exitOK},
	} {
		var outcomes []pipeline.Outcome
		for i, s := range tc.statuses {
			outcomes = append(outcomes, pipeline.Outcome{Source: "s", Stream: fmt.Sprint(i), Status: s})
		}
		if got := outcomeCode(outcomes); got != tc.want {
			t.Errorf("%v: exit %d, want %d", tc.statuses, got, tc.want)
		}
	}
}

// holdLease takes the lease of a stream as another syncer process would,
// on a connection of its own, until the test ends.
func holdLease(t *testing.T, db *dbtest.DB, source, stream string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	got, err := statedb.New(conn).TryLease(ctx, statedb.TryLeaseParams{Source: source, Stream: stream})
	if err != nil || !got {
		t.Fatalf("take the lease of %s/%s: %v %v", source, stream, got, err)
	}
}

func TestSyncSkippedStreamIsNotAFailure(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	og := ogmmasim.New(ogmmasim.Config{Seed: 7, ConversationsPerChannel: 2, MessagesPerConversation: 10})
	ds := digisacsim.New(digisacsim.Config{Seed: 7, Contacts: 5, Tickets: 10, MessagesPerTicket: 3})
	srv := httptest.NewServer(sim.NewServers(sim.Simulators{Ogmma: og, Digisac: ds}))
	defer srv.Close()
	cfg := ogmmaConfig(t, srv.URL, og.APIKey(), og, "")
	writeFile(t, cfg, readFile(t, cfg)+fmt.Sprintf("  - name: acme-digisac\n    platform: digisac\n    base_url: %s/digisac\n    token: %s\n    rate_limit: 1000\n", srv.URL, ds.Token()))
	holdLease(t, db, "acme-ogmma", "messages")
	const note = "acme-ogmma: messages skipped (another syncer process is running it)\n"

	// The other source syncs; the skipped stream does not make it partial.
	code, stdout, stderr := cli(t, "sync", "--config", cfg, "--database-url", db.URL, "--log-level", "error")
	if code != exitOK {
		t.Fatalf("exit %d, want 0\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, note) || !strings.Contains(stdout, "acme-digisac  messages") || strings.Count(stdout, "succeeded") != 6 {
		t.Errorf("stdout:\n%s", stdout)
	}
	if stderr != "" {
		t.Errorf("a skipped stream is not an error; stderr:\n%s", stderr)
	}

	// Everything selected is skipped: nothing to do, not a failure.
	code, stdout, stderr = cli(t, "sync", "--config", cfg, "--database-url", db.URL, "--log-level", "error", "--source", "acme-ogmma")
	if code != exitOK || !strings.Contains(stdout, note) || stderr != "" {
		t.Errorf("all skipped: exit %d, want 0\nstdout %s\nstderr %s", code, stdout, stderr)
	}
}

func TestSkippedStreamsOfASourceShareOneLine(t *testing.T) {
	var out, errb strings.Builder
	e := &env{stdout: &out, stderr: &errb}
	busy := func(stream string) pipeline.Outcome {
		return pipeline.Outcome{Source: "acme-digisac", Stream: stream, Status: pipeline.StatusSkipped, Err: pipeline.ErrBusy}
	}
	e.printOutcomes([]pipeline.Outcome{busy("users"), {Source: "acme-ogmma", Stream: "messages", Status: state.StatusSucceeded}, busy("tickets")})
	if !strings.Contains(out.String(), "acme-digisac: users, tickets skipped (another syncer process is running them)\n") || errb.Len() != 0 {
		t.Fatalf("stdout:\n%s\nstderr:\n%s", out.String(), errb.String())
	}
}

func TestWrongKeyIsPrintedOncePerSource(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ds := digisacsim.New(digisacsim.Config{Seed: 8, Contacts: 5, Tickets: 10})
	srv := httptest.NewServer(sim.NewServers(sim.Simulators{Digisac: ds}))
	defer srv.Close()
	const token = "0123456789abcdef0123456789abcdef01234567"
	cfg := filepath.Join(t.TempDir(), "syncer.yaml")
	writeFile(t, cfg, fmt.Sprintf("sources:\n  - name: acme-digisac\n    platform: digisac\n    base_url: %s/digisac\n    token: %s\n    rate_limit: 1000\n", srv.URL, token))
	code, stdout, stderr := cli(t, "sync", "--config", cfg, "--database-url", db.URL, "--log-format", "json")
	if code != exitFailed {
		t.Fatalf("exit %d, want 1\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	if strings.Contains(stdout+stderr, token) {
		t.Fatalf("the token is printed:\n%s\n%s", stdout, stderr)
	}
	// The logs are JSON lines; the summary is the rest.
	var summary []string
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if !strings.HasPrefix(line, "{") {
			summary = append(summary, line)
		}
	}
	const prefix = "acme-digisac: services, users, departments, contacts, tickets, messages failed: "
	if len(summary) != 1 || !strings.HasPrefix(summary[0], prefix) || !strings.Contains(summary[0], "refused the credentials") {
		t.Fatalf("want one summary line starting %q; stderr without the logs:\n%s", prefix, strings.Join(summary, "\n"))
	}
}

func TestNotesShareOneLinePerSource(t *testing.T) {
	var out, errb strings.Builder
	e := &env{stdout: &out, stderr: &errb, redactor: redact.New("s3cret-key")}
	o := func(source, stream, status string, err error, quarantined, gaps int64) pipeline.Outcome {
		return pipeline.Outcome{Source: source, Stream: stream, Status: status, Err: err,
			Totals: state.Totals{RowsQuarantined: quarantined, SuspectedGaps: gaps}}
	}
	refused := errors.New(`source "acme-digisac": the platform refused the credentials (key s3cret-key)`)
	list := func(stream string) error { return fmt.Errorf("list digisac %s: %w", stream, refused) }
	e.printOutcomes([]pipeline.Outcome{
		o("acme-digisac", "services", state.StatusFailed, list("services"), 0, 0),
		o("acme-ogmma", "messages", state.StatusPartial, nil, 3, 2),
		o("acme-digisac", "users", state.StatusFailed, list("users"), 0, 0),
		o("acme-digisac", "contacts", state.StatusPartial, errors.New("rate limit outlasted the retry budget"), 4, 0),
		o("acme-digisac", "messages", state.StatusPartial, nil, 5, 0),
		o("acme-digisac", "tickets", state.StatusFailed, list("tickets"), 0, 0),
		o("acme-digisac", "departments", state.StatusFailed, fmt.Errorf("page 2 of departments: %w", errors.New("cut off")), 0, 0),
	})
	want := `acme-digisac: services, users, tickets failed: source "acme-digisac": the platform refused the credentials (key [REDACTED])` + "\n" +
		"acme-digisac: contacts partial: rate limit outlasted the retry budget\n" +
		"acme-digisac: departments failed: page 2 of departments: cut off\n" +
		"acme-digisac: 9 record(s) could not be mapped and are in the quarantine table (4 in contacts, 5 in messages; see docs/operations.md)\n" +
		"acme-ogmma: 3 record(s) could not be mapped and are in the quarantine table (3 in messages; see docs/operations.md)\n" +
		"acme-ogmma: 2 partition(s) may have missed older records (suspected gaps: 2 in messages); sync more often\n"
	if errb.String() != want {
		t.Fatalf("stderr:\n%s\nwant:\n%s", errb.String(), want)
	}
}

func TestPlatformChangeSaysAnOxentySource(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	if _, err := db.Pool.Exec(context.Background(), "INSERT INTO sources (name, platform) VALUES ('acme-ogmma', 'oxenty')"); err != nil {
		t.Fatal(err)
	}
	og := ogmmasim.New(ogmmasim.Config{Seed: 9})
	cfg := ogmmaConfig(t, "http://127.0.0.1:1", og.APIKey(), og, "")
	code, _, stderr := cli(t, "sync", "--config", cfg, "--database-url", db.URL, "--log-level", "error")
	const want = `source "acme-ogmma" is stored in the warehouse as an oxenty source but configured as ogmma`
	if code != exitFailed || !strings.Contains(stderr, want) {
		t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr, exitFailed, want)
	}
}
