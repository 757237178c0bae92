package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"syncer/internal/dbtest"
	"syncer/internal/sim"
	ogmmasim "syncer/internal/sim/ogmma"
)

// rolesForTest names a writer, an analyst and a login unique to the test,
// and drops them (and what they own or were granted) when it ends.
func rolesForTest(t *testing.T, db *dbtest.DB) (writer, analyst, login string) {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	sfx := hex.EncodeToString(b[:])
	writer, analyst, login = "t_writer_"+sfx, "t_analyst_"+sfx, "t_bi_"+sfx
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// Under syncer_roles's lock: grants on the database must not race.
		err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(7386401229316710712)"); err != nil {
				return err
			}
			for _, n := range []string{login, analyst, writer} {
				var exists bool
				if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)", n).Scan(&exists); err != nil {
					return err
				}
				if !exists {
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
			t.Errorf("drop the test's roles: %v", err)
		}
	})
	return writer, analyst, login
}

// urlAs is db's URL with another user and password.
func urlAs(t *testing.T, db *dbtest.DB, user, password string) string {
	t.Helper()
	u, err := url.Parse(db.URL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(user, password)
	return u.String()
}

// syncer migrate roles, then a sync and migrate up as the writer, and the
// analyst's login reading the views and not the bookkeeping.
func TestMigrateRoles(t *testing.T) {
	db := dbtest.New(t)
	writer, analyst, login := rolesForTest(t, db)
	t.Setenv("T_WRITER_PW", "writer-pw-7f3a")
	t.Setenv("T_BI_PW", "bi-pw-9c21")
	args := []string{"migrate", "roles", "--database-url", db.URL, "--writer", writer, "--analyst", analyst,
		"--writer-password-env", "T_WRITER_PW", "--analyst-login", login, "--analyst-password-env", "T_BI_PW"}
	code, stdout, stderr := cli(t, args...)
	if code != exitOK {
		t.Fatalf("migrate roles: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	for _, want := range []string{"writer " + writer + ": created; it logs in with its password\n", "analyst " + analyst + ": created, NOLOGIN",
		"analyst login " + login + ": created; it logs in with its password and reads as a member of " + analyst + "\n",
		"granted SELECT on 16 of syncer's tables and views in schema " + db.Schema + " to " + analyst + "\n",
		"roles are in place: " + writer + " owns syncer's tables and views in schema " + db.Schema + " and schema " + db.Schema + "_syncer; " +
			analyst + " reads them in schema " + db.Schema + ", and nothing of " + db.Schema + "_syncer\n"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout does not say %q:\n%s", want, stdout)
		}
	}
	if all := stdout + stderr; strings.Contains(all, "writer-pw-7f3a") || strings.Contains(all, "bi-pw-9c21") {
		t.Fatalf("a password is printed:\n%s", all)
	}

	// The writer syncs and migrates.
	og := ogmmasim.New(ogmmasim.Config{Seed: 11, Channels: 1, ConversationsPerChannel: 2, MessagesPerConversation: 30})
	srv := httptest.NewServer(sim.NewServer(og))
	defer srv.Close()
	cfg := ogmmaConfig(t, srv.URL, og.APIKey(), og, "")
	writerURL := urlAs(t, db, writer, "writer-pw-7f3a")
	if code, stdout, stderr := cli(t, "sync", "--config", cfg, "--database-url", writerURL, "--log-level", "warn"); code != exitOK || !strings.Contains(stdout, "succeeded") {
		t.Fatalf("sync as the writer: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	if code, stdout, stderr := cli(t, "migrate", "up", "--database-url", writerURL); code != exitOK || !strings.Contains(stdout, "up to date") {
		t.Fatalf("migrate up as the writer: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}

	// The analyst's login reads the views, not the bookkeeping, and writes
	// nothing.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, urlAs(t, db, login, "bi-pw-9c21"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	for _, view := range []string{"v_messages", "v_daily_volume", "v_conversation_metrics", "v_agent_load", "v_hourly_heatmap", "messages", "conversations", "sources"} {
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{db.Schema, view}.Sanitize()).Scan(&n); err != nil {
			t.Errorf("the analyst login reads %s: %v", view, err)
		}
		if view == "v_messages" && n != 60 {
			t.Errorf("v_messages has %d rows, want 60", n)
		}
	}
	for _, stmt := range []string{
		"SELECT count(*) FROM " + pgx.Identifier{db.Schema + "_syncer", "sync_state"}.Sanitize(),
		"DELETE FROM " + pgx.Identifier{db.Schema, "messages"}.Sanitize(),
		"CREATE TABLE " + pgx.Identifier{db.Schema, "notes"}.Sanitize() + " (x int)",
	} {
		if _, err := conn.Exec(ctx, stmt); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("the analyst login: %s: %v; want permission denied", stmt, err)
		}
	}

	// Again, without passwords: each role is left as it was, the login's
	// password too, which it still logs in with.
	code, stdout, stderr = cli(t, "migrate", "roles", "--database-url", db.URL, "--writer", writer, "--analyst", analyst, "--analyst-login", login)
	want := "writer " + writer + ": exists: left as it was\nanalyst " + analyst + ": exists: left as it was\nanalyst login " + login +
		": exists: left as it was\nnothing to change\nroles are in place: "
	if code != exitOK || !strings.HasPrefix(stdout, want) {
		t.Fatalf("migrate roles again: exit %d\nstdout %s\nstderr %s\nwant it to start with %s", code, stdout, stderr, want)
	}
	again, err := pgx.Connect(ctx, urlAs(t, db, login, "bi-pw-9c21"))
	if err != nil {
		t.Fatal(err)
	}
	again.Close(ctx)
	// A password given is set again, and said so.
	t.Setenv("T_BI_PW", "bi-pw-new-5d")
	code, stdout, stderr = cli(t, "migrate", "roles", "--database-url", db.URL, "--writer", writer, "--analyst", analyst,
		"--analyst-login", login, "--analyst-password-env", "T_BI_PW")
	if code != exitOK || !strings.Contains(stdout, "analyst login "+login+": exists: password set; it logs in with it\n") || strings.Contains(stdout, "nothing to change") {
		t.Fatalf("migrate roles with a new password: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
}

// On an empty database, syncer migrate roles comes first and makes both
// schemas, owned by the writer; the writer's first syncer migrate up then
// applies every migration without CREATE on the database.
func TestMigrateRolesBeforeTheFirstMigration(t *testing.T) {
	db := dbtest.New(t) // for its URL and pool; the warehouse is another schema
	writer, analyst, _ := rolesForTest(t, db)
	ctx := context.Background()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	fresh := "t_fresh_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		if _, err := db.Pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{fresh}.Sanitize()+", "+
			pgx.Identifier{fresh + "_syncer"}.Sanitize()+" CASCADE"); err != nil {
			t.Error(err)
		}
	})
	freshURL, err := dbtest.WithSearchPath(db.URL, fresh)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("T_WRITER_PW", "writer-pw-41b0")
	code, stdout, stderr := cli(t, "migrate", "roles", "--database-url", freshURL, "--writer", writer, "--analyst", analyst, "--writer-password-env", "T_WRITER_PW")
	if code != exitOK {
		t.Fatalf("migrate roles: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	for _, want := range []string{"created schema " + fresh + ", owned by " + writer + "\n", "created schema " + fresh + "_syncer, owned by " + writer + "\n"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout does not say %q:\n%s", want, stdout)
		}
	}
	var mayCreate bool
	if err := db.Pool.QueryRow(ctx, "SELECT has_database_privilege($1, current_database(), 'CREATE')", writer).Scan(&mayCreate); err != nil {
		t.Fatal(err)
	}
	if mayCreate || strings.Contains(stdout, "CREATE on database") {
		t.Fatalf("the writer may create schemas:\n%s", stdout)
	}
	writerURL := urlAs(t, &dbtest.DB{URL: freshURL}, writer, "writer-pw-41b0")
	code, stdout, stderr = cli(t, "migrate", "up", "--database-url", writerURL)
	if code != exitOK || !strings.Contains(stdout, "applied ") || !strings.Contains(stdout, "warehouse schema is up to date") {
		t.Fatalf("first migrate up as the writer, without CREATE on the database: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	var n int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM pg_class WHERE relnamespace = $1::regnamespace AND relowner <> $2::regrole", fresh, writer).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d relations of schema %s not owned by the writer (%v)", n, fresh, err)
	}
}

// A login that can write is refused, exit 1, with what to revoke, and
// nothing changes.
func TestMigrateRolesRefusesALoginThatWrites(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	writer, analyst, login := rolesForTest(t, db)
	ctx := context.Background()
	for _, stmt := range []string{
		"CREATE ROLE " + login + " LOGIN",
		"GRANT INSERT, DELETE ON " + pgx.Identifier{db.Schema, "messages"}.Sanitize() + " TO " + login,
	} {
		if _, err := db.Pool.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, stderr := cli(t, "migrate", "roles", "--database-url", db.URL, "--writer", writer, "--analyst", analyst, "--analyst-login", login)
	if code != exitFailed || stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	for _, want := range []string{
		"syncer: migrate roles: not read-only: " + login + " may do more than read syncer's tables and views; nothing was changed:\n",
		"  " + login + " has INSERT, DELETE on " + db.Schema + ".messages (granted to it)\n",
		"What to do (then run syncer migrate roles again):\nREVOKE INSERT, DELETE ON " + db.Schema + ".messages FROM " + login + ";\n",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr)
		}
	}
	var n int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM pg_roles WHERE rolname IN ($1, $2)", writer, analyst).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d roles made (%v)", n, err)
	}
}

// A user that may not create roles is told so, and what to connect as.
func TestMigrateRolesNeedsCreateRole(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	writer, analyst, plain := rolesForTest(t, db)
	if _, err := db.Pool.Exec(context.Background(), "CREATE ROLE "+pgx.Identifier{plain}.Sanitize()+" LOGIN"); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := cli(t, "migrate", "roles", "--database-url", urlAs(t, db, plain, ""), "--writer", writer, "--analyst", analyst)
	if code != exitFailed || stdout != "" {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
	for _, want := range []string{"migrate roles: user " + plain + " may not create roles", "superuser", "CREATEROLE", "--database-url"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr)
		}
	}
}

func TestMigrateRolesUsage(t *testing.T) {
	t.Setenv("T_SET_PW", "pw-given-4e")
	t.Setenv("T_EMPTY_PW", "")
	t.Setenv("T_NONASCII_PW", "senha-ção")
	url := "postgres://127.0.0.1:1/x"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"migrate", "up", "--writer", "w"}, "migrate up: --writer is for syncer migrate roles"},
		{[]string{"migrate", "up", "--writer-can-create-schemas"}, "migrate up: --writer-can-create-schemas is for syncer migrate roles"},
		{[]string{"migrate", "roles", "--analyst-password-env", "T_SET_PW", "--analyst-login", "bi"}, "each --analyst-password-env VAR goes right after the --analyst-login NAME whose password VAR holds, once"},
		{[]string{"migrate", "roles", "--analyst-login", "bi", "--analyst-password-env", "T_SET_PW", "--analyst-password-env", "T_SET_PW"}, "goes right after the --analyst-login NAME"},
		{[]string{"migrate", "roles", "--writer-password-env", ""}, "--writer-password-env wants the name of the environment variable that holds the writer's password (such as SYNCER_WRITER_PASSWORD), not its value; it is empty here"},
		{[]string{"migrate", "roles", "--writer-password-env", "pw-given-4e!"}, "not the password itself"},
		{[]string{"migrate", "roles", "--analyst-login", "bi", "--analyst-password-env", "$x"}, "--analyst-password-env wants the name of the environment variable that holds the password of bi (such as METABASE_DB_PASSWORD)"},
		{[]string{"migrate", "roles", "--analyst-login", ""}, "want the name of a login role"},
		{[]string{"migrate", "roles", "--analyst-login", "bi", "--analyst-password-env", "T_UNSET_PW_X"}, "--analyst-password-env T_UNSET_PW_X: the environment variable T_UNSET_PW_X is not set or empty"},
		{[]string{"migrate", "roles", "--writer-password-env", "T_EMPTY_PW"}, "is not set or empty"},
		{[]string{"migrate", "roles", "--writer-password-env", "T_NONASCII_PW"}, "printable ASCII"},
		{[]string{"migrate", "roles", "--writer", "same", "--analyst", "same"}, `analyst "same" is also the writer`},
		{[]string{"migrate", "roles", "--analyst-login", "syncer_analyst", "--analyst-password-env", "T_SET_PW"}, "is also the analyst"},
		{[]string{"migrate", "roles", "--writer", ""}, "want the writer role's name, such as syncer_writer"},
	} {
		code, stdout, stderr := cli(t, append(tc.args, "--database-url", url)...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, exitUsage, tc.want)
		}
		if strings.Contains(stdout+stderr, "pw-given-4e") || strings.Contains(stdout+stderr, "senha") {
			t.Errorf("%v: a password is printed:\n%s%s", tc.args, stdout, stderr)
		}
	}
}
