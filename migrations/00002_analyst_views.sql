-- Views for analysts and BI. Days are UTC calendar days; convert sent_at with
-- AT TIME ZONE in your own query for local days.

-- +goose Up
CREATE VIEW daily_message_volume AS
SELECT s.name                             AS source,
       s.platform,
       (m.sent_at AT TIME ZONE 'UTC')::date AS day,
       m.direction,
       count(*)                           AS messages,
       count(DISTINCT m.conversation_external_id) AS conversations
FROM messages m
JOIN sources s ON s.id = m.source_id
GROUP BY s.name, s.platform, (m.sent_at AT TIME ZONE 'UTC')::date, m.direction;

-- First human answer to the first inbound message of each conversation
-- (bots and internal notes do not count as an answer).
CREATE VIEW conversation_first_response AS
WITH firsts AS (
    SELECT source_id, conversation_external_id, min(sent_at) AS first_inbound_at
    FROM messages
    WHERE direction = 'inbound' AND conversation_external_id IS NOT NULL
    GROUP BY source_id, conversation_external_id
)
SELECT s.name AS source,
       f.source_id,
       f.conversation_external_id,
       f.first_inbound_at,
       r.first_response_at,
       extract(epoch FROM r.first_response_at - f.first_inbound_at) AS first_response_seconds
FROM firsts f
JOIN sources s ON s.id = f.source_id
LEFT JOIN LATERAL (
    SELECT min(m.sent_at) AS first_response_at
    FROM messages m
    WHERE m.source_id = f.source_id
      AND m.conversation_external_id = f.conversation_external_id
      AND m.direction = 'outbound'
      AND NOT m.is_bot
      AND m.kind <> 'system'
      AND m.sent_at >= f.first_inbound_at
) r ON true;

-- How long each conversation was handled: from opened_at (or its first message)
-- to closed_at (or, for a closed conversation without one, its last message).
CREATE VIEW conversation_handling_time AS
SELECT s.name AS source,
       c.source_id,
       c.external_id AS conversation_external_id,
       c.kind,
       c.agent_external_id,
       c.department_external_id,
       c.is_open,
       coalesce(c.opened_at, mm.first_message_at) AS opened_at,
       coalesce(c.closed_at, CASE WHEN c.is_open = false THEN mm.last_message_at END) AS closed_at,
       extract(epoch FROM coalesce(c.closed_at, CASE WHEN c.is_open = false THEN mm.last_message_at END)
                        - coalesce(c.opened_at, mm.first_message_at)) AS handling_seconds,
       coalesce(mm.messages, 0) AS messages
FROM conversations c
JOIN sources s ON s.id = c.source_id
LEFT JOIN LATERAL (
    SELECT min(m.sent_at) AS first_message_at, max(m.sent_at) AS last_message_at, count(*) AS messages
    FROM messages m
    WHERE m.source_id = c.source_id AND m.conversation_external_id = c.external_id
) mm ON true;

-- Conversations per agent per UTC day of opening.
CREATE VIEW agent_daily_load AS
SELECT h.source,
       h.source_id,
       h.agent_external_id,
       a.name AS agent_name,
       (h.opened_at AT TIME ZONE 'UTC')::date AS day,
       count(*) AS conversations,
       count(*) FILTER (WHERE h.is_open) AS still_open,
       avg(h.handling_seconds) AS avg_handling_seconds,
       sum(h.messages) AS messages
FROM conversation_handling_time h
LEFT JOIN agents a ON a.source_id = h.source_id AND a.external_id = h.agent_external_id
WHERE h.agent_external_id IS NOT NULL
GROUP BY h.source, h.source_id, h.agent_external_id, a.name, (h.opened_at AT TIME ZONE 'UTC')::date;

-- +goose Down
DROP VIEW agent_daily_load;
DROP VIEW conversation_handling_time;
DROP VIEW conversation_first_response;
DROP VIEW daily_message_volume;
