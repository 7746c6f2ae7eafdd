-- hookarr delivery pipeline (SQLite): deliveries are the queue, attempts the log, destination_state the health.

-- One row per (event, destination). `next_attempt_at` is when it is next due; a worker that claims it pushes
-- `next_attempt_at` forward by its lease, so a killed worker's deliveries fall due again by themselves.
CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY NOT NULL,
    event_id        TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    event           TEXT NOT NULL,
    destination     TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'dead', 'expired')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    lease_owner     TEXT,
    -- Season packs and albums: deliveries with the same key (destination, source, event, series+season or
    -- artist+album) still pending are sent as one message.
    group_key       TEXT,
    expires_at      INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    last_status     INTEGER,
    last_error      TEXT
);
-- The queue's only hot index: due pending rows. Finished rows leave it, so its size is the backlog's.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX deliveries_group ON deliveries (destination, group_key) WHERE status = 'pending' AND group_key IS NOT NULL;
CREATE INDEX deliveries_event ON deliveries (event_id);
CREATE INDEX deliveries_destination ON deliveries (destination, id);
CREATE INDEX deliveries_status ON deliveries (status, id);

-- Every attempt: when, how long, what came back.
CREATE TABLE attempts (
    delivery_id      TEXT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempt          INTEGER NOT NULL,
    started_at       INTEGER NOT NULL,
    duration_ms      INTEGER NOT NULL,
    outcome          TEXT NOT NULL,
    status_code      INTEGER,
    response_headers TEXT,
    response_body    TEXT,
    error            TEXT,
    PRIMARY KEY (delivery_id, attempt)
);

-- Run-time state of each destination: enabled, paused by a 429, last success and error.
CREATE TABLE destination_state (
    name            TEXT PRIMARY KEY NOT NULL,
    disabled_at     INTEGER,
    disabled_reason TEXT,
    paused_until    INTEGER,
    last_success_at INTEGER,
    last_error_at   INTEGER,
    last_error      TEXT,
    -- A webhook destination's generated signing secret (when the config gives none).
    secret          TEXT
);

-- The Discord message a grab posted, so that the import of the same download edits it (message lifecycle).
CREATE TABLE discord_messages (
    destination TEXT NOT NULL,
    download_id TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (destination, download_id)
);
CREATE INDEX discord_messages_created_at ON discord_messages (created_at);
