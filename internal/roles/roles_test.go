package roles

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"syncer/internal/dbtest"
	"syncer/internal/migrate"
	"syncer/internal/schemas"
	syncersql "syncer/sql"
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
		{Options{Writer: "w", Analyst: "a", Logins: []Login{{Name: "bi", Password: "p"}, {Name: "bi"}}}, `analyst login "bi" is also the analyst login`},
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
	// A login without a password keeps the one it has (a new one is
	// refused by the server side).
	ok.Logins = []Login{{Name: "bi"}}
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

// text is what Apply said, a line each.
func text(lines []Line) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.Text + "\n")
	}
	return b.String()
}

// changes are the lines of lines that say something changed.
func changes(lines []Line) []string {
	var out []string
	for _, l := range lines {
		if l.Changed {
			out = append(out, l.Text)
		}
	}
	return out
}

// owner is the owner of the relation or function named by obj (a
// regclass or regprocedure literal).
func owner(t *testing.T, pool *pgxpool.Pool, catalog, obj string) string {
	t.Helper()
	q := "SELECT relowner::regrole::text FROM pg_class WHERE oid = $1::regclass"
	if catalog == "pg_proc" {
		q = "SELECT proowner::regrole::text FROM pg_proc WHERE oid = $1::regprocedure"
	}
	var o string
	if err := pool.QueryRow(context.Background(), q, obj).Scan(&o); err != nil {
		t.Fatalf("owner of %s: %v", obj, err)
	}
	return o
}

// mayCreateSchemas says whether role has CREATE on the test database.
func mayCreateSchemas(t *testing.T, pool *pgxpool.Pool, role string) bool {
	t.Helper()
	var ok bool
	if err := pool.QueryRow(context.Background(), "SELECT has_database_privilege($1, current_database(), 'CREATE')", role).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

func exec(t *testing.T, pool *pgxpool.Pool, stmts ...string) {
	t.Helper()
	for _, stmt := range stmts {
		if _, err := pool.Exec(context.Background(), stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
}

// On a warehouse that the superuser migrated, the roles take over: the
// writer owns it (migrate up and a new time zone run as it) without the
// right to create schemas, the analyst reads it, and a second run changes
// nothing.
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
	said := text(lines)
	for _, want := range []string{
		"writer " + r.writer + ": created; it logs in with its password\n",
		"analyst " + r.analyst + ": created, NOLOGIN",
		"analyst login " + r.login + ": created; it logs in with its password and reads as a member of " + r.analyst + "\n",
		"handed 16 of syncer's tables and views in schema " + db.Schema + " to " + r.writer + "\n",
		"tables, functions and types of schema " + schemas.State(db.Schema) + " to " + r.writer + "\n",
		"granted SELECT on 16 of syncer's tables and views in schema " + db.Schema + " to " + r.analyst + "\n",
		"from now on to " + r.analyst,
	} {
		if !strings.Contains(said, want) {
			t.Errorf("Apply said:\n%s\nwant %q", said, want)
		}
	}
	if strings.Contains(said, "secret") {
		t.Errorf("Apply shows a password:\n%s", said)
	}
	// The warehouse is migrated and both schemas exist: syncer migrate up
	// needs no CREATE on the database.
	if strings.Contains(said, "CREATE on database") || mayCreateSchemas(t, db.Pool, r.writer) {
		t.Errorf("the writer may create schemas:\n%s", said)
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
	if ch, err := m.ApplyTimeZone(ctx, "America/Sao_Paulo"); err != nil || !ch.Views {
		t.Fatalf("new time zone as the writer: %+v, %v", ch, err)
	}
	checkAnalyst(t, db.Pool, db.Schema, r.analyst)

	// Again: nothing to do but the passwords, and each role says so.
	lines, err = Apply(ctx, db.Pool, o)
	if err != nil {
		t.Fatal(err)
	}
	want := []Line{
		{"writer " + r.writer + ": exists: password set; it logs in with it", true},
		{"analyst " + r.analyst + ": exists: left as it was", false},
		{"analyst login " + r.login + ": exists: password set; it logs in with it", true},
	}
	if !slices.Equal(lines, want) {
		t.Errorf("second run said %v, want %v", lines, want)
	}
	// Without passwords, the roles are left as they were, their passwords
	// too.
	o.WriterPassword, o.Logins = "", []Login{{Name: r.login}}
	lines, err = Apply(ctx, db.Pool, o)
	if err != nil || len(changes(lines)) != 0 {
		t.Errorf("third run: %v, %v; want no change", lines, err)
	}
	if !strings.Contains(text(lines), "analyst login "+r.login+": exists: left as it was\n") {
		t.Errorf("third run said:\n%s", text(lines))
	}
	var again string
	if err := db.Pool.QueryRow(ctx, "SELECT rolpassword FROM pg_authid WHERE rolname = $1", r.login).Scan(&again); err != nil || again == stored {
		t.Errorf("the second run did not set the login's password (%v)", err)
	}
	if err := db.Pool.QueryRow(ctx, "SELECT rolpassword FROM pg_authid WHERE rolname = $1", r.login).Scan(&stored); err != nil || stored != again {
		t.Errorf("the third run changed the login's password (%v)", err)
	}
}

// On an empty database, the roles come first: they make the schemas, the
// writer migrates them without CREATE on the database (syncer migrate up
// creates a schema only when it is missing), and the default privileges
// let the analyst read what it made.
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
	said := text(lines)
	for _, want := range []string{"created schema " + fresh + ", owned by " + r.writer, "created schema " + schemas.State(fresh) + ", owned by " + r.writer} {
		if !strings.Contains(said, want) {
			t.Errorf("Apply said:\n%s\nwant %q", said, want)
		}
	}
	// Both schemas exist: the writer gets no CREATE on the database, and
	// cannot create a schema.
	if strings.Contains(said, "CREATE on database") || mayCreateSchemas(t, db.Pool, r.writer) {
		t.Fatalf("the writer may create schemas:\n%s", said)
	}
	err = as(t, db.Pool, r.writer, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{fresh + "_nope"}.Sanitize())
		return err
	})
	if sqlState(err) != "42501" {
		t.Fatalf("the writer creates a schema: %v; want permission denied", err)
	}
	// Its first migrate up applies every migration all the same.
	wp := poolAs(t, r.writer, fresh)
	m, err := migrate.New(wp, fresh, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if n, err := m.Up(ctx); err != nil || n == 0 {
		t.Fatalf("migrate up as the writer, without CREATE on the database: %d, %v", n, err)
	}
	if n, err := m.Up(ctx); err != nil || n != 0 {
		t.Fatalf("migrate up again as the writer: %d pending, %v", n, err)
	}
	if ch, err := m.ApplyTimeZone(ctx, "America/Sao_Paulo"); err != nil || !ch.Views {
		t.Fatalf("new time zone as the writer: %+v, %v", ch, err)
	}
	if mayCreateSchemas(t, db.Pool, r.writer) {
		t.Fatal("the writer may create schemas")
	}
	checkAnalyst(t, db.Pool, fresh, r.analyst)
	writeAsWriter(t, db.Pool, fresh, r.writer)
	// A run after the migrations tidies what the default privileges gave
	// the bookkeeping tables on their way (they were made in the
	// warehouse's schema, then moved).
	lines, err = Apply(ctx, db.Pool, Options{Warehouse: fresh, Writer: r.writer, Analyst: r.analyst})
	if err != nil {
		t.Fatal(err)
	}
	if said := text(lines); !strings.Contains(said, "revoked SELECT on 8 tables of schema "+schemas.State(fresh)+" from "+r.analyst+", which the default privileges of "+r.writer+" gave them") {
		t.Errorf("second run said:\n%s", said)
	}
	var n int
	err = db.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_class c, aclexplode(c.relacl) a
		WHERE c.relnamespace = $1::regnamespace AND a.grantee = $2::regrole`, schemas.State(fresh), r.analyst).Scan(&n)
	if err != nil || n != 0 {
		t.Errorf("the analyst keeps %d grants on bookkeeping tables (%v)", n, err)
	}
	if lines, err := Apply(ctx, db.Pool, Options{Warehouse: fresh, Writer: r.writer, Analyst: r.analyst}); err != nil || len(changes(lines)) != 0 {
		t.Errorf("run again: %v, %v; want no change", lines, err)
	}
}

// The writer takes syncer's objects only: in a warehouse's schema shared
// with an extension and another application, their objects keep their
// owner, and the analyst does not read the other application's table.
func TestRolesHandOverSyncersObjectsOnly(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	r := newTestRoles(t)
	ctx := context.Background()
	// One extension per database: take one that is not there yet.
	var ext, fn string
	for _, c := range []struct{ ext, fn string }{{"pgcrypto", "gen_random_uuid()"}, {"fuzzystrmatch", "soundex(text)"}, {"tsm_system_rows", "system_rows(internal)"}} {
		var installed, available bool
		err := db.Pool.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_extension WHERE extname = $1), EXISTS (SELECT FROM pg_available_extensions WHERE name = $1)", c.ext).Scan(&installed, &available)
		if err != nil {
			t.Fatal(err)
		}
		if available && !installed {
			ext, fn = c.ext, c.fn
			break
		}
	}
	if ext == "" {
		t.Skip("pgcrypto, fuzzystrmatch and tsm_system_rows are all installed already or not available")
	}
	schema := pgx.Identifier{db.Schema}.Sanitize()
	exec(t, db.Pool, "CREATE EXTENSION "+ext+" SCHEMA "+schema)
	t.Cleanup(func() {
		if _, err := db.Pool.Exec(context.Background(), "DROP EXTENSION IF EXISTS "+ext); err != nil {
			t.Error(err)
		}
	})
	exec(t, db.Pool,
		"CREATE TABLE "+schema+".other_app_orders (id bigserial PRIMARY KEY, total numeric)",
		"CREATE VIEW "+schema+".other_app_totals AS SELECT sum(total) FROM "+schema+".other_app_orders")
	var me string
	if err := db.Pool.QueryRow(ctx, "SELECT current_user").Scan(&me); err != nil {
		t.Fatal(err)
	}
	fnName := db.Schema + "." + fn

	if _, err := Apply(ctx, db.Pool, Options{Warehouse: db.Schema, Writer: r.writer, Analyst: r.analyst}); err != nil {
		t.Fatal(err)
	}
	for _, obj := range []struct{ catalog, name string }{
		{"pg_proc", fnName}, {"pg_class", db.Schema + ".other_app_orders"}, {"pg_class", db.Schema + ".other_app_orders_id_seq"}, {"pg_class", db.Schema + ".other_app_totals"},
	} {
		if got := owner(t, db.Pool, obj.catalog, obj.name); got != me {
			t.Errorf("%s is owned by %s, want %s still", obj.name, got, me)
		}
	}
	var n int
	err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_depend d JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
		WHERE d.deptype = 'e' AND p.proowner = $1::regrole`, r.writer).Scan(&n)
	if err != nil || n != 0 {
		t.Errorf("the writer owns %d functions of extensions (%v)", n, err)
	}
	if got := owner(t, db.Pool, "pg_class", db.Schema+".messages"); got != r.writer {
		t.Errorf("messages is owned by %s, want %s", got, r.writer)
	}
	// The writer cannot replace the extension's function, which others
	// (superusers among them) call.
	err = as(t, db.Pool, r.writer, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "ALTER FUNCTION "+fnName+" RENAME TO mine")
		return err
	})
	if sqlState(err) != "42501" {
		t.Errorf("the writer alters the extension's %s: %v; want permission denied", fn, err)
	}
	for _, rel := range []string{"other_app_orders", "other_app_totals"} {
		err = as(t, db.Pool, r.analyst, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, "SELECT * FROM "+pgx.Identifier{db.Schema, rel}.Sanitize())
			return err
		})
		if sqlState(err) != "42501" {
			t.Errorf("the analyst reads the other application's %s: %v; want permission denied", rel, err)
		}
	}
	// syncer's own still are readable: the tables and the v_* views.
	for _, rel := range []string{"messages", "sources", "v_messages", "agent_daily_load"} {
		err = as(t, db.Pool, r.analyst, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, "SELECT * FROM "+pgx.Identifier{db.Schema, rel}.Sanitize()+" LIMIT 1")
			return err
		})
		if err != nil {
			t.Errorf("the analyst reads %s: %v", rel, err)
		}
	}
}

// A view of syncer's that a migrate up by another user makes later is
// handed over and readable after the next run; another application's view
// is not, whatever its name: a view runs with its owner's rights, and in
// the writer's hands it could not read the application's table.
func TestRolesTakeOverALaterView(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	r := newTestRoles(t)
	ctx := context.Background()
	var me string
	if err := db.Pool.QueryRow(ctx, "SELECT current_user").Scan(&me); err != nil {
		t.Fatal(err)
	}
	tbl := func(name string) string { return pgx.Identifier{db.Schema, name}.Sanitize() }
	exec(t, db.Pool,
		"CREATE TABLE "+tbl("app_orders")+" (id bigserial PRIMARY KEY, total numeric)",
		"INSERT INTO "+tbl("app_orders")+" (total) VALUES (10), (32)",
		"CREATE VIEW "+tbl("v_sales")+" AS SELECT sum(total) AS total FROM "+tbl("app_orders"))
	o := Options{Warehouse: db.Schema, Writer: r.writer, Analyst: r.analyst}
	if _, err := Apply(ctx, db.Pool, o); err != nil {
		t.Fatal(err)
	}
	// A newer syncer's migrate up, by the superuser, makes a view anew.
	var def string
	if err := db.Pool.QueryRow(ctx, "SELECT pg_get_viewdef($1::regclass)", db.Schema+".v_hourly_heatmap").Scan(&def); err != nil {
		t.Fatal(err)
	}
	exec(t, db.Pool, "DROP VIEW "+tbl("v_hourly_heatmap"), "CREATE VIEW "+tbl("v_hourly_heatmap")+" AS "+def)
	lines, err := Apply(ctx, db.Pool, o)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"handed 1 of syncer's tables and views in schema " + db.Schema + " to " + r.writer,
		"granted SELECT on 1 of syncer's tables and views in schema " + db.Schema + " to " + r.analyst,
	}
	if got := changes(lines); !slices.Equal(got, want) {
		t.Errorf("second run changed %q, want %q", got, want)
	}
	if got := owner(t, db.Pool, "pg_class", db.Schema+".v_hourly_heatmap"); got != r.writer {
		t.Errorf("v_hourly_heatmap is owned by %s, want %s", got, r.writer)
	}
	err = as(t, db.Pool, r.analyst, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "SELECT * FROM "+tbl("v_hourly_heatmap"))
		return err
	})
	if err != nil {
		t.Errorf("the analyst reads v_hourly_heatmap: %v", err)
	}

	// The other application's v_sales keeps its owner, and works.
	for _, rel := range []string{"v_sales", "app_orders", "app_orders_id_seq"} {
		if got := owner(t, db.Pool, "pg_class", db.Schema+"."+rel); got != me {
			t.Errorf("%s is owned by %s, want %s still", rel, got, me)
		}
	}
	var total int
	if err := db.Pool.QueryRow(ctx, "SELECT total FROM "+tbl("v_sales")).Scan(&total); err != nil || total != 42 {
		t.Errorf("the other application reads its v_sales: %d, %v", total, err)
	}
	err = as(t, db.Pool, r.analyst, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "SELECT * FROM "+tbl("v_sales"))
		return err
	})
	if sqlState(err) != "42501" {
		t.Errorf("the analyst reads the other application's v_sales: %v; want permission denied", err)
	}
}

// syncer's objects in the warehouse's schema are those that sql/roles.sql
// names (known_tables, known_views), and no other: a migration that adds a
// table or view there must add it to the list, or the writer would not
// own it and the analyst would not read it. This compares the list with a
// freshly migrated warehouse.
func TestRolesKnowEveryWarehouseRelation(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx := context.Background()
	list := func(name string) map[string]bool {
		m := regexp.MustCompile(`(?s)\b` + name + `\s+constant\s+text\[\]\s*:=\s*ARRAY\[(.*?)\]`).FindStringSubmatch(syncersql.Roles)
		if m == nil {
			t.Fatalf("sql/roles.sql has no %s constant", name)
		}
		names := map[string]bool{}
		for _, q := range regexp.MustCompile(`'([^']*)'`).FindAllStringSubmatch(m[1], -1) {
			names[q[1]] = true
		}
		if len(names) == 0 {
			t.Fatalf("sql/roles.sql: %s is empty", name)
		}
		return names
	}
	known := map[string]map[string]bool{"table": list("known_tables"), "view": list("known_views")}

	// Everything the migrations left in the warehouse's schema that is
	// not part of something else: relations but indexes, TOAST tables and
	// the sequences of columns; functions; types but those of relations
	// and arrays. Extensions' members are not syncer's.
	rows, err := db.Pool.Query(ctx, `
		SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view'
		                      WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table'
		                      WHEN 'c' THEN 'type' ELSE 'relation of kind ' || c.relkind::text END, c.relname::text
		FROM pg_class c
		WHERE c.relnamespace = $1::regnamespace AND c.relkind NOT IN ('i', 'I', 't')
		  AND NOT (c.relkind = 'S' AND EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
		                                          AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))
		  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
		UNION ALL
		SELECT 'function', p.oid::regprocedure::text FROM pg_proc p
		WHERE p.pronamespace = $1::regnamespace
		  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
		UNION ALL
		SELECT 'type', ty.typname::text FROM pg_type ty
		WHERE ty.typnamespace = $1::regnamespace AND ty.typrelid = 0 AND ty.typelem = 0
		  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = ty.oid AND d.deptype = 'e')
		ORDER BY 1, 2`, db.Schema)
	if err != nil {
		t.Fatal(err)
	}
	type object struct{ Kind, Name string }
	found, err := pgx.CollectRows(rows, pgx.RowToStructByPos[object])
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]map[string]bool{"table": {}, "view": {}}
	for _, o := range found {
		switch {
		case known[o.Kind] != nil && known[o.Kind][o.Name]:
			seen[o.Kind][o.Name] = true
		case known[o.Kind] != nil:
			t.Errorf("the migrations make %s %s.%s, which sql/roles.sql does not know: add it to known_%ss there (and to docs/operations.md#roles)",
				o.Kind, db.Schema, o.Name, o.Kind)
		default:
			t.Errorf("the migrations make %s %s.%s in the warehouse's schema: sql/roles.sql hands over tables and views only, by name; teach it this one",
				o.Kind, db.Schema, o.Name)
		}
	}
	for kind, names := range known {
		for name := range names {
			if !seen[kind][name] {
				t.Errorf("sql/roles.sql lists %s %s, which the migrations do not make in the warehouse's schema", kind, name)
			}
		}
	}
}

// A login, or the analyst, that could do more than read is refused, with
// what to revoke, and nothing changes; once revoked, the run goes through.
func TestRolesRefuseWhatIsNotReadOnly(t *testing.T) {
	t.Parallel()
	for i, tc := range refusals("") {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := dbtest.New(t) // each its own: grants on shared tables would race
			tc := refusals(db.Schema)[i]
			ctx := context.Background()
			r := newTestRoles(t)
			group := "t_group_" + strings.TrimPrefix(r.login, "t_bi_")
			t.Cleanup(func() { dropRoles(t, group) })
			exec(t, db.Pool, tc.setup(r.login, group, r.analyst)...)
			o := Options{Warehouse: db.Schema, Writer: r.writer, Analyst: r.analyst, Logins: []Login{{Name: r.login}}}
			_, err := Apply(ctx, db.Pool, o)
			var re *RefusedError
			if !errors.As(err, &re) {
				t.Fatalf("%v; want a RefusedError", err)
			}
			t.Logf("refused:\n%v", err)
			for _, w := range tc.want {
				if w := fmt.Sprintf(w, r.login, group, r.analyst); !strings.Contains(err.Error(), w) {
					t.Errorf("the error does not say %q:\n%v", w, err)
				}
			}
			// Nothing changed: no writer, and the login is no analyst.
			var writerMade, member bool
			err = db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1),
				EXISTS (SELECT FROM pg_auth_members m WHERE m.member = $2::regrole AND m.roleid = (SELECT oid FROM pg_roles WHERE rolname = $3))`,
				r.writer, r.login, r.analyst).Scan(&writerMade, &member)
			if err != nil || writerMade || member {
				t.Errorf("after the refusal: writer made %v, login a member of the analyst %v (%v)", writerMade, member, err)
			}
			exec(t, db.Pool, tc.revoke(r.login, group, r.analyst)...)
			if _, err := Apply(ctx, db.Pool, o); err != nil {
				t.Fatalf("after the revocations: %v", err)
			}
			checkAnalyst(t, db.Pool, db.Schema, r.login)
		})
	}
}

// refusal is a login, or an analyst, that is not read-only before a run.
type refusal struct {
	name string
	// setup makes the login (and the group, and the analyst) as they are
	// before the run.
	setup func(login, group, analyst string) []string
	// want is what the error says, with %[1]s the login, %[2]s the group
	// and %[3]s the analyst.
	want []string
	// revoke is what the user does then, as the error says.
	revoke func(login, group, analyst string) []string
}

// refusals are the cases of TestRolesRefuseWhatIsNotReadOnly, on the
// warehouse in schema.
func refusals(schema string) []refusal {
	tbl := func(name string) string { return pgx.Identifier{schema, name}.Sanitize() }
	state := func(name string) string { return pgx.Identifier{schemas.State(schema), name}.Sanitize() }
	db := struct{ Schema string }{schema}
	return []refusal{{
		name: "direct grants",
		setup: func(login, _, _ string) []string {
			return []string{"CREATE ROLE " + login + " LOGIN",
				"GRANT INSERT, DELETE ON " + tbl("messages") + " TO " + login,
				"GRANT USAGE ON SCHEMA " + pgx.Identifier{schemas.State(db.Schema)}.Sanitize() + " TO " + login,
				"GRANT SELECT ON " + state("sync_state") + " TO " + login}
		},
		want: []string{"not read-only: %[1]s may do more than read syncer's tables and views; nothing was changed",
			"%[1]s has INSERT, DELETE on " + db.Schema + ".messages (granted to it)",
			"%[1]s has SELECT on " + schemas.State(db.Schema) + ".sync_state (granted to it)",
			"%[1]s has USAGE on schema " + schemas.State(db.Schema) + " (granted to it)",
			"REVOKE INSERT, DELETE ON " + db.Schema + ".messages FROM %[1]s;",
			"REVOKE SELECT ON " + schemas.State(db.Schema) + ".sync_state FROM %[1]s;"},
		revoke: func(login, _, _ string) []string {
			return []string{"REVOKE INSERT, DELETE ON " + tbl("messages") + " FROM " + login,
				"REVOKE SELECT ON " + state("sync_state") + " FROM " + login,
				"REVOKE USAGE ON SCHEMA " + pgx.Identifier{schemas.State(db.Schema)}.Sanitize() + " FROM " + login}
		},
	}, {
		name: "through a group",
		setup: func(login, group, _ string) []string {
			return []string{"CREATE ROLE " + group + " NOLOGIN", "CREATE ROLE " + login + " LOGIN IN ROLE " + group,
				"GRANT UPDATE ON " + tbl("conversations") + " TO " + group,
				"GRANT CREATE ON SCHEMA " + pgx.Identifier{db.Schema}.Sanitize() + " TO " + group}
		},
		want: []string{"%[1]s has UPDATE on " + db.Schema + ".conversations (as a member of %[2]s)",
			"%[1]s has CREATE on schema " + db.Schema + " (as a member of %[2]s)", "REVOKE %[2]s FROM %[1]s;"},
		revoke: func(login, group, _ string) []string { return []string{"REVOKE " + group + " FROM " + login} },
	}, {
		name:  "a superuser",
		setup: func(login, _, _ string) []string { return []string{"CREATE ROLE " + login + " LOGIN SUPERUSER"} },
		want:  []string{"%[1]s is SUPERUSER", "choose another role than %[1]s for a read-only one, or, if %[1]s should not be SUPERUSER: ALTER ROLE %[1]s NOSUPERUSER;"},
		revoke: func(login, _, _ string) []string {
			return []string{"ALTER ROLE " + login + " NOSUPERUSER"}
		},
	}, {
		name: "pg_write_all_data",
		setup: func(login, _, _ string) []string {
			return []string{"CREATE ROLE " + login + " LOGIN IN ROLE pg_write_all_data"}
		},
		want:   []string{"%[1]s is a member of pg_write_all_data, which writes every table", "REVOKE pg_write_all_data FROM %[1]s;"},
		revoke: func(login, _, _ string) []string { return []string{"REVOKE pg_write_all_data FROM " + login} },
	}, {
		name: "the analyst",
		setup: func(login, _, analyst string) []string {
			return []string{"CREATE ROLE " + login + " LOGIN", "CREATE ROLE " + analyst + " NOLOGIN",
				"GRANT TRUNCATE ON " + tbl("sources") + " TO " + analyst}
		},
		want: []string{"not read-only: %[3]s may do", "%[3]s has TRUNCATE on " + db.Schema + ".sources (granted to it)", "REVOKE TRUNCATE ON " + db.Schema + ".sources FROM %[3]s;"},
		revoke: func(_, _, analyst string) []string {
			return []string{"REVOKE TRUNCATE ON " + tbl("sources") + " FROM " + analyst}
		},
	}}
}

// A new login needs a password; an existing one keeps its own.
func TestRolesNewLoginNeedsAPassword(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	r := newTestRoles(t)
	_, err := Apply(context.Background(), db.Pool, Options{Warehouse: db.Schema, Writer: r.writer, Analyst: r.analyst, Logins: []Login{{Name: r.login}}})
	var re *RefusedError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "analyst login "+r.login+" does not exist, and a new login needs a password") ||
		!strings.Contains(err.Error(), "--analyst-password-env VAR right after --analyst-login "+r.login) {
		t.Fatalf("%v; want a RefusedError saying a new login needs a password", err)
	}
}

// --writer-can-create-schemas: CREATE on the database, on a migrated
// warehouse too.
func TestRolesWriterCreatesSchemas(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	r := newTestRoles(t)
	lines, err := Apply(context.Background(), db.Pool, Options{Warehouse: db.Schema, Writer: r.writer, Analyst: r.analyst, WriterCreatesSchemas: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text(lines), " to "+r.writer+", which may create schemas there\n") || !mayCreateSchemas(t, db.Pool, r.writer) {
		t.Errorf("the writer may not create schemas:\n%s", text(lines))
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
	var re *RefusedError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "still holds syncer's bookkeeping tables. Run syncer migrate up first") {
		t.Fatalf("%v", err)
	}
}
