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
-- quoted by PostgreSQL itself; '' when it exists (CREATE SCHEMA IF NOT
-- EXISTS would need the right to create schemas even then).
-- name: CreateSchemaStatement :one
SELECT CASE WHEN to_regnamespace(@schema::text) IS NULL THEN format('CREATE SCHEMA %I', @schema::text) ELSE '' END::text;
