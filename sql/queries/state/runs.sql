-- Runs: one sync_runs row per run of a stream, import or backfill.

-- name: StartRun :one
INSERT INTO sync_runs (source_id, stream, mode, range_since, range_until, worker, lease)
VALUES (@source_id, @stream, @mode, @range_since, @range_until, @worker, sqlc.narg(lease))
RETURNING id, started_at;

-- Counters are written outside the batch transactions (which then never
-- wait on each other for this row): as progress while a run goes, and at its end.
-- name: PutRunCounts :exec
UPDATE sync_runs
SET pages = @pages, rows_read = @rows_read, rows_written = @rows_written,
    rows_quarantined = @rows_quarantined, suspected_gaps = @suspected_gaps
WHERE id = @id;

-- A run that read everything but quarantined records or suspects a gap is
-- partial, not succeeded.
-- name: FinishRun :one
UPDATE sync_runs
SET status = CASE WHEN @status::text = 'succeeded' AND (@rows_quarantined::bigint > 0 OR @suspected_gaps::integer > 0)
                  THEN 'partial' ELSE @status::text END,
    error = @error, finished_at = now(),
    pages = @pages, rows_read = @rows_read, rows_written = @rows_written,
    rows_quarantined = @rows_quarantined, suspected_gaps = @suspected_gaps
WHERE id = @id
RETURNING status, finished_at;

-- Runs left 'running' by a process that died. Called while holding the
-- lease the runs held (NULL: the stream's own; a backfill chunk's has its
-- own name), so no live process owns them.
-- name: FailAbandonedRuns :execrows
UPDATE sync_runs SET status = 'failed', finished_at = now(),
                     error = 'interrupted: the process ended before the run finished; what it committed is kept'
WHERE source_id = @source_id AND stream = @stream AND status = 'running'
  AND lease IS NOT DISTINCT FROM sqlc.narg(lease);

-- Runs that finished before @before go, except, of each stream, the
-- newest, the newest succeeded one (status shows both; a reset or a
-- quarantine retry is no sync) and the newest complete incremental one (the freshness gauge
-- counts from it, as freshness.sql says complete).
-- name: PruneRuns :execrows
DELETE FROM sync_runs r
WHERE r.finished_at < @before
  AND r.id <> (SELECT max(n.id) FROM sync_runs n WHERE n.source_id = r.source_id AND n.stream = r.stream)
  AND r.id IS DISTINCT FROM (SELECT max(n.id) FROM sync_runs n
                             WHERE n.source_id = r.source_id AND n.stream = r.stream AND n.status = 'succeeded'
                               AND n.mode NOT IN ('reset', 'retry'))
  AND r.id IS DISTINCT FROM (SELECT max(n.id) FROM sync_runs n
                             WHERE n.source_id = r.source_id AND n.stream = r.stream AND n.mode = 'incremental'
                               AND (n.status = 'succeeded' OR (n.status = 'partial' AND n.error IS NULL)));

-- Runs of a mode without a lease (webhook) left 'running' by a process
-- that died: no live one is @age_seconds old. The age is measured by the
-- database's clock, which also set started_at.
-- name: FailStaleRuns :execrows
UPDATE sync_runs SET status = 'failed', finished_at = now(),
                     error = 'interrupted: the process ended before the run finished; what it committed is kept'
WHERE mode = @mode AND status = 'running'
  AND started_at < now() - make_interval(secs => @age_seconds::float8);
