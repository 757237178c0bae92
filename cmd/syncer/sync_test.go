package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"syncer/internal/dbtest"
	"syncer/internal/load"
	"syncer/internal/pipeline"
	"syncer/internal/sim"
	"syncer/sql/queries"
)

func TestOutcomeCode(t *testing.T) {
	const (
		ok      = load.StatusSucceeded
		partial = load.StatusPartial
		failed  = load.StatusFailed
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
	var got bool
	if err := conn.QueryRow(ctx, queries.Get("try_lease"), source, stream).Scan(&got); err != nil || !got {
		t.Fatalf("take the lease of %s/%s: %v %v", source, stream, got, err)
	}
}

func TestSyncSkippedStreamIsNotAFailure(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	og := sim.NewOgmma(sim.OgmmaConfig{Seed: 7, ConversationsPerChannel: 2, MessagesPerConversation: 10})
	ds := sim.NewDigisac(sim.DigisacConfig{Seed: 7, Contacts: 5, Tickets: 10, MessagesPerTicket: 3})
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
	e.printOutcomes([]pipeline.Outcome{busy("users"), {Source: "acme-ogmma", Stream: "messages", Status: load.StatusSucceeded}, busy("tickets")})
	if !strings.Contains(out.String(), "acme-digisac: users, tickets skipped (another syncer process is running them)\n") || errb.Len() != 0 {
		t.Fatalf("stdout:\n%s\nstderr:\n%s", out.String(), errb.String())
	}
}
