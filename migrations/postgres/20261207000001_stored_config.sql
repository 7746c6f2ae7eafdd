-- Configuration made in the admin page or the API (CONTRACT §7), beside the file's: destinations whose whole
-- spec is sealed with the data directory's secret key (a copy of the database alone holds no token in clear),
-- and a generation every change bumps, so that every process sharing the database sees a change within a poll.
-- A deleted destination's pending deliveries end `cancelled`.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
    CHECK (status IN ('pending', 'succeeded', 'failed', 'dead', 'expired', 'cancelled'));

CREATE TABLE stored_destinations (
    name       TEXT PRIMARY KEY NOT NULL,
    kind       TEXT NOT NULL,
    -- The destination's keys as JSON, sealed (`v1:` base64 of nonce and XChaCha20-Poly1305 ciphertext).
    spec       TEXT NOT NULL,
    -- Bumped by every change: a save names the version it edited, and a stale one is refused.
    version    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);

CREATE TABLE config_generation (
    id         INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    generation BIGINT NOT NULL
);
INSERT INTO config_generation (id, generation) VALUES (1, 0);
