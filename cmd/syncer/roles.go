package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"

	"syncer/internal/roles"
	"syncer/internal/schemas"
)

// rolesFlags are the flags of syncer migrate roles.
type rolesFlags struct {
	writer, analyst      string
	writerPasswordEnv    *string // nil: not given
	logins               []loginFlags
	writerCreatesSchemas bool
	misplacedPasswordEnv string   // an --analyst-password-env not right after its --analyst-login
	given                []string // the flags given, to refuse them on up, down and status
}

// loginFlags are one --analyst-login and the --analyst-password-env after it.
type loginFlags struct {
	name        string
	passwordEnv *string // nil: not given
}

// register adds the flags to migrate's flag set.
func (f *rolesFlags) register(fs *flag.FlagSet) {
	f.writer, f.analyst = roles.DefaultWriter, roles.DefaultAnalyst
	for _, fl := range []struct {
		name, usage string
		set         func(string) error
	}{
		{"writer", "roles: name the role syncer writes as `NAME` (default " + roles.DefaultWriter + ")", func(s string) error {
			if s == "" {
				return errors.New("want the writer role's name, such as " + roles.DefaultWriter)
			}
			f.writer = s
			return nil
		}},
		{"analyst", "roles: name the read-only group role `NAME` (default " + roles.DefaultAnalyst + ")", func(s string) error {
			if s == "" {
				return errors.New("want the analyst role's name, such as " + roles.DefaultAnalyst)
			}
			f.analyst = s
			return nil
		}},
		{"writer-password-env", "roles: let the writer log in, with the password in environment variable `VAR` (without it, a new writer is NOLOGIN and an existing one keeps its password)", func(s string) error {
			f.writerPasswordEnv = &s // checked by options, which never shows a value that is not a variable's name
			return nil
		}},
		{"analyst-login", "roles: make (or keep) the LOGIN role `NAME` a member of the analyst role, for a person or a BI tool; repeat for more", func(s string) error {
			if s == "" {
				return errors.New("want the name of a login role, such as metabase")
			}
			f.logins = append(f.logins, loginFlags{name: s})
			return nil
		}},
		{"analyst-password-env", "roles: the password of the --analyst-login just before it is in environment variable `VAR` (never printed); needed for a new login, else its password is left as it is", func(s string) error {
			if n := len(f.logins); n == 0 || f.logins[n-1].passwordEnv != nil {
				if f.misplacedPasswordEnv == "" {
					f.misplacedPasswordEnv = s
				}
				return nil
			}
			f.logins[len(f.logins)-1].passwordEnv = &s
			return nil
		}},
	} {
		name, set := fl.name, fl.set
		fs.Func(name, fl.usage, func(s string) error {
			f.given = append(f.given, "--"+name)
			return set(s)
		})
	}
	fs.BoolFunc("writer-can-create-schemas", "roles: let the writer create schemas in the database (CREATE on it), as syncer demo needs; without it the writer gets none (migrate roles makes both schemas)", func(s string) error {
		f.given = append(f.given, "--writer-can-create-schemas")
		switch s {
		case "true":
			f.writerCreatesSchemas = true
		case "false":
			f.writerCreatesSchemas = false
		default:
			return errors.New("takes no value, or =true or =false")
		}
		return nil
	})
}

// envName is what the name of an environment variable looks like.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// options resolves the passwords from the environment. A message never
// holds a password, only the variable's name, and a flag's value only
// when it looks like a variable's name (a password given by mistake in
// its place is not shown).
func (f *rolesFlags) options() (roles.Options, error) {
	o := roles.Options{Writer: f.writer, Analyst: f.analyst, WriterCreatesSchemas: f.writerCreatesSchemas}
	if f.misplacedPasswordEnv != "" {
		return o, usagef("migrate roles: each --analyst-password-env VAR goes right after the --analyst-login NAME whose password VAR holds, once")
	}
	lookup := func(flagName, what, name string) (string, error) {
		switch {
		case name == "":
			return "", usagef("migrate roles: %s wants the name of the environment variable that holds %s (such as %s), not its value; it is empty here", flagName, what, exampleEnv(flagName))
		case !envName.MatchString(name):
			return "", usagef("migrate roles: %s wants the name of the environment variable that holds %s (such as %s), not the password itself: letters, digits and _", flagName, what, exampleEnv(flagName))
		}
		v, ok := os.LookupEnv(name)
		if !ok || v == "" {
			return "", usagef("migrate roles: %s %s: the environment variable %s is not set or empty", flagName, name, name)
		}
		return v, nil
	}
	if f.writerPasswordEnv != nil {
		pw, err := lookup("--writer-password-env", "the writer's password", *f.writerPasswordEnv)
		if err != nil {
			return o, err
		}
		o.WriterPassword = pw
	}
	for _, l := range f.logins {
		login := roles.Login{Name: l.name}
		if l.passwordEnv != nil {
			pw, err := lookup("--analyst-password-env", "the password of "+l.name, *l.passwordEnv)
			if err != nil {
				return o, err
			}
			login.Password = pw
		}
		o.Logins = append(o.Logins, login)
	}
	if err := o.Validate(); err != nil {
		return o, usagef("migrate roles: %v", err)
	}
	return o, nil
}

func exampleEnv(flagName string) string {
	if flagName == "--writer-password-env" {
		return "SYNCER_WRITER_PASSWORD"
	}
	return "METABASE_DB_PASSWORD"
}

// migrateRoles is `syncer migrate roles`: the writer and analyst roles of
// the configured warehouse (docs/operations.md#roles).
func (e *env) migrateRoles(ctx context.Context, f *rolesFlags) error {
	o, err := f.options()
	if err != nil {
		return err
	}
	if err := e.loadConfig(false); err != nil {
		return err
	}
	e.redactor.Add(o.WriterPassword)
	for _, l := range o.Logins {
		e.redactor.Add(l.Password)
	}
	pool, err := e.connect(ctx)
	if err != nil {
		return err
	}
	o.Warehouse = e.schema
	lines, err := roles.Apply(ctx, pool, o)
	if pe := (*roles.PrivilegeError)(nil); errors.As(err, &pe) {
		return fmt.Errorf("migrate roles: %s; pass that user's URL with --database-url", strings.TrimSuffix(pe.Error(), "."))
	}
	if re := (*roles.RefusedError)(nil); errors.As(err, &re) {
		return fmt.Errorf("migrate roles: %w", re)
	}
	if err != nil {
		return fmt.Errorf("migrate roles: %w", err)
	}
	changed := false
	for _, l := range lines {
		fmt.Fprintln(e.stdout, l.Text)
		changed = changed || l.Changed
	}
	if !changed {
		fmt.Fprintln(e.stdout, "nothing to change")
	}
	fmt.Fprintf(e.stdout, "roles are in place: %s owns syncer's tables and views in schema %s and schema %s; %s reads them in schema %s, and nothing of %s\n",
		o.Writer, e.schema, schemas.State(e.schema), o.Analyst, e.schema, schemas.State(e.schema))
	return nil
}
