-- Log-ins to the admin page: the cookie holds a random id, the table its SHA-256. A log-in ends when it
-- expires, on log-out, or when the API key it was made with is revoked (`key_id`; NULL for the config's key).
CREATE TABLE admin_logins (
    id_hash     TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key_id      TEXT,
    csrf        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX admin_logins_expiry ON admin_logins (expires_at);
