-- Staging tables: one per target table, private to the connection, emptied
-- at every commit. COPY fills them; a merge moves their rows to the target.

-- name: stage_prepare
SET LOCAL client_min_messages = warning;

-- name: stage_channels
CREATE TEMP TABLE IF NOT EXISTS stage_channels (LIKE channels INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;

-- name: stage_contacts
CREATE TEMP TABLE IF NOT EXISTS stage_contacts (LIKE contacts INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;

-- name: stage_agents
CREATE TEMP TABLE IF NOT EXISTS stage_agents (LIKE agents INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;

-- name: stage_departments
CREATE TEMP TABLE IF NOT EXISTS stage_departments (LIKE departments INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;

-- name: stage_conversations
CREATE TEMP TABLE IF NOT EXISTS stage_conversations (LIKE conversations INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;

-- name: stage_messages
CREATE TEMP TABLE IF NOT EXISTS stage_messages (LIKE messages INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;

-- name: unstage_channels
TRUNCATE stage_channels;

-- name: unstage_contacts
TRUNCATE stage_contacts;

-- name: unstage_agents
TRUNCATE stage_agents;

-- name: unstage_departments
TRUNCATE stage_departments;

-- name: unstage_conversations
TRUNCATE stage_conversations;

-- name: unstage_messages
TRUNCATE stage_messages;
