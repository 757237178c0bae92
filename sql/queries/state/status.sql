-- Table sizes, for the demo and tests.

-- name: TableCounts :many
SELECT 'channels'::text AS tbl, count(*) AS n FROM channels
UNION ALL SELECT 'contacts', count(*) FROM contacts
UNION ALL SELECT 'agents', count(*) FROM agents
UNION ALL SELECT 'departments', count(*) FROM departments
UNION ALL SELECT 'conversations', count(*) FROM conversations
UNION ALL SELECT 'messages', count(*) FROM messages
UNION ALL SELECT 'quarantine', count(*) FROM quarantine;

-- Rows per source of the tables the demo reconciles with its simulators.
-- name: SourceCounts :many
SELECT s.name,
       (SELECT count(*) FROM messages m WHERE m.source_id = s.id) AS messages,
       (SELECT count(*) FROM conversations c WHERE c.source_id = s.id) AS conversations,
       (SELECT count(*) FROM contacts c WHERE c.source_id = s.id) AS contacts
FROM sources s
ORDER BY s.name;
