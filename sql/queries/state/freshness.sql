-- Freshness: read by the metrics at scrape time, from the database, since
-- any replica of a fleet may have run a stream. For each (@sources[i],
-- @streams[i]): when its oldest recorded incremental run started, and when
-- its last complete one ended (NULL: none yet), with the database's clock
-- that set both. A run is complete when it read the stream to its end:
-- succeeded, or partial only because it quarantined records or suspects a
-- gap (no error). Backfills and imports do not count. A stream without such
-- a run has no row. Each lookup is a probe of sync_runs_stream_idx.
-- name: StreamFreshness :many
SELECT s.name, k.stream::text AS stream, oldest.started_at AS first_started_at,
       done.finished_at AS last_success_at, now()::timestamptz AS now
FROM unnest(@streams::text[]) WITH ORDINALITY AS k(stream, ord)
JOIN sources s ON s.name = (@sources::text[])[k.ord]
JOIN LATERAL (
    SELECT r.started_at FROM sync_runs r
    WHERE r.source_id = s.id AND r.stream = k.stream AND r.mode = 'incremental'
    ORDER BY r.started_at
    LIMIT 1
) oldest ON true
LEFT JOIN LATERAL (
    SELECT r.finished_at FROM sync_runs r
    WHERE r.source_id = s.id AND r.stream = k.stream AND r.mode = 'incremental'
      AND (r.status = 'succeeded' OR (r.status = 'partial' AND r.error IS NULL))
    ORDER BY r.started_at DESC
    LIMIT 1
) done ON true
ORDER BY s.name, k.stream;
