package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"syncer/internal/roles"
	"syncer/internal/schemas"
)

// rolesFlags are the flags of syncer migrate roles.
type rolesFlags struct {
	writer, analyst   string
	writerPasswordEnv string
	logins            []string
	loginPasswordEnvs []string
	given             []string // the flags given, to refuse them on up, down and status
}

// register adds the flags to migrate's flag set.
func (f *rolesFlags) register(fs *flag.FlagSet) {
	f.writer, f.analyst = roles.DefaultWriter, roles.DefaultAnalyst
	str := func(p *string) func(string) error {
		return func(s string) error { *p = s; return nil }
	}
	add := func(p *[]string) func(string) error {
		return func(s string) error { *p = append(*p, s); return nil }
	}
	for _, fl := range []struct {
		name, usage string
		set         func(string) error
	}{
		{"writer", "roles: name the role syncer writes as `NAME` (default " + roles.DefaultWriter + ")", str(&f.writer)},
		{"analyst", "roles: name the read-only group role `NAME` (default " + roles.DefaultAnalyst + ")", str(&f.analyst)},
		{"writer-password-env", "roles: let the writer log in, with the password in environment variable `VAR` (without it, a new writer is NOLOGIN)", str(&f.writerPasswordEnv)},
		{"analyst-login", "roles: make (or keep) the LOGIN role `NAME` a member of the analyst role, for a person or a BI tool; repeat for more", add(&f.logins)},
		{"analyst-password-env", "roles: the password of the --analyst-login in the same position is in environment variable `VAR` (never printed)", add(&f.loginPasswordEnvs)},
	} {
		name, set := fl.name, fl.set
		fs.Func(name, fl.usage, func(s string) error {
			if s == "" {
				return errors.New("want a name")
			}
			f.given = append(f.given, "--"+name)
			return set(s)
		})
	}
}

// options resolves the passwords from the environment. A message never
// holds a password, only the variable's name.
func (f *rolesFlags) options() (roles.Options, error) {
	o := roles.Options{Writer: f.writer, Analyst: f.analyst}
	if len(f.logins) != len(f.loginPasswordEnvs) {
		return o, usagef("migrate roles: give each --analyst-login NAME its --analyst-password-env VAR (%d logins, %d variables): a role without a password cannot log in", len(f.logins), len(f.loginPasswordEnvs))
	}
	lookup := func(which, name string) (string, error) {
		v, ok := os.LookupEnv(name)
		if !ok || v == "" {
			return "", usagef("migrate roles: %s %s: the environment variable %s is not set or empty", which, name, name)
		}
		return v, nil
	}
	if f.writerPasswordEnv != "" {
		pw, err := lookup("--writer-password-env", f.writerPasswordEnv)
		if err != nil {
			return o, err
		}
		o.WriterPassword = pw
	}
	for i, name := range f.logins {
		pw, err := lookup("--analyst-password-env", f.loginPasswordEnvs[i])
		if err != nil {
			return o, err
		}
		o.Logins = append(o.Logins, roles.Login{Name: name, Password: pw})
	}
	if err := o.Validate(); err != nil {
		return o, usagef("migrate roles: %v", err)
	}
	return o, nil
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
	if err != nil {
		return fmt.Errorf("migrate roles: %w", err)
	}
	for _, l := range lines {
		fmt.Fprintln(e.stdout, l)
	}
	if len(lines) == 0 {
		fmt.Fprintln(e.stdout, "nothing to change")
	}
	fmt.Fprintf(e.stdout, "roles are in place: %s owns the warehouse in schemas %s and %s; %s reads schema %s and not %s\n",
		o.Writer, e.schema, schemas.State(e.schema), o.Analyst, e.schema, schemas.State(e.schema))
	return nil
}
