package state

import "syncer/sql/queries"

// LeasePID is the backend pid of a lease's session, for tests that end it.
func LeasePID(le *Lease) uint32 { return le.conn.PgConn().PID() }

// StatusQuery is the status statement, for tests that EXPLAIN it.
func StatusQuery() string { return queries.Get("stream_status") }
