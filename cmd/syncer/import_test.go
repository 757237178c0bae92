package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"syncer/internal/dbtest"
	"syncer/internal/sim"
	digisacsim "syncer/internal/sim/digisac"
	ogmmasim "syncer/internal/sim/ogmma"
)

// digisacConfig writes a config with one Digisac source (never contacted:
// import only reads files).
func digisacConfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "syncer.yaml")
	cfg := "sources:\n  - name: acme-digisac\n    platform: digisac\n    base_url: https://acme.digisac.app\n    token: digisac-test-token\n" +
		"  - name: acme-wavy\n    platform: wavy\n    base_url: https://api-messaging.wavy.global\n    username: wavy-user\n    token: wavy-test-token\n    customer_id: '42'\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestImportCommand(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	cfg := digisacConfig(t)
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "tickets.csv")
	writeFile(t, csvPath, "Protocolo;Contato;Aberto em;Fechado em\n"+
		"2025030100001;Ana;01/03/2025 10:00:00;01/03/2025 10:10:00\n"+
		"2025030100002;Bruno;01/03/2025 25:00:00;\n"+
		"2025030100003;Carla;01/03/2025 11:00;\n")

	// Flags after the file, too.
	code, stdout, stderr := cli(t, "import", "--config", cfg, "--database-url", db.URL, "--log-level", "error", csvPath, "--source", "acme-digisac", "--format", "digisac-tickets-csv")
	if code != exitPartial {
		t.Fatalf("exit %d, want %d\nstdout %s\nstderr %s", code, exitPartial, stdout, stderr)
	}
	if !strings.Contains(stdout, csvPath) || !strings.Contains(stdout, "partial") || !strings.Contains(stdout, "rows 3\twritten 2\tbad 1") {
		t.Errorf("stdout: %s", stdout)
	}
	if !strings.Contains(stderr, csvPath+`: line 3: column "Aberto em": time "01/03/2025 25:00:00"`) || !strings.Contains(stderr, "quarantine table") {
		t.Errorf("stderr: %s", stderr)
	}

	// The same file again: a no-op that says so.
	code, stdout, stderr = cli(t, "import", "--config", cfg, "--database-url", db.URL, "--source", "acme-digisac", "--format", "digisac-tickets-csv", csvPath)
	if code != exitOK || !strings.Contains(stdout, "already imported at") || !strings.Contains(stdout, "skipped") {
		t.Errorf("second import: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}

	// A good transcript and a missing file: one loaded, one failed.
	txt := filepath.Join(dir, "2025030100001.txt")
	writeFile(t, txt, "Contato: Ana\n\n[01/03/2025 10:00:00] Ana: oi\n")
	missing := filepath.Join(dir, "missing.txt")
	code, stdout, stderr = cli(t, "import", "--config", cfg, "--database-url", db.URL, "--log-level", "error", "--source", "acme-digisac", "--format", "digisac-transcript-txt", txt, missing)
	if code != exitPartial || !strings.Contains(stdout, txt+"\tdigisac-transcript-txt\tsucceeded") || !strings.Contains(stderr, missing) {
		t.Errorf("good and missing: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	// Only a missing file: failed.
	code, _, stderr = cli(t, "import", "--config", cfg, "--database-url", db.URL, "--source", "acme-digisac", "--format", "digisac-transcript-txt", missing)
	if code != exitFailed || !strings.Contains(stderr, "no such file") {
		t.Errorf("missing: exit %d, stderr %s", code, stderr)
	}
}

func TestImportUsage(t *testing.T) {
	cfg := digisacConfig(t)
	base := []string{"import", "--config", cfg, "--database-url", "postgres://127.0.0.1:1/x"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"f.csv"}, "import needs --source NAME and --format F (formats: digisac-tickets-csv, digisac-transcript-txt, wavy-sessions-csv, wavy-mo-json)"},
		{[]string{"--source", "acme-digisac", "f.csv"}, "import needs --source NAME and --format F"},
		{[]string{"--source", "acme-digisac", "--format", "digisac-tickets-csv"}, "at least one FILE"},
		{[]string{"--source", "nope", "--format", "digisac-tickets-csv", "f.csv"}, `--source "nope" is not in`},
		{[]string{"--source", "acme-digisac", "--format", "xlsx", "f.csv"}, `unknown format "xlsx"`},
		{[]string{"--source", "acme-wavy", "--format", "digisac-tickets-csv", "f.csv"}, "format digisac-tickets-csv is for digisac sources, and this source is a wavy source"},
		{[]string{"--source", "acme-digisac", "--format", "wavy-mo-json", "f.csv"}, "format wavy-mo-json is for wavy sources, and this source is a digisac source"},
	} {
		code, _, stderr := cli(t, append(base, tc.args...)...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, exitUsage, tc.want)
		}
	}
}

func TestImportFormatOfAnotherPlatformSaysAnOgmmaSource(t *testing.T) {
	og := ogmmasim.New(ogmmasim.Config{Seed: 1})
	cfg := ogmmaConfig(t, "http://127.0.0.1:1", og.APIKey(), og, "")
	code, _, stderr := cli(t, "import", "--config", cfg, "--database-url", "postgres://127.0.0.1:1/x", "--source", "acme-ogmma", "--format", "digisac-tickets-csv", "f.csv")
	const want = "format digisac-tickets-csv is for digisac sources, and this source is an ogmma source"
	if code != exitUsage || !strings.Contains(stderr, want) {
		t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr, exitUsage, want)
	}
}

// digisacSim serves a Digisac simulator and writes a config that syncs
// from it.
func digisacSim(t *testing.T, dc digisacsim.Config) (*digisacsim.Simulator, string) {
	t.Helper()
	ds := digisacsim.New(dc)
	srv := httptest.NewServer(sim.NewServers(sim.Simulators{Digisac: ds}))
	t.Cleanup(srv.Close)
	cfg := filepath.Join(t.TempDir(), "syncer.yaml")
	writeFile(t, cfg, fmt.Sprintf("sources:\n  - name: acme-digisac\n    platform: digisac\n    base_url: %s/digisac\n    token: %s\n    rate_limit: 1000\n", srv.URL, ds.Token()))
	return ds, cfg
}

// ticketMessages counts the API messages and the transcript lines of the
// ticket with protocol, and the lines still waiting under protocol:<n>.
func ticketMessages(t *testing.T, db *dbtest.DB, protocol string) (api, lines, waiting int) {
	t.Helper()
	err := db.Pool.QueryRow(context.Background(), `
		SELECT count(*) FILTER (WHERE NOT m.from_transcript), count(*) FILTER (WHERE m.from_transcript),
		       (SELECT count(*) FROM messages w WHERE w.conversation_external_id = 'protocol:' || $1)
		FROM conversations c JOIN messages m ON m.source_id = c.source_id AND m.conversation_external_id = c.external_id
		WHERE c.protocol = $1 AND c.external_id NOT LIKE 'protocol:%'`, protocol).Scan(&api, &lines, &waiting)
	if err != nil {
		t.Fatal(err)
	}
	return api, lines, waiting
}

// A ticket's messages have one source of truth, whichever comes first: the
// transcript of a ticket synced from the API adds nothing, and syncing a
// ticket whose transcript was imported leaves only the API's messages.
func TestImportedTranscriptAndTheAPIKeepOneCopy(t *testing.T) {
	t.Parallel()
	importTranscript := func(t *testing.T, ds *digisacsim.Simulator, cfg string, db *dbtest.DB, protocol string) {
		t.Helper()
		text, ok := ds.Transcript(protocol)
		if !ok {
			t.Fatalf("no transcript for %s", protocol)
		}
		path := filepath.Join(t.TempDir(), protocol+".txt")
		writeFile(t, path, text)
		code, stdout, stderr := cli(t, "import", "--config", cfg, "--database-url", db.URL, "--log-level", "error",
			"--source", "acme-digisac", "--format", "digisac-transcript-txt", path)
		if code != exitOK {
			t.Fatalf("import: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
		}
	}
	sync := func(t *testing.T, cfg string, db *dbtest.DB) {
		t.Helper()
		if code, stdout, stderr := cli(t, "sync", "--config", cfg, "--database-url", db.URL, "--log-level", "error"); code != exitOK {
			t.Fatalf("sync: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
		}
	}

	t.Run("the API first", func(t *testing.T) {
		t.Parallel()
		db := dbtest.New(t)
		ds, cfg := digisacSim(t, digisacsim.Config{Seed: 61, Contacts: 6, Tickets: 8, MessagesPerTicket: 5})
		sync(t, cfg, db)
		protocol := ds.Protocols()[0]
		before, _, _ := ticketMessages(t, db, protocol)
		if before == 0 {
			t.Fatal("the ticket has no API messages; the test proves nothing")
		}
		importTranscript(t, ds, cfg, db, protocol)
		if api, lines, waiting := ticketMessages(t, db, protocol); api != before || lines != 0 || waiting != 0 {
			t.Fatalf("after the import: %d API messages, %d transcript lines, %d waiting; want %d, 0, 0", api, lines, waiting, before)
		}
	})
	t.Run("the transcript first", func(t *testing.T) {
		t.Parallel()
		db := dbtest.New(t)
		ds, cfg := digisacSim(t, digisacsim.Config{Seed: 62, Contacts: 6, Tickets: 8, MessagesPerTicket: 5})
		if code, _, stderr := cli(t, "migrate", "up", "--database-url", db.URL); code != exitOK {
			t.Fatalf("migrate: %s", stderr)
		}
		protocol := ds.Protocols()[0]
		importTranscript(t, ds, cfg, db, protocol)
		var waiting int
		if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM messages WHERE conversation_external_id = 'protocol:' || $1`, protocol).Scan(&waiting); err != nil || waiting == 0 {
			t.Fatalf("the imported lines do not wait under protocol:%s (%d, %v)", protocol, waiting, err)
		}
		sync(t, cfg, db)
		api, lines, waiting := ticketMessages(t, db, protocol)
		if api == 0 || lines != 0 || waiting != 0 {
			t.Fatalf("after the sync: %d API messages, %d transcript lines, %d waiting; want only API messages", api, lines, waiting)
		}
	})
}

// A file that is not text, or that is empty, gets one short line.
func TestImportRefusesBinaryAndEmptyFiles(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	cfg := digisacConfig(t)
	dir := t.TempDir()
	self, err := os.Executable() // an ELF binary
	if err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.txt")
	writeFile(t, empty, "")
	for _, tc := range []struct{ path, want string }{
		{self, "not a text file (it holds NUL bytes): check that it is a digisac-transcript-txt export"},
		{empty, "the file is empty"},
	} {
		code, _, stderr := cli(t, "import", "--config", cfg, "--database-url", db.URL, "--log-level", "error",
			"--source", "acme-digisac", "--format", "digisac-transcript-txt", tc.path)
		if code != exitFailed || !strings.Contains(stderr, tc.want) || len(stderr) > 300 || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%s: exit %d, stderr (%d bytes) %q; want one short line saying %q", filepath.Base(tc.path), code, len(stderr), stderr, tc.want)
		}
	}
}
