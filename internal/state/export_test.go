package state

import (
	"os"
	"regexp"

	"syncer/sql/queries"
)

// LeasePID is the backend pid of a lease's session, for tests that end it.
func LeasePID(le *Lease) uint32 { return le.conn.PgConn().PID() }

// StatusQuery is the status statement, for tests that EXPLAIN it.
func StatusQuery() string { return queries.Get("stream_status") }

// MediaDueQuery is the media re-check statement as sqlc generated it (the
// constant is not exported), for tests that EXPLAIN it.
func MediaDueQuery() string {
	b, err := os.ReadFile("statedb/view.sql.go")
	if err != nil {
		panic(err)
	}
	m := regexp.MustCompile("(?s)const mediaDue = `(.*?)`").FindSubmatch(b)
	if m == nil {
		panic("no mediaDue in statedb/view.sql.go")
	}
	return string(m[1])
}
