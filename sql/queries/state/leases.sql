-- Leases: who runs each (source, stream).

-- A session-level advisory lock per (schema, source, stream): the lease that
-- keeps two processes from running one stream at once.
-- name: TryLease :one
SELECT pg_try_advisory_lock(hashtextextended(current_schema() || '/' || @source::text || '/' || @stream::text, 0));

-- name: ReleaseLease :one
SELECT pg_advisory_unlock(hashtextextended(current_schema() || '/' || @source::text || '/' || @stream::text, 0));

-- Taking the lease moves the stream's generation on; a process whose lease
-- was lost (its session ended) and taken by another can no longer commit.
-- name: TakeGeneration :one
INSERT INTO sync_leases AS l (source_id, stream, generation, holder, acquired_at)
VALUES (@source_id, @stream, 1, @holder, now())
ON CONFLICT (source_id, stream) DO UPDATE
SET generation = l.generation + 1, holder = excluded.holder, acquired_at = now()
RETURNING generation;

-- Run inside every commit of the stream: the row lock waits for (or holds
-- off) a process that is taking the lease meanwhile.
-- name: CheckGeneration :one
SELECT generation FROM sync_leases WHERE source_id = @source_id AND stream = @stream FOR SHARE;

-- Slots: at most max_streams streams of one source run at once across the
-- fleet. Slot n of a source is a session-level advisory lock of the
-- two-key kind (apart from the leases' one-key locks), held on the
-- connection of the run that took it.
-- name: TrySlot :one
SELECT pg_try_advisory_lock(hashtext(current_schema() || '/slots/' || @source::text), @slot::integer);

-- Whether some session holds the lease of (source, stream): its advisory
-- lock, as pg_locks shows it (a one-key lock is classid = the key's high
-- 32 bits, objid = its low 32 bits, objsubid = 1). It only looks: it never
-- takes the lock, so it never makes a process that is taking the lease
-- find it busy.
-- name: LeaseHeld :one
SELECT EXISTS (
    SELECT FROM pg_catalog.pg_locks l
    CROSS JOIN (SELECT hashtextextended(current_schema() || '/' || @source::text || '/' || @stream::text, 0) AS key) k
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
      AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = current_database())
      AND l.classid = ((k.key >> 32) & 4294967295)::oid
      AND l.objid = (k.key & 4294967295)::oid
) AS held;
