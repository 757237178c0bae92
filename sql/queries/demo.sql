-- The analyst queries `syncer demo` shows; docs/tables.md has more.

-- name: demo_daily_volume
SELECT day, source,
       coalesce(sum(messages) FILTER (WHERE direction = 'inbound'), 0)::bigint  AS inbound,
       coalesce(sum(messages) FILTER (WHERE direction = 'outbound'), 0)::bigint AS outbound,
       coalesce(sum(messages) FILTER (WHERE direction = 'internal'), 0)::bigint AS internal,
       sum(messages)::bigint AS total
FROM daily_message_volume
WHERE day > current_date - 7
GROUP BY day, source
ORDER BY day DESC, source;

-- name: demo_first_response_by_channel
SELECT r.source, c.channel_external_id,
       count(*) AS conversations,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY r.first_response_seconds) AS median_seconds,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY r.first_response_seconds) AS p90_seconds
FROM conversation_first_response r
JOIN conversations c ON c.source_id = r.source_id AND c.external_id = r.conversation_external_id
WHERE r.first_response_seconds IS NOT NULL
GROUP BY r.source, c.channel_external_id
ORDER BY r.source, median_seconds;

-- name: demo_reset_schema
SELECT format('DROP SCHEMA IF EXISTS %I CASCADE', $1::text), format('CREATE SCHEMA %I', $1::text);
