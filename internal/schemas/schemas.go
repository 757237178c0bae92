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

// FromSearchPath is the warehouse schema a search_path names: its first
// schema, "$user" aside (syncer does not follow a schema named after the
// role it logs in as), or "" when it names none plainly (only "$user", a
// quoted name, nothing).
func FromSearchPath(path string) string {
	for _, s := range strings.Split(path, ",") {
		s = strings.TrimSpace(s)
		switch {
		case s == `"$user"` || s == "$user":
			continue
		case s == "" || strings.ContainsAny(s, `"$`):
			return ""
		}
		return s
	}
	return ""
}

// Reserved reports whether w may not be a warehouse's schema: it is, or
// could be, another warehouse's bookkeeping schema.
func Reserved(w string) bool {
	return w == State(Default) || strings.HasSuffix(w, "_syncer")
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
