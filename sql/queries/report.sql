-- syncer report: what one period of the warehouse looks like, read from
-- the analysts' views (so days, hours and weekdays are in the warehouse's
-- time zone, as the views make them) and from the bookkeeping tables.
--
-- Every statement but report_period takes the period as $1 (since,
-- inclusive) and $2 (until, exclusive), both timestamptz, and the sources
-- as $3, a text[] of names: an empty array means every source. A message
-- belongs to the period by sent_at, a first response by the time it was
-- given, so that every chart counts the same instants.
--
-- The first responses are not read from v_conversation_metrics, which
-- works out every conversation of the warehouse's history before a filter
-- on the period's messages can narrow them down. The statements that need
-- them begin with the same two CTEs instead (held to one text by
-- TestReportFirstResponseCTEIsShared): period_conversations, the
-- conversations with a message in the period (read by
-- messages_sent_at_idx), which hold every first response given in it and
-- every first inbound message received in it; and first_responses, which
-- works out for those alone what v_conversation_metrics does (held to the
-- view's figures by TestReportFirstResponsesAgreeWithTheView).

-- The views' time zone; the period's start and end, each given as an
-- instant ($1, $2), or as a wall-clock time in the views' time zone ($3,
-- $4: a date is its midnight), or neither: then the end is $5 (now) and the
-- start the midnight that begins the 30 local days ending with the end's;
-- the first and last local days the period touches; and the database's
-- clock.
-- name: report_period
SELECT w.time_zone,
       p.since,
       u.until,
       (p.since AT TIME ZONE w.time_zone)::date                                    AS first_day,
       ((u.until - interval '1 microsecond') AT TIME ZONE w.time_zone)::date       AS last_day,
       now()::timestamptz                                                          AS now
FROM warehouse_settings w
CROSS JOIN LATERAL (
    SELECT coalesce($2::timestamptz, $4::timestamp AT TIME ZONE w.time_zone, $5::timestamptz) AS until
) u
CROSS JOIN LATERAL (
    SELECT coalesce($1::timestamptz, $3::timestamp AT TIME ZONE w.time_zone,
                    (((u.until - interval '1 microsecond') AT TIME ZONE w.time_zone)::date - 29)::timestamp
                        AT TIME ZONE w.time_zone) AS since
) p;

-- The sources of the report, by name.
-- name: report_sources
SELECT s.name, s.platform
FROM sources s
WHERE cardinality($1::text[]) = 0 OR s.name = ANY ($1::text[])
ORDER BY s.name;

-- Messages per local day, platform and direction: v_daily_volume's
-- grouping, over the period's instants rather than whole days.
-- name: report_daily_volume
SELECT v.sent_date AS day, v.platform, v.direction, count(*)::bigint AS messages
FROM v_messages v
WHERE v.sent_at >= $1::timestamptz AND v.sent_at < $2::timestamptz
  AND (cardinality($3::text[]) = 0 OR v.source = ANY ($3::text[]))
GROUP BY v.sent_date, v.platform, v.direction
ORDER BY v.sent_date, v.platform, v.direction;

-- First responses given in the period, by how long they took: bucket 0 is
-- under a minute, then 1-5 min, 5-15 min, 15-60 min, 1-4 h, 4-24 h, and 6
-- a day or more.
-- name: report_first_response_buckets
WITH period_conversations AS (
    SELECT DISTINCT m.source_id, m.conversation_external_id
    FROM messages m
    WHERE m.sent_at >= $1::timestamptz AND m.sent_at < $2::timestamptz
      AND m.conversation_external_id IS NOT NULL
), first_responses AS (
    -- As v_conversation_metrics (migrations/00010_local_time_views.sql)
    -- has them: a row per conversation, with its first inbound message and
    -- its first response, the first outbound message by a person (not a
    -- bot, not a system event) at or after it. Each is read by
    -- messages_conversation_idx.
    SELECT c.source_id,
           s.name                                                          AS source,
           c.external_id                                                   AS conversation_id,
           fi.first_inbound_at,
           fr.sent_at                                                      AS first_response_at,
           fr.agent_external_id                                            AS first_response_agent_id,
           extract(epoch FROM fr.sent_at - fi.first_inbound_at)::float8    AS first_response_seconds
    FROM period_conversations pc
    JOIN conversations c ON c.source_id = pc.source_id AND c.external_id = pc.conversation_external_id
    JOIN sources s ON s.id = c.source_id
    CROSS JOIN LATERAL (
        SELECT min(m.sent_at) AS first_inbound_at
        FROM messages m
        WHERE m.source_id = c.source_id AND m.conversation_external_id = c.external_id
          AND m.direction = 'inbound'
    ) fi
    LEFT JOIN LATERAL (
        SELECT m.sent_at, m.agent_external_id
        FROM messages m
        WHERE m.source_id = c.source_id AND m.conversation_external_id = c.external_id
          AND m.direction = 'outbound' AND NOT m.is_bot AND m.kind <> 'system'
          AND m.sent_at >= fi.first_inbound_at
        ORDER BY m.sent_at, m.external_id
        LIMIT 1
    ) fr ON true
    WHERE cardinality($3::text[]) = 0 OR s.name = ANY ($3::text[])
)
SELECT width_bucket(f.first_response_seconds, ARRAY[60, 300, 900, 3600, 14400, 86400]::float8[]) AS bucket,
       count(*)::bigint AS conversations
FROM first_responses f
WHERE f.first_response_at >= $1::timestamptz AND f.first_response_at < $2::timestamptz
GROUP BY 1
ORDER BY 1;

-- The same responses' count, median and 90th percentile, and the
-- conversations whose first inbound message came in the period and that
-- have no first response yet.
-- name: report_first_response_stats
WITH period_conversations AS (
    SELECT DISTINCT m.source_id, m.conversation_external_id
    FROM messages m
    WHERE m.sent_at >= $1::timestamptz AND m.sent_at < $2::timestamptz
      AND m.conversation_external_id IS NOT NULL
), first_responses AS (
    -- As v_conversation_metrics (migrations/00010_local_time_views.sql)
    -- has them: a row per conversation, with its first inbound message and
    -- its first response, the first outbound message by a person (not a
    -- bot, not a system event) at or after it. Each is read by
    -- messages_conversation_idx.
    SELECT c.source_id,
           s.name                                                          AS source,
           c.external_id                                                   AS conversation_id,
           fi.first_inbound_at,
           fr.sent_at                                                      AS first_response_at,
           fr.agent_external_id                                            AS first_response_agent_id,
           extract(epoch FROM fr.sent_at - fi.first_inbound_at)::float8    AS first_response_seconds
    FROM period_conversations pc
    JOIN conversations c ON c.source_id = pc.source_id AND c.external_id = pc.conversation_external_id
    JOIN sources s ON s.id = c.source_id
    CROSS JOIN LATERAL (
        SELECT min(m.sent_at) AS first_inbound_at
        FROM messages m
        WHERE m.source_id = c.source_id AND m.conversation_external_id = c.external_id
          AND m.direction = 'inbound'
    ) fi
    LEFT JOIN LATERAL (
        SELECT m.sent_at, m.agent_external_id
        FROM messages m
        WHERE m.source_id = c.source_id AND m.conversation_external_id = c.external_id
          AND m.direction = 'outbound' AND NOT m.is_bot AND m.kind <> 'system'
          AND m.sent_at >= fi.first_inbound_at
        ORDER BY m.sent_at, m.external_id
        LIMIT 1
    ) fr ON true
    WHERE cardinality($3::text[]) = 0 OR s.name = ANY ($3::text[])
)
SELECT count(*) FILTER (WHERE f.first_response_at >= $1::timestamptz AND f.first_response_at < $2::timestamptz)::bigint AS responded,
       (percentile_cont(0.5) WITHIN GROUP (ORDER BY f.first_response_seconds)
           FILTER (WHERE f.first_response_at >= $1::timestamptz AND f.first_response_at < $2::timestamptz))::float8 AS median_seconds,
       (percentile_cont(0.9) WITHIN GROUP (ORDER BY f.first_response_seconds)
           FILTER (WHERE f.first_response_at >= $1::timestamptz AND f.first_response_at < $2::timestamptz))::float8 AS p90_seconds,
       count(*) FILTER (WHERE f.first_response_at IS NULL
                          AND f.first_inbound_at >= $1::timestamptz AND f.first_inbound_at < $2::timestamptz)::bigint AS unanswered
FROM first_responses f
WHERE (f.first_response_at >= $1::timestamptz AND f.first_response_at < $2::timestamptz)
   OR (f.first_inbound_at >= $1::timestamptz AND f.first_inbound_at < $2::timestamptz);

-- Messages per local weekday (ISO: 1 Monday .. 7 Sunday) and hour. Not
-- v_hourly_heatmap, which has no date to filter the period on.
-- name: report_heatmap
SELECT v.sent_weekday AS weekday, v.sent_hour AS hour, count(*)::bigint AS messages
FROM v_messages v
WHERE v.sent_at >= $1::timestamptz AND v.sent_at < $2::timestamptz
  AND (cardinality($3::text[]) = 0 OR v.source = ANY ($3::text[]))
GROUP BY v.sent_weekday, v.sent_hour
ORDER BY 1, 2;

-- Per agent: what v_agent_load counts per day, over the whole period (its
-- per-day figures do not add up to the period's: a conversation answered
-- on two days is one conversation, and medians do not add): the messages
-- the agent sent and in how many conversations, and the first responses
-- the agent gave with their median time.
-- name: report_agent_load
WITH period_conversations AS (
    SELECT DISTINCT m.source_id, m.conversation_external_id
    FROM messages m
    WHERE m.sent_at >= $1::timestamptz AND m.sent_at < $2::timestamptz
      AND m.conversation_external_id IS NOT NULL
), first_responses AS (
    -- As v_conversation_metrics (migrations/00010_local_time_views.sql)
    -- has them: a row per conversation, with its first inbound message and
    -- its first response, the first outbound message by a person (not a
    -- bot, not a system event) at or after it. Each is read by
    -- messages_conversation_idx.
    SELECT c.source_id,
           s.name                                                          AS source,
           c.external_id                                                   AS conversation_id,
           fi.first_inbound_at,
           fr.sent_at                                                      AS first_response_at,
           fr.agent_external_id                                            AS first_response_agent_id,
           extract(epoch FROM fr.sent_at - fi.first_inbound_at)::float8    AS first_response_seconds
    FROM period_conversations pc
    JOIN conversations c ON c.source_id = pc.source_id AND c.external_id = pc.conversation_external_id
    JOIN sources s ON s.id = c.source_id
    CROSS JOIN LATERAL (
        SELECT min(m.sent_at) AS first_inbound_at
        FROM messages m
        WHERE m.source_id = c.source_id AND m.conversation_external_id = c.external_id
          AND m.direction = 'inbound'
    ) fi
    LEFT JOIN LATERAL (
        SELECT m.sent_at, m.agent_external_id
        FROM messages m
        WHERE m.source_id = c.source_id AND m.conversation_external_id = c.external_id
          AND m.direction = 'outbound' AND NOT m.is_bot AND m.kind <> 'system'
          AND m.sent_at >= fi.first_inbound_at
        ORDER BY m.sent_at, m.external_id
        LIMIT 1
    ) fr ON true
    WHERE cardinality($3::text[]) = 0 OR s.name = ANY ($3::text[])
), sent AS (
    SELECT v.source_id, v.agent_id, count(*) AS messages_sent, count(DISTINCT v.conversation_id) AS conversations
    FROM v_messages v
    WHERE v.agent_id IS NOT NULL AND v.direction = 'outbound'
      AND v.sent_at >= $1::timestamptz AND v.sent_at < $2::timestamptz
      AND (cardinality($3::text[]) = 0 OR v.source = ANY ($3::text[]))
    GROUP BY v.source_id, v.agent_id
), firsts AS (
    SELECT f.source_id, f.first_response_agent_id AS agent_id, count(*) AS first_responses,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY f.first_response_seconds) AS median_first_response_seconds
    FROM first_responses f
    WHERE f.first_response_agent_id IS NOT NULL
      AND f.first_response_at >= $1::timestamptz AND f.first_response_at < $2::timestamptz
    GROUP BY f.source_id, f.first_response_agent_id
)
SELECT s.name AS source, k.agent_id, a.name AS agent_name,
       coalesce(sent.conversations, 0)::bigint AS conversations,
       coalesce(sent.messages_sent, 0)::bigint AS messages_sent,
       coalesce(firsts.first_responses, 0)::bigint AS first_responses,
       firsts.median_first_response_seconds::float8 AS median_first_response_seconds
FROM (SELECT source_id, agent_id FROM sent UNION SELECT source_id, agent_id FROM firsts) k
JOIN sources s ON s.id = k.source_id
LEFT JOIN agents a ON a.source_id = k.source_id AND a.external_id = k.agent_id
LEFT JOIN sent ON sent.source_id = k.source_id AND sent.agent_id = k.agent_id
LEFT JOIN firsts ON firsts.source_id = k.source_id AND firsts.agent_id = k.agent_id
ORDER BY messages_sent DESC, first_responses DESC, s.name, k.agent_id;

-- Per source: its messages sent in the period, its conversations opened
-- in it, and its quarantined records last seen in it.
-- name: report_source_rows
SELECT s.name,
       (SELECT count(*) FROM messages m
        WHERE m.source_id = s.id AND m.sent_at >= $1::timestamptz AND m.sent_at < $2::timestamptz)::bigint AS messages,
       (SELECT count(*) FROM conversations c
        WHERE c.source_id = s.id AND c.opened_at >= $1::timestamptz AND c.opened_at < $2::timestamptz)::bigint AS conversations_opened,
       (SELECT count(*) FROM quarantine q
        WHERE q.source_id = s.id AND q.seen_at >= $1::timestamptz AND q.seen_at < $2::timestamptz)::bigint AS quarantined
FROM sources s
WHERE cardinality($3::text[]) = 0 OR s.name = ANY ($3::text[])
ORDER BY s.name;
