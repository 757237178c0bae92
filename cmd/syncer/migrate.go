package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"syncer/internal/migrate"
	"syncer/internal/state"
)

func (e *env) migrate(ctx context.Context, args []string) error {
	var rf rolesFlags
	pos, err := e.parseCommand("migrate", args, rf.register)
	if err != nil {
		return err
	}
	if len(pos) != 1 || (pos[0] != "up" && pos[0] != "down" && pos[0] != "status" && pos[0] != "roles") {
		return usagef("migrate takes one of up, down, status or roles (see syncer migrate --help)")
	}
	if pos[0] == "roles" {
		return e.migrateRoles(ctx, &rf)
	}
	if len(rf.given) > 0 {
		return usagef("migrate %s: %s is for syncer migrate roles", pos[0], rf.given[0])
	}
	if err := e.loadConfig(false); err != nil {
		return err
	}
	pool, err := e.connect(ctx)
	if err != nil {
		return err
	}
	if pos[0] == "up" && e.cfg.Schema != "" {
		stmt, err := state.New(pool, e.logger).CreateSchemaStatement(ctx, e.cfg.Schema)
		if err != nil {
			return fmt.Errorf("create schema %s: %w", e.cfg.Schema, err)
		}
		if stmt != "" {
			// Another process starting at once may make it first.
			var pgErr *pgconn.PgError
			if _, err := pool.Exec(ctx, stmt); err != nil && !(errors.As(err, &pgErr) && pgErr.Code == "42P06") { // duplicate_schema
				return fmt.Errorf("create schema %s: %w", e.cfg.Schema, err)
			}
		}
	}
	m, err := migrate.New(pool, e.schema, e.logger)
	if err != nil {
		return err
	}
	defer m.Close()
	switch pos[0] {
	case "up":
		n, err := m.Up(ctx)
		if err != nil {
			return err
		}
		ch, err := m.ApplyTimeZone(ctx, e.cfg.TimeZone)
		if err != nil {
			return err
		}
		if n == 0 {
			fmt.Fprintln(e.stdout, "warehouse schema is up to date")
		} else {
			fmt.Fprintf(e.stdout, "applied %d migration(s); warehouse schema is up to date\n", n)
		}
		if ch.Views {
			fmt.Fprintf(e.stdout, "the views count days and hours in time zone %s\n", e.cfg.TimeZone)
		}
		if len(ch.Indexes) > 0 {
			fmt.Fprintf(e.stdout, "built %s in time zone %s\n", strings.Join(ch.Indexes, " and "), e.cfg.TimeZone)
		}
		if ch.Busy {
			fmt.Fprintln(e.stdout, "another syncer is building the local-day indexes; date filters on the views use them once it is done")
		}
	case "down":
		v, err := m.Down(ctx)
		if err != nil {
			return err
		}
		switch v {
		case "":
			fmt.Fprintln(e.stdout, "no migration to roll back")
		case migrate.RiverLine:
			fmt.Fprintln(e.stdout, "removed River's job tables (no warehouse migration was left)")
		default:
			fmt.Fprintf(e.stdout, "rolled back migration %s\n", v)
		}
	case "status":
		st, err := m.Status(ctx)
		if err != nil {
			return err
		}
		for _, s := range st {
			state := "pending"
			if s.Applied {
				state = "applied"
			}
			if s.Line == migrate.RiverLine {
				fmt.Fprintf(e.stdout, "river %03d  %-8s %s\n", s.Version, state, s.Name)
			} else {
				fmt.Fprintf(e.stdout, "%05d  %-8s %s\n", s.Version, state, s.Name)
			}
		}
	}
	return nil
}
