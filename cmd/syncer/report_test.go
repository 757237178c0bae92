package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"syncer/internal/dbtest"
	"syncer/internal/sim"
	digisacsim "syncer/internal/sim/digisac"
	ogmmasim "syncer/internal/sim/ogmma"
	oxentysim "syncer/internal/sim/oxenty"
	wavysim "syncer/internal/sim/wavy"
)

// TestReportAfterASyncOfTheSimulators syncs the four simulators, with a
// few days of data up to now, then writes `syncer report` with its
// defaults (the last 30 days): the file names every source and draws the
// synced messages; --source narrows it to one.
func TestReportAfterASyncOfTheSimulators(t *testing.T) {
	t.Parallel()
	bin := buildSyncer(t)
	db := dbtest.New(t)
	now := time.Now().UTC()
	og := ogmmasim.New(ogmmasim.Config{Seed: 97, ConversationsPerChannel: 4, MessagesPerConversation: 20, Start: now.Add(-48 * time.Hour), Step: 30 * time.Minute})
	ds := digisacsim.New(digisacsim.Config{Seed: 97, Contacts: 8, Tickets: 12, MessagesPerTicket: 6, Start: now.Add(-3 * 24 * time.Hour), TicketEvery: 4 * time.Hour})
	wv := wavysim.New(wavysim.Config{Seed: 97, Sessions: 5})
	ox := oxentysim.New(oxentysim.Config{Seed: 97, Sessions: 3, Start: now.Add(-5 * 24 * time.Hour)})
	// Wavy's session file is fetched over https only: from a host with a
	// certificate made for the test, which the syncer process trusts
	// through SSL_CERT_FILE.
	files, certFile, err := wavyFileHost(wv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { files.Close(); os.Remove(certFile) })
	srv := httptest.NewServer(sim.NewServers(sim.Simulators{Ogmma: og, Digisac: ds, Wavy: wv, Oxenty: ox}))
	t.Cleanup(srv.Close)

	var b strings.Builder
	b.WriteString("sources:\n")
	fmt.Fprintf(&b, "  - {name: acme-digisac, platform: digisac, base_url: '%s/digisac', token: %s, rate_limit: 1000}\n", srv.URL, ds.Token())
	fmt.Fprintf(&b, "  - {name: acme-wavy, platform: wavy, base_url: '%s/wavy', username: %s, token: %s, customer_id: '%s', file_hosts: [127.0.0.1], rate_limit: 1000}\n",
		srv.URL, wv.Username(), wv.Token(), wv.CustomerID())
	fmt.Fprintf(&b, "  - {name: acme-oxenty, platform: oxenty, base_url: '%s/oxenty', api_key: %s, rate_limit: 1000}\n", srv.URL, ox.APIKey())
	fmt.Fprintf(&b, "  - name: acme-ogmma\n    platform: ogmma\n    base_url: %s/ogmma\n    api_key: %s\n    rate_limit: 1000\n    channels:\n", srv.URL, og.APIKey())
	for _, ch := range og.Channels() {
		fmt.Fprintf(&b, "      - id: %s\n        conversations: [%s]\n", ch.ID, strings.Join(ch.Conversations, ", "))
	}
	cfg := filepath.Join(t.TempDir(), "syncer.yaml")
	writeFile(t, cfg, b.String())

	cmd := exec.Command(bin, "sync", "--config", cfg, "--database-url", db.URL, "--log-level", "warn")
	cmd.Env = append(os.Environ(), "SYNCER_CONFIG=", "DATABASE_URL=", "SSL_CERT_FILE="+certFile)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sync: %v\n%s", err, out)
	}

	// Kept with go test -artifacts (make test: under test-output/).
	out := filepath.Join(t.ArtifactDir(), "report.html")
	code, stdout, stderr := cli(t, "report", "--config", cfg, "--database-url", db.URL, "--out", out)
	if code != exitOK {
		t.Fatalf("report: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "wrote "+out+"\n") || !regexp.MustCompile(`\(UTC\): [\d,]+ messages, [\d,]+ first responses .*, \d+ agents, 4 sources\n$`).MatchString(stdout) {
		t.Errorf("report's output:\n%s", stdout)
	}
	page := readFile(t, out)
	for _, name := range []string{"acme-digisac", "acme-ogmma", "acme-wavy", "acme-oxenty"} {
		if !strings.Contains(page, `data-source="`+name+`"`) {
			t.Errorf("the report does not name %s", name)
		}
	}
	for _, chart := range []string{"daily-volume", "busiest-hours", "first-response"} {
		m := regexp.MustCompile(`data-chart="` + chart + `" data-points="(\d+)"`).FindStringSubmatch(page)
		if n, _ := strconv.Atoi(m[1]); m == nil || n == 0 {
			t.Errorf("%s has no data: %v", chart, m)
		}
	}

	out = filepath.Join(t.ArtifactDir(), "report-acme-ogmma.html")
	code, stdout, stderr = cli(t, "report", "--config", cfg, "--database-url", db.URL, "--out", out, "--source", "acme-ogmma", "--since", "2020-01-01")
	if code != exitOK || !strings.HasSuffix(stdout, ", 1 sources\n") {
		t.Fatalf("report --source: exit %d\n%s\n%s", code, stdout, stderr)
	}
	page = readFile(t, out)
	if !strings.Contains(page, `data-source="acme-ogmma"`) || strings.Contains(page, `data-source="acme-digisac"`) {
		t.Error("report --source acme-ogmma shows another source, or not it")
	}
	if !strings.Contains(page, "Period <b>2020-01-01 00:00 to ") {
		t.Error("report --since 2020-01-01 does not start then")
	}
}

func TestReportUsage(t *testing.T) {
	t.Setenv("SYNCER_CONFIG", "")
	cfg := filepath.Join(t.TempDir(), "syncer.yaml")
	writeFile(t, cfg, "sources:\n  - {name: acme-oxenty, platform: oxenty, base_url: 'http://127.0.0.1:1/oxenty', api_key: oxenty-sim-key}\n")
	out := filepath.Join(t.TempDir(), "report.html")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"report"}, "--out FILE is required"},
		{[]string{"report", "--out", out, "extra"}, `unexpected argument "extra"`},
		{[]string{"report", "--out", out, "--since", "2024-13-01"}, `--since "2024-13-01": want a date (2024-01-15) or a time (2024-01-15T10:30:00), both in the warehouse's time zone, or an RFC 3339 time with its offset`},
		{[]string{"report", "--out", out, "--until", "2024-01-15 10:30"}, `--until "2024-01-15 10:30": want a date`},
		{[]string{"report", "--out", out, "--since", "2024-02-01", "--until", "2024-01-01"}, "--since 2024-02-01 is not before --until 2024-01-01"},
		{[]string{"report", "--out", out, "--since", "2024-02-01T00:00:00Z", "--until", "2024-01-31T21:00:00-03:00"}, "--since 2024-02-01T00:00:00Z is not before --until 2024-01-31T21:00:00-03:00"},
		{[]string{"report", "--out", out, "--source", "nope"}, `--source "nope" is not in`},
		{[]string{"report", "--out", out, "--colour", "blue"}, "unknown flag --colour"},
	} {
		code, stdout, stderr := cli(t, append(tc.args, "--config", cfg, "--database-url", "postgres://127.0.0.1:1/none")...)
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and %q", tc.args, code, stdout, stderr, tc.want)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a usage error wrote %s", out)
	}
}

// TestReportRefusesAnUnmigratedWarehouse: exit 1, saying what to run.
func TestReportRefusesAnUnmigratedWarehouse(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	og := ogmmasim.New(ogmmasim.Config{Seed: 6})
	cfg := ogmmaConfig(t, "http://127.0.0.1:1", og.APIKey(), og, "")
	if code, stdout, _ := cli(t, "migrate", "down", "--database-url", db.URL); code != exitOK || !strings.Contains(stdout, "rolled back") {
		t.Fatalf("migrate down: %d %s", code, stdout)
	}
	out := filepath.Join(t.TempDir(), "report.html")
	code, _, stderr := cli(t, "report", "--out", out, "--config", cfg, "--database-url", db.URL)
	if code != exitFailed || !strings.Contains(stderr, "syncer migrate up") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("%s was written", out)
	}
}

// TestReportHelpSaysTheFormsOfTimes: --since and --until say what they
// accept and in which time zone.
func TestReportHelpSaysTheFormsOfTimes(t *testing.T) {
	t.Parallel()
	code, stdout, _ := cli(t, "report", "--help")
	for _, want := range []string{"a date (2024-01-15, from its midnight)", "(2024-01-15T10:30:00) in the warehouse's time zone",
		"an RFC 3339 time with an offset (2024-01-15T10:30:00Z", "in the forms of --since"} {
		if code != exitOK || !strings.Contains(stdout, want) {
			t.Errorf("report --help: exit %d, no %q in\n%s", code, want, stdout)
		}
	}
}

func TestParseReportWhen(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in        string
		at, local time.Time
	}{
		{"", time.Time{}, time.Time{}},
		{"2026-11-01", time.Time{}, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
		{"2026-11-01T08:30:00", time.Time{}, time.Date(2026, 11, 1, 8, 30, 0, 0, time.UTC)},
		{"2026-11-01T08:30:00.5", time.Time{}, time.Date(2026, 11, 1, 8, 30, 0, 5e8, time.UTC)},
		{"2026-11-01T08:30:00Z", time.Date(2026, 11, 1, 8, 30, 0, 0, time.UTC), time.Time{}},
		{"2026-11-01T00:00:00-03:00", time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC), time.Time{}},
	} {
		at, local, err := parseReportWhen("--since", tc.in)
		if err != nil || !at.Equal(tc.at) || !local.Equal(tc.local) || at.Location() != time.UTC || local.Location() != time.UTC {
			t.Errorf("%q: %v, %v, %v; want %v, %v", tc.in, at, local, err, tc.at, tc.local)
		}
	}
	for _, in := range []string{"2026-11-31", "01/11/2026", "2026-11-01T08:30", "2026-11-01 08:30:00", "yesterday"} {
		if _, _, err := parseReportWhen("--since", in); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

// TestReportReadsDatesInTheWarehousesTimeZone: with the views in São
// Paulo's time (UTC-3), --since 2024-03-04 --until 2024-03-11 is the week
// from local midnight to local midnight, with no bar for 3 March; the same
// times with an offset are taken as given; and a period that ends before
// it starts, once the zone is known, is a usage error.
func TestReportReadsDatesInTheWarehousesTimeZone(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx := context.Background()
	for _, sql := range []string{
		`SELECT syncer_apply_time_zone('America/Sao_Paulo')`,
		`INSERT INTO sources (name, platform) VALUES ('acme-oxenty', 'oxenty')`,
		// 3 March 23:30, 4 March 09:00 and 10 March 23:30, local time.
		`INSERT INTO messages (source_id, external_id, direction, kind, sent_at, raw)
		 SELECT s.id, m.id, 'inbound', 'text', m.at::timestamptz, '{}'::jsonb FROM sources s,
		        (VALUES ('m1', '2024-03-04T02:30:00Z'), ('m2', '2024-03-04T12:00:00Z'), ('m3', '2024-03-11T02:30:00Z')) m (id, at)`,
	} {
		if _, err := db.Pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "syncer.yaml")
	writeFile(t, cfg, "time_zone: America/Sao_Paulo\nsources:\n  - {name: acme-oxenty, platform: oxenty, base_url: 'http://127.0.0.1:1/oxenty', api_key: oxenty-sim-key}\n")
	for _, tc := range []struct {
		since, until string
		period       string
		days         []string
	}{
		{"2024-03-04", "2024-03-11", "2024-03-04 00:00 to 2024-03-11 00:00", []string{"2024-03-04", "2024-03-10"}},
		{"2024-03-04T00:00:00", "2024-03-10T23:45:00", "2024-03-04 00:00 to 2024-03-10 23:45", []string{"2024-03-04", "2024-03-10"}},
		{"2024-03-04T00:00:00Z", "2024-03-11T00:00:00Z", "2024-03-03 21:00 to 2024-03-10 21:00", []string{"2024-03-03", "2024-03-04"}},
		{"2024-03-04T00:00:00-03:00", "2024-03-11", "2024-03-04 00:00 to 2024-03-11 00:00", []string{"2024-03-04", "2024-03-10"}},
	} {
		out := filepath.Join(dir, "report.html")
		code, stdout, stderr := cli(t, "report", "--config", cfg, "--database-url", db.URL, "--out", out, "--since", tc.since, "--until", tc.until)
		if code != exitOK || !strings.HasPrefix(stdout, "wrote ") || !strings.Contains(stdout, "\n"+tc.period+" (America/Sao_Paulo): 2 messages,") {
			t.Errorf("--since %s --until %s: exit %d\n%s\n%s", tc.since, tc.until, code, stdout, stderr)
			continue
		}
		page := readFile(t, out)
		if !strings.Contains(page, "Period <b>"+tc.period+"</b>") {
			t.Errorf("--since %s --until %s: the report's period is not %s", tc.since, tc.until, tc.period)
		}
		var days []string
		for _, m := range regexp.MustCompile(`data-day="([0-9-]+)"`).FindAllStringSubmatch(page, -1) {
			if len(days) == 0 || days[len(days)-1] != m[1] {
				days = append(days, m[1])
			}
		}
		if strings.Join(days, " ") != strings.Join(tc.days, " ") {
			t.Errorf("--since %s --until %s: messages on the days %v, want %v", tc.since, tc.until, days, tc.days)
		}
	}

	out := filepath.Join(dir, "empty.html")
	code, stdout, stderr := cli(t, "report", "--config", cfg, "--database-url", db.URL, "--out", out, "--since", "2024-03-04", "--until", "2024-03-04T03:00:00Z")
	if code != exitUsage || stdout != "" || !strings.Contains(stderr, "2024-03-04 00:00:00 to 2024-03-04 00:00:00 in America/Sao_Paulo: check --since and --until") {
		t.Errorf("an empty period: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("an empty period wrote %s", out)
	}
}
