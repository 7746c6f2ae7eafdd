-- People added in the page or the API (beside hookarr.yaml's `people:`): who they are in the request app and on
-- the media servers, and the destination that tells them. A change bumps the configuration's generation, so
-- every process tells them within a poll.
CREATE TABLE stored_people (
    name       TEXT PRIMARY KEY NOT NULL,
    overseerr  TEXT,
    media_user TEXT,
    notify     TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL
);
