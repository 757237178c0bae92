package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"syncer/internal/config"
	"syncer/internal/logging"
	"syncer/internal/progress"
	"syncer/internal/redact"
	"syncer/internal/schemas"
)

var errHelp = errors.New("help shown")

// globals are the flags every command takes.
type globals struct {
	configPath  string
	configSet   bool // --config or $SYNCER_CONFIG given: the file must exist
	databaseURL string
	logFormat   string
	logLevel    string
}

func (g *globals) register(fs *flag.FlagSet) {
	fs.Func("config", "read the config from `FILE` (default $SYNCER_CONFIG, then ./syncer.yaml)", func(s string) error { g.configPath, g.configSet = s, true; return nil })
	fs.StringVar(&g.databaseURL, "database-url", g.databaseURL, "connect to PostgreSQL at `URL` (default $DATABASE_URL, then database_url in the config)")
	fs.StringVar(&g.logFormat, "log-format", g.logFormat, "write the logs on stderr in format `F`: text or json (default text)")
	fs.StringVar(&g.logLevel, "log-level", g.logLevel, "log from level `L` up: debug, info, warn or error (default info)")
}

// parseGlobals reads the global flags given before the command. --help
// (-h) and --version there stand for the commands help and version.
func parseGlobals(args []string) (*globals, []string, error) {
	g := &globals{configPath: "syncer.yaml", databaseURL: os.Getenv("DATABASE_URL"), logFormat: "text", logLevel: "info"}
	if p := os.Getenv("SYNCER_CONFIG"); p != "" {
		g.configPath, g.configSet = p, true
	}
	fs := flag.NewFlagSet("syncer", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	g.register(fs)
	var help, version bool
	fs.BoolVar(&help, "help", false, "")
	fs.BoolVar(&help, "h", false, "")
	fs.BoolVar(&version, "version", false, "")
	if err := fs.Parse(args); err != nil {
		return nil, nil, errors.New(flagErrorText(fs, err))
	}
	rest := fs.Args()
	switch {
	case help:
		rest = append([]string{"help"}, rest...)
	case version:
		rest = append([]string{"version"}, rest...)
	}
	return g, rest, nil
}

// parseCommand parses a command's flags, which may come before, between or
// after its positional arguments, together with the global flags. --help
// (-h) prints the command's help and returns errHelp.
func (e *env) parseCommand(name string, args []string, setup func(fs *flag.FlagSet)) ([]string, error) {
	fs := flag.NewFlagSet("syncer "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	e.globals.register(fs)
	if setup != nil {
		setup(fs)
	}
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				c, _ := lookupCommand(name)
				writeCommandHelp(e.stdout, c, fs)
				return nil, errHelp
			}
			return nil, usagef("%s: %s (see syncer %s --help)", name, flagErrorText(fs, err), name)
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// parseFlags is parseCommand for a command that takes flags only: a word
// that is not a flag ("syncer sync acme-ogmma") is a usage error rather
// than ignored.
func (e *env) parseFlags(name string, args []string, setup func(fs *flag.FlagSet)) error {
	pos, err := e.parseCommand(name, args, setup)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("%s: unexpected argument %q; it takes flags only (see syncer %s --help)", name, pos[0], name)
	}
	return nil
}

// env is what a command runs with: the parsed globals and, once asked for,
// the config, the logger and the database pool.
type env struct {
	globals *globals
	stdout  io.Writer
	stderr  io.Writer
	// errOut is stderr as the progress display shares it (stderr itself,
	// once run made it): the logger's lines go above the display's.
	errOut *progress.Output

	cfg    *config.Config
	logger *slog.Logger
	// redactor hides the credentials in everything the command prints or
	// logs; the sources' clients share it. Nil until the config is loaded:
	// then it hides only userinfo passwords.
	redactor *redact.Redactor
	pool     *pgxpool.Pool
	// schema is the warehouse's schema, known once connected; its
	// bookkeeping is in schemas.State(schema).
	schema string
	// warnedTimeZone is set once checkMigrated has warned of views made
	// in another time zone (syncer run checks at every /readyz).
	warnedTimeZone atomic.Bool
}

func (e *env) close() {
	if e.pool != nil {
		e.pool.Close()
	}
}

// loadConfig reads the config file. When required is false, a missing
// default ./syncer.yaml is not an error (migrate and status can run on a
// database URL alone).
func (e *env) loadConfig(required bool) error {
	if e.cfg != nil {
		return nil
	}
	if _, err := os.Stat(e.globals.configPath); errors.Is(err, os.ErrNotExist) && !required && !e.globals.configSet {
		e.cfg = &config.Config{}
		e.cfg.ApplyDefaults()
		return e.setupLogger(nil)
	}
	cfg, err := config.Load(e.globals.configPath, nil)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return usagef("config file %s does not exist: pass --config FILE or set SYNCER_CONFIG (see the README for an example)", e.globals.configPath)
		}
		return usagef("%v", err)
	}
	e.cfg = cfg
	return e.setupLogger(cfg.Secrets())
}

// setupLogger makes the redactor, for secrets and the password of
// --database-url, and the logger that uses it.
func (e *env) setupLogger(secrets []string) error {
	e.redactor = redact.New(secrets...)
	if e.globals.databaseURL != "" {
		e.redactor.Add(dbPassword(e.globals.databaseURL)...)
	}
	l, err := logging.New(e.stderr, e.globals.logFormat, e.globals.logLevel, e.redactor)
	if err != nil {
		return usagef("%v", err)
	}
	e.logger = l
	return nil
}

// databaseURL resolves --database-url, then $DATABASE_URL, then the config.
func (e *env) databaseURL() (string, error) {
	if e.globals.databaseURL != "" {
		return e.globals.databaseURL, nil
	}
	if e.cfg != nil && e.cfg.DatabaseURL.Reveal() != "" {
		return e.cfg.DatabaseURL.Reveal(), nil
	}
	return "", usagef("no database: pass --database-url, set DATABASE_URL, or set database_url in the config")
}

// connect opens the pool on the warehouse schema and checks it answers.
func (e *env) connect(ctx context.Context) (*pgxpool.Pool, error) {
	if e.pool != nil {
		return e.pool, nil
	}
	url, err := e.databaseURL()
	if err != nil {
		return nil, err
	}
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		msg := "the database URL is not valid: " + e.redactor.String(parseProblem(err))
		if strings.Contains(url, "://") {
			msg += "; in a URL, escape any @ : / ? # or % of the user name and password (@ as %40, : as %3A)"
		}
		return nil, usagef("%s", msg)
	}
	// The warehouse's schema: the config's, else the first of the URL's
	// search_path, else the first of the server's own (ALTER DATABASE or
	// ROLE ... SET search_path; normally public), "$user" aside. Its
	// bookkeeping schema goes on the path too.
	e.schema = e.cfg.Schema
	if e.schema == "" {
		from := "the database URL's search_path"
		path, ok := pc.ConnConfig.RuntimeParams["search_path"]
		if !ok {
			from = "the database's search_path"
			if path, err = e.serverSearchPath(ctx, pc); err != nil {
				return nil, err
			}
		}
		e.schema = schemas.FromSearchPath(path)
		switch {
		case e.schema == "":
			return nil, usagef("%s (%s) names no schema for the warehouse: name one with schema in the config", from, path)
		case !config.ValidSchema(e.schema) || schemas.Reserved(e.schema):
			return nil, usagef("the warehouse's schema %q, from %s, is not a plain identifier of at most 56 characters, or is syncer or ends in _syncer (the names of bookkeeping schemas): name another with schema in the config", e.schema, from)
		}
	}
	pc.ConnConfig.RuntimeParams["search_path"] = schemas.SearchPath(e.schema)
	pc.ConnConfig.RuntimeParams["application_name"] = "syncer"
	// A commit stages up to 10,000 rows (at most 8 MiB of records) in
	// temporary tables: room for them in memory (the default is 8MB). Set
	// after connecting rather than as a startup parameter, which poolers
	// such as PgBouncer refuse unless told to ignore it; it must come
	// before the session's first temporary table, and does.
	pc.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, "SET temp_buffers = '32MB'")
		return err
	}
	// For each stream running at once, its two committers and its reads
	// of the warehouse (its lease and its source's slot hold two more
	// connections, outside the pool); for syncer run, the webhook
	// processor's workers and the deliveries being kept; and River's own
	// (its fetches, completions, leader election and maintenance; its
	// LISTEN connection is taken out of the pool, and the pool opens
	// another in its place). The pool opens connections only as they are
	// needed.
	pc.MaxConns = max(4, int32(e.cfg.Concurrency)*connsPerStream+2+webhookConns+riverConns)
	setMemoryLimit(e.cfg.Concurrency)
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("connect to the database: %s", e.redactor.String(err.Error()))
	}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to the database at %s: %s", hostOf(pc), e.redactor.String(withoutRepeatedLines(err.Error())))
	}
	e.pool = pool
	return pool, nil
}

// serverSearchPath asks the server the search_path its own settings give
// pc's connections.
func (e *env) serverSearchPath(ctx context.Context, pc *pgxpool.Config) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(cctx, pc.ConnConfig.Copy())
	if err != nil {
		return "", fmt.Errorf("connect to the database at %s: %s", hostOf(pc), e.redactor.String(withoutRepeatedLines(err.Error())))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var path string
	if err := conn.QueryRow(cctx, "SELECT current_setting('search_path')").Scan(&path); err != nil {
		return "", fmt.Errorf("the database's search_path: %s", e.redactor.String(err.Error()))
	}
	return path, nil
}

// parseProblem is what pgx found wrong in a connection string, without
// the string: pgx masks the password in it only as far as it can tell where
// the password is, and a URL made invalid by a password that should have
// been escaped shows pieces of it.
func parseProblem(err error) string {
	pce := (*pgconn.ParseConfigError)(nil)
	if !errors.As(err, &pce) {
		return err.Error()
	}
	// "cannot parse `<string>`: <problem>", and no problem pgx names holds
	// "`: " (if one did, less of it would show, never the string).
	msg := pce.Error()
	if i := strings.LastIndex(msg, "`: "); i >= 0 {
		return msg[i+len("`: "):]
	}
	return "pgx cannot parse it"
}

// withoutRepeatedLines drops the lines of s that repeat an earlier one:
// pgx lists each connection attempt, and with sslmode=prefer a refused
// connection is tried twice with the same error.
func withoutRepeatedLines(s string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if !slices.Contains(out, line) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

func hostOf(pc *pgxpool.Config) string {
	return fmt.Sprintf("%s:%d/%s", pc.ConnConfig.Host, pc.ConnConfig.Port, pc.ConnConfig.Database)
}

// connsPerStream is the room the pool keeps for each stream running at
// once: two batches committing and a read of the warehouse.
const connsPerStream = 3

// riverConns is the room for River's client in syncer run (and its
// insert-only client in backfill and status): a fetch of each queue, the
// completer, the elector, a maintenance task, and the connection its
// LISTEN took out of the pool.
const riverConns = 5

// setMemoryLimit sets the Go runtime's soft memory limit, unless
// GOMEMLIMIT does: 24 MiB for each stream that may run at once (the
// batches it holds), at least 100 MiB. The garbage collector works harder
// as the heap nears it, so that batches do not double the process's
// memory between collections; it is soft, and a process that needs more
// gets it.
func setMemoryLimit(streams int) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(max(100<<20, int64(streams)*24<<20))
}

// webhookConns is the room the pool keeps for the webhook processor's
// workers (2) and deliveries being kept at once.
const webhookConns = 10

// dbPassword returns the password inside a database URL, to redact.
func dbPassword(url string) []string {
	pc, err := pgxpool.ParseConfig(url)
	if err != nil || pc.ConnConfig.Password == "" {
		return nil
	}
	return []string{pc.ConnConfig.Password}
}

func (e *env) version(args []string) error {
	if err := e.parseFlags("version", args, nil); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, versionString())
	return nil
}
