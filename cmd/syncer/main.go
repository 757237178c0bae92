// Command syncer keeps a PostgreSQL warehouse of customer-conversation
// history from Digisac, Ogmma, Wavy and Oxenty up to date. This package only
// wires flags, config, logging and signals to the internal packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"syncer/internal/importer"
	"syncer/internal/progress"
)

// Exit codes (DESIGN.md).
const (
	exitOK      = 0
	exitFailed  = 1
	exitUsage   = 2
	exitPartial = 3
)

// command is one subcommand: its synopsis, what it does, and how it runs.
type command struct {
	name    string
	args    string // the synopsis after "syncer NAME"
	summary string
	run     func(e *env, ctx context.Context, args []string) error
}

// commands lists the subcommands in the order the usage shows them.
func commands() []command {
	return []command{
		{"migrate", "up|down|status|roles [--writer NAME] [--analyst NAME] [--writer-password-env VAR] [--writer-can-create-schemas] [--analyst-login NAME [--analyst-password-env VAR]]...", "apply, roll back or list the warehouse schema migrations; roles: make the writer and read-only analyst database roles", (*env).migrate},
		{"sync", "[--source NAME]... [--stream S]... [--since T] [--until T] [--full] [--json]", "run every selected stream once, then print a summary (a table, or JSON)", (*env).sync},
		{"import", "--source NAME --format F FILE...   (F: " + strings.Join(importer.Formats(), " | ") + ")", "load export files of a configured source", (*env).importFiles},
		{"run", "", "the daemon, one replica of a fleet: every stream on its schedule, backfill chunks, webhooks; /healthz /readyz /metrics /ui on listen", (*env).run},
		{"backfill", "--source NAME --stream S --since T --until T [--chunk 720h] [--wait]", "split a window of a stream into jobs that the syncer run fleet works at once", (*env).backfill},
		{"check", "[--source NAME]... [--json]", "reach each source's platform with its credentials, one cheap request per kind of stream; needs no database, writes nothing", (*env).check},
		{"streams", "[--source NAME]... [--json]", "the catalog: each source's streams, how they read, schedule, cursor, last run", (*env).streams},
		{"state", "show|reset --source NAME --stream S [--partition P] [--to T] [--yes] [--json]", "show a stream's saved cursors, or reset them (recorded in sync_runs)", (*env).stateCmd},
		{"quarantine", "list|show|retry [--source NAME] [--stream S] [--since T] [--id N] [--json]", "list quarantined records, show one whole, or map them again with today's transform (a retry is recorded in sync_runs)", (*env).quarantine},
		{"status", "[--json]", "per source and stream: cursor, lag, last run, quarantine", (*env).status},
		{"report", "--out FILE.html [--since T] [--until T] [--source NAME]...", "write one self-contained HTML report of a period: daily volume, first-response times, busiest hours, agent load, sources' freshness and quarantine", (*env).report},
		{"demo", "[--messages N] [--report FILE]", "simulators, a real sync into the schema " + demoSchema + " and a summary", (*env).demo},
		{"simulate", "[--listen ADDR] [--seed N] [--conversations N] [--messages N] [fault flags]", "serve the Ogmma, Digisac, Wavy and Oxenty simulators, for trying things by hand", (*env).simulate},
		{"version", "", "print the version (also --version)", func(e *env, _ context.Context, args []string) error { return e.version(args) }},
		{"help", "[COMMAND]", "print this text, or a command's flags (also --help, -h)", nil},
	}
}

func lookupCommand(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func commandNames() []string {
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	return names
}

// hardExit, when set (by main: not in tests, which run commands in their
// own process), ends the process at once: syncer run uses it when
// shutdown_timeout has passed and work is still in flight.
var hardExit func(code int)

func main() {
	hardExit = os.Exit
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError is a mistake in the command line or the config: exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// exitError carries an exit code chosen by a command, after it has already
// said why.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	g, rest, err := parseGlobals(args)
	if err != nil {
		fmt.Fprintf(stderr, "syncer: %v (see syncer --help)\n", err)
		return exitUsage
	}
	if len(rest) == 0 {
		writeUsage(stderr)
		return exitUsage
	}
	errOut := progress.NewOutput(stderr) // log lines go above the progress display's
	env := &env{globals: g, stdout: stdout, stderr: errOut, errOut: errOut}
	defer env.close()
	name, cmdArgs := rest[0], rest[1:]
	if name == "help" {
		if len(cmdArgs) > 1 {
			fmt.Fprintf(stderr, "syncer: help takes one COMMAND at most, not %q (see syncer --help)\n", strings.Join(cmdArgs, " "))
			return exitUsage
		}
		if len(cmdArgs) == 0 || cmdArgs[0] == "help" {
			writeUsage(stdout)
			return exitOK
		}
		// "syncer help sync" is "syncer sync --help".
		name, cmdArgs = cmdArgs[0], []string{"--help"}
	}
	c, ok := lookupCommand(name)
	if !ok {
		fmt.Fprintf(stderr, "syncer: unknown command %q; the commands are %s (see syncer --help)\n", name, strings.Join(commandNames(), ", "))
		return exitUsage
	}
	return exitCode(c.run(env, ctx, cmdArgs), env)
}

func exitCode(err error, env *env) int {
	var ue *usageError
	var ee *exitError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, errHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(env.stderr, "syncer: %s\n", env.redactor.String(ue.msg))
		return exitUsage
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(env.stderr, "syncer: stopped")
		return exitFailed
	default:
		fmt.Fprintf(env.stderr, "syncer: %s\n", env.redactor.String(err.Error()))
		return exitFailed
	}
}
