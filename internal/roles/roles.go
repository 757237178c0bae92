// Package roles makes a warehouse's database roles: a writer that syncer
// connects as and that owns syncer's tables, and a read-only analyst group
// role for people and BI tools, with LOGIN roles that are its members. It
// runs sql/roles.sql, and nothing else, in one transaction. It never
// prints, logs or sends a password: the server gets SCRAM verifiers only.
// It hands the writer syncer's objects only, never another application's
// or an extension's, and it does not take back a right it did not give:
// when a login could do more than read, it refuses and says what to revoke.
package roles

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"syncer/internal/schemas"
	syncersql "syncer/sql"
)

// Default role names.
const (
	DefaultWriter  = "syncer_writer"
	DefaultAnalyst = "syncer_analyst"
)

// Options name the warehouse and the roles to make.
type Options struct {
	// Warehouse is the warehouse's schema ("" for public); its bookkeeping
	// schema is schemas.State(Warehouse).
	Warehouse string
	Writer    string
	// WriterPassword, when set, lets the writer log in with it; when
	// empty, the writer's login is left as it is (NOLOGIN when new).
	WriterPassword string
	Analyst        string
	// Logins are LOGIN roles to make (or keep) members of the analyst.
	Logins []Login
	// WriterCreatesSchemas gives the writer CREATE on the database, to
	// create schemas (syncer demo drops and makes its own). Without it the
	// writer gets no CREATE on the database: Apply makes both schemas,
	// owned by the writer, and syncer migrate up creates a schema only when
	// it is missing, so its first run needs none.
	WriterCreatesSchemas bool
}

// Login is a role that logs in and reads as a member of the analyst role.
type Login struct {
	Name string
	// Password, when set, is the login's password, set again on an
	// existing login; when empty, an existing login's password is left as
	// it is, and a new login is refused.
	Password string
}

// Line is one thing Apply says, in order: a role created, or found and
// its password set, or found and left as it was; a grant, a revocation, a
// hand-over.
type Line struct {
	Text string
	// Changed is false on the line of a role left as it was.
	Changed bool
}

// PrivilegeError says that the connecting user may not do what the roles
// need: create roles, grant on the database, hand over the tables.
type PrivilegeError struct {
	Message string // PostgreSQL's
	Hint    string
}

func (e *PrivilegeError) Error() string {
	if e.Hint == "" {
		return e.Message
	}
	return e.Message + ". " + e.Hint
}

// RefusedError says why the roles cannot be made as asked, what stands in
// the way and what to do about it. Nothing was changed.
type RefusedError struct {
	Message string // PostgreSQL's
	Detail  string // one problem a line, when there are several
	Hint    string
}

func (e *RefusedError) Error() string {
	switch {
	case e.Detail != "":
		return e.Message + ":\n  " + strings.ReplaceAll(e.Detail, "\n", "\n  ") + "\n" + e.Hint
	case e.Hint != "":
		return e.Message + ". " + e.Hint
	}
	return e.Message
}

// Beginner starts a transaction: a *pgxpool.Pool or a *pgx.Conn.
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Validate checks the names and passwords before anything is sent.
func (o Options) Validate() error {
	names := map[string]string{}
	check := func(what, name string) error {
		switch {
		case name == "":
			return fmt.Errorf("%s: want a role name", what)
		case len(name) > 63:
			return fmt.Errorf("%s %q: PostgreSQL role names have at most 63 bytes", what, name)
		case strings.ContainsRune(name, 0):
			return fmt.Errorf("%s: a role name cannot hold a NUL byte", what)
		}
		if other, ok := names[name]; ok {
			return fmt.Errorf("%s %q is also the %s: each role needs a name of its own", what, name, other)
		}
		names[name] = what
		return nil
	}
	if err := check("writer", o.Writer); err != nil {
		return err
	}
	if err := check("analyst", o.Analyst); err != nil {
		return err
	}
	if o.WriterPassword != "" {
		if err := checkPassword(o.WriterPassword); err != nil {
			return fmt.Errorf("the writer's password: %w", err)
		}
	}
	for _, l := range o.Logins {
		if err := check("analyst login", l.Name); err != nil {
			return err
		}
		if l.Password == "" {
			continue
		}
		if err := checkPassword(l.Password); err != nil {
			return fmt.Errorf("the password of analyst login %q: %w", l.Name, err)
		}
	}
	return nil
}

// Apply makes the roles and grants of o in one transaction and returns
// what it found and did: a line for each role, and one for each thing it
// changed (passwords given are set again, and said so). It changes
// nothing and returns a *RefusedError when the analyst or a login could
// do more than read.
func Apply(ctx context.Context, db Beginner, o Options) ([]Line, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	warehouse := o.Warehouse
	if warehouse == "" {
		warehouse = schemas.Default
	}
	var writerPassword *string
	if o.WriterPassword != "" {
		v, err := verifier(o.WriterPassword)
		if err != nil {
			return nil, err
		}
		writerPassword = &v
	}
	logins := make([]string, 0, len(o.Logins))
	passwords := make([]*string, 0, len(o.Logins)) // nil: left as it is
	for _, l := range o.Logins {
		logins = append(logins, l.Name)
		if l.Password == "" {
			passwords = append(passwords, nil)
			continue
		}
		v, err := verifier(l.Password)
		if err != nil {
			return nil, err
		}
		passwords = append(passwords, &v)
	}

	tx, err := db.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("roles: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, syncersql.Roles, pgx.QueryExecModeSimpleProtocol); err != nil {
		return nil, fmt.Errorf("roles: define pg_temp.syncer_roles: %w", mapError(err))
	}
	// The function is made anew each time: no cached statement may refer
	// to it.
	rows, err := tx.Query(ctx, "SELECT said, changed FROM pg_temp.syncer_roles($1, $2, $3, $4, $5, $6, $7, $8)", pgx.QueryExecModeDescribeExec,
		warehouse, schemas.State(warehouse), o.Writer, o.Analyst, writerPassword, logins, passwords, o.WriterCreatesSchemas)
	if err != nil {
		return nil, fmt.Errorf("roles: %w", mapError(err))
	}
	lines, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Line])
	if err != nil {
		return nil, fmt.Errorf("roles: %w", mapError(err))
	}
	if _, err := tx.Exec(ctx, "DROP FUNCTION pg_temp.syncer_roles(text, text, text, text, text, text[], text[], boolean)", pgx.QueryExecModeExec); err != nil {
		return nil, fmt.Errorf("roles: %w", mapError(err))
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("roles: %w", mapError(err))
	}
	return lines, nil
}

// mapError turns PostgreSQL's "insufficient privilege" into a
// PrivilegeError, and syncer_roles's refusals (a role that cannot be
// read-only, a new login without a password, the old layout) into a
// RefusedError.
func mapError(err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	switch pgErr.Code {
	case "42501": // insufficient_privilege
		hint := pgErr.Hint
		if hint == "" {
			hint = "Run it as a superuser (such as postgres), or as a user with CREATEROLE that owns the warehouse's tables and the database."
		}
		return &PrivilegeError{Message: pgErr.Message, Hint: hint}
	case "0LP01", "22023", "55000": // invalid_grant_operation, invalid_parameter_value, object_not_in_prerequisite_state
		if pgErr.Where != "" && strings.Contains(pgErr.Where, "syncer_roles") {
			return &RefusedError{Message: pgErr.Message, Detail: pgErr.Detail, Hint: pgErr.Hint}
		}
	}
	return err
}
