package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"syncer/internal/dbtest"
	"syncer/internal/sim"
	digisacsim "syncer/internal/sim/digisac"
	ogmmasim "syncer/internal/sim/ogmma"
	ogmmamap "syncer/internal/transform/ogmma"
)

var crashMessages = flag.Int("crash-messages", 100_000, "messages the simulator holds in TestCrash")

// buildSyncer builds the real binary (without -race, like production).
func buildSyncer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "syncer")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestCrash kills `syncer sync` with SIGKILL at several moments of a large
// first sync, then runs it once more to the end: the messages table must
// equal the simulator's data, row for row, with nothing missing or doubled.
func TestCrash(t *testing.T) {
	n := *crashMessages
	if testing.Short() {
		n = min(n, 20_000)
	}
	const channels, perConversation = 5, 400
	convs := max(1, n/(channels*perConversation))
	bin := buildSyncer(t)
	db := dbtest.New(t)
	og := ogmmasim.New(ogmmasim.Config{Seed: 99, Channels: channels, ConversationsPerChannel: convs, MessagesPerConversation: perConversation})
	srv := httptest.NewServer(sim.NewServer(og))
	defer srv.Close()
	cfg := ogmmaConfig(t, srv.URL, og.APIKey(), og, "")
	total := og.MessageCount()
	t.Logf("simulator holds %d messages in %d conversations", total, channels*convs)

	ctx := context.Background()
	count := func() int { return countRows(t, db, "messages") }
	syncCmd := func() *exec.Cmd { return syncCommand(bin, cfg, db.URL) }

	kills := killDuring(t, syncCmd, count, total, []float64{0.1, 0.35, 0.6, 0.85})
	out, err := syncCmd().CombinedOutput()
	if err != nil {
		t.Fatalf("final sync: %v\n%s", err, out)
	}
	compareWithSimulator(t, db, og)

	var interrupted int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM sync_runs WHERE status = 'failed' AND error LIKE 'interrupted%'").Scan(&interrupted); err != nil {
		t.Fatal(err)
	}
	if interrupted != kills {
		t.Fatalf("%d killed runs recorded as interrupted, want %d", interrupted, kills)
	}
}

// compareWithSimulator checks the messages of source acme-ogmma against
// what the simulator holds, mapped by the same transform: same ids, same
// values, no extras.
func compareWithSimulator(t *testing.T, db *dbtest.DB, og *ogmmasim.Simulator) {
	t.Helper()
	var records []json.RawMessage
	for _, m := range og.Messages() {
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		records = append(records, b)
	}
	want := map[string]string{}
	for _, m := range ogmmamap.Messages(records).Messages {
		want[m.ExternalID] = rowKey(m.ConversationID, m.Direction, m.Kind, m.Status, strings.ReplaceAll(m.Body, "\x00", ""), m.SentAt, m.UpdatedAt)
	}
	rows, err := db.Pool.Query(context.Background(), `SELECT external_id, coalesce(conversation_external_id, ''), direction, kind,
		coalesce(status, ''), coalesce(body, ''), sent_at, updated_at FROM messages
		WHERE source_id = (SELECT id FROM sources WHERE name = 'acme-ogmma')`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]string{}
	dups := 0
	for rows.Next() {
		var id, conv, dir, kind, status, body string
		var sent, updated time.Time
		if err := rows.Scan(&id, &conv, &dir, &kind, &status, &body, &sent, &updated); err != nil {
			t.Fatal(err)
		}
		if _, seen := got[id]; seen {
			dups++
		}
		got[id] = rowKey(conv, dir, kind, status, body, sent, updated)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if dups > 0 {
		t.Fatalf("%d duplicate message ids", dups)
	}
	missing, wrong := 0, 0
	for id, w := range want {
		g, ok := got[id]
		switch {
		case !ok:
			missing++
		case g != w:
			wrong++
			if wrong <= 3 {
				t.Errorf("message %s:\n got %s\nwant %s", id, g, w)
			}
		}
	}
	if extra := len(got) - (len(want) - missing); missing > 0 || wrong > 0 || extra > 0 {
		t.Fatalf("warehouse vs simulator: %d missing, %d different, %d extra (of %d)", missing, wrong, extra, len(want))
	}
	t.Logf("warehouse equals the simulator: %d messages", len(want))
}

func rowKey(conv, dir, kind, status, body string, sent, updated time.Time) string {
	return fmt.Sprintf("%s|%s|%s|%s|%q|%s|%s", conv, dir, kind, status, body, sent.UTC().Format(time.RFC3339Nano), updated.UTC().Format(time.RFC3339Nano))
}

// countRows counts the rows of a warehouse table.
func countRows(t *testing.T, db *dbtest.DB, table string) int {
	t.Helper()
	var c int
	if err := db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM "+pgx.Identifier{table}.Sanitize()).Scan(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

// syncCommand is `syncer sync` of the built binary on a config and database.
func syncCommand(bin, cfg, dbURL string) *exec.Cmd {
	cmd := exec.Command(bin, "sync", "--config", cfg, "--database-url", dbURL, "--log-level", "error")
	cmd.Env = append(os.Environ(), "SYNCER_CONFIG=")
	return cmd
}

// killDuring starts cmd again and again, and SIGKILLs it once count()
// reaches each share of total. It returns how many times it killed.
func killDuring(t *testing.T, cmd func() *exec.Cmd, count func() int, total int, shares []float64) int {
	t.Helper()
	kills := 0
	for _, share := range shares {
		at := int(float64(total) * share)
		c := cmd()
		var stderr strings.Builder
		c.Stderr = &stderr
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- c.Wait() }()
		deadline := time.Now().Add(3 * time.Minute)
		poll := time.NewTicker(5 * time.Millisecond)
	wait:
		for {
			select {
			case err := <-exited:
				t.Logf("sync finished before %d rows (exit %v); no kill", at, err)
				break wait
			case <-poll.C:
				if count() >= at {
					// The last batch may have been the one that reached
					// at, and the process may have ended meanwhile.
					if err := c.Process.Kill(); errors.Is(err, os.ErrProcessDone) {
						t.Logf("sync finished as it reached %d rows; no kill", at)
						<-exited
						break wait
					} else if err != nil {
						t.Fatal(err)
					}
					<-exited
					kills++
					t.Logf("killed with %d of %d rows committed", count(), total)
					break wait
				}
				if time.Now().After(deadline) {
					t.Fatalf("no progress to %d rows in 3 minutes: %s", at, stderr.String())
				}
			}
		}
		poll.Stop()
	}
	if kills == 0 {
		t.Fatal("the sync was never killed; the test proved nothing")
	}
	return kills
}

// TestCrashDigisac does the same for a Digisac source: every stream,
// killed while messages page in, then compared table by table with the
// simulator (ids and updatedAt).
func TestCrashDigisac(t *testing.T) {
	tickets := 2000
	if testing.Short() {
		tickets = 500
	}
	bin := buildSyncer(t)
	db := dbtest.New(t)
	ds := digisacsim.New(digisacsim.Config{Seed: 77, Contacts: tickets / 2, Tickets: tickets, MessagesPerTicket: 12})
	srv := httptest.NewServer(sim.NewServers(sim.Simulators{Digisac: ds}))
	defer srv.Close()
	cfg := filepath.Join(t.TempDir(), "syncer.yaml")
	writeFile(t, cfg, fmt.Sprintf("sources:\n  - name: acme-digisac\n    platform: digisac\n    base_url: %s/digisac\n    token: %s\n    rate_limit: 1000\n    page_size: 200\n", srv.URL, ds.Token()))
	total := len(ds.Records("messages"))
	count := func() int { return countRows(t, db, "messages") }
	syncCmd := func() *exec.Cmd { return syncCommand(bin, cfg, db.URL) }
	killDuring(t, syncCmd, count, total, []float64{0.2, 0.5, 0.8})
	if out, err := syncCmd().CombinedOutput(); err != nil {
		t.Fatalf("final sync: %v\n%s", err, out)
	}
	compareDigisac(t, db, ds)
	t.Logf("warehouse equals the simulator: %d messages", total)
}

// compareDigisac checks each warehouse table's rows of source acme-digisac
// against the Digisac simulator's records: the same ids, each with its
// updatedAt.
func compareDigisac(t *testing.T, db *dbtest.DB, ds *digisacsim.Simulator) {
	t.Helper()
	ctx := context.Background()
	for resource, table := range map[string]string{"services": "channels", "users": "agents", "departments": "departments",
		"contacts": "contacts", "tickets": "conversations", "messages": "messages"} {
		want := map[string]string{}
		for _, raw := range ds.Records(resource) {
			var r struct{ ID, UpdatedAt string }
			if err := json.Unmarshal(raw, &r); err != nil {
				t.Fatal(err)
			}
			ts, err := time.Parse(time.RFC3339Nano, r.UpdatedAt)
			if err != nil {
				t.Fatal(err)
			}
			want[r.ID] = ts.UTC().Format(time.RFC3339Nano)
		}
		rows, err := db.Pool.Query(ctx, "SELECT external_id, updated_at FROM "+table+" WHERE source_id = (SELECT id FROM sources WHERE name = 'acme-digisac')")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for rows.Next() {
			var id string
			var ts time.Time
			if err := rows.Scan(&id, &ts); err != nil {
				t.Fatal(err)
			}
			got[id] = ts.UTC().Format(time.RFC3339Nano)
		}
		rows.Close()
		if len(got) != len(want) {
			t.Errorf("%s: %d rows, the simulator has %d %s", table, len(got), len(want), resource)
		}
		for id, w := range want {
			if got[id] != w {
				t.Errorf("%s %s: updated_at %q, want %q", table, id, got[id], w)
				break
			}
		}
	}
}

// TestCrashImport kills `syncer import` of a large CSV at two moments, then
// imports the file again: it goes on after what was committed, and the
// warehouse holds every ticket of the file once; a fourth import is
// skipped.
func TestCrashImport(t *testing.T) {
	rows := 100_000
	if testing.Short() {
		rows = 30_000
	}
	bin := buildSyncer(t)
	db := dbtest.New(t)
	cfg := digisacConfig(t)
	path := filepath.Join(t.TempDir(), "tickets.csv")
	var b strings.Builder
	b.WriteString("Protocolo;Contato;Aberto em;Fechado em;Tempo de atendimento\n")
	for i := range rows {
		fmt.Fprintf(&b, "2026%09d;Contato %d;01/03/2025 10:%02d:00;01/03/2025 11:00:00;00:%02d:00\n", i, i, i%60, i%60)
	}
	writeFile(t, path, b.String())
	importCmd := func() *exec.Cmd {
		cmd := exec.Command(bin, "import", "--config", cfg, "--database-url", db.URL, "--log-level", "error",
			"--source", "acme-digisac", "--format", "digisac-tickets-csv", path)
		cmd.Env = append(os.Environ(), "SYNCER_CONFIG=")
		return cmd
	}
	count := func() int { return countRows(t, db, "conversations") }
	kills := killDuring(t, importCmd, count, rows, []float64{0.3, 0.6})
	out, err := importCmd().CombinedOutput()
	if err != nil {
		t.Fatalf("final import: %v\n%s", err, out)
	}
	var n, distinct, failed int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*), count(DISTINCT protocol),
		(SELECT count(*) FROM sync_runs WHERE status = 'failed' AND error LIKE 'interrupted%') FROM conversations`).Scan(&n, &distinct, &failed); err != nil {
		t.Fatal(err)
	}
	if n != rows || distinct != rows {
		t.Fatalf("%d tickets (%d protocols) after the killed imports, want %d", n, distinct, rows)
	}
	if failed != kills {
		t.Fatalf("%d killed imports recorded as interrupted, want %d", failed, kills)
	}
	if out, err := importCmd().CombinedOutput(); err != nil || !strings.Contains(string(out), "already imported") {
		t.Fatalf("import after the complete one: %v\n%s", err, out)
	}
	t.Logf("every ticket of the file is in once: %d, after %d kills", n, kills)
}
