-- Every batch of API messages drops the transcript lines of its
-- conversations (drop_transcript_lines). Through messages_conversation_idx
-- that read every message of those conversations, so a batch cost more as
-- conversations grew; this index holds only transcript lines, so the look
-- is free where there are none (every platform's API messages) and small
-- where there are.

-- +goose Up
CREATE INDEX messages_transcript_idx ON messages (source_id, conversation_external_id) WHERE from_transcript;

-- +goose Down
DROP INDEX messages_transcript_idx;
