-- Sources: one row per configured source.

-- name: EnsureSource :one
WITH ins AS (
    INSERT INTO sources (name, platform) VALUES (@name, @platform)
    ON CONFLICT (name) DO NOTHING
    RETURNING id, platform
)
SELECT id, platform FROM ins
UNION ALL
SELECT id, platform FROM sources WHERE name = @name
LIMIT 1;

-- The statement that creates the configured warehouse schema, with the name
-- quoted by PostgreSQL itself.
-- name: CreateSchemaStatement :one
SELECT format('CREATE SCHEMA IF NOT EXISTS %I', @schema::text)::text;
