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
-- v_conversation_metrics works out every conversation it is asked for;
-- the statements that read it ask only for the conversations with a
-- message in the period (read by messages_sent_at_idx), which hold every
-- first response given in it and every first inbound message received in
-- it.

-- The views' time zone, the period's start ($1, or when NULL the start of
-- the local day 29 days before the local day of $2: the last 30 days) and
-- the first and last local days the period touches, and the database's
-- clock.
-- name: report_period
SELECT w.time_zone,
       p.since,
       (p.since AT TIME ZONE w.time_zone)::date                                  AS first_day,
       (($2::timestamptz - interval '1 microsecond') AT TIME ZONE w.time_zone)::date AS last_day,
       now()::timestamptz                                                         AS now
FROM warehouse_settings w
CROSS JOIN LATERAL (
    SELECT coalesce($1::timestamptz,
                    (date_trunc('day', $2::timestamptz AT TIME ZONE w.time_zone) - interval '29 days')
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
SELECT width_bucket(f.first_response_seconds::float8, ARRAY[60, 300, 900, 3600, 14400, 86400]::float8[]) AS bucket,
       count(*)::bigint AS conversations
FROM v_conversation_metrics f
WHERE f.first_response_at >= $1::timestamptz AND f.first_response_at < $2::timestamptz
  AND (cardinality($3::text[]) = 0 OR f.source = ANY ($3::text[]))
  AND (f.source_id, f.conversation_id) IN (SELECT m.source_id, m.conversation_external_id FROM messages m
                                           WHERE m.sent_at >= $1::timestamptz AND m.sent_at < $2::timestamptz)
GROUP BY 1
ORDER BY 1;

-- The same responses' count, median and 90th percentile, and the
-- conversations whose first inbound message came in the period and that
-- have no first response yet.
-- name: report_first_response_stats
SELECT count(*) FILTER (WHERE f.first_response_at >= $1::timestamptz AND f.first_response_at < $2::timestamptz)::bigint AS responded,
       (percentile_cont(0.5) WITHIN GROUP (ORDER BY f.first_response_seconds)
           FILTER (WHERE f.first_response_at >= $1::timestamptz AND f.first_response_at < $2::timestamptz))::float8 AS median_seconds,
       (percentile_cont(0.9) WITHIN GROUP (ORDER BY f.first_response_seconds)
           FILTER (WHERE f.first_response_at >= $1::timestamptz AND f.first_response_at < $2::timestamptz))::float8 AS p90_seconds,
       count(*) FILTER (WHERE f.first_response_at IS NULL
                          AND f.first_inbound_at >= $1::timestamptz AND f.first_inbound_at < $2::timestamptz)::bigint AS unanswered
FROM v_conversation_metrics f
WHERE (cardinality($3::text[]) = 0 OR f.source = ANY ($3::text[]))
  AND (f.source_id, f.conversation_id) IN (SELECT m.source_id, m.conversation_external_id FROM messages m
                                           WHERE m.sent_at >= $1::timestamptz AND m.sent_at < $2::timestamptz)
  AND ((f.first_response_at >= $1::timestamptz AND f.first_response_at < $2::timestamptz)
       OR (f.first_inbound_at >= $1::timestamptz AND f.first_inbound_at < $2::timestamptz));

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
WITH sent AS (
    SELECT v.source_id, v.agent_id, count(*) AS messages_sent, count(DISTINCT v.conversation_id) AS conversations
    FROM v_messages v
    WHERE v.agent_id IS NOT NULL AND v.direction = 'outbound'
      AND v.sent_at >= $1::timestamptz AND v.sent_at < $2::timestamptz
      AND (cardinality($3::text[]) = 0 OR v.source = ANY ($3::text[]))
    GROUP BY v.source_id, v.agent_id
), firsts AS (
    SELECT f.source_id, f.first_response_agent_id AS agent_id, count(*) AS first_responses,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY f.first_response_seconds) AS median_first_response_seconds
    FROM v_conversation_metrics f
    WHERE f.first_response_agent_id IS NOT NULL
      AND f.first_response_at >= $1::timestamptz AND f.first_response_at < $2::timestamptz
      AND (cardinality($3::text[]) = 0 OR f.source = ANY ($3::text[]))
      AND (f.source_id, f.conversation_id) IN (SELECT m.source_id, m.conversation_external_id FROM messages m
                                               WHERE m.sent_at >= $1::timestamptz AND m.sent_at < $2::timestamptz)
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
