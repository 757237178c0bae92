package load

// LeasePID is the backend pid of a lease's session, for tests that end it.
func LeasePID(le *Lease) uint32 { return le.conn.PgConn().PID() }
