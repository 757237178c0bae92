-- Table sizes, for the demo and tests.

-- name: TableCounts :many
SELECT 'channels'::text AS tbl, count(*) AS n FROM channels
UNION ALL SELECT 'contacts', count(*) FROM contacts
UNION ALL SELECT 'agents', count(*) FROM agents
UNION ALL SELECT 'departments', count(*) FROM departments
UNION ALL SELECT 'conversations', count(*) FROM conversations
UNION ALL SELECT 'messages', count(*) FROM messages
UNION ALL SELECT 'quarantine', count(*) FROM quarantine;
