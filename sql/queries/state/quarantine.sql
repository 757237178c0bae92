-- Quarantine: records that could not be mapped. The same record seen again
-- updates its row instead of adding another.

-- name: PutQuarantine :batchexec
INSERT INTO quarantine AS q (source_id, stream, run_id, external_id, reason, payload, fingerprint)
VALUES (@source_id, @stream, @run_id, @external_id, @reason, @payload, @fingerprint)
ON CONFLICT (source_id, stream, fingerprint) DO UPDATE SET run_id = excluded.run_id, seen_at = now();

-- Quarantined records for syncer quarantine, oldest first. Each filter is
-- off when NULL; since compares with the last time the record was seen.
-- name: ListQuarantine :many
SELECT q.id, s.name AS source, s.platform, q.stream, q.run_id, q.external_id, q.reason, q.payload,
       q.first_seen_at, q.seen_at
FROM quarantine q JOIN sources s ON s.id = q.source_id
WHERE (sqlc.narg(source)::text IS NULL OR s.name = sqlc.narg(source)::text)
  AND (sqlc.narg(stream)::text IS NULL OR q.stream = sqlc.narg(stream)::text)
  AND (sqlc.narg(since)::timestamptz IS NULL OR q.seen_at >= sqlc.narg(since)::timestamptz)
  AND (sqlc.narg(id)::bigint IS NULL OR q.id = sqlc.narg(id)::bigint)
ORDER BY q.id;

-- A retried record that now maps leaves the quarantine, in the
-- transaction that writes its rows.
-- name: DeleteQuarantined :execrows
DELETE FROM quarantine WHERE id = @id;

-- A retried record that still fails, for another reason than before. It
-- keeps its row (and first_seen_at) unless another row already holds the
-- new reason for the same payload.
-- name: RequarantineReason :execrows
UPDATE quarantine q SET reason = @reason, fingerprint = @fingerprint, run_id = @run_id, seen_at = now()
WHERE q.id = @id
  AND NOT EXISTS (SELECT 1 FROM quarantine o
                  WHERE o.source_id = q.source_id AND o.stream = q.stream AND o.fingerprint = @fingerprint);
