-- Schema for people: who sent each outbound message, and views that count
-- days and hours in the warehouse's time zone (time_zone in the config),
-- with UTC columns beside the local ones. docs/analysts.md documents every
-- column.
--
-- The views name the time zone as a constant, so that an index on the local
-- day can serve a date-range filter on them. They are (re)made by
-- syncer_apply_time_zone, which syncer migrate up calls whenever the
-- configured time zone differs from the one they were made with; this
-- migration makes them in UTC. The local-day indexes are built by syncer
-- migrate up too, concurrently, outside any transaction
-- (internal/migrate/timezone.go).

-- +goose Up
ALTER TABLE messages ADD COLUMN agent_external_id text;
-- Messages loaded before this column: Digisac's userId of an outbound
-- message or an internal note, as the mapping does now (a ticket event's
-- user is not its author).
UPDATE messages m
SET agent_external_id = nullif(trim(m.raw ->> 'userId'), '')
FROM sources s
WHERE s.id = m.source_id AND s.platform = 'digisac'
  AND nullif(trim(m.raw ->> 'userId'), '') IS NOT NULL
  AND ((m.raw -> 'isFromMe' = 'true' AND lower(trim(m.raw ->> 'type')) IS DISTINCT FROM 'ticket')
       OR lower(trim(m.raw ->> 'type')) = 'comment');
CREATE INDEX messages_agent_idx ON messages (source_id, agent_external_id, sent_at) WHERE agent_external_id IS NOT NULL;

-- One row: the time zone the views are made in.
CREATE TABLE warehouse_settings (
    only_row   boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    time_zone  text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- +goose StatementBegin
CREATE FUNCTION syncer_apply_time_zone(tz text) RETURNS boolean
LANGUAGE plpgsql AS $fn$
DECLARE
    current text;
BEGIN
    -- An unknown name fails here, before anything changes.
    PERFORM now() AT TIME ZONE tz;
    SELECT time_zone INTO current FROM warehouse_settings;
    IF current IS NOT DISTINCT FROM tz
       AND to_regclass('v_messages') IS NOT NULL THEN
        RETURN false;
    END IF;

    -- Every message, with the names analysts look for beside the ids.
    EXECUTE format($v$
    CREATE OR REPLACE VIEW v_messages AS
    SELECT s.name                                      AS source,
           s.platform,
           m.source_id,
           m.external_id                               AS message_id,
           m.conversation_external_id                  AS conversation_id,
           c.protocol                                  AS conversation_protocol,
           coalesce(m.channel_external_id, c.channel_external_id) AS channel_id,
           ch.name                                     AS channel_name,
           ch.kind                                     AS channel_kind,
           coalesce(m.contact_external_id, c.contact_external_id) AS contact_id,
           ct.name                                     AS contact_name,
           ct.phone                                    AS contact_phone,
           m.direction,
           m.kind,
           m.status,
           m.is_bot,
           m.body,
           m.media_url,
           m.agent_external_id                         AS agent_id,
           a.name                                      AS agent_name,
           c.department_external_id                    AS department_id,
           d.name                                      AS department_name,
           m.sent_at,
           m.sent_at AT TIME ZONE 'UTC'                AS sent_at_utc,
           m.sent_at AT TIME ZONE %1$L                 AS sent_at_local,
           (m.sent_at AT TIME ZONE %1$L)::date         AS sent_date,
           extract(hour FROM m.sent_at AT TIME ZONE %1$L)::int   AS sent_hour,
           extract(isodow FROM m.sent_at AT TIME ZONE %1$L)::int AS sent_weekday
    FROM messages m
    JOIN sources s ON s.id = m.source_id
    LEFT JOIN conversations c ON c.source_id = m.source_id AND c.external_id = m.conversation_external_id
    LEFT JOIN channels ch ON ch.source_id = m.source_id
                         AND ch.external_id = coalesce(m.channel_external_id, c.channel_external_id)
    LEFT JOIN contacts ct ON ct.source_id = m.source_id
                         AND ct.external_id = coalesce(m.contact_external_id, c.contact_external_id)
    LEFT JOIN agents a ON a.source_id = m.source_id AND a.external_id = m.agent_external_id
    LEFT JOIN departments d ON d.source_id = m.source_id AND d.external_id = c.department_external_id
    $v$, tz);

    EXECUTE format($v$
    CREATE OR REPLACE VIEW v_daily_volume AS
    SELECT v.sent_date                                 AS day,
           v.sent_date::timestamp AT TIME ZONE %1$L    AS day_start,
           v.source,
           v.platform,
           v.source_id,
           v.channel_id,
           v.channel_name,
           v.direction,
           count(*)                                    AS messages,
           count(*) FILTER (WHERE v.is_bot)            AS bot_messages,
           count(DISTINCT v.conversation_id)           AS conversations,
           count(DISTINCT v.contact_id)                AS contacts
    FROM v_messages v
    GROUP BY v.sent_date, v.source, v.platform, v.source_id, v.channel_id, v.channel_name, v.direction
    $v$, tz);

    -- One row per conversation. The first response is the first outbound
    -- message by a person (not a bot, not a system event) at or after the
    -- first inbound one.
    EXECUTE format($v$
    CREATE OR REPLACE VIEW v_conversation_metrics AS
    SELECT s.name                                      AS source,
           s.platform,
           c.source_id,
           c.external_id                               AS conversation_id,
           c.kind,
           c.protocol,
           c.channel_external_id                       AS channel_id,
           ch.name                                     AS channel_name,
           c.contact_external_id                       AS contact_id,
           ct.name                                     AS contact_name,
           ct.phone                                    AS contact_phone,
           c.agent_external_id                         AS agent_id,
           a.name                                      AS agent_name,
           c.department_external_id                    AS department_id,
           d.name                                      AS department_name,
           c.is_open,
           c.opened_at,
           c.opened_at AT TIME ZONE %1$L               AS opened_at_local,
           (c.opened_at AT TIME ZONE %1$L)::date       AS opened_date,
           o.closed_at,
           o.closed_at AT TIME ZONE %1$L               AS closed_at_local,
           mm.first_inbound_at,
           mm.first_inbound_at AT TIME ZONE %1$L       AS first_inbound_at_local,
           fr.sent_at                                  AS first_response_at,
           fr.sent_at AT TIME ZONE %1$L                AS first_response_at_local,
           fr.agent_external_id                        AS first_response_agent_id,
           extract(epoch FROM fr.sent_at - mm.first_inbound_at)::float8 AS first_response_seconds,
           extract(epoch FROM o.closed_at - c.opened_at)::float8        AS handling_seconds,
           coalesce(mm.messages_in, 0)                 AS messages_in,
           coalesce(mm.messages_out, 0)                AS messages_out,
           coalesce(mm.bot_messages_out, 0)            AS bot_messages_out,
           -- Digisac says it twice, in the ticket's ticketTransfers and
           -- as ticketTransfer events; the action's name is unconfirmed.
           greatest(coalesce(mm.transfer_events, 0),
                    CASE WHEN jsonb_typeof(c.raw -> 'ticketTransfers') = 'array'
                         THEN (SELECT count(*) FROM jsonb_array_elements(c.raw -> 'ticketTransfers') e
                               WHERE e ->> 'action' IN ('transfer', 'transferred'))
                         ELSE 0 END)         AS transfers
    FROM conversations c
    JOIN sources s ON s.id = c.source_id
    LEFT JOIN channels ch ON ch.source_id = c.source_id AND ch.external_id = c.channel_external_id
    LEFT JOIN contacts ct ON ct.source_id = c.source_id AND ct.external_id = c.contact_external_id
    LEFT JOIN agents a ON a.source_id = c.source_id AND a.external_id = c.agent_external_id
    LEFT JOIN departments d ON d.source_id = c.source_id AND d.external_id = c.department_external_id
    LEFT JOIN LATERAL (
        SELECT max(m.sent_at)                                                 AS last_message_at,
               min(m.sent_at) FILTER (WHERE m.direction = 'inbound')          AS first_inbound_at,
               count(*) FILTER (WHERE m.direction = 'inbound')                AS messages_in,
               count(*) FILTER (WHERE m.direction = 'outbound')               AS messages_out,
               count(*) FILTER (WHERE m.direction = 'outbound' AND m.is_bot)  AS bot_messages_out,
               count(*) FILTER (WHERE m.kind = 'system' AND m.body = 'ticketTransfer') AS transfer_events
        FROM messages m
        WHERE m.source_id = c.source_id AND m.conversation_external_id = c.external_id
    ) mm ON true
    -- A closed conversation without a closing time closed with its last
    -- message.
    CROSS JOIN LATERAL (
        SELECT coalesce(c.closed_at, CASE WHEN c.is_open = false THEN mm.last_message_at END) AS closed_at
    ) o
    LEFT JOIN LATERAL (
        SELECT m.sent_at, m.agent_external_id
        FROM messages m
        WHERE m.source_id = c.source_id AND m.conversation_external_id = c.external_id
          AND m.direction = 'outbound' AND NOT m.is_bot AND m.kind <> 'system'
          AND m.sent_at >= mm.first_inbound_at
        ORDER BY m.sent_at, m.external_id
        LIMIT 1
    ) fr ON true
    $v$, tz);

    -- Per agent and local day: what the agent sent (messages whose sender
    -- the platform names), in how many conversations, and how fast the
    -- agent gave the first responses that fell on that day. Read from the
    -- agents' messages alone, so that a filter on day reads that day's
    -- messages by the local-day index: a message is a first response when
    -- it is the first outbound one by a person at or after its
    -- conversation's first inbound one (as in v_conversation_metrics).
    EXECUTE format($v$
    CREATE OR REPLACE VIEW v_agent_load AS
    SELECT (m.sent_at AT TIME ZONE %1$L)::date                     AS day,
           (m.sent_at AT TIME ZONE %1$L)::date::timestamp AT TIME ZONE %1$L AS day_start,
           s.name                                                  AS source,
           s.platform,
           m.source_id,
           m.agent_external_id                                     AS agent_id,
           a.name                                                  AS agent_name,
           count(DISTINCT m.conversation_external_id)              AS conversations,
           count(*)                                                AS messages_sent,
           count(f.seconds)                                        AS first_responses,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY f.seconds) AS median_first_response_seconds
    FROM messages m
    JOIN sources s ON s.id = m.source_id
    LEFT JOIN agents a ON a.source_id = m.source_id AND a.external_id = m.agent_external_id
    LEFT JOIN LATERAL (
        SELECT min(i.sent_at) AS first_inbound_at
        FROM messages i
        WHERE i.source_id = m.source_id AND i.conversation_external_id = m.conversation_external_id
          AND i.direction = 'inbound'
    ) fi ON NOT m.is_bot AND m.kind <> 'system'
        -- as v_conversation_metrics, which has a row per stored conversation
        AND EXISTS (SELECT FROM conversations c
                    WHERE c.source_id = m.source_id AND c.external_id = m.conversation_external_id)
    LEFT JOIN LATERAL (
        SELECT extract(epoch FROM m.sent_at - fi.first_inbound_at)::float8 AS seconds
        WHERE m.sent_at >= fi.first_inbound_at
          AND NOT EXISTS (
            SELECT FROM messages p
            WHERE p.source_id = m.source_id AND p.conversation_external_id = m.conversation_external_id
              AND p.direction = 'outbound' AND NOT p.is_bot AND p.kind <> 'system'
              AND p.sent_at >= fi.first_inbound_at
              AND (p.sent_at, p.external_id) < (m.sent_at, m.external_id))
    ) f ON true
    WHERE m.direction = 'outbound' AND m.agent_external_id IS NOT NULL
    GROUP BY (m.sent_at AT TIME ZONE %1$L)::date, s.name, s.platform, m.source_id, m.agent_external_id, a.name
    $v$, tz);

    EXECUTE $v$
    CREATE OR REPLACE VIEW v_hourly_heatmap AS
    SELECT v.source,
           v.platform,
           v.source_id,
           v.sent_weekday AS weekday,
           v.sent_hour    AS hour,
           v.direction,
           count(*)       AS messages
    FROM v_messages v
    GROUP BY v.source, v.platform, v.source_id, v.sent_weekday, v.sent_hour, v.direction
    $v$;

    -- Analysts see the zone where they look: \dv+ in psql, a BI tool's
    -- table description, obj_description('v_messages'::regclass).
    EXECUTE format('COMMENT ON VIEW v_messages IS %L', 'Every message; local times and days in ' || tz);
    EXECUTE format('COMMENT ON VIEW v_daily_volume IS %L', 'Messages per local day in ' || tz || ', source, channel and direction');
    EXECUTE format('COMMENT ON VIEW v_conversation_metrics IS %L', 'One row per conversation; local times in ' || tz);
    EXECUTE format('COMMENT ON VIEW v_agent_load IS %L', 'Per agent and local day in ' || tz);
    EXECUTE format('COMMENT ON VIEW v_hourly_heatmap IS %L', 'Messages per local weekday and hour in ' || tz);

    INSERT INTO warehouse_settings (time_zone) VALUES (tz)
    ON CONFLICT (only_row) DO UPDATE SET time_zone = excluded.time_zone, updated_at = now();
    RETURN true;
END
$fn$;
-- +goose StatementEnd

SELECT syncer_apply_time_zone('UTC');

-- +goose Down
DROP VIEW v_hourly_heatmap;
DROP VIEW v_agent_load;
DROP VIEW v_daily_volume;
DROP VIEW v_conversation_metrics;
DROP VIEW v_messages;
DROP INDEX IF EXISTS conversations_opened_date_idx;
DROP INDEX IF EXISTS messages_sent_date_idx;
DROP FUNCTION syncer_apply_time_zone(text);
DROP TABLE warehouse_settings;
DROP INDEX messages_agent_idx;
ALTER TABLE messages DROP COLUMN agent_external_id;
