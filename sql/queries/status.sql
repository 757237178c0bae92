-- One row per (source, stream) the warehouse knows of: its cursors, its
-- last run and its quarantine.
-- name: stream_status
WITH streams AS (
    SELECT source_id, stream FROM sync_runs
    UNION
    SELECT source_id, stream FROM sync_state
), cur AS (
    SELECT source_id, stream, count(*) AS partitions,
           min((cursor->>'ts')::timestamptz) AS oldest_cursor,
           max((cursor->>'ts')::timestamptz) AS newest_cursor
    FROM sync_state
    GROUP BY source_id, stream
), last AS (
    SELECT DISTINCT ON (source_id, stream)
           source_id, stream, id, mode, status, started_at, finished_at, pages, rows_read, rows_written,
           rows_quarantined, suspected_gaps, error
    FROM sync_runs
    ORDER BY source_id, stream, id DESC
), q AS (
    SELECT source_id, stream, count(*) AS quarantined FROM quarantine GROUP BY source_id, stream
)
SELECT s.name, s.platform, st.stream,
       coalesce(cur.partitions, 0), cur.oldest_cursor, cur.newest_cursor,
       last.id, last.mode, last.status, last.started_at, last.finished_at, last.pages, last.rows_read,
       last.rows_written, last.rows_quarantined, last.suspected_gaps, last.error,
       coalesce(q.quarantined, 0), now()
FROM streams st
JOIN sources s ON s.id = st.source_id
LEFT JOIN cur ON cur.source_id = st.source_id AND cur.stream = st.stream
LEFT JOIN last ON last.source_id = st.source_id AND last.stream = st.stream
LEFT JOIN q ON q.source_id = st.source_id AND q.stream = st.stream
ORDER BY s.name, st.stream;

-- name: table_counts
SELECT 'channels' AS tbl, count(*) FROM channels
UNION ALL SELECT 'contacts', count(*) FROM contacts
UNION ALL SELECT 'agents', count(*) FROM agents
UNION ALL SELECT 'departments', count(*) FROM departments
UNION ALL SELECT 'conversations', count(*) FROM conversations
UNION ALL SELECT 'messages', count(*) FROM messages
UNION ALL SELECT 'quarantine', count(*) FROM quarantine;
