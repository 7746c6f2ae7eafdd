-- Webhooks registered through the API by users (CONTRACT §7): each one is a destination of type `webhook`
-- whose name is its id (`wh_…`), so deliveries, attempts and destination state treat it like any other.
-- `events`, `sources`, `filter`, `headers` and `batch` are JSON. The secret signs; during a rotation the previous
-- one signs too until `previous_secret_until` (unix ms).
CREATE TABLE webhooks (
    id                    TEXT PRIMARY KEY NOT NULL,
    user_id               TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    url                   TEXT NOT NULL,
    events                TEXT NOT NULL,
    sources               TEXT,
    filter                TEXT NOT NULL,
    headers               TEXT NOT NULL,
    description           TEXT NOT NULL,
    batch                 TEXT,
    secret                TEXT NOT NULL,
    previous_secret       TEXT,
    previous_secret_until INTEGER,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
);
CREATE INDEX webhooks_user ON webhooks (user_id, id);

-- A label for each API key, so a user can tell their keys apart.
ALTER TABLE api_keys ADD COLUMN name TEXT NOT NULL DEFAULT '';
