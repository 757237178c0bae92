package state

import (
	"context"
	"fmt"

	"syncer/internal/cursor"
	"syncer/internal/state/statedb"
)

// Cursors returns the saved cursor of every partition of a stream. A
// cursor that cannot be read is an error that names it.
func (s *Store) Cursors(ctx context.Context, src Source, stream string) (map[string]cursor.Cursor, error) {
	rows, err := s.q.GetCursors(ctx, statedb.GetCursorsParams{SourceID: src.ID, Stream: stream})
	if err != nil {
		return nil, DBError("read cursors", err)
	}
	out := make(map[string]cursor.Cursor, len(rows))
	for _, r := range rows {
		c, err := cursor.Parse(r.Cursor)
		if err != nil {
			return nil, fmt.Errorf("source %q stream %s partition %q: the saved cursor cannot be read (%w); fix or delete that sync_state row",
				src.Name, stream, r.PartitionKey, err)
		}
		out[r.PartitionKey] = c
	}
	return out, nil
}
