// Package queries holds the SQL statements that sqlc cannot check (the
// merges from temporary staging tables, the locks and heals around them,
// the status query whose outer joins sqlc cannot type, and the demo's
// analyst queries), as named blocks in the .sql files of this directory,
// embedded in the binary and each PREPARE-tested. The bookkeeping
// statements are in state/, compiled by sqlc into internal/state/statedb.
// A block is
//
//	-- name: merge_messages
//	INSERT INTO messages ...
//
// Values always travel as bind parameters ($1, $2, ...); no statement is
// built by pasting values into text.
package queries

import (
	"bufio"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed *.sql
var files embed.FS

var byName = mustParse(files)

// Get returns the statement called name. A missing name is a programming
// error and panics; TestEveryQueryParses keeps the set complete.
func Get(name string) string {
	q, ok := byName[name]
	if !ok {
		panic("queries: no statement named " + name)
	}
	return q
}

// Names lists every statement name, sorted.
func Names() []string {
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func mustParse(fsys fs.FS) map[string]string {
	m, err := parse(fsys)
	if err != nil {
		panic(err)
	}
	return m
}

func parse(fsys fs.FS) (map[string]string, error) {
	out := map[string]string{}
	paths, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	for _, p := range paths {
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, err
		}
		var name string
		var body strings.Builder
		flush := func() error {
			if name == "" {
				return nil
			}
			q := strings.TrimSpace(body.String())
			if q == "" {
				return fmt.Errorf("queries: %s: %s is empty", p, name)
			}
			if _, dup := out[name]; dup {
				return fmt.Errorf("queries: %s: %s defined twice", p, name)
			}
			out[name] = strings.TrimSuffix(q, ";")
			body.Reset()
			return nil
		}
		sc := bufio.NewScanner(strings.NewReader(string(data)))
		for sc.Scan() {
			line := sc.Text()
			if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "-- name:"); ok {
				if err := flush(); err != nil {
					return nil, err
				}
				name = strings.TrimSpace(rest)
				continue
			}
			if name != "" {
				body.WriteString(line)
				body.WriteByte('\n')
			}
		}
		if err := flush(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
