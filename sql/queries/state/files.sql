-- Imported files: each file once per source, by SHA-256.

-- name: ImportedFile :one
SELECT imported_at, rows, done, bad, completed_at FROM imported_files
WHERE source_id = @source_id AND sha256 = @sha256;

-- Written in the transaction of every part of a file that commits: how far
-- the import got.
-- name: PutImportProgress :exec
INSERT INTO imported_files AS f (source_id, sha256, path, format, rows, done, bad)
VALUES (@source_id, @sha256, @path, @format, @rows, @done, @bad)
ON CONFLICT (source_id, sha256) DO UPDATE
SET rows = greatest(f.rows, excluded.rows), done = greatest(f.done, excluded.done),
    bad = greatest(f.bad, excluded.bad), path = excluded.path;

-- name: CompleteImport :exec
INSERT INTO imported_files AS f (source_id, sha256, path, format, rows, done, bad, completed_at)
VALUES (@source_id, @sha256, @path, @format, @rows, @done, @bad, now())
ON CONFLICT (source_id, sha256) DO UPDATE
SET completed_at = coalesce(f.completed_at, now()), rows = greatest(f.rows, excluded.rows),
    done = greatest(f.done, excluded.done), bad = greatest(f.bad, excluded.bad);
