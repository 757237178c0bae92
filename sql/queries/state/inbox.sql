-- The webhook inbox: deliveries appended by POST /webhooks/{source}, then
-- turned into warehouse rows by the processor.

-- One short transaction per delivery; the handler answers 200 only after
-- it commits.
-- name: PutInbox :one
INSERT INTO webhook_inbox (source_id, payload) VALUES (@source_id, @payload) RETURNING id;

-- The oldest deliveries nobody is processing, of the source of the oldest
-- one nobody is processing, locked until the caller's transaction ends
-- (others skip them). Choosing the source skips locked rows too, so that a
-- worker busy with one source's deliveries does not hide another source's.
-- name: ClaimInbox :many
SELECT i.id, i.source_id, s.name, s.platform, i.payload
FROM webhook_inbox i
JOIN sources s ON s.id = i.source_id
WHERE i.processed_at IS NULL
  AND i.source_id = (SELECT o.source_id FROM webhook_inbox o WHERE o.processed_at IS NULL
                     ORDER BY o.id LIMIT 1 FOR UPDATE SKIP LOCKED)
ORDER BY i.id
LIMIT sqlc.arg(max_rows)::integer
FOR UPDATE OF i SKIP LOCKED;

-- In the transaction of the rows the deliveries became; a note says why a
-- delivery became none ('' when it did).
-- name: MarkInbox :exec
UPDATE webhook_inbox i SET processed_at = now(), error = nullif((@notes::text[])[n.ord], '')
FROM unnest(@ids::bigint[]) WITH ORDINALITY AS n(id, ord)
WHERE i.id = n.id;

-- name: InboxBacklog :many
SELECT s.name, count(*) AS waiting, min(i.received_at)::timestamptz AS oldest
FROM webhook_inbox i
JOIN sources s ON s.id = i.source_id
WHERE i.processed_at IS NULL
GROUP BY s.name
ORDER BY s.name;

-- Deliveries processed and received before @before go, oldest first, at
-- most @max_rows at a time (short transactions: the intake keeps writing).
-- name: PruneInbox :execrows
-- webhook_inbox_processed_idx finds them.
DELETE FROM webhook_inbox
WHERE id IN (SELECT p.id FROM webhook_inbox p
             WHERE p.processed_at IS NOT NULL AND p.received_at < @before
             ORDER BY p.received_at
             LIMIT sqlc.arg(max_rows)::integer);
