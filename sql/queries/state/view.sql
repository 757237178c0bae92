-- What streams may ask of the warehouse (extract.Warehouse).

-- name: ConversationsWithoutMessages :many
SELECT id::text FROM unnest(@ids::text[]) AS id
WHERE NOT EXISTS (SELECT FROM messages m WHERE m.source_id = @source_id AND m.conversation_external_id = id);

-- Media messages without a url whose re-check is due: those sent before
-- @sent_before and never asked for again, and those media_rechecks says
-- are due at @checked_at (package state keeps the schedule). Times are the
-- platform's (sent_at) and the run's clock, never the database's.
-- name: MediaDue :many
SELECT m.external_id
FROM messages m
LEFT JOIN media_rechecks r ON r.source_id = m.source_id AND r.message_external_id = m.external_id
WHERE m.source_id = @source_id AND m.media_url IS NULL
  AND m.kind IN ('image', 'audio', 'video', 'document', 'sticker')
  AND ((r.message_external_id IS NULL AND m.sent_at <= @sent_before::timestamptz)
    OR (r.next_check_at <= @checked_at::timestamptz))
ORDER BY m.sent_at, m.external_id
LIMIT sqlc.arg(max_ids)::integer;

-- After a re-check, of the messages still without a url: one asked for the
-- first time waits until @second_at, one asked for the second time until
-- @third_at, and one asked for the third time is not asked again.
-- name: MediaChecked :exec
INSERT INTO media_rechecks AS r (source_id, message_external_id, checks, checked_at, next_check_at)
SELECT m.source_id, m.external_id, 1, @checked_at::timestamptz, @second_at::timestamptz
FROM messages m
WHERE m.source_id = @source_id AND m.external_id = ANY (@ids::text[]) AND m.media_url IS NULL
ON CONFLICT (source_id, message_external_id) DO UPDATE
SET checks = r.checks + 1, checked_at = excluded.checked_at,
    next_check_at = CASE WHEN r.checks + 1 = 2 THEN @third_at::timestamptz END;

-- name: MediaArrived :exec
DELETE FROM media_rechecks r
USING messages m
WHERE r.source_id = @source_id AND r.message_external_id = ANY (@ids::text[])
  AND m.source_id = r.source_id AND m.external_id = r.message_external_id AND m.media_url IS NOT NULL;
