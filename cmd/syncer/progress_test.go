package main

import (
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"syncer/internal/dbtest"
	"syncer/internal/progress"
	"syncer/internal/sim"
	digisacsim "syncer/internal/sim/digisac"
	"syncer/internal/sim/fault"
)

// Off a terminal (a test's stderr is a buffer), sync prints on stdout
// exactly the table it always printed, and a stream that runs longer than
// the progress interval gets progress log lines on stderr, with the pages
// Digisac's lastPage tells.
func TestSyncOffATerminalLogsProgressAndKeepsStdout(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	// 60 contacts in pages of 10, each answer a second late: 6 s of run,
	// past the 5 s interval.
	ds := digisacsim.New(digisacsim.Config{Seed: 3, Contacts: 60, Faults: fault.Faults{Latency: time.Second}})
	srv := httptest.NewServer(sim.NewServers(sim.Simulators{Digisac: ds}))
	defer srv.Close()
	cfg := filepath.Join(t.TempDir(), "syncer.yaml")
	writeFile(t, cfg, fmt.Sprintf("sources:\n  - name: acme-digisac\n    platform: digisac\n    base_url: %s/digisac\n    token: %s\n    rate_limit: 1000\n    page_size: 10\n",
		srv.URL, ds.Token()))

	began := time.Now()
	code, stdout, stderr := cli(t, "sync", "--config", cfg, "--database-url", db.URL, "--stream", "contacts")
	took := time.Since(began)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	table := regexp.MustCompile(`^SOURCE        STREAM    STATUS     PAGES  READ  WRITTEN  QUARANTINED  GAPS  TOOK\n` +
		`acme-digisac  contacts  succeeded  6      60    60       0            0     [0-9.]+m?s\n$`)
	if !table.MatchString(stdout) {
		t.Errorf("stdout is not the table alone:\n%q", stdout)
	}
	var lines []string
	for _, line := range strings.Split(stderr, "\n") {
		if strings.Contains(line, "msg=progress") {
			lines = append(lines, line)
		}
	}
	if took < progress.DefaultEvery {
		t.Logf("the sync took %s, less than the interval: no progress line is due (%d seen)", took, len(lines))
		return
	}
	if len(lines) == 0 {
		t.Fatalf("the sync took %s and logged no progress line:\n%s", took, stderr)
	}
	for _, want := range []string{"level=INFO", "source=acme-digisac", "stream=contacts", "run_id=", "rows_read=", "pages_total=6", "eta="} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("the progress line lacks %q: %s", want, lines[0])
		}
	}
}
