-- The analyst queries `syncer demo` shows; docs/tables.md has more.

-- name: demo_daily_volume
SELECT day, coalesce(sum(messages) FILTER (WHERE direction = 'inbound'), 0)::bigint  AS inbound,
            coalesce(sum(messages) FILTER (WHERE direction = 'outbound'), 0)::bigint AS outbound,
            sum(messages)::bigint AS total
FROM daily_message_volume
GROUP BY day
ORDER BY day DESC
LIMIT 7;

-- name: demo_first_response_by_channel
SELECT c.channel_external_id,
       count(*) AS conversations,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY r.first_response_seconds) AS median_seconds,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY r.first_response_seconds) AS p90_seconds
FROM conversation_first_response r
JOIN conversations c ON c.source_id = r.source_id AND c.external_id = r.conversation_external_id
WHERE r.first_response_seconds IS NOT NULL
GROUP BY c.channel_external_id
ORDER BY median_seconds;

-- name: demo_reset_schema
SELECT format('DROP SCHEMA IF EXISTS %I CASCADE', $1::text), format('CREATE SCHEMA %I', $1::text);
