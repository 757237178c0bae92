// Package dbtest gives each test a warehouse of its own: a fresh schema in
// the database named by TEST_DATABASE_URL (and its bookkeeping schema
// beside it), migrated and dropped again when the test ends, so tests run in parallel without sharing rows. It is used
// only from tests.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"syncer/internal/migrate"
	"syncer/internal/schemas"
)

// Env is the variable that names the test database.
const Env = "TEST_DATABASE_URL"

// DB is one test's warehouse.
type DB struct {
	Pool   *pgxpool.Pool
	Schema string
	// URL connects to the same warehouse (search_path set to the schema
	// and its bookkeeping schema), for subprocesses.
	URL string
}

// New creates a migrated schema for t and registers its removal.
func New(t testing.TB) *DB {
	t.Helper()
	return newIn(t, baseURL(t))
}

// NewDatabase is New in a database of its own, made for t and dropped
// when it ends: for a test whose statements wait for every older
// transaction of their database (CREATE INDEX CONCURRENTLY), which the
// other tests' transactions must not hold up.
func NewDatabase(t testing.TB) *DB {
	t.Helper()
	base := baseURL(t)
	name := "t_db_" + randomHex(t)
	createFor(t, base, "CREATE DATABASE "+name, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("dbtest: %s is not a URL: %v", Env, err)
	}
	u.Path = "/" + name
	return newIn(t, u.String())
}

// baseURL is the test database's URL.
func baseURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(Env)
	if base == "" {
		t.Fatalf("%s is not set: run `make test`, which finds or starts a PostgreSQL server, or point %s at a database you can create schemas in", Env, Env)
	}
	return base
}

// createFor runs create on the database of base, and drop when t ends.
func createFor(t testing.TB, base, create, drop string) {
	t.Helper()
	exec := func(stmt string) error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		admin, err := pgxpool.New(ctx, base)
		if err != nil {
			return fmt.Errorf("connect: %w", err)
		}
		defer admin.Close()
		_, err = admin.Exec(ctx, stmt)
		return err
	}
	if err := exec(create); err != nil {
		t.Fatalf("dbtest: %s: %v", create, err)
	}
	t.Cleanup(func() {
		if err := exec(drop); err != nil {
			t.Errorf("dbtest: %s: %v", drop, err)
		}
	})
}

// randomHex is 12 random hex digits, for names of the test's own.
func randomHex(t testing.TB) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// newIn makes t's warehouse in the database of base.
func newIn(t testing.TB, base string) *DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	schema := "t_" + randomHex(t)
	createFor(t, base, "CREATE SCHEMA "+schema, "DROP SCHEMA IF EXISTS "+schemas.State(schema)+", "+schema+" CASCADE")

	u, err := WithSearchPath(base, schema)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, u)
	if err != nil {
		t.Fatalf("dbtest: connect to schema: %v", err)
	}
	t.Cleanup(pool.Close)
	// Cleanups run last first: this one runs before the pool closes.
	t.Cleanup(func() { CheckReleased(t, pool) })

	m, err := migrate.New(pool, schema, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Up(ctx); err != nil {
		t.Fatalf("dbtest: migrate: %v", err)
	}
	// As syncer migrate up does, with the default time zone: the local-day
	// indexes are there, as in production.
	if _, err := m.ApplyTimeZone(ctx, "UTC"); err != nil {
		t.Fatalf("dbtest: migrate: %v", err)
	}
	return &DB{Pool: pool, Schema: schema, URL: u}
}

// WithSearchPath returns the URL with search_path set to the warehouse in
// schema and its bookkeeping schema.
func WithSearchPath(rawURL, schema string) (string, error) {
	u, err := schemas.WithSearchPath(rawURL, schema)
	if err != nil {
		return "", fmt.Errorf("dbtest: %s is not a URL: %w", Env, err)
	}
	return u, nil
}

// CheckReleased fails the test when connections of pool stay acquired
// after it: rows or a transaction left open leak a pooled connection, and
// a daemon that leaks one per run ends with an empty pool. A connection
// still being released gets a moment.
func CheckReleased(t testing.TB, pool *pgxpool.Pool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		n := pool.Stat().AcquiredConns()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("dbtest: %d connection(s) of the pool are still acquired at the end of the test: a rows, a batch or a transaction was not closed", n)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
