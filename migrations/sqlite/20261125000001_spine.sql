-- hookarr spine schema (SQLite). Times are unix milliseconds (UTC); ids are prefixed ULIDs (`evt_…`).

-- Normalized events; `envelope` is the JSON of CONTRACT §4.2.
CREATE TABLE events (
    id          TEXT PRIMARY KEY NOT NULL,
    event       TEXT NOT NULL,
    source      TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    summary     TEXT NOT NULL,
    envelope    TEXT NOT NULL
);
CREATE INDEX events_source_id ON events (source, id);
CREATE INDEX events_event_id ON events (event, id);
CREATE INDEX events_received_at ON events (received_at);

-- The request as the app sent it: exact bytes plus the headers that matter.
CREATE TABLE event_raw (
    event_id     TEXT PRIMARY KEY NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    content_type TEXT,
    headers      TEXT NOT NULL,
    body         BLOB NOT NULL
);

-- Outbox: events committed but not yet routed to deliveries. A row is written in the same transaction as its
-- event and deleted by the router in the same transaction as the deliveries it creates.
CREATE TABLE outbox (
    event_id   TEXT PRIMARY KEY NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
);

-- Bodies from authenticated sources that could not be parsed: kept so nothing an app sent is lost.
CREATE TABLE rejected (
    id           TEXT PRIMARY KEY NOT NULL,
    source       TEXT NOT NULL,
    received_at  INTEGER NOT NULL,
    reason       TEXT NOT NULL,
    content_type TEXT,
    headers      TEXT NOT NULL,
    body         BLOB NOT NULL
);
CREATE INDEX rejected_received_at ON rejected (received_at);

-- Built-in sources and their generated tokens (config sources live in the config file).
CREATE TABLE sources (
    name         TEXT PRIMARY KEY NOT NULL,
    app          TEXT NOT NULL,
    token        TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER
);

CREATE TABLE users (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL UNIQUE,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'user')),
    created_at INTEGER NOT NULL
);

-- API keys are stored as SHA-256 of the key (keys are 256-bit random, so a fast hash is enough).
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key_hash     TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
);
CREATE INDEX api_keys_user ON api_keys (user_id);

-- Inbound de-duplication: (source, body hash or Idempotency-Key) → the event ids it produced.
CREATE TABLE dedupe_keys (
    source     TEXT NOT NULL,
    key        TEXT NOT NULL,
    event_ids  TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (source, key)
);
CREATE INDEX dedupe_keys_created_at ON dedupe_keys (created_at);
