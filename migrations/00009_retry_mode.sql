-- syncer quarantine retry records what it did as a run of mode 'retry':
-- it writes rows without reading the platform or moving a cursor, so it
-- is neither an incremental run (freshness counts from those) nor an
-- import.

-- +goose Up
ALTER TABLE sync_runs DROP CONSTRAINT sync_runs_mode_check;
ALTER TABLE sync_runs ADD CONSTRAINT sync_runs_mode_check CHECK (mode IN ('incremental', 'backfill', 'import', 'webhook', 'reset', 'retry')) NOT VALID;
ALTER TABLE sync_runs VALIDATE CONSTRAINT sync_runs_mode_check;

-- +goose Down
-- The records of retries go with it; the rows they wrote stay.
UPDATE quarantine SET run_id = NULL WHERE run_id IN (SELECT id FROM sync_runs WHERE mode = 'retry');
DELETE FROM sync_runs WHERE mode = 'retry';
ALTER TABLE sync_runs DROP CONSTRAINT sync_runs_mode_check;
ALTER TABLE sync_runs ADD CONSTRAINT sync_runs_mode_check CHECK (mode IN ('incremental', 'backfill', 'import', 'webhook', 'reset'));
