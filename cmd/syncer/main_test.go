package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"syncer/internal/config"
	"syncer/internal/dbtest"
	"syncer/internal/extract"
	"syncer/internal/schemas"
	"syncer/internal/sim"
	ogmmasim "syncer/internal/sim/ogmma"
)

// cli runs the command in process and returns its exit code and output.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// ogmmaConfig writes a config for the simulator behind baseURL.
func ogmmaConfig(t *testing.T, baseURL, apiKey string, og *ogmmasim.Simulator, extra string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "concurrency: 2\nsources:\n  - name: acme-ogmma\n    platform: ogmma\n    base_url: %s/ogmma\n    api_key: %s\n    rate_limit: 1000\n    concurrency: 4\n%s    channels:\n", baseURL, apiKey, extra)
	for _, ch := range og.Channels() {
		fmt.Fprintf(&b, "      - id: %s\n        conversations:\n", ch.ID)
		for _, c := range ch.Conversations {
			fmt.Fprintf(&b, "          - %s\n", c)
		}
	}
	path := filepath.Join(t.TempDir(), "syncer.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestUsageErrorsExit2(t *testing.T) {
	t.Setenv("SYNCER_CONFIG", "")
	dir := t.TempDir()
	badConfig := filepath.Join(dir, "bad.yaml")
	writeFile(t, badConfig, "sources:\n  - name: x\n    platform: ogmma\n    base_url: https://oapi.ogmma.com.br\n    colour: blue\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "Usage:"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"migrate"}, "migrate takes one of up, down, status or roles"},
		{[]string{"migrate", "sideways"}, "migrate takes one of up, down, status or roles"},
		{[]string{"sync", "--bogus"}, "sync: unknown flag --bogus (see syncer sync --help)"},
		{[]string{"--bogus", "sync"}, "unknown flag --bogus (see syncer --help)"},
		{[]string{"-v"}, "unknown flag --v"},
		{[]string{"sync", "--source"}, "flag --source needs a value"},
		{[]string{"status", "--json=maybe"}, `invalid boolean value "maybe" for --json: want true or false`},
		{[]string{"simulate", "--latency", "5"}, `invalid value "5" for flag --latency: want a duration`},
		{[]string{"help", "sync", "import"}, "help takes one COMMAND at most"},
		{[]string{"help", "frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"sync", "acme-ogmma"}, `sync: unexpected argument "acme-ogmma"; it takes flags only`},
		{[]string{"status", "--json", "x"}, `status: unexpected argument "x"`},
		{[]string{"version", "extra"}, `version: unexpected argument "extra"`},
		{[]string{"sync", "--source", ""}, `invalid value "" for flag --source: want a name`},
		{[]string{"sync", "--config", filepath.Join(dir, "missing.yaml")}, "does not exist"},
		{[]string{"sync", "--config", badConfig}, "colour"},
		{[]string{"--log-format", "xml", "status"}, "--log-format"},
		{[]string{"demo", "--messages", "0"}, "--messages 0"},
	} {
		code, _, stderr := cli(t, tc.args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %q)", tc.args, code, exitUsage, stderr)
		}
		if !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: stderr %q does not say %q", tc.args, stderr, tc.want)
		}
	}
}

func TestSyncFlagsAreChecked(t *testing.T) {
	og := ogmmasim.New(ogmmasim.Config{Seed: 1})
	cfg := ogmmaConfig(t, "http://127.0.0.1:1", og.APIKey(), og, "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--source", "nope"}, `--source "nope" is not in`},
		{[]string{"--stream", "tickets"}, `--stream "tickets" is not a stream of the selected sources (their streams: messages)`},
		{[]string{"--since", "yesterday"}, `--since "yesterday"`},
		{[]string{"--since", "2024-02-01", "--until", "2024-01-01"}, "is not before"},
		{[]string{"--since", "2024-01-01", "--full"}, "cannot be combined"},
	} {
		code, _, stderr := cli(t, append([]string{"sync", "--config", cfg, "--database-url", "postgres://127.0.0.1:1/x"}, tc.args...)...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, exitUsage, tc.want)
		}
	}
}

func TestSyncUnknownStreamListsTheStreams(t *testing.T) {
	cfg := digisacConfig(t)
	base := []string{"sync", "--config", cfg, "--database-url", "postgres://127.0.0.1:1/x"}
	code, _, stderr := cli(t, append(base, "--source", "acme-digisac", "--stream", "nope")...)
	want := `--stream "nope" is not a stream of the selected sources (their streams: services, users, departments, contacts, tickets, messages)`
	if code != exitUsage || !strings.Contains(stderr, want) {
		t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, exitUsage, want)
	}
}

func TestSyncPlansASourceNamedTwiceOnce(t *testing.T) {
	og := ogmmasim.New(ogmmasim.Config{Seed: 1})
	cfg := ogmmaConfig(t, "http://127.0.0.1:1", og.APIKey(), og, "")
	e := &env{globals: &globals{configPath: cfg, configSet: true, logFormat: "text", logLevel: "error"}, stdout: io.Discard, stderr: io.Discard}
	if err := e.loadConfig(true); err != nil {
		t.Fatal(err)
	}
	jobs, err := e.plan(syncFlags{sources: listFlag{"acme-ogmma", "acme-ogmma"}}, extract.Request{})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("%d jobs (%v), want 1", len(jobs), err)
	}
	// A platform this binary does not link (the config would refuse it;
	// a build without internal/platforms could meet it) stops the plan
	// with a NotBuiltError rather than syncing the others in silence.
	e.cfg.Sources = append(e.cfg.Sources, e.cfg.Sources[0])
	e.cfg.Sources[1].Name, e.cfg.Sources[1].Platform = "acme-retired", "retired"
	var nb *extract.NotBuiltError
	if _, err := e.plan(syncFlags{}, extract.Request{}); !errors.As(err, &nb) || !strings.Contains(err.Error(), `source "acme-retired": platform retired is not built yet`) {
		t.Fatalf("plan with an unlinked platform: %v", err)
	}
}

func TestUnreachableDatabaseIsSaidOnce(t *testing.T) {
	t.Setenv("SYNCER_CONFIG", "")
	t.Chdir(t.TempDir()) // no ./syncer.yaml: status runs on the URL alone
	code, _, stderr := cli(t, "status", "--database-url", "postgres://syncer@127.0.0.1:1/x")
	if code != exitFailed || strings.Count(stderr, "connection refused") != 1 {
		t.Fatalf("exit %d, stderr %q; want 1 and one \"connection refused\"", code, stderr)
	}
}

func TestSyncStatusAndMigrateAgainstTheSimulator(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	og := ogmmasim.New(ogmmasim.Config{Seed: 3, Channels: 2, ConversationsPerChannel: 3, MessagesPerConversation: 40})
	srv := httptest.NewServer(sim.NewServer(og))
	defer srv.Close()
	cfg := ogmmaConfig(t, srv.URL, og.APIKey(), og, "")

	code, stdout, stderr := cli(t, "sync", "--config", cfg, "--database-url", db.URL, "--log-level", "warn")
	if code != exitOK {
		t.Fatalf("sync exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "acme-ogmma") || !strings.Contains(stdout, "succeeded") || !strings.Contains(stdout, "240") {
		t.Fatalf("sync summary: %s", stdout)
	}

	code, stdout, stderr = cli(t, "status", "--json", "--config", cfg, "--database-url", db.URL)
	if code != exitOK {
		t.Fatalf("status exit %d: %s", code, stderr)
	}
	var st struct {
		Streams []struct {
			Source, Stream string
			Partitions     int
			LastRun        *struct {
				Status   string
				RowsRead int64 `json:"rows_read"`
			} `json:"last_run"`
		}
	}
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, stdout)
	}
	if len(st.Streams) != 1 || st.Streams[0].Partitions != 6 || st.Streams[0].LastRun == nil || st.Streams[0].LastRun.RowsRead != 240 {
		t.Fatalf("status: %+v", st)
	}
	if strings.Contains(stdout, og.APIKey()) {
		t.Fatal("status prints the API key")
	}
	if code, stdout, _ = cli(t, "status", "--config", cfg, "--database-url", db.URL); code != exitOK || !strings.Contains(stdout, "messages") {
		t.Fatalf("status table: exit %d\n%s", code, stdout)
	}

	code, stdout, _ = cli(t, "migrate", "status", "--database-url", db.URL)
	// River's migration names hold words such as "pending": look at the
	// state column.
	if code != exitOK || !strings.Contains(stdout, "applied") || regexp.MustCompile(`(?m)^(\d{5}|river \d{3})\s+pending\b`).MatchString(stdout) ||
		!strings.Contains(stdout, "river 001  applied") {
		t.Fatalf("migrate status: exit %d\n%s", code, stdout)
	}
	if code, stdout, _ = cli(t, "migrate", "up", "--database-url", db.URL); code != exitOK || !strings.Contains(stdout, "up to date") {
		t.Fatalf("migrate up: exit %d\n%s", code, stdout)
	}
}

func TestWrongKeyExitsNonZeroWithoutPrintingIt(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	og := ogmmasim.New(ogmmasim.Config{Seed: 4, ConversationsPerChannel: 2})
	srv := httptest.NewServer(sim.NewServer(og))
	defer srv.Close()
	const key = "sk-live-0123456789abcdef"
	cfg := ogmmaConfig(t, srv.URL, key, og, "")
	code, stdout, stderr := cli(t, "sync", "--config", cfg, "--database-url", db.URL, "--log-level", "debug")
	if code == exitOK {
		t.Fatal("sync with a wrong key exited 0")
	}
	all := stdout + stderr
	if strings.Contains(all, key) {
		t.Fatalf("the key is printed:\n%s", all)
	}
	for _, want := range []string{"acme-ogmma", "refused the credentials"} {
		if !strings.Contains(stderr, want) {
			t.Fatalf("stderr does not say %q:\n%s", want, stderr)
		}
	}
}

func TestQuarantineExits3(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	og := ogmmasim.New(ogmmasim.Config{Seed: 5, ConversationsPerChannel: 2, MessagesPerConversation: 100, BadShare: 0.05})
	srv := httptest.NewServer(sim.NewServer(og))
	defer srv.Close()
	cfg := ogmmaConfig(t, srv.URL, og.APIKey(), og, "")
	code, stdout, stderr := cli(t, "sync", "--config", cfg, "--database-url", db.URL, "--log-level", "error")
	if code != exitPartial {
		t.Fatalf("exit %d, want 3\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "quarantine") {
		t.Fatalf("stderr does not point at the quarantine:\n%s", stderr)
	}
}

func TestSyncRefusesAnUnmigratedWarehouse(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	og := ogmmasim.New(ogmmasim.Config{Seed: 6})
	cfg := ogmmaConfig(t, "http://127.0.0.1:1", og.APIKey(), og, "")
	if code, stdout, _ := cli(t, "migrate", "down", "--database-url", db.URL); code != exitOK || !strings.Contains(stdout, "rolled back") {
		t.Fatalf("migrate down: %d %s", code, stdout)
	}
	code, _, stderr := cli(t, "sync", "--config", cfg, "--database-url", db.URL)
	if code != exitFailed || !strings.Contains(stderr, "syncer migrate up") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

// TestSyncWarnsOfViewsInAnotherTimeZone: after time_zone changes in the
// config, sync still syncs, and warns until migrate up has made the views
// anew in it.
func TestSyncWarnsOfViewsInAnotherTimeZone(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	og := ogmmasim.New(ogmmasim.Config{Seed: 6})
	srv := httptest.NewServer(sim.NewServer(og))
	defer srv.Close()
	cfg := ogmmaConfig(t, srv.URL, og.APIKey(), og, "")
	writeFile(t, cfg, "time_zone: America/Manaus\n"+readFile(t, cfg))
	code, _, stderr := cli(t, "sync", "--config", cfg, "--database-url", db.URL)
	if code != exitOK || !strings.Contains(stderr, "the views count days in another time zone than the config's: run `syncer migrate up` to make them anew") ||
		!strings.Contains(stderr, "views_time_zone=UTC time_zone=America/Manaus") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	code, stdout, stderr := cli(t, "migrate", "up", "--config", cfg, "--database-url", db.URL)
	if code != exitOK || !strings.Contains(stdout, "the views count days and hours in time zone America/Manaus") {
		t.Fatalf("migrate up: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	if code, _, stderr := cli(t, "sync", "--config", cfg, "--database-url", db.URL); code != exitOK || strings.Contains(stderr, "another time zone") {
		t.Fatalf("sync after migrate up: exit %d, stderr %q", code, stderr)
	}
}

func TestExampleConfigParses(t *testing.T) {
	for _, v := range []string{"DATABASE_URL", "OGMMA_API_KEY", "DIGISAC_TOKEN", "WAVY_USERNAME", "WAVY_TOKEN", "WAVY_WEBHOOK_SECRET", "OXENTY_API_KEY", "DIGISAC_WEBHOOK_SECRET"} {
		t.Setenv(v, "value-of-"+v)
	}
	t.Setenv("DATABASE_URL", "postgres://syncer:s3cret@127.0.0.1:5432/warehouse")
	cfg, err := config.Load("../../syncer.example.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Sources) != 4 {
		t.Fatalf("%d sources", len(cfg.Sources))
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// With schema: in the config, migrate up creates the schema and migrates
// it, and the other commands work in it. (It panicked once: the statement
// that quotes the schema name had moved.)
func TestMigrateCreatesTheConfiguredSchema(t *testing.T) {
	t.Parallel()
	base := os.Getenv(dbtest.Env)
	if base == "" {
		t.Skip(dbtest.Env + " is not set")
	}
	schema := fmt.Sprintf("t_cfg_%d", time.Now().UnixNano()%1_000_000_000)
	cfg := filepath.Join(t.TempDir(), "syncer.yaml")
	writeFile(t, cfg, "schema: "+schema+"\nsources: []\n")
	t.Cleanup(func() {
		db := dbtest.New(t) // any pool on the database will do
		if _, err := db.Pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+", "+schemas.State(schema)+" CASCADE"); err != nil {
			t.Error(err)
		}
	})
	code, stdout, stderr := cli(t, "migrate", "up", "--config", cfg, "--database-url", base)
	if code != exitOK || !strings.Contains(stdout, "up to date") {
		t.Fatalf("migrate up: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	if code, stdout, stderr := cli(t, "status", "--config", cfg, "--database-url", base); code != exitOK || !strings.Contains(stdout, "nothing synced yet") {
		t.Fatalf("status in the new schema: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	// The bookkeeping went beside it.
	db := dbtest.New(t)
	var where string
	if err := db.Pool.QueryRow(context.Background(), `SELECT table_schema FROM information_schema.tables WHERE table_name = 'sync_state' AND table_schema LIKE $1`, schema+"%").Scan(&where); err != nil || where != schema+"_syncer" {
		t.Errorf("sync_state is in %q (%v), want %s_syncer", where, err, schema)
	}
}

// TestSyncJSON: sync --json prints one JSON document that a script can
// read: every stream with its counts, the exit code, and totals.
func TestSyncJSON(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	og := ogmmasim.New(ogmmasim.Config{Seed: 6, ConversationsPerChannel: 2, MessagesPerConversation: 50, BadShare: 0.05})
	srv := httptest.NewServer(sim.NewServer(og))
	defer srv.Close()
	cfg := ogmmaConfig(t, srv.URL, og.APIKey(), og, "")
	code, stdout, stderr := cli(t, "sync", "--json", "--config", cfg, "--database-url", db.URL, "--log-level", "error")
	var got struct {
		Status  string `json:"status"`
		Exit    int    `json:"exit_code"`
		Streams []struct {
			Source, Stream, Status       string
			RunID                        int64 `json:"run_id"`
			RowsRead                     int64 `json:"rows_read"`
			RowsWritten, RowsQuarantined int64
		} `json:"streams"`
		Totals struct {
			RowsRead        int64 `json:"rows_read"`
			RowsQuarantined int64 `json:"rows_quarantined"`
		} `json:"totals"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s\nstderr: %s", err, stdout, stderr)
	}
	if code != exitPartial || got.Exit != exitPartial || got.Status != "partial" || len(got.Streams) != 1 {
		t.Fatalf("exit %d, summary %+v", code, got)
	}
	s := got.Streams[0]
	if s.Source != "acme-ogmma" || s.Stream != "messages" || s.Status != "partial" || s.RunID == 0 || s.RowsRead != 100 ||
		got.Totals.RowsRead != 100 || got.Totals.RowsQuarantined == 0 {
		t.Fatalf("summary %+v", got)
	}
}

// TestTheServersSearchPathNamesTheWarehouse: with no schema in the config
// and no search_path in the URL, the warehouse is the schema the server's
// own search_path gives (here the role's, ALTER ROLE ... SET search_path),
// as it was before syncer set the search_path itself; not public.
func TestTheServersSearchPathNamesTheWarehouse(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx := context.Background()
	name := fmt.Sprintf("t_role_%d", time.Now().UnixNano()%1_000_000_000)
	for _, stmt := range []string{
		"CREATE ROLE " + name + " LOGIN SUPERUSER",
		"CREATE SCHEMA " + name + "_wh",
		"ALTER ROLE " + name + " SET search_path = " + name + "_wh, public",
	} {
		if _, err := db.Pool.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, stmt := range []string{"DROP SCHEMA IF EXISTS " + name + "_wh, " + name + "_wh_syncer CASCADE", "DROP ROLE " + name} {
			if _, err := db.Pool.Exec(context.Background(), stmt); err != nil {
				t.Error(err)
			}
		}
	})
	u, err := url.Parse(os.Getenv(dbtest.Env))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(name)
	q := u.Query()
	q.Del("search_path")
	u.RawQuery = q.Encode()
	code, stdout, stderr := cli(t, "migrate", "up", "--database-url", u.String())
	if code != exitOK {
		t.Fatalf("migrate up: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	var where []string
	rows, err := db.Pool.Query(ctx, `SELECT table_schema || '.' || table_name FROM information_schema.tables
		WHERE table_name IN ('messages', 'sync_state') AND table_schema LIKE $1 ORDER BY 1`, name+"%")
	if err != nil {
		t.Fatal(err)
	}
	if where, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	if want := []string{name + "_wh.messages", name + "_wh_syncer.sync_state"}; !slices.Equal(where, want) {
		t.Errorf("tables in %v, want %v", where, want)
	}
}
