-- Cursors: where each (source, stream, partition) continues.

-- name: GetCursors :many
SELECT partition_key, cursor FROM sync_state WHERE source_id = @source_id AND stream = @stream;

-- The cursor is written only when it moves forward: a run over unchanged
-- data writes nothing, and a cursor never moves backwards (a stale process,
-- a re-read from start_date). A stored cursor without a time (hand-edited
-- to {}) counts as the start. Ids compare byte by byte, as in Go (COLLATE
-- "C"). Its "reread" (when a stream last read the partition again in full)
-- moves forward on its own, and is kept when the position moves without
-- it; its "probe" (a fingerprint of the newest records seen) is always
-- the one just written, and absent when that had none. newest_at is the
-- newest record the source has shown for the partition.
-- name: PutCursor :batchexec
INSERT INTO sync_state AS s (source_id, stream, partition_key, cursor, newest_at, updated_at)
VALUES (@source_id, @stream, @partition_key, @cursor, @newest_at, now())
ON CONFLICT (source_id, stream, partition_key) DO UPDATE
SET cursor = (CASE WHEN (coalesce((excluded.cursor->>'ts')::timestamptz, '-infinity'), coalesce(excluded.cursor->>'id', '') COLLATE "C")
                        > (coalesce((s.cursor->>'ts')::timestamptz, '-infinity'), coalesce(s.cursor->>'id', '') COLLATE "C")
                   THEN excluded.cursor - 'reread' - 'probe' ELSE s.cursor - 'reread' - 'probe' END)
             || CASE WHEN (excluded.cursor->>'reread')::timestamptz > coalesce((s.cursor->>'reread')::timestamptz, '-infinity')
                     THEN jsonb_build_object('reread', excluded.cursor->'reread')
                     WHEN s.cursor ? 'reread' THEN jsonb_build_object('reread', s.cursor->'reread')
                     ELSE '{}'::jsonb END
             || CASE WHEN excluded.cursor ? 'probe' THEN jsonb_build_object('probe', excluded.cursor->'probe')
                     ELSE '{}'::jsonb END,
    newest_at = greatest(s.newest_at, excluded.newest_at),
    updated_at = now()
WHERE (coalesce((excluded.cursor->>'ts')::timestamptz, '-infinity'), coalesce(excluded.cursor->>'id', '') COLLATE "C")
      > (coalesce((s.cursor->>'ts')::timestamptz, '-infinity'), coalesce(s.cursor->>'id', '') COLLATE "C")
   OR (excluded.cursor->>'reread')::timestamptz > coalesce((s.cursor->>'reread')::timestamptz, '-infinity')
   OR (excluded.cursor->'probe') IS DISTINCT FROM (s.cursor->'probe')
   OR excluded.newest_at > s.newest_at
   OR (s.newest_at IS NULL AND excluded.newest_at IS NOT NULL);

-- The cursors of a stream, of one partition when @partition is given
-- (syncer state show).
-- name: StreamCursors :many
SELECT partition_key, cursor, newest_at, updated_at
FROM sync_state
WHERE source_id = @source_id AND stream = @stream
  AND (sqlc.narg(partition)::text IS NULL OR partition_key = sqlc.narg(partition))
ORDER BY partition_key;

-- syncer state reset to nothing: the next run reads from start_date.
-- name: DeleteCursors :execrows
DELETE FROM sync_state
WHERE source_id = @source_id AND stream = @stream
  AND (sqlc.narg(partition)::text IS NULL OR partition_key = sqlc.narg(partition));

-- syncer state reset --to T: every cursor past T goes back to T, without
-- what it remembered of the last read (an Ogmma conversation is then read
-- in full); a cursor at or before T stays.
-- name: RewindCursors :execrows
UPDATE sync_state
SET cursor = jsonb_build_object('ts', @to_ts::timestamptz), updated_at = now()
WHERE source_id = @source_id AND stream = @stream
  AND (sqlc.narg(partition)::text IS NULL OR partition_key = sqlc.narg(partition))
  AND (cursor->>'ts')::timestamptz > @to_ts::timestamptz;

-- The record of a reset, in the reset's transaction.
-- name: RecordReset :one
INSERT INTO sync_runs (source_id, stream, mode, status, finished_at, rows_written, range_until, worker, note)
VALUES (@source_id, @stream, 'reset', 'succeeded', now(), @rows, sqlc.narg(to_ts), @worker, @note)
RETURNING id;
