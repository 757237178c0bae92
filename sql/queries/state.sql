-- name: ensure_source
WITH ins AS (
    INSERT INTO sources (name, platform) VALUES ($1, $2)
    ON CONFLICT (name) DO NOTHING
    RETURNING id, platform
)
SELECT id, platform FROM ins
UNION ALL
SELECT id, platform FROM sources WHERE name = $1
LIMIT 1;

-- name: get_cursors
SELECT partition_key, cursor FROM sync_state WHERE source_id = $1 AND stream = $2;

-- The cursor is written only when it moved, so a run over unchanged data
-- writes nothing here either.
-- name: put_cursor
INSERT INTO sync_state AS s (source_id, stream, partition_key, cursor, updated_at)
VALUES ($1, $2, $3, $4, now())
ON CONFLICT (source_id, stream, partition_key) DO UPDATE SET cursor = excluded.cursor, updated_at = now()
WHERE s.cursor IS DISTINCT FROM excluded.cursor;

-- name: delete_cursors
DELETE FROM sync_state WHERE source_id = $1 AND stream = $2;

-- name: start_run
INSERT INTO sync_runs (source_id, stream, mode, range_since, range_until, worker)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id, started_at;

-- Counters are written outside the batch transactions (which then never
-- wait on each other for this row): as progress while a run goes, and at its end.
-- name: put_run_counts
UPDATE sync_runs SET pages = $2, rows_read = $3, rows_written = $4, rows_quarantined = $5, suspected_gaps = $6
WHERE id = $1;

-- A run that read everything but quarantined records or suspects a gap is
-- partial, not succeeded.
-- name: finish_run
UPDATE sync_runs
SET status = CASE WHEN $2 = 'succeeded' AND ($7 > 0 OR $8 > 0) THEN 'partial' ELSE $2 END,
    error = $3, finished_at = now(),
    pages = $4, rows_read = $5, rows_written = $6, rows_quarantined = $7, suspected_gaps = $8
WHERE id = $1
RETURNING status, finished_at;

-- Runs left 'running' by a process that died. Called while holding the
-- stream's lease, so no live process owns them.
-- name: fail_abandoned_runs
UPDATE sync_runs SET status = 'failed', finished_at = now(),
                     error = 'interrupted: the process ended before the run finished; what it committed is kept'
WHERE source_id = $1 AND stream = $2 AND status = 'running';

-- name: put_quarantine
INSERT INTO quarantine AS q (source_id, stream, run_id, external_id, reason, payload, fingerprint)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (source_id, stream, fingerprint) DO UPDATE SET run_id = excluded.run_id, seen_at = now();

-- A session-level advisory lock per (schema, source, stream): the lease that
-- keeps two processes from running one stream at once.
-- name: try_lease
SELECT pg_try_advisory_lock(hashtextextended(current_schema() || '/' || $1 || '/' || $2, 0));

-- name: release_lease
SELECT pg_advisory_unlock(hashtextextended(current_schema() || '/' || $1 || '/' || $2, 0));

-- The statement that creates the configured warehouse schema, with the name
-- quoted by PostgreSQL itself.
-- name: create_schema_statement
SELECT format('CREATE SCHEMA IF NOT EXISTS %I', $1::text);

-- A full-refresh stream's complete pass: rows it did not see are gone at the
-- source. They get deleted_at, never a DELETE.
-- name: mark_missing_channels
UPDATE channels SET deleted_at = now(), synced_at = now()
WHERE source_id = $1 AND deleted_at IS NULL AND NOT (external_id = ANY ($2::text[]));

-- name: mark_missing_agents
UPDATE agents SET deleted_at = now(), synced_at = now()
WHERE source_id = $1 AND deleted_at IS NULL AND NOT (external_id = ANY ($2::text[]));

-- name: mark_missing_departments
UPDATE departments SET deleted_at = now(), synced_at = now()
WHERE source_id = $1 AND deleted_at IS NULL AND NOT (external_id = ANY ($2::text[]));

-- name: file_imported
SELECT imported_at, rows FROM imported_files WHERE source_id = $1 AND sha256 = $2;

-- name: put_imported_file
INSERT INTO imported_files (source_id, sha256, path, format, rows) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (source_id, sha256) DO NOTHING;

-- name: conversations_without_messages
SELECT id FROM unnest($2::text[]) AS id
WHERE NOT EXISTS (SELECT FROM messages m WHERE m.source_id = $1 AND m.conversation_external_id = id);

-- name: messages_without_media
SELECT external_id FROM messages
WHERE source_id = $1 AND media_url IS NULL AND sent_at > $2
  AND kind IN ('image', 'audio', 'video', 'document', 'sticker')
ORDER BY sent_at
LIMIT $3;
