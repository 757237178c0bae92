-- Ticket protocols are how exported files (CSV, TXT) name a ticket. This index
-- lets an import find the API's row for a protocol, and the API's row adopt a
-- row an import made first.

-- +goose Up
CREATE INDEX conversations_protocol_idx ON conversations (source_id, protocol) WHERE protocol IS NOT NULL;

-- +goose Down
DROP INDEX conversations_protocol_idx;
