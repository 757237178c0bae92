-- A full-refresh stream's complete pass: rows it did not see are gone at the
-- source. They get deleted_at, never a DELETE. A pass that saw nothing
-- marks nothing: an empty answer is more likely a fault than a source that
-- deleted everything.

-- name: MarkMissingChannels :execrows
UPDATE channels SET deleted_at = now(), synced_at = now()
WHERE source_id = @source_id AND deleted_at IS NULL AND cardinality(@seen::text[]) > 0
  AND NOT (external_id = ANY (@seen::text[]));

-- name: MarkMissingAgents :execrows
UPDATE agents SET deleted_at = now(), synced_at = now()
WHERE source_id = @source_id AND deleted_at IS NULL AND cardinality(@seen::text[]) > 0
  AND NOT (external_id = ANY (@seen::text[]));

-- name: MarkMissingDepartments :execrows
UPDATE departments SET deleted_at = now(), synced_at = now()
WHERE source_id = @source_id AND deleted_at IS NULL AND cardinality(@seen::text[]) > 0
  AND NOT (external_id = ANY (@seen::text[]));
