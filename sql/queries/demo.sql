-- The analyst queries `syncer demo` shows; docs/tables.md has more.

-- name: demo_daily_volume
SELECT day, source,
       coalesce(sum(messages) FILTER (WHERE direction = 'inbound'), 0)::bigint  AS inbound,
       coalesce(sum(messages) FILTER (WHERE direction = 'outbound'), 0)::bigint AS outbound,
       coalesce(sum(messages) FILTER (WHERE direction = 'internal'), 0)::bigint AS internal,
       sum(messages)::bigint AS total
FROM v_daily_volume
WHERE day > (now() AT TIME ZONE (SELECT time_zone FROM warehouse_settings))::date - 7
GROUP BY day, source
ORDER BY day DESC, source;

-- name: demo_first_response_by_channel
SELECT source, coalesce(channel_name, channel_id, '-') AS channel,
       count(*) AS conversations,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY first_response_seconds))::bigint AS median_seconds,
       round(percentile_cont(0.9) WITHIN GROUP (ORDER BY first_response_seconds))::bigint AS p90_seconds
FROM v_conversation_metrics
WHERE first_response_seconds IS NOT NULL
GROUP BY source, coalesce(channel_name, channel_id, '-')
ORDER BY source, median_seconds;

-- The demo's warehouse schema ($1) and its bookkeeping schema ($2).
-- name: demo_reset_schema
SELECT format('DROP SCHEMA IF EXISTS %I, %I CASCADE', $1::text, $2::text), format('CREATE SCHEMA %I', $1::text);
