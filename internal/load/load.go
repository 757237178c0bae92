// Package load writes to the warehouse: one transaction per batch that
// stages rows with COPY, merges them into the tables, quarantines
// rejections, advances the stream's checkpoint and counts the run. It also
// owns the bookkeeping around a run (sources, runs, cursors, leases). It
// must not fetch or interpret platform data; every statement it runs lives
// in sql/queries.
package load

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"syncer/internal/cursor"
	"syncer/sql/queries"
)

// ErrNotMigrated means the warehouse tables are missing.
var ErrNotMigrated = errors.New("the warehouse tables do not exist: run `syncer migrate up` first")

// Loader writes batches to one warehouse.
type Loader struct {
	pool         *pgxpool.Pool
	logger       *slog.Logger
	worker       string
	batchTimeout time.Duration
}

// New returns a loader on pool. logger may be nil.
func New(pool *pgxpool.Pool, logger *slog.Logger) *Loader {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	host, _ := os.Hostname()
	return &Loader{pool: pool, logger: logger, worker: host + ":" + strconv.Itoa(os.Getpid()), batchTimeout: 10 * time.Minute}
}

// Pool is the loader's connection pool.
func (l *Loader) Pool() *pgxpool.Pool { return l.pool }

// Source is a configured source as the warehouse knows it.
type Source struct {
	ID       int32
	Name     string
	Platform string
}

// Source returns the warehouse row of a configured source, creating it the
// first time. A source's platform cannot change under the same name.
func (l *Loader) Source(ctx context.Context, name, platform string) (Source, error) {
	s := Source{Name: name}
	err := l.pool.QueryRow(ctx, queries.Get("ensure_source"), name, platform).Scan(&s.ID, &s.Platform)
	if errors.Is(err, pgx.ErrNoRows) { // inserted concurrently by another process: read it again
		err = l.pool.QueryRow(ctx, queries.Get("ensure_source"), name, platform).Scan(&s.ID, &s.Platform)
	}
	if err != nil {
		return Source{}, dbError(fmt.Sprintf("register source %q", name), err)
	}
	if s.Platform != platform {
		return Source{}, fmt.Errorf("source %q is stored in the warehouse as %s source but configured as %s: a source's platform cannot change; give the new source another name", name, WithArticle(s.Platform), platform)
	}
	return s, nil
}

// WithArticle puts "a" or "an" before a platform name, for messages such
// as "an ogmma source": "an" before a vowel. Platform names are said as
// they are written, so their first letter decides.
func WithArticle(word string) string {
	if word != "" && strings.ContainsRune("aeiouAEIOU", rune(word[0])) {
		return "an " + word
	}
	return "a " + word
}

// Cursors returns the saved cursor of every partition of a stream.
func (l *Loader) Cursors(ctx context.Context, src Source, stream string) (map[string]cursor.Cursor, error) {
	rows, err := l.pool.Query(ctx, queries.Get("get_cursors"), src.ID, stream)
	if err != nil {
		return nil, dbError("read cursors", err)
	}
	out := map[string]cursor.Cursor{}
	for rows.Next() {
		var part string
		var raw []byte
		if err := rows.Scan(&part, &raw); err != nil {
			return nil, dbError("read cursors", err)
		}
		c, err := cursor.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("source %q stream %s partition %q: %w", src.Name, stream, part, err)
		}
		out[part] = c
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("read cursors", err)
	}
	return out, nil
}

// Lease is the right to run one (source, stream): a PostgreSQL session
// advisory lock, held on a connection of its own (outside the pool, so
// leases never starve the batches of connections) until Release. A process
// that dies loses it with its connection.
type Lease struct {
	mu             sync.Mutex // a pgx.Conn serves one caller at a time
	conn           *pgx.Conn
	source, stream string
}

// ErrLeaseLost means the lease's connection died (a server restart, an
// idle-session timeout, a terminated backend): another process may be
// running the stream now, so this run must stop.
var ErrLeaseLost = errors.New("lost the stream's lease (its database session ended); stopping so that no other process runs it at the same time; the next run resumes")

// Check confirms the lease is still held: its session is alive, and a
// session keeps its advisory locks until it ends.
func (le *Lease) Check(ctx context.Context) error {
	le.mu.Lock()
	defer le.mu.Unlock()
	if le.conn == nil {
		return ErrLeaseLost
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := le.conn.Ping(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrLeaseLost, err)
	}
	return nil
}

// TryLease takes the lease of (source, stream) if no other process holds it.
func (l *Loader) TryLease(ctx context.Context, source, stream string) (*Lease, bool, error) {
	conn, err := pgx.ConnectConfig(ctx, l.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, false, dbError("open a connection for the lease", err)
	}
	var ok bool
	if err := conn.QueryRow(ctx, queries.Get("try_lease"), source, stream).Scan(&ok); err != nil || !ok {
		conn.Close(context.WithoutCancel(ctx))
		if err != nil {
			return nil, false, dbError("take the lease", err)
		}
		return nil, false, nil
	}
	return &Lease{conn: conn, source: source, stream: stream}, true, nil
}

// Release gives the lease back and closes its connection. It is safe to
// call twice.
func (le *Lease) Release() {
	if le == nil {
		return
	}
	le.mu.Lock()
	defer le.mu.Unlock()
	if le.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var released bool
	_ = le.conn.QueryRow(ctx, queries.Get("release_lease"), le.source, le.stream).Scan(&released)
	le.conn.Close(ctx) // the lock dies with the session in any case
	le.conn = nil
}

// dbError wraps a database error once, naming what was being done, and maps
// the codes a user can act on.
func dbError(what string, err error) error {
	if err == nil {
		return nil
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P01" { // undefined_table
		return fmt.Errorf("%s: %w (%s)", what, ErrNotMigrated, pgErr.Message)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// retryable reports errors after which a whole transaction may be tried
// again: deadlocks and serialization failures.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}

// FileImported reports whether a file with this SHA-256 was imported for
// the source, and when.
func (l *Loader) FileImported(ctx context.Context, src Source, sha256 string) (time.Time, bool, error) {
	var at time.Time
	var rows int64
	err := l.pool.QueryRow(ctx, queries.Get("file_imported"), src.ID, sha256).Scan(&at, &rows)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, dbError("look up imported files", err)
	}
	return at, true, nil
}

// View is the read-only view of one source's rows that streams may consult.
type View struct {
	l   *Loader
	src Source
}

// View returns src's view.
func (l *Loader) View(src Source) *View { return &View{l: l, src: src} }

// ConversationsWithoutMessages returns those of ids with no message stored.
func (v *View) ConversationsWithoutMessages(ctx context.Context, ids []string) ([]string, error) {
	rows, err := v.l.pool.Query(ctx, queries.Get("conversations_without_messages"), v.src.ID, ids)
	if err != nil {
		return nil, dbError("find conversations without messages", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return out, dbError("find conversations without messages", err)
}

// Cursor is the saved cursor of another stream of the source.
func (v *View) Cursor(ctx context.Context, stream string) (cursor.Cursor, bool, error) {
	all, err := v.l.Cursors(ctx, v.src, stream)
	if err != nil {
		return cursor.Cursor{}, false, err
	}
	c, ok := all[""]
	return c, ok, nil
}

// MessagesWithoutMedia returns up to limit ids of the source's media
// messages sent after since that have no media_url yet, oldest first.
func (v *View) MessagesWithoutMedia(ctx context.Context, since time.Time, limit int) ([]string, error) {
	rows, err := v.l.pool.Query(ctx, queries.Get("messages_without_media"), v.src.ID, since, limit)
	if err != nil {
		return nil, dbError("find media messages without a url", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return out, dbError("find media messages without a url", err)
}
