-- no-transaction
-- Configuration made in the admin page or the API (CONTRACT §7), beside the file's: destinations whose whole
-- spec is sealed with the data directory's secret key (a copy of the database alone holds no token in clear),
-- and a generation every change bumps, so that every process sharing the database sees a change within a poll.
-- A deleted destination's pending deliveries end `cancelled`: the status check of `deliveries` takes it, which in
-- SQLite means the table is rebuilt (with foreign keys off, so that its attempts are kept).
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE deliveries_rebuilt (
    id              TEXT PRIMARY KEY NOT NULL,
    event_id        TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    event           TEXT NOT NULL,
    destination     TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'dead', 'expired', 'cancelled')),
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
    last_error      TEXT,
    attempts_before_retry INTEGER NOT NULL DEFAULT 0
);
INSERT INTO deliveries_rebuilt (id, event_id, event, destination, status, attempts, next_attempt_at, lease_owner,
    group_key, expires_at, created_at, updated_at, last_status, last_error, attempts_before_retry)
SELECT id, event_id, event, destination, status, attempts, next_attempt_at, lease_owner,
    group_key, expires_at, created_at, updated_at, last_status, last_error, attempts_before_retry
FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_rebuilt RENAME TO deliveries;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX deliveries_group ON deliveries (destination, group_key) WHERE status = 'pending' AND group_key IS NOT NULL;
CREATE INDEX deliveries_event ON deliveries (event_id);
CREATE INDEX deliveries_destination ON deliveries (destination, id);
CREATE INDEX deliveries_status ON deliveries (status, id);

CREATE TABLE stored_destinations (
    name       TEXT PRIMARY KEY NOT NULL,
    kind       TEXT NOT NULL,
    -- The destination's keys as JSON, sealed (`v1:` base64 of nonce and XChaCha20-Poly1305 ciphertext).
    spec       TEXT NOT NULL,
    -- Bumped by every change: a save names the version it edited, and a stale one is refused.
    version    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL
);

CREATE TABLE config_generation (
    id         INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    generation INTEGER NOT NULL
);
INSERT INTO config_generation (id, generation) VALUES (1, 0);
COMMIT;
PRAGMA foreign_keys = ON;
