-- Staging tables: one per target table, private to the connection, emptied
-- at every commit. COPY fills them; a merge moves their rows to the target.

-- name: stage_prepare
SET LOCAL client_min_messages = warning;

-- How the merges of a commit are planned. Each joins a few thousand staged
-- rows to a table that may hold millions: probing the table's unique index
-- once per staged row costs the batch, where a hash or merge join reads the
-- whole table (which the planner, knowing nothing of temporary tables,
-- tends to pick: 527 ms against 215 ms for 10,000 new messages over
-- 100,000). work_mem lets the batch sort in memory; the merges are too
-- short for JIT compilation to pay off. Only for this transaction.
-- name: stage_settings
SELECT set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true),
       set_config('work_mem', '64MB', true), set_config('jit', 'off', true);

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

-- Whether PostgreSQL has never counted a table's rows (reltuples is -1
-- until the first ANALYZE, 0 when it was analyzed empty). $1 is the table's
-- name, found on the search_path.
-- name: never_analyzed
SELECT coalesce((SELECT reltuples <= 0 FROM pg_class WHERE oid = to_regclass($1)), false);

-- A warehouse filled for the first time: the planner takes a table that
-- was never analyzed for a few pages, and probes it for the staged rows by
-- whichever index starts with source_id (scanning the whole source) rather
-- than by its primary key. One ANALYZE after the first commit sets that
-- right; autovacuum keeps it so afterwards.
-- name: analyze_channels
ANALYZE channels;

-- name: analyze_contacts
ANALYZE contacts;

-- name: analyze_conversations
ANALYZE conversations;

-- name: analyze_messages
ANALYZE messages;
