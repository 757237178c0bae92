package main

import (
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
		{[]string{"report", "--out", out, "--since", "2024-13-01"}, `--since "2024-13-01": want an RFC 3339 time`},
		{[]string{"report", "--out", out, "--since", "2024-02-01", "--until", "2024-01-01"}, "--since 2024-02-01 is not before --until 2024-01-01"},
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
