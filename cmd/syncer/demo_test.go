package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"syncer/internal/dbtest"
)

// TestDemoEndsWithTheReport runs syncer demo, small, and checks it ends by
// writing the report and saying where, after its summary in local days.
// The demo's schemas (syncer_demo and its bookkeeping) are made anew in
// the test database, as the demo always does.
func TestDemoEndsWithTheReport(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo")
	}
	base := os.Getenv(dbtest.Env)
	if base == "" {
		t.Skip(dbtest.Env + " is not set")
	}
	out := filepath.Join(t.TempDir(), "demo.html")
	code, stdout, stderr := cli(t, "demo", "--messages", "400", "--report", out, "--database-url", base)
	if code != exitOK {
		t.Fatalf("demo: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	for _, want := range []string{"days in America/Sao_Paulo", "Messages per local day", "\nReport: " + out + " ("} {
		if !strings.Contains(stdout, want) {
			t.Errorf("demo's output lacks %q:\n%s", want, stdout)
		}
	}
	if i, j := strings.Index(stdout, "First human response"), strings.Index(stdout, "Report: "); i < 0 || j < i {
		t.Errorf("the report line does not come after the summary:\n%s", stdout)
	}
	html := readFile(t, out)
	for _, want := range []string{"demo-digisac", "demo-ogmma", "demo-wavy", "demo-oxenty", `data-chart="daily-volume"`} {
		if !strings.Contains(html, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
}
