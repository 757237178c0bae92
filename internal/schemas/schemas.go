// Package schemas names the two schemas of a warehouse. The warehouse's
// own (the configured schema, else public) holds what analysts query: the
// entity tables, sources and the views. The bookkeeping schema beside it
// holds syncer's own tables: cursors, runs, leases, quarantine, imported
// files, the webhook inbox, goose's version table and River's job queue.
// The package owns the naming rule and the search_path that lets syncer's
// SQL name tables of both without qualifying them; it runs no SQL.
package schemas

import (
	"net/url"
	"strings"
)

// Default is the warehouse schema when none is configured.
const Default = "public"

// State names the bookkeeping schema of the warehouse in schema w:
// "syncer" beside public, "<w>_syncer" beside any other. Migration 00011
// applies the same rule in SQL.
func State(w string) string {
	if w == "" || w == Default {
		return "syncer"
	}
	return w + "_syncer"
}

// SearchPath is the search_path of syncer's connections to the warehouse
// in schema w: w first, where new tables and views go, then its
// bookkeeping schema.
func SearchPath(w string) string {
	if w == "" {
		w = Default
	}
	return w + "," + State(w)
}

// FromSearchPath is the warehouse schema a connection's search_path
// names: its first schema, or "" when it names none plainly ("$user", a
// quoted name, nothing), for the server to say which it is.
func FromSearchPath(path string) string {
	first, _, _ := strings.Cut(path, ",")
	first = strings.TrimSpace(first)
	if strings.ContainsAny(first, `"$`) {
		return ""
	}
	return first
}

// WithSearchPath returns the connection URL rawURL with its search_path
// set to SearchPath(w).
func WithSearchPath(rawURL, w string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("search_path", SearchPath(w))
	u.RawQuery = q.Encode()
	return u.String(), nil
}
