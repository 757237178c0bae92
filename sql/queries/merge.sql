-- Merges from staging into the warehouse. Each keeps one row per key (the
-- newest when a batch holds a key twice), skips rows equal to what is stored
-- before touching them (so unchanged rows are neither written nor locked),
-- and never lets an older version of a record replace a newer one. Rows go
-- in key order so that concurrent batches lock in one order.

-- name: merge_channels
INSERT INTO channels AS t (source_id, external_id, name, kind, phone, status, connected_at, created_at, updated_at,
    deleted_at, raw)
SELECT n.source_id, n.external_id, n.name, n.kind, n.phone, n.status, n.connected_at, n.created_at,
       n.updated_at, n.deleted_at, n.raw
FROM (
    SELECT DISTINCT ON (source_id, external_id) *
    FROM stage_channels
    ORDER BY source_id, external_id, updated_at DESC NULLS LAST
) n
WHERE NOT EXISTS (
    SELECT FROM channels c
    WHERE c.source_id = n.source_id AND c.external_id = n.external_id
      AND (c.name, c.kind, c.phone, c.status, c.connected_at, c.created_at, c.updated_at,
           c.deleted_at, c.raw)
          IS NOT DISTINCT FROM
          (n.name, n.kind, n.phone, n.status, n.connected_at, n.created_at, n.updated_at,
           n.deleted_at, n.raw))
ORDER BY n.source_id, n.external_id
ON CONFLICT (source_id, external_id) DO UPDATE SET
    name = excluded.name, kind = excluded.kind, phone = excluded.phone, status = excluded.status,
    connected_at = excluded.connected_at, created_at = excluded.created_at,
    updated_at = excluded.updated_at, deleted_at = excluded.deleted_at, raw = excluded.raw,
    synced_at = now()
WHERE (t.name, t.kind, t.phone, t.status, t.connected_at, t.created_at, t.updated_at, t.deleted_at,
       t.raw)
      IS DISTINCT FROM
      (excluded.name, excluded.kind, excluded.phone, excluded.status, excluded.connected_at,
       excluded.created_at, excluded.updated_at, excluded.deleted_at, excluded.raw)
  AND (t.updated_at IS NULL OR excluded.updated_at IS NULL OR excluded.updated_at >= t.updated_at);

-- Channels inferred from other records only fill what is missing.
-- name: merge_channels_derived
INSERT INTO channels AS t (source_id, external_id, name, kind, phone, status, raw)
SELECT DISTINCT ON (s.source_id, s.external_id) s.source_id, s.external_id, s.name, s.kind, s.phone, s.status, s.raw
FROM stage_channels s
WHERE NOT EXISTS (
    SELECT FROM channels c
    WHERE c.source_id = s.source_id AND c.external_id = s.external_id
      AND (c.name IS NOT NULL OR s.name IS NULL) AND (c.kind IS NOT NULL OR s.kind IS NULL)
      AND (c.phone IS NOT NULL OR s.phone IS NULL))
ORDER BY s.source_id, s.external_id
ON CONFLICT (source_id, external_id) DO UPDATE SET
    name = coalesce(t.name, excluded.name), kind = coalesce(t.kind, excluded.kind),
    phone = coalesce(t.phone, excluded.phone), synced_at = now()
WHERE (t.name IS NULL AND excluded.name IS NOT NULL)
   OR (t.kind IS NULL AND excluded.kind IS NOT NULL)
   OR (t.phone IS NULL AND excluded.phone IS NOT NULL);

-- name: merge_contacts
INSERT INTO contacts AS t (source_id, external_id, name, phone, channel_external_id, created_at, updated_at, deleted_at,
    raw)
SELECT n.source_id, n.external_id, n.name, n.phone, n.channel_external_id, n.created_at,
       n.updated_at, n.deleted_at, n.raw
FROM (
    SELECT DISTINCT ON (source_id, external_id) *
    FROM stage_contacts
    ORDER BY source_id, external_id, updated_at DESC NULLS LAST
) n
WHERE NOT EXISTS (
    SELECT FROM contacts c
    WHERE c.source_id = n.source_id AND c.external_id = n.external_id
      AND (c.name, c.phone, c.channel_external_id, c.created_at, c.updated_at, c.deleted_at, c.raw)
          IS NOT DISTINCT FROM
          (n.name, n.phone, n.channel_external_id, n.created_at, n.updated_at, n.deleted_at, n.raw))
ORDER BY n.source_id, n.external_id
ON CONFLICT (source_id, external_id) DO UPDATE SET
    name = excluded.name, phone = excluded.phone, channel_external_id = excluded.channel_external_id,
    created_at = excluded.created_at, updated_at = excluded.updated_at,
    deleted_at = excluded.deleted_at, raw = excluded.raw, synced_at = now()
WHERE (t.name, t.phone, t.channel_external_id, t.created_at, t.updated_at, t.deleted_at, t.raw)
      IS DISTINCT FROM
      (excluded.name, excluded.phone, excluded.channel_external_id, excluded.created_at,
       excluded.updated_at, excluded.deleted_at, excluded.raw)
  AND (t.updated_at IS NULL OR excluded.updated_at IS NULL OR excluded.updated_at >= t.updated_at);

-- name: merge_contacts_derived
INSERT INTO contacts AS t (source_id, external_id, name, phone, channel_external_id, raw)
SELECT s.source_id, s.external_id,
       -- each the first one given, in the order staged (a batch of many
       -- deliveries or pages may name a contact in a later row only)
       (array_agg(s.name ORDER BY s.ctid) FILTER (WHERE s.name IS NOT NULL))[1],
       (array_agg(s.phone ORDER BY s.ctid) FILTER (WHERE s.phone IS NOT NULL))[1],
       (array_agg(s.channel_external_id ORDER BY s.ctid) FILTER (WHERE s.channel_external_id IS NOT NULL))[1],
       (array_agg(s.raw ORDER BY s.name IS NULL, s.ctid))[1]
FROM stage_contacts s
WHERE NOT EXISTS (
    SELECT FROM contacts c
    WHERE c.source_id = s.source_id AND c.external_id = s.external_id
      AND (c.name IS NOT NULL OR s.name IS NULL) AND (c.phone IS NOT NULL OR s.phone IS NULL)
      AND (c.channel_external_id IS NOT NULL OR s.channel_external_id IS NULL))
GROUP BY s.source_id, s.external_id
ORDER BY s.source_id, s.external_id
ON CONFLICT (source_id, external_id) DO UPDATE SET
    name = coalesce(t.name, excluded.name), phone = coalesce(t.phone, excluded.phone),
    channel_external_id = coalesce(t.channel_external_id, excluded.channel_external_id), synced_at = now()
WHERE (t.name IS NULL AND excluded.name IS NOT NULL)
   OR (t.phone IS NULL AND excluded.phone IS NOT NULL)
   OR (t.channel_external_id IS NULL AND excluded.channel_external_id IS NOT NULL);

-- name: merge_agents
INSERT INTO agents AS t (source_id, external_id, name, email, created_at, updated_at, deleted_at, raw)
SELECT n.source_id, n.external_id, n.name, n.email, n.created_at, n.updated_at, n.deleted_at, n.raw
FROM (
    SELECT DISTINCT ON (source_id, external_id) *
    FROM stage_agents
    ORDER BY source_id, external_id, updated_at DESC NULLS LAST
) n
WHERE NOT EXISTS (
    SELECT FROM agents c
    WHERE c.source_id = n.source_id AND c.external_id = n.external_id
      AND (c.name, c.email, c.created_at, c.updated_at, c.deleted_at, c.raw)
          IS NOT DISTINCT FROM
          (n.name, n.email, n.created_at, n.updated_at, n.deleted_at, n.raw))
ORDER BY n.source_id, n.external_id
ON CONFLICT (source_id, external_id) DO UPDATE SET
    name = excluded.name, email = excluded.email, created_at = excluded.created_at,
    updated_at = excluded.updated_at, deleted_at = excluded.deleted_at, raw = excluded.raw,
    synced_at = now()
WHERE (t.name, t.email, t.created_at, t.updated_at, t.deleted_at, t.raw)
      IS DISTINCT FROM
      (excluded.name, excluded.email, excluded.created_at, excluded.updated_at, excluded.deleted_at,
       excluded.raw)
  AND (t.updated_at IS NULL OR excluded.updated_at IS NULL OR excluded.updated_at >= t.updated_at);

-- name: merge_departments
INSERT INTO departments AS t (source_id, external_id, name, created_at, updated_at, deleted_at, raw)
SELECT n.source_id, n.external_id, n.name, n.created_at, n.updated_at, n.deleted_at, n.raw
FROM (
    SELECT DISTINCT ON (source_id, external_id) *
    FROM stage_departments
    ORDER BY source_id, external_id, updated_at DESC NULLS LAST
) n
WHERE NOT EXISTS (
    SELECT FROM departments c
    WHERE c.source_id = n.source_id AND c.external_id = n.external_id
      AND (c.name, c.created_at, c.updated_at, c.deleted_at, c.raw)
          IS NOT DISTINCT FROM
          (n.name, n.created_at, n.updated_at, n.deleted_at, n.raw))
ORDER BY n.source_id, n.external_id
ON CONFLICT (source_id, external_id) DO UPDATE SET
    name = excluded.name, created_at = excluded.created_at, updated_at = excluded.updated_at,
    deleted_at = excluded.deleted_at, raw = excluded.raw, synced_at = now()
WHERE (t.name, t.created_at, t.updated_at, t.deleted_at, t.raw)
      IS DISTINCT FROM
      (excluded.name, excluded.created_at, excluded.updated_at, excluded.deleted_at, excluded.raw)
  AND (t.updated_at IS NULL OR excluded.updated_at IS NULL OR excluded.updated_at >= t.updated_at);

-- name: merge_conversations
INSERT INTO conversations AS t (source_id, external_id, kind, channel_external_id, contact_external_id, protocol, is_open,
    opened_at, closed_at, agent_external_id, department_external_id, topics, created_at, updated_at,
    raw)
SELECT n.source_id, n.external_id, n.kind, n.channel_external_id, n.contact_external_id, n.protocol,
       n.is_open, n.opened_at, n.closed_at, n.agent_external_id, n.department_external_id, n.topics,
       n.created_at, n.updated_at, n.raw
FROM (
    SELECT DISTINCT ON (source_id, external_id) *
    FROM stage_conversations
    ORDER BY source_id, external_id, updated_at DESC NULLS LAST
) n
WHERE NOT EXISTS (
    SELECT FROM conversations c
    WHERE c.source_id = n.source_id AND c.external_id = n.external_id
      AND (c.kind, c.channel_external_id, c.contact_external_id, c.protocol, c.is_open, c.opened_at,
           c.closed_at, c.agent_external_id, c.department_external_id, c.topics, c.created_at,
           c.updated_at, c.raw)
          IS NOT DISTINCT FROM
          (n.kind, n.channel_external_id, n.contact_external_id, n.protocol, n.is_open, n.opened_at,
           n.closed_at, n.agent_external_id, n.department_external_id, n.topics, n.created_at,
           n.updated_at, n.raw))
ORDER BY n.source_id, n.external_id
ON CONFLICT (source_id, external_id) DO UPDATE SET
    kind = excluded.kind, channel_external_id = excluded.channel_external_id,
    contact_external_id = excluded.contact_external_id, protocol = excluded.protocol,
    is_open = excluded.is_open, opened_at = excluded.opened_at, closed_at = excluded.closed_at,
    agent_external_id = excluded.agent_external_id,
    department_external_id = excluded.department_external_id, topics = excluded.topics,
    created_at = excluded.created_at, updated_at = excluded.updated_at, raw = excluded.raw,
    synced_at = now()
WHERE (t.kind, t.channel_external_id, t.contact_external_id, t.protocol, t.is_open, t.opened_at,
       t.closed_at, t.agent_external_id, t.department_external_id, t.topics, t.created_at,
       t.updated_at, t.raw)
      IS DISTINCT FROM
      (excluded.kind, excluded.channel_external_id, excluded.contact_external_id, excluded.protocol,
       excluded.is_open, excluded.opened_at, excluded.closed_at, excluded.agent_external_id,
       excluded.department_external_id, excluded.topics, excluded.created_at, excluded.updated_at,
       excluded.raw)
  AND (t.updated_at IS NULL OR excluded.updated_at IS NULL OR excluded.updated_at >= t.updated_at);

-- Conversations built from their messages: fill missing ids and widen the
-- span [opened_at, updated_at]; what the platform said of them stays.
-- name: merge_conversations_derived
INSERT INTO conversations AS t (source_id, external_id, kind, channel_external_id, contact_external_id, opened_at, updated_at, raw)
SELECT n.source_id, n.external_id, n.kind, n.channel_external_id, n.contact_external_id, n.opened_at, n.updated_at, n.raw
FROM (
    SELECT source_id, external_id, min(kind) AS kind, min(channel_external_id) AS channel_external_id,
           min(contact_external_id) AS contact_external_id, min(opened_at) AS opened_at,
           max(updated_at) AS updated_at, (array_agg(raw))[1] AS raw
    FROM stage_conversations
    GROUP BY source_id, external_id
) n
WHERE NOT EXISTS (
    SELECT FROM conversations c
    WHERE c.source_id = n.source_id AND c.external_id = n.external_id
      AND (c.channel_external_id IS NOT NULL OR n.channel_external_id IS NULL)
      AND (c.contact_external_id IS NOT NULL OR n.contact_external_id IS NULL)
      AND (c.opened_at <= n.opened_at OR n.opened_at IS NULL)
      AND (c.updated_at >= n.updated_at OR n.updated_at IS NULL))
ORDER BY n.source_id, n.external_id
ON CONFLICT (source_id, external_id) DO UPDATE SET
    channel_external_id = coalesce(t.channel_external_id, excluded.channel_external_id),
    contact_external_id = coalesce(t.contact_external_id, excluded.contact_external_id),
    opened_at = least(t.opened_at, excluded.opened_at),
    updated_at = greatest(t.updated_at, excluded.updated_at),
    synced_at = now()
WHERE (t.channel_external_id IS NULL AND excluded.channel_external_id IS NOT NULL)
   OR (t.contact_external_id IS NULL AND excluded.contact_external_id IS NOT NULL)
   OR (excluded.opened_at < t.opened_at OR (t.opened_at IS NULL AND excluded.opened_at IS NOT NULL))
   OR (excluded.updated_at > t.updated_at OR (t.updated_at IS NULL AND excluded.updated_at IS NOT NULL));

-- Messages read from a transcript (from_transcript) are stand-ins: they go
-- in only for a conversation without API messages. (drop_transcript_lines
-- removes them when API messages arrive; the callers' locks keep the two
-- from missing each other.)
-- name: merge_messages
INSERT INTO messages AS t (source_id, external_id, conversation_external_id, channel_external_id, contact_external_id,
    direction, kind, status, body, media_url, from_addr, to_addr, sent_at, updated_at, is_bot, from_transcript, agent_external_id, raw)
SELECT n.source_id, n.external_id, n.conversation_external_id, n.channel_external_id,
       n.contact_external_id, n.direction, n.kind, n.status, n.body, n.media_url, n.from_addr,
       n.to_addr, n.sent_at, n.updated_at, n.is_bot, n.from_transcript, n.agent_external_id, n.raw
FROM (
    SELECT DISTINCT ON (source_id, external_id) *
    FROM stage_messages
    ORDER BY source_id, external_id, updated_at DESC NULLS LAST
) n
WHERE NOT EXISTS (
    SELECT FROM messages c
    WHERE c.source_id = n.source_id AND c.external_id = n.external_id
      AND (c.conversation_external_id, c.channel_external_id, c.contact_external_id, c.direction,
           c.kind, c.status, c.body, c.media_url, c.from_addr, c.to_addr, c.sent_at, c.updated_at,
           c.is_bot, c.from_transcript, c.agent_external_id, c.raw)
          IS NOT DISTINCT FROM
          (n.conversation_external_id, n.channel_external_id, n.contact_external_id, n.direction,
           n.kind, n.status, n.body, n.media_url, n.from_addr, n.to_addr, n.sent_at, n.updated_at,
           n.is_bot, n.from_transcript, n.agent_external_id, n.raw))
  AND (NOT n.from_transcript OR NOT EXISTS (
    SELECT FROM messages x
    WHERE x.source_id = n.source_id AND x.conversation_external_id = n.conversation_external_id
      AND NOT x.from_transcript))
ORDER BY n.source_id, n.external_id
ON CONFLICT (source_id, external_id) DO UPDATE SET
    conversation_external_id = excluded.conversation_external_id,
    channel_external_id = excluded.channel_external_id,
    contact_external_id = excluded.contact_external_id, direction = excluded.direction,
    kind = excluded.kind, body = excluded.body,
    -- keep_known_values did the same against the rows it read; here again
    -- against the row as it stands, which a concurrent commit may have
    -- moved on since (a status moves forward only; a file url stays).
    status = CASE WHEN array_position('{pending,sent,failed,delivered,read}'::text[], excluded.status)
                     < array_position('{pending,sent,failed,delivered,read}'::text[], t.status)
                  THEN t.status ELSE excluded.status END,
    media_url = coalesce(excluded.media_url, t.media_url),
    from_addr = excluded.from_addr, to_addr = excluded.to_addr,
    sent_at = excluded.sent_at, updated_at = excluded.updated_at, is_bot = excluded.is_bot,
    from_transcript = excluded.from_transcript, agent_external_id = excluded.agent_external_id,
    raw = excluded.raw, synced_at = now()
WHERE (t.conversation_external_id, t.channel_external_id, t.contact_external_id, t.direction, t.kind,
       t.status, t.body, t.media_url, t.from_addr, t.to_addr, t.sent_at, t.updated_at, t.is_bot,
       t.from_transcript, t.agent_external_id, t.raw)
      IS DISTINCT FROM
      (excluded.conversation_external_id, excluded.channel_external_id, excluded.contact_external_id,
       excluded.direction, excluded.kind, excluded.status, excluded.body, excluded.media_url,
       excluded.from_addr, excluded.to_addr, excluded.sent_at, excluded.updated_at, excluded.is_bot,
       excluded.from_transcript, excluded.agent_external_id, excluded.raw)
  AND (t.updated_at IS NULL OR excluded.updated_at IS NULL OR excluded.updated_at >= t.updated_at);

-- What is known of a message is not lost to a record that knows less.
-- Before a merge, a staged message takes the stored status when its own is
-- behind it (delivery statuses only move forward: pending, sent, failed,
-- delivered, read; others, such as received, are taken as they come), and
-- the stored media_url when it has none (a webhook delivery may lack the
-- file the API added). So a late "delivered" after "read" changes nothing
-- and writes nothing.
-- name: keep_known_values
UPDATE stage_messages s
SET status = CASE WHEN array_position('{pending,sent,failed,delivered,read}'::text[], s.status)
                     < array_position('{pending,sent,failed,delivered,read}'::text[], m.status)
                  THEN m.status ELSE s.status END,
    media_url = coalesce(s.media_url, m.media_url)
FROM messages m
WHERE m.source_id = s.source_id AND m.external_id = s.external_id
  AND (array_position('{pending,sent,failed,delivered,read}'::text[], s.status)
         < array_position('{pending,sent,failed,delivered,read}'::text[], m.status)
    OR (s.media_url IS NULL AND m.media_url IS NOT NULL));

-- What a delivery-status callback knows of an outbound message (StatusOnly
-- rows): the status moves forward only, the columns the row lacks are
-- filled, and a message never seen is created with what is known (no body,
-- updated_at NULL so that the platform's full record, when it comes, is
-- taken whole). Of several callbacks for one message in a batch, the most
-- advanced status wins. Until that full record comes, sent_at is the
-- earliest time a callback gave (one without sentAt gives a later time,
-- such as readAt).
-- name: merge_message_statuses
INSERT INTO messages AS t (source_id, external_id, conversation_external_id, channel_external_id, contact_external_id,
    direction, kind, status, from_addr, to_addr, sent_at, updated_at, raw)
SELECT n.source_id, n.external_id, n.conversation_external_id, n.channel_external_id, n.contact_external_id,
       n.direction, n.kind, n.status, n.from_addr, n.to_addr, n.sent_at, NULL, n.raw
FROM (
    SELECT DISTINCT ON (s.source_id, s.external_id) s.source_id, s.external_id, s.conversation_external_id,
           s.channel_external_id, s.contact_external_id, s.direction, s.kind, s.status, s.from_addr, s.to_addr,
           min(s.sent_at) OVER (PARTITION BY s.source_id, s.external_id) AS sent_at, s.raw
    FROM stage_messages s
    -- s.sent_at, the callback's own time: a bare sent_at would be the
    -- output column, the same for every callback of the message.
    ORDER BY s.source_id, s.external_id,
             coalesce(array_position('{pending,sent,failed,delivered,read}'::text[], s.status), 0) DESC, s.sent_at
) n
WHERE NOT EXISTS (
    SELECT FROM messages c
    WHERE c.source_id = n.source_id AND c.external_id = n.external_id
      AND coalesce(array_position('{pending,sent,failed,delivered,read}'::text[], c.status), 0)
       >= coalesce(array_position('{pending,sent,failed,delivered,read}'::text[], n.status), 0)
      AND (c.updated_at IS NOT NULL OR n.sent_at IS NULL OR c.sent_at <= n.sent_at)
      AND (c.conversation_external_id IS NOT NULL OR n.conversation_external_id IS NULL)
      AND (c.channel_external_id IS NOT NULL OR n.channel_external_id IS NULL)
      AND (c.contact_external_id IS NOT NULL OR n.contact_external_id IS NULL)
      AND (c.from_addr IS NOT NULL OR n.from_addr IS NULL)
      AND (c.to_addr IS NOT NULL OR n.to_addr IS NULL))
ORDER BY n.source_id, n.external_id
ON CONFLICT (source_id, external_id) DO UPDATE SET
    status = CASE WHEN coalesce(array_position('{pending,sent,failed,delivered,read}'::text[], excluded.status), 0)
                     > coalesce(array_position('{pending,sent,failed,delivered,read}'::text[], t.status), 0)
                  THEN excluded.status ELSE t.status END,
    conversation_external_id = coalesce(t.conversation_external_id, excluded.conversation_external_id),
    channel_external_id = coalesce(t.channel_external_id, excluded.channel_external_id),
    contact_external_id = coalesce(t.contact_external_id, excluded.contact_external_id),
    from_addr = coalesce(t.from_addr, excluded.from_addr),
    to_addr = coalesce(t.to_addr, excluded.to_addr),
    sent_at = CASE WHEN t.updated_at IS NULL THEN least(t.sent_at, excluded.sent_at) ELSE t.sent_at END,
    synced_at = now()
WHERE coalesce(array_position('{pending,sent,failed,delivered,read}'::text[], excluded.status), 0)
       > coalesce(array_position('{pending,sent,failed,delivered,read}'::text[], t.status), 0)
   OR (t.updated_at IS NULL AND excluded.sent_at < t.sent_at)
   OR (t.updated_at IS NULL AND t.sent_at IS NULL AND excluded.sent_at IS NOT NULL)
   OR (t.conversation_external_id IS NULL AND excluded.conversation_external_id IS NOT NULL)
   OR (t.channel_external_id IS NULL AND excluded.channel_external_id IS NOT NULL)
   OR (t.contact_external_id IS NULL AND excluded.contact_external_id IS NOT NULL)
   OR (t.from_addr IS NULL AND excluded.from_addr IS NOT NULL)
   OR (t.to_addr IS NULL AND excluded.to_addr IS NOT NULL);

-- A conversation's messages have one source of truth: once it has API
-- messages, its transcript lines go, in the transaction that brought them.
-- $2 lists the conversations to look at.
-- name: drop_transcript_lines
DELETE FROM messages d
WHERE d.source_id = $1 AND d.from_transcript AND d.conversation_external_id = ANY ($2::text[])
  AND EXISTS (SELECT FROM messages x
              WHERE x.source_id = d.source_id AND x.conversation_external_id = d.conversation_external_id
                AND NOT x.from_transcript);

-- The same, for the tickets of the protocols $2 (after a heal moved lines
-- of an imported transcript onto the API's ticket).
-- name: drop_transcript_lines_by_protocol
DELETE FROM messages d
USING conversations c
WHERE c.source_id = $1 AND c.protocol = ANY ($2::text[])
  AND d.source_id = $1 AND d.conversation_external_id = c.external_id AND d.from_transcript
  AND EXISTS (SELECT FROM messages x
              WHERE x.source_id = d.source_id AND x.conversation_external_id = d.conversation_external_id
                AND NOT x.from_transcript);

-- Transcript lines and API messages of one source never commit blind to
-- each other: a batch with API messages holds this lock shared (so those
-- batches never wait on each other), a batch that writes or moves
-- transcript lines holds it exclusive.
-- name: lock_transcripts_shared
SELECT pg_advisory_xact_lock_shared(hashtextextended(current_schema() || '/transcripts/' || ($1::integer)::text, 0));

-- name: lock_transcripts
SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || '/transcripts/' || ($1::integer)::text, 0));

-- The conversation of each protocol $2: the API's row when there is one,
-- else the row an import made under 'protocol:<n>', else that id.
-- name: conversations_by_protocol
SELECT p.protocol, coalesce((
    SELECT c.external_id FROM conversations c
    WHERE c.source_id = $1 AND c.protocol = p.protocol
    ORDER BY (c.external_id LIKE 'protocol:%'), c.updated_at DESC NULLS LAST, c.external_id
    LIMIT 1), 'protocol:' || p.protocol)
FROM unnest($2::text[]) AS p(protocol);

-- Whether messages wait under 'protocol:<n>' for any of the protocols $2:
-- a heal may move them onto the API's ticket.
-- name: protocol_messages_waiting
SELECT EXISTS (
    SELECT FROM unnest($2::text[]) AS p(protocol)
    WHERE EXISTS (SELECT FROM messages m WHERE m.source_id = $1 AND m.conversation_external_id = 'protocol:' || p.protocol));

-- Exported files name a ticket only by its protocol. Until the API's ticket
-- of that protocol is stored, an import keeps the ticket as a row keyed
-- 'protocol:<n>' and points its messages there; once both rows exist, these
-- two statements move the messages to the API's ticket and drop the
-- placeholder, so one ticket never has two rows. They run at the end of
-- every batch that holds tickets with protocols ($2), under a per-source
-- transaction lock, so two batches cannot each miss the other's row.
-- name: lock_protocols
SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || '/protocols/' || ($1::integer)::text, 0));

-- Both reach only the rows of the batch's protocols ($2), by index, in
-- whichever order the planner joins them: the placeholders' ids go in as
-- an array computed once (an index condition on messages and on the
-- conversations' key), and the API's tickets are those of $2. (With the
-- commit's hash and merge joins off, the earlier join to unnest() let
-- the planner scan every message once per protocol: a 100,000-message
-- demo sat in one such UPDATE for over twenty minutes.)
-- name: heal_protocol_messages
UPDATE messages m SET conversation_external_id = c.external_id, synced_at = now()
FROM conversations c
WHERE m.source_id = $1
  AND m.conversation_external_id = ANY (ARRAY(SELECT 'protocol:' || p FROM unnest($2::text[]) AS p))
  AND c.source_id = $1 AND c.protocol = ANY ($2::text[])
  AND 'protocol:' || c.protocol = m.conversation_external_id AND c.external_id <> m.conversation_external_id;

-- name: heal_protocol_conversations
DELETE FROM conversations d
WHERE d.source_id = $1
  AND d.external_id = ANY (ARRAY(SELECT 'protocol:' || c.protocol
                                 FROM conversations c
                                 WHERE c.source_id = $1 AND c.protocol = ANY ($2::text[])
                                   AND c.external_id <> 'protocol:' || c.protocol));

-- Tickets from exported files, known only by protocol: fill what the row of
-- that protocol lacks (fill_conversations_by_protocol), or create one keyed
-- 'protocol:<n>' (insert_conversations_by_protocol).
-- name: fill_conversations_by_protocol
WITH n AS (
    SELECT DISTINCT ON (source_id, protocol) *
    FROM stage_conversations
    ORDER BY source_id, protocol, updated_at DESC NULLS LAST
)
UPDATE conversations c SET
    channel_external_id = coalesce(c.channel_external_id, n.channel_external_id),
    contact_external_id = coalesce(c.contact_external_id, n.contact_external_id),
    is_open = coalesce(c.is_open, n.is_open),
    opened_at = coalesce(c.opened_at, n.opened_at),
    closed_at = coalesce(c.closed_at, n.closed_at),
    agent_external_id = coalesce(c.agent_external_id, n.agent_external_id),
    department_external_id = coalesce(c.department_external_id, n.department_external_id),
    topics = coalesce(c.topics, n.topics),
    synced_at = now()
FROM n
WHERE c.source_id = n.source_id AND c.protocol = n.protocol
  AND ((c.channel_external_id IS NULL AND n.channel_external_id IS NOT NULL)
    OR (c.contact_external_id IS NULL AND n.contact_external_id IS NOT NULL)
    OR (c.is_open IS NULL AND n.is_open IS NOT NULL)
    OR (c.opened_at IS NULL AND n.opened_at IS NOT NULL)
    OR (c.closed_at IS NULL AND n.closed_at IS NOT NULL)
    OR (c.agent_external_id IS NULL AND n.agent_external_id IS NOT NULL)
    OR (c.department_external_id IS NULL AND n.department_external_id IS NOT NULL)
    OR (c.topics IS NULL AND n.topics IS NOT NULL));

-- name: insert_conversations_by_protocol
INSERT INTO conversations (source_id, external_id, kind, channel_external_id, contact_external_id, protocol, is_open,
                           opened_at, closed_at, agent_external_id, department_external_id, topics, created_at, updated_at, raw)
SELECT n.source_id, 'protocol:' || n.protocol, n.kind, n.channel_external_id, n.contact_external_id, n.protocol, n.is_open,
       n.opened_at, n.closed_at, n.agent_external_id, n.department_external_id, n.topics, n.created_at, n.updated_at, n.raw
FROM (
    SELECT DISTINCT ON (source_id, protocol) *
    FROM stage_conversations
    ORDER BY source_id, protocol, updated_at DESC NULLS LAST
) n
WHERE NOT EXISTS (SELECT FROM conversations c WHERE c.source_id = n.source_id AND c.protocol = n.protocol)
ORDER BY n.source_id, n.protocol
ON CONFLICT (source_id, external_id) DO NOTHING;

-- Whether any record a quarantine retry would write ($2 messages, $3
-- conversations, $4 contacts, $5 channels, $6 agents, $7 departments, all
-- of source $1) is already in the warehouse: then a version of it was read
-- since it was quarantined, and the old payload must not go over it (the
-- merges let a record without updated_at through).
-- name: retry_superseded
SELECT EXISTS (SELECT FROM messages WHERE source_id = $1 AND external_id = ANY ($2::text[]))
    OR EXISTS (SELECT FROM conversations WHERE source_id = $1 AND external_id = ANY ($3::text[]))
    OR EXISTS (SELECT FROM contacts WHERE source_id = $1 AND external_id = ANY ($4::text[]))
    OR EXISTS (SELECT FROM channels WHERE source_id = $1 AND external_id = ANY ($5::text[]))
    OR EXISTS (SELECT FROM agents WHERE source_id = $1 AND external_id = ANY ($6::text[]))
    OR EXISTS (SELECT FROM departments WHERE source_id = $1 AND external_id = ANY ($7::text[]));
