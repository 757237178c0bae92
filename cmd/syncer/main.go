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
	"syscall"
)

// Exit codes (DESIGN.md).
const (
	exitOK      = 0
	exitFailed  = 1
	exitUsage   = 2
	exitPartial = 3
)

const usage = `syncer keeps a PostgreSQL warehouse of conversation history up to date.

Usage:
  syncer migrate up|down|status
  syncer sync     [--source NAME]... [--stream S]... [--since T] [--until T] [--full]
  syncer import   --source NAME --format F FILE...   (F: digisac-tickets-csv | digisac-transcript-txt | wavy-sessions-csv | wavy-mo-json)
  syncer run      (daemon: every source on its schedule; /healthz /readyz /metrics on listen)
  syncer status   [--json]
  syncer demo     [--messages N]
  syncer simulate [--listen ADDR] [--seed N] [--conversations N] [--messages N] [fault flags]
  syncer version

Global flags (before or after the command):
  --config FILE        config file (default $SYNCER_CONFIG, then ./syncer.yaml)
  --database-url URL   PostgreSQL URL (default $DATABASE_URL, then database_url in the config)
  --log-format F       text or json (default text)
  --log-level L        debug, info, warn or error (default info)

Exit codes: 0 done, 1 failed, 2 usage or config error, 3 partial
(quarantined records, a suspected gap, or a stream that failed while others ran).
Run "syncer COMMAND --help" for a command's flags.
`

func main() {
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
		fmt.Fprintf(stderr, "syncer: %v\n\n%s", err, usage)
		return exitUsage
	}
	if len(rest) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	env := &env{globals: g, stdout: stdout, stderr: stderr}
	defer env.close()
	cmd, cmdArgs := rest[0], rest[1:]
	var cmdErr error
	switch cmd {
	case "migrate":
		cmdErr = env.migrate(ctx, cmdArgs)
	case "sync":
		cmdErr = env.sync(ctx, cmdArgs)
	case "import":
		cmdErr = env.importFiles(ctx, cmdArgs)
	case "run":
		cmdErr = env.run(ctx, cmdArgs)
	case "status":
		cmdErr = env.status(ctx, cmdArgs)
	case "demo":
		cmdErr = env.demo(ctx, cmdArgs)
	case "simulate":
		cmdErr = env.simulate(ctx, cmdArgs)
	case "version", "--version", "-version":
		cmdErr = env.version(cmdArgs)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "syncer: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
	return exitCode(cmdErr, env)
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
