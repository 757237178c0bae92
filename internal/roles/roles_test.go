package roles

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"syncer/internal/dbtest"
	"syncer/internal/migrate"
	"syncer/internal/schemas"
)

// The example exchange of RFC 7677: the keys scramKeys derives must give
// its client proof and server signature.
func TestSCRAMKeysFollowRFC7677(t *testing.T) {
	salt, _ := base64.StdEncoding.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	storedKey, serverKey, err := scramKeys("pencil", salt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	auth := "n=user,r=rOprNGfwEbeRWgbNEkqO," +
		"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096," +
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
	// ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage), and
	// StoredKey = H(ClientKey): recover ClientKey from the RFC's proof.
	proof, _ := base64.StdEncoding.DecodeString("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
	sig := hmacSHA256(storedKey, auth)
	clientKey := make([]byte, len(proof))
	for i := range proof {
		clientKey[i] = proof[i] ^ sig[i]
	}
	if h := sha256.Sum256(clientKey); !bytes.Equal(h[:], storedKey) {
		t.Errorf("StoredKey does not match the RFC's client proof")
	}
	if got := base64.StdEncoding.EncodeToString(hmacSHA256(serverKey, auth)); got != "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=" {
		t.Errorf("server signature %s", got)
	}
	secret, err := scramSecret("pencil", salt, 4096)
	if err != nil || !strings.HasPrefix(secret, "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$") || strings.Contains(secret, "pencil") {
		t.Errorf("secret %q, %v", secret, err)
	}
}

func TestValidate(t *testing.T) {
	ok := Options{Writer: "w", Analyst: "a"}
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{Writer: "", Analyst: "a"}, "writer: want a role name"},
		{Options{Writer: "x", Analyst: "x"}, `analyst "x" is also the writer`},
		{Options{Writer: strings.Repeat("w", 64), Analyst: "a"}, "at most 63 bytes"},
		{Options{Writer: "w", Analyst: "a", WriterPassword: "senha-çã"}, "printable ASCII"},
		{Options{Writer: "w", Analyst: "a", Logins: []Login{{Name: "bi"}}}, `analyst login "bi": want a password`},
		{Options{Writer: "w", Analyst: "a", Logins: []Login{{Name: "a", Password: "p"}}}, `analyst login "a" is also the analyst`},
	} {
		err := tc.o.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v; want %q", tc.o, err, tc.want)
		}
		if err != nil && tc.o.WriterPassword != "" && strings.Contains(err.Error(), tc.o.WriterPassword) {
			t.Errorf("the error shows the password: %v", err)
		}
	}
	if err := ok.Validate(); err != nil {
		t.Error(err)
	}
}

// testRoles are the unique role names of one test, dropped when it ends.
type testRoles struct {
	writer, analyst, login string
}

func newTestRoles(t *testing.T) testRoles {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	sfx := hex.EncodeToString(b[:])
	r := testRoles{writer: "t_writer_" + sfx, analyst: "t_analyst_" + sfx, login: "t_bi_" + sfx}
	t.Cleanup(func() { dropRoles(t, r.login, r.analyst, r.writer) })
	return r
}

// dropRoles hands what the roles own to the test's superuser and drops
// them, under the lock syncer_roles takes (grants on the database must
// not race).
func dropRoles(t *testing.T, names ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, os.Getenv(dbtest.Env))
	if err != nil {
		t.Errorf("drop roles: %v", err)
		return
	}
	defer conn.Close(ctx)
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(7386401229316710712)"); err != nil {
			return err
		}
		for _, n := range names {
			var exists bool
			if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)", n).Scan(&exists); err != nil || !exists {
				continue
			}
			id := pgx.Identifier{n}.Sanitize()
			for _, stmt := range []string{"REASSIGN OWNED BY " + id + " TO CURRENT_USER", "DROP OWNED BY " + id, "DROP ROLE " + id} {
				if _, err := tx.Exec(ctx, stmt); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Errorf("drop roles %v: %v", names, err)
	}
}

// urlAs is the test database's URL as user, on the warehouse in schema.
func urlAs(t *testing.T, user, schema string) string {
	t.Helper()
	u, err := url.Parse(os.Getenv(dbtest.Env))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(user, "pw-"+user)
	s, err := dbtest.WithSearchPath(u.String(), schema)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func poolAs(t *testing.T, user, schema string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), urlAs(t, user, schema))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// as runs f in a transaction with the rights of role, rolled back after.
func as(t *testing.T, pool *pgxpool.Pool, role string, f func(tx pgx.Tx) error) error {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+pgx.Identifier{role}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	return f(tx)
}

// relations lists the tables and views of a schema.
func relations(t *testing.T, pool *pgxpool.Pool, schema string) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(),
		"SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'v') ORDER BY 1", schema)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// checkAnalyst: the analyst reads every table and view of the warehouse,
// the v_* views among them, and nothing of the bookkeeping; it writes
// nothing and creates nothing.
func checkAnalyst(t *testing.T, pool *pgxpool.Pool, schema, analyst string) {
	t.Helper()
	ctx := context.Background()
	rels := relations(t, pool, schema)
	views := 0
	for _, rel := range rels {
		if strings.HasPrefix(rel, "v_") {
			views++
		}
		err := as(t, pool, analyst, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, "SELECT * FROM "+pgx.Identifier{schema, rel}.Sanitize()+" LIMIT 5")
			return err
		})
		if err != nil {
			t.Errorf("analyst: SELECT from %s: %v", rel, err)
		}
	}
	if views < 5 {
		t.Errorf("schema %s has %d v_* views: %v", schema, views, rels)
	}
	for _, stmt := range []string{
		"SELECT * FROM " + pgx.Identifier{schemas.State(schema), "sync_state"}.Sanitize(),
		"SELECT * FROM " + pgx.Identifier{schemas.State(schema), "sync_runs"}.Sanitize(),
		"SELECT * FROM " + pgx.Identifier{schemas.State(schema), "river_job"}.Sanitize(),
		"SELECT * FROM " + pgx.Identifier{schemas.State(schema), "goose_db_version"}.Sanitize(),
		"INSERT INTO " + pgx.Identifier{schema, "sources"}.Sanitize() + " (name, platform) VALUES ('x', 'ogmma')",
		"UPDATE " + pgx.Identifier{schema, "messages"}.Sanitize() + " SET body = 'x'",
		"DELETE FROM " + pgx.Identifier{schema, "messages"}.Sanitize(),
		"TRUNCATE " + pgx.Identifier{schema, "messages"}.Sanitize(),
		"INSERT INTO " + pgx.Identifier{schema, "messages"}.Sanitize() + " SELECT * FROM " + pgx.Identifier{schema, "messages"}.Sanitize(),
		"CREATE TABLE " + pgx.Identifier{schema, "mine"}.Sanitize() + " (x int)",
		"CREATE VIEW " + pgx.Identifier{schema, "v_mine"}.Sanitize() + " AS SELECT 1",
	} {
		err := as(t, pool, analyst, func(tx pgx.Tx) error { _, err := tx.Exec(ctx, stmt); return err })
		if sqlState(err) != "42501" {
			t.Errorf("analyst: %s: %v; want permission denied", stmt, err)
		}
	}
}

// writeAsWriter runs what a sync writes, as the writer: a source, a
// message, a cursor and a run.
func writeAsWriter(t *testing.T, pool *pgxpool.Pool, schema, writer string) {
	t.Helper()
	ctx := context.Background()
	err := as(t, pool, writer, func(tx pgx.Tx) error {
		for _, stmt := range []string{
			"SET LOCAL search_path = " + pgx.Identifier{schema}.Sanitize() + ", " + pgx.Identifier{schemas.State(schema)}.Sanitize(),
			"INSERT INTO sources (name, platform) VALUES ('acme-ogmma', 'ogmma') ON CONFLICT (name) DO NOTHING",
			`INSERT INTO messages (source_id, external_id, conversation_external_id, direction, kind, raw, synced_at, sent_at)
			 SELECT id, 'm1', 'c1', 'inbound', 'text', '{}', now(), now() FROM sources WHERE name = 'acme-ogmma'
			 ON CONFLICT (source_id, external_id) DO UPDATE SET body = 'hello'`,
			"CREATE TEMP TABLE stage_x (LIKE messages INCLUDING DEFAULTS) ON COMMIT DROP",
			`INSERT INTO sync_state (source_id, stream, partition_key, cursor) SELECT id, 'messages', '', '{"ts": "2024-01-01T00:00:00Z"}' FROM sources WHERE name = 'acme-ogmma'
			 ON CONFLICT (source_id, stream, partition_key) DO UPDATE SET cursor = excluded.cursor`,
			"UPDATE sync_state SET cursor = '{}', updated_at = now()",
			"INSERT INTO sync_runs (source_id, stream, mode, status) SELECT id, 'messages', 'incremental', 'running' FROM sources WHERE name = 'acme-ogmma'",
			"DELETE FROM webhook_inbox WHERE false",
			"SELECT count(*) FROM v_messages",
		} {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return errors.New(stmt + ": " + err.Error())
			}
		}
		return nil
	})
	if err != nil {
		t.Errorf("writer: %v", err)
	}
}

// On a warehouse that the superuser migrated, the roles take over: the
// writer owns it (migrate up and a new time zone run as it), the analyst
// reads it, and a second run changes nothing.
func TestRolesOnAMigratedWarehouse(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	r := newTestRoles(t)
	ctx := context.Background()
	o := Options{Warehouse: db.Schema, Writer: r.writer, Analyst: r.analyst, WriterPassword: "writer-secret",
		Logins: []Login{{Name: r.login, Password: "bi-secret"}}}
	lines, err := Apply(ctx, db.Pool, o)
	if err != nil {
		t.Fatal(err)
	}
	said := strings.Join(lines, "\n")
	for _, want := range []string{"created role " + r.writer + ", which logs in", "created role " + r.analyst + " (NOLOGIN",
		"created role " + r.login + ", which logs in with its password and reads as a member of " + r.analyst,
		"handed ", "granted SELECT on ", "from now on to " + r.analyst} {
		if !strings.Contains(said, want) {
			t.Errorf("Apply said:\n%s\nwant %q", said, want)
		}
	}
	if strings.Contains(said, "secret") {
		t.Errorf("Apply shows a password:\n%s", said)
	}
	// The server holds verifiers only.
	var stored string
	if err := db.Pool.QueryRow(ctx, "SELECT rolpassword FROM pg_authid WHERE rolname = $1", r.login).Scan(&stored); err != nil || !strings.HasPrefix(stored, "SCRAM-SHA-256$4096:") {
		t.Errorf("stored password %q, %v", stored, err)
	}

	checkAnalyst(t, db.Pool, db.Schema, r.analyst)
	checkAnalyst(t, db.Pool, db.Schema, r.login)
	writeAsWriter(t, db.Pool, db.Schema, r.writer)

	// syncer migrate up as the writer: nothing pending, then the views
	// made anew in another time zone; the analyst still reads them.
	wp := poolAs(t, r.writer, db.Schema)
	m, err := migrate.New(wp, db.Schema, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Up(ctx); err != nil {
		t.Fatalf("migrate up as the writer: %v", err)
	}
	if changed, err := m.ApplyTimeZone(ctx, "America/Sao_Paulo"); err != nil || !changed {
		t.Fatalf("new time zone as the writer: %v, %v", changed, err)
	}
	checkAnalyst(t, db.Pool, db.Schema, r.analyst)

	// Again: nothing to do but the passwords.
	lines, err = Apply(ctx, db.Pool, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "set the password of role ") {
			t.Errorf("second run: %s", l)
		}
	}
	o.WriterPassword, o.Logins = "", nil
	if lines, err = Apply(ctx, db.Pool, o); err != nil || len(lines) != 0 {
		t.Errorf("third run: %q, %v; want nothing", lines, err)
	}
}

// On an empty database, the roles come first: they make the schemas, the
// writer migrates them, and the default privileges let the analyst read
// what it made.
func TestRolesBeforeTheFirstMigration(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t) // a pool on the test database, as its superuser
	r := newTestRoles(t)
	ctx := context.Background()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	fresh := "t_fresh_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		if _, err := db.Pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{fresh}.Sanitize()+", "+
			pgx.Identifier{schemas.State(fresh)}.Sanitize()+" CASCADE"); err != nil {
			t.Error(err)
		}
	})
	lines, err := Apply(ctx, db.Pool, Options{Warehouse: fresh, Writer: r.writer, Analyst: r.analyst, WriterPassword: "writer-secret"})
	if err != nil {
		t.Fatal(err)
	}
	said := strings.Join(lines, "\n")
	for _, want := range []string{"created schema " + fresh + ", owned by " + r.writer, "created schema " + schemas.State(fresh) + ", owned by " + r.writer} {
		if !strings.Contains(said, want) {
			t.Errorf("Apply said:\n%s\nwant %q", said, want)
		}
	}
	wp := poolAs(t, r.writer, fresh)
	m, err := migrate.New(wp, fresh, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if n, err := m.Up(ctx); err != nil || n == 0 {
		t.Fatalf("migrate up as the writer: %d, %v", n, err)
	}
	checkAnalyst(t, db.Pool, fresh, r.analyst)
	writeAsWriter(t, db.Pool, fresh, r.writer)
	// A run after the migrations tidies what the default privileges gave
	// the bookkeeping tables on their way (they were made in the
	// warehouse's schema, then moved).
	if _, err := Apply(ctx, db.Pool, Options{Warehouse: fresh, Writer: r.writer, Analyst: r.analyst}); err != nil {
		t.Fatal(err)
	}
	var n int
	err = db.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_class c, aclexplode(c.relacl) a
		WHERE c.relnamespace = $1::regnamespace AND a.grantee = $2::regrole`, schemas.State(fresh), r.analyst).Scan(&n)
	if err != nil || n != 0 {
		t.Errorf("the analyst keeps %d grants on bookkeeping tables (%v)", n, err)
	}
	if lines, err := Apply(ctx, db.Pool, Options{Warehouse: fresh, Writer: r.writer, Analyst: r.analyst}); err != nil || len(lines) != 0 {
		t.Errorf("run again: %q, %v; want nothing", lines, err)
	}
}

// A user that may not create roles hears so, and nothing changes.
func TestRolesNeedCreateRole(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	r := newTestRoles(t)
	ctx := context.Background()
	plain := r.login // a plain LOGIN user, no CREATEROLE
	if _, err := db.Pool.Exec(ctx, "CREATE ROLE "+pgx.Identifier{plain}.Sanitize()+" LOGIN"); err != nil {
		t.Fatal(err)
	}
	_, err := Apply(ctx, poolAs(t, plain, db.Schema), Options{Warehouse: db.Schema, Writer: r.writer, Analyst: r.analyst})
	var pe *PrivilegeError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "user "+plain+" may not create roles") || !strings.Contains(err.Error(), "CREATEROLE") {
		t.Fatalf("%v; want a PrivilegeError saying %s may not create roles", err, plain)
	}
	var n int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM pg_roles WHERE rolname IN ($1, $2)", r.writer, r.analyst).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d roles made (%v)", n, err)
	}
}

// A warehouse whose bookkeeping is still in its own schema would show it
// to the analyst: migrate up first.
func TestRolesRefuseTheOldLayout(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	r := newTestRoles(t)
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, "CREATE TABLE "+pgx.Identifier{db.Schema, "sync_state"}.Sanitize()+" (x int)"); err != nil {
		t.Fatal(err)
	}
	_, err := Apply(ctx, db.Pool, Options{Warehouse: db.Schema, Writer: r.writer, Analyst: r.analyst})
	if err == nil || !strings.Contains(err.Error(), "still holds syncer's bookkeeping tables") {
		t.Fatalf("%v", err)
	}
}
