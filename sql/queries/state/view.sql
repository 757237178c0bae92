-- What streams may ask of the warehouse (extract.Warehouse).

-- name: ConversationsWithoutMessages :many
SELECT id::text FROM unnest(@ids::text[]) AS id
WHERE NOT EXISTS (SELECT FROM messages m WHERE m.source_id = @source_id AND m.conversation_external_id = id);

-- Media messages without a url whose re-check is due at @checked_at: those
-- media_rechecks says are due (through its index on next_check_at), then
-- those sent in (@sent_after, @sent_before] never asked for again, newest
-- first (through messages_media_missing_idx, a range of recent messages:
-- the ones given up on, and old ones a backfill brings, are never read
-- here). Times are the platform's (sent_at) and the run's clock, never the
-- database's; package state keeps the schedule.
-- name: MediaDue :many
SELECT external_id FROM (
    (SELECT r.message_external_id AS external_id
     FROM media_rechecks r
     JOIN messages m ON m.source_id = r.source_id AND m.external_id = r.message_external_id
     WHERE r.source_id = @source_id AND r.next_check_at <= @checked_at::timestamptz AND m.media_url IS NULL
     ORDER BY r.next_check_at
     LIMIT sqlc.arg(max_ids)::integer)
    UNION ALL
    (SELECT m.external_id
     FROM messages m
     WHERE m.source_id = @source_id AND m.media_url IS NULL
       AND m.kind IN ('image', 'audio', 'video', 'document', 'sticker')
       AND m.sent_at > @sent_after::timestamptz AND m.sent_at <= @sent_before::timestamptz
       AND NOT EXISTS (SELECT FROM media_rechecks r
                       WHERE r.source_id = m.source_id AND r.message_external_id = m.external_id)
     ORDER BY m.sent_at DESC
     LIMIT sqlc.arg(max_ids)::integer)
) due
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
