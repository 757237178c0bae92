-- The warehouse: one row per platform record, keyed by (source_id, external_id),
-- with the platform's payload kept in raw. See docs/tables.md for every column.

-- +goose Up
CREATE TABLE sources (
    id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    platform   text NOT NULL CHECK (platform IN ('digisac', 'ogmma', 'wavy', 'oxenty')),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE channels (
    source_id    integer NOT NULL REFERENCES sources (id),
    external_id  text NOT NULL,
    name         text,
    kind         text CHECK (kind IN ('whatsapp', 'sms', 'telegram', 'instagram', 'messenger', 'email', 'webchat', 'other')),
    phone        text CHECK (phone ~ '^[0-9]+$'),
    status       text CHECK (status IN ('connected', 'connecting', 'disconnected', 'qr', 'archived', 'unknown')),
    connected_at timestamptz,
    created_at   timestamptz,
    updated_at   timestamptz,
    deleted_at   timestamptz,
    raw          jsonb NOT NULL,
    synced_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_id, external_id)
);

CREATE TABLE contacts (
    source_id           integer NOT NULL REFERENCES sources (id),
    external_id         text NOT NULL,
    name                text,
    phone               text CHECK (phone ~ '^[0-9]+$'),
    channel_external_id text,
    created_at          timestamptz,
    updated_at          timestamptz,
    deleted_at          timestamptz,
    raw                 jsonb NOT NULL,
    synced_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_id, external_id)
);
CREATE INDEX contacts_phone_idx ON contacts (phone);

CREATE TABLE agents (
    source_id   integer NOT NULL REFERENCES sources (id),
    external_id text NOT NULL,
    name        text,
    email       text,
    created_at  timestamptz,
    updated_at  timestamptz,
    deleted_at  timestamptz,
    raw         jsonb NOT NULL,
    synced_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_id, external_id)
);

CREATE TABLE departments (
    source_id   integer NOT NULL REFERENCES sources (id),
    external_id text NOT NULL,
    name        text,
    created_at  timestamptz,
    updated_at  timestamptz,
    deleted_at  timestamptz,
    raw         jsonb NOT NULL,
    synced_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_id, external_id)
);

CREATE TABLE conversations (
    source_id              integer NOT NULL REFERENCES sources (id),
    external_id            text NOT NULL,
    kind                   text NOT NULL CHECK (kind IN ('ticket', 'conversation', 'session')),
    channel_external_id    text,
    contact_external_id    text,
    protocol               text,
    is_open                boolean,
    opened_at              timestamptz,
    closed_at              timestamptz,
    agent_external_id      text,
    department_external_id text,
    topics                 text[],
    created_at             timestamptz,
    updated_at             timestamptz,
    raw                    jsonb NOT NULL,
    synced_at              timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_id, external_id)
);
CREATE INDEX conversations_opened_at_idx ON conversations (opened_at);
CREATE INDEX conversations_contact_idx ON conversations (source_id, contact_external_id);
CREATE INDEX conversations_agent_idx ON conversations (source_id, agent_external_id);

CREATE TABLE messages (
    source_id                integer NOT NULL REFERENCES sources (id),
    external_id              text NOT NULL,
    conversation_external_id text,
    channel_external_id      text,
    contact_external_id      text,
    direction                text NOT NULL CHECK (direction IN ('inbound', 'outbound', 'internal')),
    kind                     text NOT NULL CHECK (kind IN ('text', 'image', 'audio', 'video', 'document', 'location', 'contact', 'sticker', 'comment', 'template', 'system', 'other')),
    status                   text CHECK (status IN ('pending', 'sent', 'delivered', 'read', 'failed', 'received')),
    body                     text,
    media_url                text,
    from_addr                text,
    to_addr                  text,
    sent_at                  timestamptz NOT NULL,
    updated_at               timestamptz,
    is_bot                   boolean NOT NULL DEFAULT false,
    raw                      jsonb NOT NULL,
    synced_at                timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_id, external_id)
);
-- The messages of one conversation in time order.
CREATE INDEX messages_conversation_idx ON messages (source_id, conversation_external_id, sent_at, external_id);
-- Volume over time, across sources.
CREATE INDEX messages_sent_at_idx ON messages (sent_at);

-- Where each (source, stream, partition) continues: {"ts": RFC 3339 UTC, "id": "..."}.
CREATE TABLE sync_state (
    source_id     integer NOT NULL REFERENCES sources (id),
    stream        text NOT NULL,
    partition_key text NOT NULL DEFAULT '',
    cursor        jsonb NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_id, stream, partition_key)
);

CREATE TABLE sync_runs (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_id        integer NOT NULL REFERENCES sources (id),
    stream           text NOT NULL,
    mode             text NOT NULL CHECK (mode IN ('incremental', 'backfill', 'import', 'webhook')),
    started_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    status           text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'partial', 'failed')),
    pages            integer NOT NULL DEFAULT 0,
    rows_read        bigint NOT NULL DEFAULT 0,
    rows_written     bigint NOT NULL DEFAULT 0,
    rows_quarantined bigint NOT NULL DEFAULT 0,
    suspected_gaps   integer NOT NULL DEFAULT 0,
    range_since      timestamptz,
    range_until      timestamptz,
    worker           text,
    error            text
);
CREATE INDEX sync_runs_stream_idx ON sync_runs (source_id, stream, started_at DESC);

-- Records that could not be mapped. The same record seen again updates its row
-- (fingerprint = sha256 of reason and payload) instead of adding another.
CREATE TABLE quarantine (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_id   integer NOT NULL REFERENCES sources (id),
    stream      text NOT NULL,
    run_id      bigint REFERENCES sync_runs (id),
    external_id text,
    reason      text NOT NULL,
    payload     jsonb NOT NULL,
    fingerprint text NOT NULL,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    seen_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source_id, stream, fingerprint)
);

CREATE TABLE imported_files (
    source_id   integer NOT NULL REFERENCES sources (id),
    sha256      text NOT NULL,
    path        text NOT NULL,
    format      text NOT NULL,
    rows        bigint NOT NULL DEFAULT 0,
    imported_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_id, sha256)
);

CREATE TABLE webhook_inbox (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_id    integer NOT NULL REFERENCES sources (id),
    received_at  timestamptz NOT NULL DEFAULT now(),
    payload      jsonb NOT NULL,
    processed_at timestamptz,
    error        text
);
CREATE INDEX webhook_inbox_pending_idx ON webhook_inbox (source_id, id) WHERE processed_at IS NULL;

-- +goose Down
DROP TABLE webhook_inbox;
DROP TABLE imported_files;
DROP TABLE quarantine;
DROP TABLE sync_runs;
DROP TABLE sync_state;
DROP TABLE messages;
DROP TABLE conversations;
DROP TABLE departments;
DROP TABLE agents;
DROP TABLE contacts;
DROP TABLE channels;
DROP TABLE sources;
