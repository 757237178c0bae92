-- A backfill split into chunks runs its chunks at once across the fleet,
-- each under a lease of its own, beside the stream's incremental runs.
-- sync_runs.lease names the lease a run held (NULL: the stream's own), so
-- that a process taking a lease fails only the runs a dead holder of that
-- same lease left running.

-- +goose Up
ALTER TABLE sync_runs ADD COLUMN lease text;

-- +goose Down
ALTER TABLE sync_runs DROP COLUMN lease;
