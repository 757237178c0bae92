package state

import (
	"context"
	"time"

	"syncer/internal/state/statedb"
)

// StreamKey names a configured stream of a source.
type StreamKey struct {
	Source string
	Stream string
}

// Freshness is how recently a stream was read to its end, by the
// database's clock.
type Freshness struct {
	Source string
	Stream string
	// FirstStarted is when its oldest recorded incremental run started.
	FirstStarted time.Time
	// LastSuccess is when its last complete incremental run ended (one
	// that succeeded, or was partial only for quarantined records or a
	// suspected gap); nil when none has yet.
	LastSuccess *time.Time
	// Now is the database's clock when it was read.
	Now time.Time
}

// Freshness reads, for each of keys that has an incremental run, when it
// last completed one and when its first started. Keys without a run (or
// whose source the warehouse does not know yet) are left out. Any replica
// may have run them: it reads sync_runs, never the process's memory.
func (s *Store) Freshness(ctx context.Context, keys []StreamKey) ([]Freshness, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	arg := statedb.StreamFreshnessParams{Sources: make([]string, len(keys)), Streams: make([]string, len(keys))}
	for i, k := range keys {
		arg.Sources[i], arg.Streams[i] = k.Source, k.Stream
	}
	rows, err := s.q.StreamFreshness(ctx, arg)
	if err != nil {
		return nil, DBError("read when the streams last succeeded", err)
	}
	out := make([]Freshness, len(rows))
	for i, r := range rows {
		out[i] = Freshness{Source: r.Name, Stream: r.Stream, FirstStarted: r.FirstStartedAt, LastSuccess: r.LastSuccessAt, Now: r.Now}
	}
	return out, nil
}
