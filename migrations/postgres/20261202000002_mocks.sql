-- Mock receivers (CONTRACT §7): a URL under /mock/{id} that records what it is sent and answers as told,
-- so a set-up or a receiver can be tested without another server. Each keeps its latest requests.
CREATE TABLE mocks (
    id          TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    secret      TEXT,
    status      BIGINT NOT NULL,
    delay_ms    BIGINT NOT NULL,
    body        TEXT NOT NULL,
    headers     TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX mocks_user ON mocks (user_id, id);

CREATE TABLE mock_requests (
    id          TEXT PRIMARY KEY NOT NULL,
    mock_id     TEXT NOT NULL REFERENCES mocks (id) ON DELETE CASCADE,
    received_at BIGINT NOT NULL,
    method      TEXT NOT NULL,
    query       TEXT NOT NULL,
    headers     TEXT NOT NULL,
    body        BYTEA NOT NULL,
    signature   TEXT NOT NULL,
    status      BIGINT NOT NULL
);
CREATE INDEX mock_requests_mock ON mock_requests (mock_id, id);
