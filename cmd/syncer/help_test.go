package main

import (
	"regexp"
	"strings"
	"testing"
)

// singleDashFlag matches a flag written with one dash at the start of a
// help line, the way flag.PrintDefaults writes it.
var singleDashFlag = regexp.MustCompile(`(?m)^\s+-[a-z]`)

func TestHelpGoesToStdoutAndExits0(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"-help"}, {"--log-level", "debug", "--help"}, {"help", "help"}} {
		code, stdout, stderr := cli(t, args...)
		if code != exitOK || stderr != "" {
			t.Errorf("%v: exit %d, stderr %q; want 0 and nothing", args, code, stderr)
		}
		for _, want := range []string{"Usage:", "syncer sync ", "syncer import ", "syncer report   --out FILE.html", "Global flags", "--database-url URL", "Exit codes"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("%v: stdout does not say %q:\n%s", args, want, stdout)
			}
		}
		if singleDashFlag.MatchString(stdout) {
			t.Errorf("%v: a flag with one dash:\n%s", args, stdout)
		}
	}
}

func TestNoArgumentsPrintsUsageToStderr(t *testing.T) {
	code, stdout, stderr := cli(t)
	if code != exitUsage || stdout != "" || !strings.Contains(stderr, "Usage:") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestCommandHelpShowsFlagsWithTwoDashes(t *testing.T) {
	// The help must not show the environment: this URL holds a password.
	t.Setenv("DATABASE_URL", "postgres://syncer:pw-from-env@127.0.0.1/warehouse")
	want := map[string][]string{
		"sync":     {"Usage: syncer sync [--source NAME]...", "  --source NAME ", "  --stream S ", "  --since T ", "  --full ", "sync only the source NAME"},
		"import":   {"  --source NAME ", "  --format F ", "digisac-tickets-csv"},
		"status":   {"  --json "},
		"demo":     {"  --messages N ", "(default 20000)", "  --report FILE "},
		"simulate": {"  --listen ADDR ", "(default 127.0.0.1:8089)", "  --latency D ", "  --rate-limited SHARE "},
		"migrate":  {"Usage: syncer migrate up|down|status|roles [--writer NAME]", "  --writer NAME ", "(default syncer_writer)", "  --analyst NAME ", "(default syncer_analyst)", "  --writer-password-env VAR ", "  --analyst-login NAME ", "  --analyst-password-env VAR "},
		"run":      {"Usage: syncer run\n"},
		"version":  {"Usage: syncer version\n"},
		"report":   {"Usage: syncer report --out FILE.html [--since T] [--until T] [--source NAME]...", "  --out FILE ", "  --since T ", "  --until T ", "  --source NAME ", "self-contained HTML"},
	}
	for _, name := range []string{"migrate", "sync", "import", "run", "status", "demo", "simulate", "version", "report"} {
		for _, args := range [][]string{{name, "--help"}, {name, "-h"}, {"help", name}, {"--help", name}} {
			code, stdout, stderr := cli(t, args...)
			if code != exitOK || stderr != "" {
				t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
			}
			if !strings.HasPrefix(stdout, "Usage: syncer "+name) {
				t.Errorf("%v: stdout does not start with the synopsis:\n%s", args, stdout)
			}
			if singleDashFlag.MatchString(stdout) {
				t.Errorf("%v: a flag with one dash:\n%s", args, stdout)
			}
			if strings.Contains(stdout, "pw-from-env") {
				t.Errorf("%v: the help shows $DATABASE_URL:\n%s", args, stdout)
			}
			for _, w := range append(want[name], "Global flags", "  --config FILE ", "  --database-url URL ", "  --log-level L ", "(default info)") {
				if !strings.Contains(stdout, w) {
					t.Errorf("%v: stdout does not say %q:\n%s", args, w, stdout)
				}
			}
		}
	}
	// A boolean flag takes no value; the others are listed once, under
	// their heading.
	_, stdout, _ := cli(t, "sync", "--help")
	if strings.Contains(stdout, "--full VALUE") || strings.Count(stdout, "--config FILE") != 1 {
		t.Errorf("sync --help:\n%s", stdout)
	}
	if flags, globals, _ := strings.Cut(stdout, "Global flags"); !strings.Contains(flags, "--since T") || strings.Contains(globals, "--since") {
		t.Errorf("sync --help mixes its flags with the global ones:\n%s", stdout)
	}
}

// syncer migrate roles --help is migrate's help, where the roles flags
// are.
func TestMigrateRolesHelp(t *testing.T) {
	code, stdout, stderr := cli(t, "migrate", "roles", "--help")
	if code != exitOK || stderr != "" || !strings.HasPrefix(stdout, "Usage: syncer migrate up|down|status|roles") ||
		!strings.Contains(stdout, "roles: make the writer and read-only analyst database roles") || !strings.Contains(stdout, "  --analyst-login NAME ") {
		t.Fatalf("exit %d, stderr %q\n%s", code, stderr, stdout)
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}, {"--log-level", "warn", "--version"}} {
		code, stdout, stderr := cli(t, args...)
		if code != exitOK || stdout != versionString()+"\n" || stderr != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 0 and %q", args, code, stdout, stderr, versionString())
		}
	}
	if !strings.HasPrefix(versionString(), "syncer ") {
		t.Errorf("version %q", versionString())
	}
}

func TestUnknownCommandIsOneLine(t *testing.T) {
	code, stdout, stderr := cli(t, "synch")
	if code != exitUsage || stdout != "" {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
	if strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, `unknown command "synch"`) || !strings.Contains(stderr, "sync, import") {
		t.Fatalf("stderr %q: want one line naming the commands", stderr)
	}
}
