package state

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"syncer/internal/state/statedb"
)

// ErrLeaseLost means the stream's lease is gone: its database session
// ended (a server restart, an idle-session timeout, a terminated backend),
// or another process has taken the stream since. This run must stop: what
// it committed stays, and the next run resumes from there.
var ErrLeaseLost = errors.New("lost the stream's lease (its database session ended, or another process took the stream); stopping so that no two processes run it at once; the next run resumes from the last checkpoint")

// Lease is the right to run one (source, stream): a PostgreSQL session
// advisory lock, held on a connection of its own (outside the pool, so
// leases never starve the batches of connections) until Release, plus the
// generation the lease got in sync_leases. A process that dies loses the
// lock with its connection; whoever takes the lease next moves the
// generation on, and every commit checks the generation in its own
// transaction, so a process that lost its lease cannot commit any more.
type Lease struct {
	Source     Source
	Stream     string
	Generation int64

	mu   sync.Mutex // a pgx.Conn serves one caller at a time
	conn *pgx.Conn
}

// TryLease takes the lease of (source, stream) if no other process holds
// it.
func (s *Store) TryLease(ctx context.Context, src Source, stream string) (*Lease, bool, error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, false, DBError("open a connection for the lease", err)
	}
	q := statedb.New(conn)
	ok, err := q.TryLease(ctx, statedb.TryLeaseParams{Source: src.Name, Stream: stream})
	if err != nil || !ok {
		conn.Close(context.WithoutCancel(ctx))
		return nil, false, DBError("take the lease", err)
	}
	gen, err := q.TakeGeneration(ctx, statedb.TakeGenerationParams{SourceID: src.ID, Stream: stream, Holder: &s.worker})
	if err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, false, DBError("take the lease", err)
	}
	return &Lease{Source: src, Stream: stream, Generation: gen, conn: conn}, true, nil
}

// Check confirms early that the lease's session is alive (a session keeps
// its advisory locks until it ends). The commits' own check of the
// generation is what fences them; this only stops a run sooner.
func (le *Lease) Check(ctx context.Context) error {
	le.mu.Lock()
	defer le.mu.Unlock()
	if le.conn == nil {
		return ErrLeaseLost
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := le.conn.Ping(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrLeaseLost, err)
	}
	return nil
}

// Hold checks, inside tx, that the lease is still this one: that nobody
// has taken the stream since. The row lock it takes keeps a process that
// is taking the lease meanwhile waiting until tx ends.
func (le *Lease) Hold(ctx context.Context, tx pgx.Tx) error {
	gen, err := statedb.New(tx).CheckGeneration(ctx, statedb.CheckGenerationParams{SourceID: le.Source.ID, Stream: le.Stream})
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && gen != le.Generation) {
		return fmt.Errorf("%w (generation %d, now %d)", ErrLeaseLost, le.Generation, gen)
	}
	return DBError("check the lease", err)
}

// Release gives the lease back and closes its connection. It is safe to
// call twice.
func (le *Lease) Release() {
	if le == nil {
		return
	}
	le.mu.Lock()
	defer le.mu.Unlock()
	if le.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = statedb.New(le.conn).ReleaseLease(ctx, statedb.ReleaseLeaseParams{Source: le.Source.Name, Stream: le.Stream})
	le.conn.Close(ctx) // the lock dies with the session in any case
	le.conn = nil
}

// Slot is one of a source's max_streams places to run a stream, across
// the fleet: a session advisory lock on a connection of its own, held
// until Release (or until the process dies).
type Slot struct {
	N    int
	conn *pgx.Conn
}

// TrySlot takes a free slot of src among slots (0..slots-1), or reports
// false when every one is taken.
func (s *Store) TrySlot(ctx context.Context, src Source, slots int) (*Slot, bool, error) {
	return s.AcquireSlot(ctx, src, slots, 0)
}

// AcquireSlot is TrySlot that, while every slot is taken, looks again
// every patience/10 for up to patience, on the one connection it opened.
func (s *Store) AcquireSlot(ctx context.Context, src Source, slots int, patience time.Duration) (*Slot, bool, error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, false, DBError("open a connection for the source's slot", err)
	}
	q := statedb.New(conn)
	deadline := time.Now().Add(patience)
	for {
		for n := range slots {
			ok, err := q.TrySlot(ctx, statedb.TrySlotParams{Source: src.Name, Slot: int32(n)})
			if err != nil {
				conn.Close(context.WithoutCancel(ctx))
				return nil, false, DBError("take a slot of the source", err)
			}
			if ok {
				return &Slot{N: n, conn: conn}, true, nil
			}
		}
		if !time.Now().Before(deadline) {
			conn.Close(context.WithoutCancel(ctx))
			return nil, false, nil
		}
		select {
		case <-ctx.Done():
			conn.Close(context.WithoutCancel(ctx))
			return nil, false, ctx.Err()
		case <-time.After(patience / 10):
		}
	}
}

// Release frees the slot: its session ends, and the lock with it.
func (sl *Slot) Release() {
	if sl == nil || sl.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sl.conn.Close(ctx)
	sl.conn = nil
}

// LeaseHeld reports whether some session holds the lease named lease of
// source (a stream's name, or a backfill chunk's lease). It only looks.
func (s *Store) LeaseHeld(ctx context.Context, source, lease string) (bool, error) {
	held, err := s.q.LeaseHeld(ctx, statedb.LeaseHeldParams{Source: source, Stream: lease})
	return held, DBError("look at the lease", err)
}
