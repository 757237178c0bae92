package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"syncer/internal/config"
	"syncer/internal/dbtest"
	"syncer/internal/schemas"
	"syncer/internal/sim"
	digisacsim "syncer/internal/sim/digisac"
	"syncer/internal/sim/fault"
	ogmmasim "syncer/internal/sim/ogmma"
	oxentysim "syncer/internal/sim/oxenty"
	wavysim "syncer/internal/sim/wavy"
)

// The credentials of TestSecretsNeverShow. Every one starts with S3CRET,
// so that any piece of one is found too; some hold characters that URLs
// escape.
const (
	leakOgmmaKey        = "S3CRET+ogmma/7f3a9c"
	leakDigisacToken    = "S3CRET-digisac-token-4d2b81"
	leakDigisacUser     = "ana@acme.com.br"
	leakDigisacPassword = "S3CRET-digisac-p@ss=e5c0"
	leakDigisacHook     = "S3CRET-digisac-hook-91ab"
	leakWavyToken       = "S3CRET-wavy-token-0c7e"
	leakWavyHook        = "S3CRET-wavy-hook-58fd"
	leakOxentyKey       = "S3CRET-oxenty-key-a64e"
	leakDBPassword      = "S3CRET-db/p@ss:3b9d"

	// Wrong credentials, which the platforms refuse.
	leakBadOgmmaKey        = "S3CRET-bad-ogmma-1111"
	leakBadDigisacToken    = "S3CRET-bad-digisac-2222"
	leakBadDigisacPassword = "S3CRET-bad-digisac-pass-3333"
	leakBadWavyToken       = "S3CRET-bad-wavy-4444"
	leakBadOxentyKey       = "S3CRET-bad-oxenty-5555"

	// Sent to syncer run, never configured: a wrong webhook token, a
	// source name nobody configured, a password in a base_url.
	leakWrongHook       = "S3CRET-wrong-hook-6666"
	leakUnknownSource   = "s3cret-unknown-source-7777"
	leakBaseURLPassword = "S3CRET-in-base-url-8888"
	// A database password written into a URL without escaping its @ and
	// :, which makes the URL invalid; every piece of it is marked.
	leakUnescapedDBPassword = "S3CRET-a@S3CRET-b:S3CRET-c"
)

// TestSecretsNeverShow runs the real binary, as users do, with credentials
// for every platform, against simulators that accept some and refuse,
// rate-limit or fail the others while quoting back what they were sent (raw,
// URL-escaped and base64), and a database URL with a password. No
// credential, in any of its usual encodings, may appear in what syncer
// prints or logs (text and JSON, at debug level), in the warehouse (runs,
// quarantine, webhook inbox: every table), nor in the /metrics, /healthz and
// /readyz answers and webhook answers of syncer run. A webhook with a wrong
// token, in the header or the query, is neither kept nor shown.
func TestSecretsNeverShow(t *testing.T) {
	t.Parallel()
	bin := buildSyncer(t)
	db := dbtest.New(t)
	ctx := context.Background()

	og := ogmmasim.New(ogmmasim.Config{Seed: 41, APIKey: leakOgmmaKey, ConversationsPerChannel: 2, MessagesPerConversation: 5})
	ds := digisacsim.New(digisacsim.Config{Seed: 41, Token: leakDigisacToken, Username: leakDigisacUser, Password: leakDigisacPassword,
		Contacts: 3, Tickets: 3, MessagesPerTicket: 3})
	wv := wavysim.New(wavysim.Config{Seed: 41, Token: leakWavyToken, Sessions: 3})
	ox := oxentysim.New(oxentysim.Config{Seed: 41, APIKey: leakOxentyKey, Sessions: 3})
	files, certFile, err := wavyFileHost(wv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { files.Close(); os.Remove(certFile) })
	platforms := &quotingPlatform{sims: sim.NewServers(sim.Simulators{Ogmma: og, Digisac: ds, Wavy: wv, Oxenty: ox})}
	srv := httptest.NewServer(platforms)
	t.Cleanup(srv.Close)

	dbURL, dbPassword := withDBPassword(t, db.URL, leakDBPassword)
	addr := freeAddr(t)
	sources := leakSources(og, wv)
	cfgPath := filepath.Join(t.TempDir(), "syncer.yaml")
	writeFile(t, cfgPath, leakConfig(addr, dbURL, srv.URL, sources))

	h := &leakHarness{t: t, bin: bin, env: append(os.Environ(), "SYNCER_CONFIG=", "DATABASE_URL=", "SSL_CERT_FILE="+certFile)}
	withDB := func(args ...string) []string {
		return append(args, "--config", cfgPath, "--database-url", dbURL, "--log-level", "debug")
	}
	formats := []string{"text", "json"}

	for _, f := range formats {
		if code, _, _ := h.run("migrate status", nil, withDB("migrate", "status", "--log-format", f)...); code != exitOK {
			t.Errorf("migrate status (%s): exit %d", f, code)
		}
	}

	// Round 1: good credentials sync; wrong ones get 401, /down 503 and
	// /broken 400, each answer quoting the credentials.
	for _, f := range formats {
		code, stdout, stderr := h.run("sync", nil, withDB("sync", "--log-format", f)...)
		if code != exitPartial {
			t.Fatalf("sync (%s): exit %d, want %d", f, code, exitPartial)
		}
		for _, s := range sources {
			want := "failed"
			switch {
			case strings.HasPrefix(s.name, "acme-"):
				want = "succeeded"
			case strings.HasPrefix(s.name, "down-"): // rate limited: resumes next run
				want = "partial"
			}
			if !summaryHas(stdout, s.name, want) {
				t.Errorf("sync (%s): %s did not end %s:\n%s", f, s.name, want, stdout)
			}
		}
		for _, want := range []string{"refused the credentials", "HTTP 503", "HTTP 400", "[REDACTED]"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("sync (%s): stderr does not say %q", f, want)
			}
		}
	}
	if platforms.quoted.Load() == 0 {
		t.Fatal("no answer quoted credentials: the failure paths did not run")
	}
	if len(platforms.issuedTokens()) == 0 {
		t.Fatal("the Digisac simulator issued no access token: the password grant did not run")
	}

	// import, with a line of each file that cannot be read (quarantine).
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "tickets.csv")
	writeFile(t, csvPath, "Protocolo;Contato;Aberto em;Fechado em\n2025030100001;Ana;01/03/2025 10:00:00;01/03/2025 10:10:00\n2025030100002;Bruno;01/03/2025 25:00:00;\n")
	moPath := filepath.Join(dir, "mo.json")
	writeFile(t, moPath, strings.TrimSpace(string(wv.NewMOBatch(2)))+"\n{not json\n")
	for i, imp := range [][]string{{"acme-digisac", "digisac-tickets-csv", csvPath}, {"acme-wavy", "wavy-mo-json", moPath}} {
		code, _, _ := h.run("import", nil, withDB("import", "--log-format", formats[i], "--source", imp[0], "--format", imp[1], imp[2])...)
		if code != exitPartial {
			t.Errorf("import %s: exit %d, want %d", imp[1], code, exitPartial)
		}
	}

	// Round 2: the simulators rate-limit everything (Oxenty with a
	// Retry-After of 0, so that the client retries and logs each retry).
	og.SetFaults(fault.Faults{RateLimitShare: 1, RetryAfter: "3600"})
	ds.SetFaults(fault.Faults{RateLimitShare: 1, RetryAfter: "3600"})
	wv.SetFaults(fault.Faults{RateLimitShare: 1, RateLimitStatus: 420, RetryAfter: "3600"})
	ox.SetFaults(fault.Faults{RateLimitShare: 1, RetryAfter: "0"})
	for _, f := range formats {
		code, _, stderr := h.run("sync (rate limited)", nil, withDB("sync", "--log-format", f)...)
		if code != exitPartial || !strings.Contains(stderr, "rate limited") || !strings.Contains(stderr, "retrying request to platform") {
			t.Fatalf("rate-limited sync (%s): exit %d, want %d; stderr:\n%s", f, code, exitPartial, stderr)
		}
	}
	for _, s := range []interface{ SetFaults(fault.Faults) }{og, ds, wv, ox} {
		s.SetFaults(fault.Faults{})
	}

	// syncer run, with webhooks of right and wrong tokens.
	for _, f := range formats {
		h.daemon(db, f, withDB("run", "--log-format", f), addr, sources, wv)
	}
	var kept, shown int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE payload::text LIKE '%wrong-token%') FROM webhook_inbox`).Scan(&kept, &shown); err != nil {
		t.Fatal(err)
	}
	// Two sources, the token in the header and in the query, each run.
	if want := 2 * 2 * len(formats); kept != want || shown != 0 {
		t.Errorf("webhook_inbox holds %d deliveries (%d of wrong tokens), want %d (none)", kept, shown, want)
	}

	// status, with the database URL from the flag, $DATABASE_URL and the
	// config.
	for _, f := range formats {
		for _, args := range [][]string{{"status"}, {"status", "--json"}} {
			code, stdout, _ := h.run(strings.Join(args, " "), nil, withDB(append(args, "--log-format", f)...)...)
			if code != exitOK || !strings.Contains(stdout, "bad-ogmma") {
				t.Errorf("%v (%s): exit %d\n%s", args, f, code, stdout)
			}
		}
	}
	if code, _, stderr := h.run("status ($DATABASE_URL)", []string{"DATABASE_URL=" + dbURL}, "status", "--config", cfgPath, "--log-level", "debug"); code != exitOK {
		t.Errorf("status with $DATABASE_URL: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := h.run("status --json (database_url)", nil, "status", "--json", "--config", cfgPath, "--log-level", "debug", "--log-format", "json"); code != exitOK {
		t.Errorf("status with the config's database_url: exit %d\n%s", code, stderr)
	}

	// A database that does not answer, database URLs that are not valid
	// (one with a password that should have been escaped), a base_url with
	// a password in it.
	down := strings.Replace(dbURL, parseURL(dbURL).Host, "127.0.0.1:1", 1)
	invalid := strings.Replace(dbURL, parseURL(dbURL).Host, "127.0.0.1:notaport", 1)
	unescaped := "postgres://syncer:" + leakUnescapedDBPassword + "@127.0.0.1:1/x"
	for _, f := range formats {
		for _, args := range [][]string{{"status"}, {"status", "--json"}, {"migrate", "status"}, {"sync", "--source", "acme-oxenty"}} {
			for _, bad := range [][2]string{{"unreachable", down}, {"invalid port", invalid}, {"password not escaped", unescaped}} {
				label := fmt.Sprintf("%s, database URL %s", strings.Join(args, " "), bad[0])
				code, _, stderr := h.run(label, nil, append(args, "--config", cfgPath, "--database-url", bad[1], "--log-level", "debug", "--log-format", f)...)
				if code == exitOK || !strings.Contains(stderr, "syncer: ") {
					t.Errorf("%s: exit %d, stderr %q", label, code, stderr)
				}
			}
		}
	}
	unescapedCfg := filepath.Join(t.TempDir(), "unescaped.yaml")
	writeFile(t, unescapedCfg, "database_url: "+yamlQuote(unescaped)+"\nsources: []\n")
	if code, _, stderr := h.run("status (database_url not escaped)", nil, "status", "--config", unescapedCfg); code != exitUsage || !strings.Contains(stderr, "escape") {
		t.Errorf("database_url not escaped: exit %d, stderr %q", code, stderr)
	}
	badCfg := filepath.Join(t.TempDir(), "bad.yaml")
	writeFile(t, badCfg, "sources:\n  - name: acme-digisac\n    platform: digisac\n    base_url: https://ana:"+leakBaseURLPassword+"@acme.digisac.app\n    token: "+leakDigisacToken+"\n")
	if code, _, stderr := h.run("sync (base_url with a password)", nil, "sync", "--config", badCfg, "--database-url", dbURL); code != exitUsage {
		t.Errorf("base_url with a password: exit %d, stderr %q", code, stderr)
	}

	// The warehouse, every table, the bookkeeping's too.
	tables, err := db.Pool.Query(ctx, `SELECT table_schema, table_name FROM information_schema.tables
		WHERE table_schema IN ($1, $2) AND table_type = 'BASE TABLE' ORDER BY 1, 2`, db.Schema, schemas.State(db.Schema))
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(tables, pgx.RowToStructByPos[struct{ Schema, Name string }])
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		var rows string
		q := fmt.Sprintf(`SELECT coalesce(string_agg(row_to_json(t)::text, E'\n'), '') FROM %q.%q t`, n.Schema, n.Name)
		if err := db.Pool.QueryRow(ctx, q).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		h.add("table "+n.Schema+"."+n.Name, rows)
	}
	var redactedRuns, quarantined int
	if err := db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM sync_runs WHERE error LIKE '%[REDACTED]%'), (SELECT count(*) FROM quarantine)`).
		Scan(&redactedRuns, &quarantined); err != nil || redactedRuns == 0 || quarantined == 0 {
		t.Errorf("%d runs recorded an error with a redacted credential, %d records are in quarantine (%v): want some of both", redactedRuns, quarantined, err)
	}

	secrets := []string{leakOgmmaKey, leakDigisacToken, leakDigisacPassword, leakDigisacHook, leakWavyToken, leakWavyHook, leakOxentyKey,
		dbPassword, leakBadOgmmaKey, leakBadDigisacToken, leakBadDigisacPassword, leakBadWavyToken, leakBadOxentyKey,
		leakWrongHook, leakUnknownSource, leakBaseURLPassword, leakUnescapedDBPassword}
	secrets = append(secrets, platforms.issuedTokens()...)
	pairs := [][2]string{{leakDigisacUser, leakDigisacPassword}, {leakDigisacUser, leakBadDigisacPassword},
		{wv.Username(), leakWavyToken}, {wv.Username(), leakBadWavyToken}, {parseURL(dbURL).User.Username(), dbPassword}, {"ana", leakBaseURLPassword}, {"syncer", leakUnescapedDBPassword}}
	forms := secretForms(secrets, pairs)
	for _, o := range h.outputs {
		for _, leak := range findLeaks(o.text, forms) {
			t.Errorf("%s shows %s", o.label, leak)
		}
	}
	t.Logf("checked %d outputs for %d forms of %d credentials", len(h.outputs), len(forms), len(secrets))
}

// leakSource is a source of TestSecretsNeverShow's config.
type leakSource struct {
	name, platform string
	path           string   // of base_url, under the platforms' server
	lines          []string // its other keys, as YAML
	streams        []string // nil: the platform's default
}

// leakSources are the sources: acme-* with the right credentials, bad-*
// with wrong ones, down-* and broken-* with the right ones sent to a host
// that answers 503 or 400.
func leakSources(og *ogmmasim.Simulator, wv *wavysim.Simulator) []leakSource {
	var channels strings.Builder
	channels.WriteString("channels:\n")
	for _, ch := range og.Channels() {
		fmt.Fprintf(&channels, "      - id: %s\n        conversations: [%s]\n", ch.ID, strings.Join(ch.Conversations, ", "))
	}
	ogmma := func(name, path, key string) leakSource {
		return leakSource{name: name, platform: config.Ogmma, path: path, lines: []string{"api_key: " + yamlQuote(key), strings.TrimSuffix(channels.String(), "\n")}}
	}
	digisac := func(name, path string, streams []string, lines ...string) leakSource {
		return leakSource{name: name, platform: config.Digisac, path: path, lines: lines, streams: streams}
	}
	wavy := func(name, path, token string, lines ...string) leakSource {
		return leakSource{name: name, platform: config.Wavy, path: path, lines: append([]string{"username: " + yamlQuote(wv.Username()), "token: " + yamlQuote(token),
			"customer_id: " + yamlQuote(wv.CustomerID()), "file_hosts: [127.0.0.1]"}, lines...)}
	}
	oxenty := func(name, path, key string) leakSource {
		return leakSource{name: name, platform: config.Oxenty, path: path, lines: []string{"api_key: " + yamlQuote(key)}}
	}
	two := []string{"contacts", "messages"}
	return []leakSource{
		ogmma("acme-ogmma", "/ogmma", leakOgmmaKey),
		digisac("acme-digisac", "/digisac", nil, "token: "+yamlQuote(leakDigisacToken), "webhook_secret: "+yamlQuote(leakDigisacHook)),
		digisac("acme-digisac-pw", "/digisac", nil, "username: "+yamlQuote(leakDigisacUser), "password: "+yamlQuote(leakDigisacPassword)),
		wavy("acme-wavy", "/wavy", leakWavyToken, "webhook_secret: "+yamlQuote(leakWavyHook)),
		oxenty("acme-oxenty", "/oxenty", leakOxentyKey),

		ogmma("bad-ogmma", "/ogmma", leakBadOgmmaKey),
		digisac("bad-digisac", "/digisac", two, "token: "+yamlQuote(leakBadDigisacToken)),
		digisac("bad-digisac-pw", "/digisac", two, "username: "+yamlQuote(leakDigisacUser), "password: "+yamlQuote(leakBadDigisacPassword)),
		wavy("bad-wavy", "/wavy", leakBadWavyToken),
		oxenty("bad-oxenty", "/oxenty", leakBadOxentyKey),

		ogmma("down-ogmma", "/down/ogmma", leakOgmmaKey),
		digisac("down-digisac-pw", "/down/digisac", two, "username: "+yamlQuote(leakDigisacUser), "password: "+yamlQuote(leakDigisacPassword)),
		wavy("down-wavy", "/down/wavy", leakWavyToken),
		digisac("broken-digisac", "/broken/digisac", two, "token: "+yamlQuote(leakDigisacToken)),
		oxenty("broken-oxenty", "/broken/oxenty", leakOxentyKey),
	}
}

func leakConfig(listen, dbURL, base string, sources []leakSource) string {
	var b strings.Builder
	fmt.Fprintf(&b, "concurrency: 8\nlisten: %s\ndatabase_url: %s\nsources:\n", listen, yamlQuote(dbURL))
	for _, s := range sources {
		fmt.Fprintf(&b, "  - name: %s\n    platform: %s\n    base_url: %s%s\n    rate_limit: 1000\n    schedule: \"@every 1h\"\n", s.name, s.platform, base, s.path)
		if s.streams != nil {
			fmt.Fprintf(&b, "    streams: [%s]\n", strings.Join(s.streams, ", "))
		}
		for _, l := range s.lines {
			fmt.Fprintf(&b, "    %s\n", l)
		}
	}
	return b.String()
}

// yamlQuote quotes s for YAML.
func yamlQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// parseURL parses a URL the test made.
func parseURL(raw string) *url.URL {
	v, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	return v
}

// withDBPassword puts password into the database URL (trust
// authentication ignores it). A URL that has a password already keeps it:
// that one is the secret then.
func withDBPassword(t *testing.T, raw, password string) (string, string) {
	t.Helper()
	v := parseURL(raw)
	if pw, ok := v.User.Password(); ok {
		return raw, pw
	}
	if v.User == nil || v.User.Username() == "" {
		t.Fatalf("%s names no user to give a password to", dbtest.Env)
	}
	v.User = url.UserPassword(v.User.Username(), password)
	return v.String(), password
}

// summaryHas reports whether sync's summary has a line of source with
// status.
func summaryHas(stdout, source, status string) bool {
	for _, line := range strings.Split(stdout, "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[0] == source && f[2] != status {
			return false
		}
	}
	return strings.Contains(stdout, source+" ")
}

// leakHarness runs the binary and keeps everything it showed.
type leakHarness struct {
	t       *testing.T
	bin     string
	env     []string
	mu      sync.Mutex
	outputs []leakOutput
}

type leakOutput struct{ label, text string }

func (h *leakHarness) add(label, text string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.outputs = append(h.outputs, leakOutput{label, text})
}

// run runs syncer with args and extra environment, and returns its exit
// code and output.
func (h *leakHarness) run(label string, env []string, args ...string) (int, string, string) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.bin, args...)
	cmd.Env = append(slices.Clone(h.env), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	code := exitOK
	if err := cmd.Run(); err != nil {
		ee, ok := errors.AsType[*exec.ExitError](err)
		if !ok {
			h.t.Fatalf("%s: %v", label, err)
		}
		code = ee.ExitCode()
	}
	format := "text"
	if i := slices.Index(args, "--log-format"); i >= 0 && i+1 < len(args) {
		format = args[i+1]
	}
	label = fmt.Sprintf("%s (%s logs)", label, format)
	h.add(label+" stdout", stdout.String())
	h.add(label+" stderr", stderr.String())
	h.checkJSONLogs(label, args, stderr.String())
	return code, stdout.String(), stderr.String()
}

// checkJSONLogs holds --log-format json to its word: the log lines are
// JSON objects.
func (h *leakHarness) checkJSONLogs(label string, args []string, stderr string) {
	h.t.Helper()
	if !slices.Contains(args, "json") || !slices.Contains(args, "--log-format") {
		return
	}
	for _, line := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(line, "{") && !json.Valid([]byte(line)) {
			h.t.Errorf("%s: a log line is not JSON: %s", label, line)
		}
	}
}

// daemon runs syncer run until every stream of every source has run once
// and the webhooks posted to it are processed, then stops it with SIGINT.
// It posts to both webhook sources a delivery with the token in the header
// and one in the query, the same with a wrong token, and one to a source
// nobody configured; and keeps /metrics, /healthz and /readyz.
func (h *leakHarness) daemon(db *dbtest.DB, format string, args []string, addr string, sources []leakSource, wv *wavysim.Simulator) {
	t := h.t
	t.Helper()
	ctx := context.Background()
	var lastRun int64
	if err := db.Pool.QueryRow(ctx, "SELECT coalesce(max(id), 0) FROM sync_runs").Scan(&lastRun); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(h.bin, args...)
	cmd.Env = h.env
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() {
		err := cmd.Wait()
		if ee, ok := errors.AsType[*exec.ExitError](err); ok {
			done <- ee.ExitCode()
			return
		}
		done <- 0
	}()
	exited := false
	defer func() {
		if !exited {
			_ = cmd.Process.Kill()
			<-done
		}
		label := fmt.Sprintf("run (%s)", format)
		h.add(label+" stdout", stdout.String())
		h.add(label+" stderr", stderr.String())
		h.checkJSONLogs(label, args, stderr.String())
	}()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(time.Minute); !ok(); {
			select {
			case code := <-done:
				exited = true
				t.Fatalf("syncer run exited %d while waiting for %s: %s", code, what, stderr.String())
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("syncer run: no %s within a minute: %s", what, stderr.String())
			}
		}
	}
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	waitFor("answer on /healthz", func() bool { code, _ := get("/healthz"); return code == http.StatusOK })

	post := func(source, token string, inQuery bool, body []byte) int {
		target := "http://" + addr + "/webhooks/" + source
		if inQuery {
			target += "?token=" + url.QueryEscape(token)
		}
		req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if !inQuery {
			req.Header.Set("X-Webhook-Token", token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		h.add("webhook answer", string(b))
		return resp.StatusCode
	}
	n := 0
	hooks := map[string]struct {
		secret string
		body   func(wrong bool) []byte
	}{
		"acme-digisac": {leakDigisacHook, func(wrong bool) []byte {
			n++
			id := fmt.Sprintf("leak-%s-%d", format, n)
			if wrong {
				id = fmt.Sprintf("wrong-token-%d", n)
			}
			return digisacDelivery(id)
		}},
		"acme-wavy": {leakWavyHook, func(wrong bool) []byte {
			b := wv.NewMOBatch(1)
			if wrong { // a marker the inbox must not hold
				b = bytes.Replace(b, []byte("{"), []byte(`{"note":"wrong-token",`), 1)
			}
			return b
		}},
	}
	for _, source := range slices.Sorted(maps.Keys(hooks)) {
		hk := hooks[source]
		for _, inQuery := range []bool{false, true} {
			if code := post(source, hk.secret, inQuery, hk.body(false)); code != http.StatusOK {
				t.Errorf("%s: a delivery with the right token (in query: %v) got %d", source, inQuery, code)
			}
			if code := post(source, leakWrongHook, inQuery, hk.body(true)); code != http.StatusUnauthorized {
				t.Errorf("%s: a delivery with a wrong token (in query: %v) got %d", source, inQuery, code)
			}
		}
	}
	if code := post(leakUnknownSource, leakWrongHook, true, []byte(`{}`)); code != http.StatusNotFound {
		t.Errorf("a delivery to an unknown source got %d", code)
	}

	jobs := 0
	for _, s := range sources {
		if s.streams != nil {
			jobs += len(s.streams)
		} else {
			jobs += len(config.DefaultStreams(s.platform))
		}
	}
	// A stream the platform told to wait an hour (Retry-After: 3600, the
	// down-* sources) in an earlier round keeps its job snoozed that long:
	// it does not run again in this one.
	var ran int
	waitFor("first run of every stream", func() bool {
		var snoozed int
		err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT DISTINCT source_id, stream FROM sync_runs
			WHERE id > $1 AND mode = 'incremental' AND finished_at IS NOT NULL) r`, lastRun).Scan(&ran)
		if err == nil {
			err = db.Pool.QueryRow(ctx, `SELECT count(*) FROM river_job j WHERE kind = 'sync' AND state = 'scheduled'
				AND scheduled_at > now() + interval '30 minutes' AND NOT EXISTS (
					SELECT FROM sync_runs r JOIN sources s ON s.id = r.source_id
					WHERE r.id > $1 AND s.name = j.args->>'source' AND r.stream = j.args->>'stream')`, lastRun).Scan(&snoozed)
		}
		return err == nil && ran+snoozed == jobs
	})
	waitFor("processed webhook inbox", func() bool {
		var waiting int
		err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM webhook_inbox WHERE processed_at IS NULL").Scan(&waiting)
		return err == nil && waiting == 0
	})
	var metrics string
	waitFor("metrics of every run", func() bool {
		_, metrics = get("/metrics")
		return streamsCounted(metrics) == ran
	})
	for _, want := range []string{
		`syncer_webhook_deliveries_total{code="200",source="acme-digisac"} 2`,
		`syncer_webhook_deliveries_total{code="401",source="acme-digisac"} 2`,
		`syncer_webhook_deliveries_total{code="200",source="acme-wavy"} 2`,
		`syncer_webhook_deliveries_total{code="401",source="acme-wavy"} 2`,
		`syncer_webhook_deliveries_total{code="404",source=""} 1`,
		`syncer_runs_total{source="bad-oxenty",status="failed",stream="sessions"} 1`,
		`syncer_runs_total{source="acme-wavy",status="succeeded",stream="sessions"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("run (%s): /metrics lacks %s:\n%s", format, want, metrics)
		}
	}
	h.add(fmt.Sprintf("run (%s) /metrics", format), metrics)
	for _, path := range []string{"/healthz", "/readyz"} {
		_, body := get(path)
		h.add(fmt.Sprintf("run (%s) %s", format, path), body)
	}

	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		exited = true
		if code != exitOK {
			t.Errorf("run (%s) exited %d after SIGINT", format, code)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("run (%s) did not stop within 30s of SIGINT", format)
	}
}

// quotingPlatform stands in front of the simulators as platforms that quote
// the credentials they were sent in every answer that is not a success: raw,
// URL-escaped (query and path forms) and base64. Two routes of its own
// fail whatever the credentials: /down/... answers 503 with a Retry-After
// of an hour, /broken/... answers 400. It also notes the tokens the Digisac
// simulator's password grant issues.
type quotingPlatform struct {
	sims   http.Handler
	quoted atomic.Int64 // answers that quoted credentials

	mu     sync.Mutex
	issued []string
}

func (p *quotingPlatform) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	creds := requestCredentials(r)
	switch {
	case strings.HasPrefix(r.URL.Path, "/down/"):
		w.Header().Set("Retry-After", "3600")
		p.refuse(w, http.StatusServiceUnavailable, "down for maintenance", creds)
		return
	case strings.HasPrefix(r.URL.Path, "/broken/"):
		p.refuse(w, http.StatusBadRequest, "malformed request", creds)
		return
	}
	rec := httptest.NewRecorder()
	p.sims.ServeHTTP(rec, r)
	if strings.HasSuffix(r.URL.Path, "/oauth/token") && rec.Code == http.StatusOK {
		var tok struct {
			Access  string `json:"access_token"`
			Refresh string `json:"refresh_token"`
		}
		if json.Unmarshal(rec.Body.Bytes(), &tok) == nil {
			p.mu.Lock()
			p.issued = append(p.issued, tok.Access, tok.Refresh)
			p.mu.Unlock()
		}
	}
	maps.Copy(w.Header(), rec.Header())
	if rec.Code >= 300 && len(creds) > 0 {
		p.refuse(w, rec.Code, http.StatusText(rec.Code), creds)
		return
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func (p *quotingPlatform) refuse(w http.ResponseWriter, status int, what string, creds []string) {
	p.quoted.Add(1)
	var quoted []string
	for _, c := range creds {
		quoted = append(quoted, c, url.QueryEscape(c), url.PathEscape(c), base64.StdEncoding.EncodeToString([]byte(c)))
	}
	msg := what + "; credentials received: " + strings.Join(quoted, " ")
	body, _ := json.Marshal(map[string]any{"message": msg, "errorMessage": msg, "statusCode": status})
	w.Header().Del("Content-Length")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (p *quotingPlatform) issuedTokens() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.DeleteFunc(slices.Clone(p.issued), func(s string) bool { return s == "" })
}

// requestCredentials lists the credentials a request to a platform
// carries: the credential headers (a Bearer token without "Bearer ") and
// the password of Digisac's password grant.
func requestCredentials(r *http.Request) []string {
	var out []string
	for _, k := range []string{"Authorization", "X-API-Key", "authenticationToken"} {
		if v := r.Header.Get(k); v != "" {
			out = append(out, strings.TrimPrefix(v, "Bearer "))
		}
	}
	if strings.HasSuffix(r.URL.Path, "/oauth/token") && r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		var grant struct {
			Password string `json:"password"`
		}
		if json.Unmarshal(b, &grant) == nil && grant.Password != "" {
			out = append(out, grant.Password)
		}
	}
	return out
}

// leakForm is one way a credential may be written.
type leakForm struct{ what, text string }

// secretForms gives each secret as is, URL-escaped (query and path forms,
// either case of hex), JSON-escaped and in base64 (standard and URL
// alphabets, padded or not), and base64 of "user:password" for the pairs.
func secretForms(secrets []string, pairs [][2]string) []leakForm {
	var out []leakForm
	add := func(what, text string) {
		if len(text) >= 8 && !slices.ContainsFunc(out, func(f leakForm) bool { return f.text == text }) {
			out = append(out, leakForm{what, text})
		}
	}
	for _, s := range secrets {
		add(fmt.Sprintf("%q", s), s)
		for _, esc := range []string{url.QueryEscape(s), url.PathEscape(s)} {
			add(fmt.Sprintf("%q URL-escaped", s), esc)
			add(fmt.Sprintf("%q URL-escaped", s), lowerHex(esc))
		}
		j, _ := json.Marshal(s)
		add(fmt.Sprintf("%q JSON-escaped", s), string(j[1:len(j)-1]))
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			add(fmt.Sprintf("%q in base64", s), enc.EncodeToString([]byte(s)))
		}
	}
	for _, p := range pairs {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding} {
			add(fmt.Sprintf("base64 of %q", p[0]+":"+p[1]), enc.EncodeToString([]byte(p[0]+":"+p[1])))
		}
	}
	return out
}

// lowerHex writes the hex digits of every %XX in s in lower case.
func lowerHex(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			copy(b[i+1:i+3], strings.ToLower(string(b[i+1:i+3])))
			i += 2
		}
	}
	return string(b)
}

// findLeaks lists the forms text holds, and any piece of a credential: the
// prefix every test credential starts with, in any case, or the base64 of
// that prefix.
func findLeaks(text string, forms []leakForm) []string {
	var out []string
	for _, f := range forms {
		if i := strings.Index(text, f.text); i >= 0 {
			out = append(out, fmt.Sprintf("%s: …%s…", f.what, excerpt(text, i, len(f.text))))
		}
	}
	if len(out) == 0 {
		if i := strings.Index(strings.ToLower(text), "s3cret"); i >= 0 {
			out = append(out, "a piece of a credential: …"+excerpt(text, i, 6)+"…")
		} else if i := strings.Index(text, base64.StdEncoding.EncodeToString([]byte("S3CRET"))); i >= 0 {
			out = append(out, "a credential in base64: …"+excerpt(text, i, 8)+"…")
		}
	}
	return out
}

func excerpt(text string, i, n int) string {
	return text[max(0, i-60):min(len(text), i+n+60)]
}
