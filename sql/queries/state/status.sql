-- Table sizes, for the demo and tests.

-- name: TableCounts :many
SELECT 'channels'::text AS tbl, count(*) AS n FROM channels
UNION ALL SELECT 'contacts', count(*) FROM contacts
UNION ALL SELECT 'agents', count(*) FROM agents
UNION ALL SELECT 'departments', count(*) FROM departments
UNION ALL SELECT 'conversations', count(*) FROM conversations
UNION ALL SELECT 'messages', count(*) FROM messages
UNION ALL SELECT 'quarantine', count(*) FROM quarantine;

-- Rows per source of the tables the demo reconciles with its simulators:
-- messages (and those inbound and outbound), conversations (and Wavy's
-- sessions among them, `session:<phone>:<ms>`, as docs/tables.md counts
-- them), contacts, and channels (and those marked deleted).
-- name: SourceCounts :many
SELECT s.name,
       coalesce(m.messages, 0)::bigint          AS messages,
       coalesce(m.inbound, 0)::bigint           AS inbound,
       coalesce(m.outbound, 0)::bigint          AS outbound,
       coalesce(c.conversations, 0)::bigint     AS conversations,
       coalesce(c.sessions, 0)::bigint          AS sessions,
       coalesce(ct.contacts, 0)::bigint         AS contacts,
       coalesce(ch.channels, 0)::bigint         AS channels,
       coalesce(ch.channels_deleted, 0)::bigint AS channels_deleted
FROM sources s
LEFT JOIN (SELECT source_id, count(*) AS messages,
                  count(*) FILTER (WHERE direction = 'inbound') AS inbound,
                  count(*) FILTER (WHERE direction = 'outbound') AS outbound
           FROM messages GROUP BY source_id) m ON m.source_id = s.id
LEFT JOIN (SELECT source_id, count(*) AS conversations,
                  count(*) FILTER (WHERE kind = 'session' AND external_id LIKE 'session:%:%') AS sessions
           FROM conversations GROUP BY source_id) c ON c.source_id = s.id
LEFT JOIN (SELECT source_id, count(*) AS contacts FROM contacts GROUP BY source_id) ct ON ct.source_id = s.id
LEFT JOIN (SELECT source_id, count(*) AS channels,
                  count(*) FILTER (WHERE deleted_at IS NOT NULL) AS channels_deleted
           FROM channels GROUP BY source_id) ch ON ch.source_id = s.id
ORDER BY s.name;

-- The channels of a source marked deleted, for the demo to check them
-- against the sessions it removed at the simulator.
-- name: DeletedChannels :many
SELECT c.external_id
FROM channels c
JOIN sources s ON s.id = c.source_id
WHERE s.name = @source AND c.deleted_at IS NOT NULL
ORDER BY c.external_id;
