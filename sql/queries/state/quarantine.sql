-- Quarantine: records that could not be mapped. The same record seen again
-- updates its row instead of adding another.

-- name: PutQuarantine :batchexec
INSERT INTO quarantine AS q (source_id, stream, run_id, external_id, reason, payload, fingerprint)
VALUES (@source_id, @stream, @run_id, @external_id, @reason, @payload, @fingerprint)
ON CONFLICT (source_id, stream, fingerprint) DO UPDATE SET run_id = excluded.run_id, seen_at = now();
