-- Status: where each (source, stream) stands. A named block rather than
-- sqlc: sqlc cannot tell that the columns of its LEFT JOINs (CTEs and
-- LATERAL subqueries) may be NULL, so package state scans it by hand.

-- One row per (source, stream) the warehouse knows of: its cursors and how
-- far they are behind the newest record the source has shown, its last run
-- and its last success (each read through sync_runs_stream_idx), its
-- quarantine and, for messages, the media files that never arrived.
-- name: stream_status
WITH RECURSIVE run_streams AS (
    -- The distinct (source, stream) of sync_runs, one index probe each
    -- (a skip scan), however many runs there are.
    (SELECT source_id, stream FROM sync_runs ORDER BY source_id, stream LIMIT 1)
    UNION ALL
    SELECT n.source_id, n.stream
    FROM run_streams p, LATERAL (
        SELECT r.source_id, r.stream FROM sync_runs r
        WHERE (r.source_id, r.stream) > (p.source_id, p.stream)
        ORDER BY r.source_id, r.stream LIMIT 1) n
), streams AS (
    SELECT source_id, stream FROM sync_state
    UNION
    SELECT source_id, stream FROM run_streams
), cur AS (
    SELECT source_id, stream, count(*) AS partitions,
           min((cursor->>'ts')::timestamptz) AS oldest_cursor,
           max((cursor->>'ts')::timestamptz) AS newest_cursor,
           max(newest_at) AS source_newest,
           max(newest_at - (cursor->>'ts')::timestamptz) AS behind
    FROM sync_state
    GROUP BY source_id, stream
), q AS (
    SELECT source_id, stream, count(*) AS quarantined FROM quarantine GROUP BY source_id, stream
), media AS (
    SELECT r.source_id, count(*) AS missing
    FROM media_rechecks r
    JOIN messages m ON m.source_id = r.source_id AND m.external_id = r.message_external_id
    WHERE r.next_check_at IS NULL AND m.media_url IS NULL
    GROUP BY r.source_id
)
SELECT s.name AS source, s.platform, st.stream,
       coalesce(cur.partitions, 0)::bigint AS partitions, cur.oldest_cursor::timestamptz AS oldest_cursor,
       cur.newest_cursor::timestamptz AS newest_cursor, cur.source_newest::timestamptz AS source_newest,
       (extract(epoch FROM cur.behind))::float8 AS behind_seconds,
       last.id AS last_id, last.mode AS last_mode, last.status AS last_status, last.started_at AS last_started_at,
       last.finished_at AS last_finished_at, last.pages AS last_pages, last.rows_read AS last_rows_read,
       last.rows_written AS last_rows_written, last.rows_quarantined AS last_rows_quarantined,
       last.suspected_gaps AS last_suspected_gaps, last.error AS last_error,
       ok.finished_at AS last_success_at,
       coalesce(q.quarantined, 0)::bigint AS quarantined,
       (CASE WHEN st.stream = 'messages' THEN coalesce(media.missing, 0) ELSE 0 END)::bigint AS media_missing,
       now()::timestamptz AS now
FROM streams st
JOIN sources s ON s.id = st.source_id
LEFT JOIN cur ON cur.source_id = st.source_id AND cur.stream = st.stream
LEFT JOIN LATERAL (
    SELECT r.id, r.mode, r.status, r.started_at, r.finished_at, r.pages, r.rows_read, r.rows_written,
           r.rows_quarantined, r.suspected_gaps, r.error
    FROM sync_runs r WHERE r.source_id = st.source_id AND r.stream = st.stream
    ORDER BY r.id DESC LIMIT 1
) last ON true
LEFT JOIN LATERAL (
    SELECT r.finished_at FROM sync_runs r
    WHERE r.source_id = st.source_id AND r.stream = st.stream AND r.status = 'succeeded' AND r.mode NOT IN ('reset', 'retry')
    ORDER BY r.id DESC LIMIT 1
) ok ON true
LEFT JOIN q ON q.source_id = st.source_id AND q.stream = st.stream
LEFT JOIN media ON media.source_id = st.source_id
ORDER BY s.name, st.stream;
