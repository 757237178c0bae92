-- The daemon deletes webhook deliveries processed longer ago than
-- run_retention, every hour; this index finds them without reading the
-- deliveries it keeps.

-- +goose Up
CREATE INDEX webhook_inbox_processed_idx ON webhook_inbox (received_at) WHERE processed_at IS NOT NULL;

-- +goose Down
DROP INDEX webhook_inbox_processed_idx;
