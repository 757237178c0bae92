-- Statements of syncer import (internal/importer).

-- The conversation an exported file's ticket belongs to, by its protocol:
-- the API's row when there is one, else the row an earlier import made
-- under 'protocol:<n>'.
-- name: conversation_by_protocol
SELECT external_id
FROM conversations
WHERE source_id = $1 AND protocol = $2
ORDER BY (external_id LIKE 'protocol:%'), updated_at DESC NULLS LAST, external_id
LIMIT 1;
