-- Bookkeeping for exact runs (issue 6): transcript lines as stand-ins, lease
-- generations that fence commits, imports that resume, media re-checks that
-- stop, the newest record a source has shown, and an index for status.

-- +goose Up
-- Messages read from an exported transcript rather than the API. They are
-- stored only for a conversation without API messages, and removed when API
-- messages for it arrive. Earlier versions stored them beside API messages:
-- those duplicates go now.
ALTER TABLE messages ADD COLUMN from_transcript boolean NOT NULL DEFAULT false;
UPDATE messages SET from_transcript = true WHERE external_id LIKE 'txt:%';
DELETE FROM messages t
WHERE t.from_transcript
  AND EXISTS (SELECT FROM messages m
              WHERE m.source_id = t.source_id AND m.conversation_external_id = t.conversation_external_id
                AND NOT m.from_transcript);

-- The newest record time the source has shown for a partition (for status:
-- how far the cursor is behind the source).
ALTER TABLE sync_state ADD COLUMN newest_at timestamptz;

-- The holder of each stream: every process that takes a stream's lease
-- moves its generation on, and every commit of the stream checks, in its own
-- transaction, that the generation is still the one it took.
CREATE TABLE sync_leases (
    source_id   integer NOT NULL REFERENCES sources (id),
    stream      text NOT NULL,
    generation  bigint NOT NULL,
    holder      text,
    acquired_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_id, stream)
);

-- An import commits a file in parts; done counts the records and bad lines
-- committed, bad the records quarantined, and completed_at says the whole
-- file is in.
ALTER TABLE imported_files ADD COLUMN done bigint NOT NULL DEFAULT 0;
ALTER TABLE imported_files ADD COLUMN bad bigint NOT NULL DEFAULT 0;
ALTER TABLE imported_files ADD COLUMN completed_at timestamptz;
UPDATE imported_files SET completed_at = imported_at;

-- Media messages stored without a file url are asked for again 5 minutes
-- after they were sent (if that was less than a week ago), then an hour
-- later, then a day later, then never.
CREATE TABLE media_rechecks (
    source_id           integer NOT NULL REFERENCES sources (id),
    message_external_id text NOT NULL,
    checks              integer NOT NULL,
    checked_at          timestamptz NOT NULL,
    next_check_at       timestamptz,
    PRIMARY KEY (source_id, message_external_id)
);
CREATE INDEX media_rechecks_due_idx ON media_rechecks (source_id, next_check_at) WHERE next_check_at IS NOT NULL;
CREATE INDEX messages_media_missing_idx ON messages (source_id, sent_at)
    WHERE media_url IS NULL AND kind IN ('image', 'audio', 'video', 'document', 'sticker');

-- status reads the newest run of each stream.
DROP INDEX sync_runs_stream_idx;
CREATE INDEX sync_runs_stream_idx ON sync_runs (source_id, stream, id DESC);

-- Old runs are pruned; their quarantined records stay.
ALTER TABLE quarantine DROP CONSTRAINT quarantine_run_id_fkey;
ALTER TABLE quarantine ADD CONSTRAINT quarantine_run_id_fkey
    FOREIGN KEY (run_id) REFERENCES sync_runs (id) ON DELETE SET NULL;

-- +goose Down
ALTER TABLE quarantine DROP CONSTRAINT quarantine_run_id_fkey;
ALTER TABLE quarantine ADD CONSTRAINT quarantine_run_id_fkey FOREIGN KEY (run_id) REFERENCES sync_runs (id);
DROP INDEX sync_runs_stream_idx;
CREATE INDEX sync_runs_stream_idx ON sync_runs (source_id, stream, started_at DESC);
DROP INDEX messages_media_missing_idx;
DROP TABLE media_rechecks;
ALTER TABLE imported_files DROP COLUMN completed_at;
ALTER TABLE imported_files DROP COLUMN bad;
ALTER TABLE imported_files DROP COLUMN done;
DROP TABLE sync_leases;
ALTER TABLE sync_state DROP COLUMN newest_at;
ALTER TABLE messages DROP COLUMN from_transcript;
