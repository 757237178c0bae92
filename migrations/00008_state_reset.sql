-- syncer state reset records what it did in sync_runs, so that the audit
-- trail of a stream shows who reset its cursors, when, and to what: a run
-- of mode 'reset', with a note saying what changed.

-- +goose Up
ALTER TABLE sync_runs DROP CONSTRAINT sync_runs_mode_check;
-- NOT VALID, then VALIDATE: the check of the existing rows does not hold
-- the table's strongest lock.
ALTER TABLE sync_runs ADD CONSTRAINT sync_runs_mode_check CHECK (mode IN ('incremental', 'backfill', 'import', 'webhook', 'reset')) NOT VALID;
ALTER TABLE sync_runs VALIDATE CONSTRAINT sync_runs_mode_check;
ALTER TABLE sync_runs ADD COLUMN note text;

-- +goose Down
-- The records of resets go with it.
DELETE FROM sync_runs WHERE mode = 'reset';
ALTER TABLE sync_runs DROP COLUMN note;
ALTER TABLE sync_runs DROP CONSTRAINT sync_runs_mode_check;
ALTER TABLE sync_runs ADD CONSTRAINT sync_runs_mode_check CHECK (mode IN ('incremental', 'backfill', 'import', 'webhook'));
