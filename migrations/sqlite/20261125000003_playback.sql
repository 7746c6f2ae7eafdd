-- hookarr playback sessions: per (source, session or player, item), what the last notification said, so that
-- Jellyfin's progress becomes pause/resume and per-user copies of one play are told once. Forgotten a day
-- after the last notification (the hourly purge).
CREATE TABLE playback_sessions (
    source         TEXT NOT NULL,
    session_key    TEXT NOT NULL,
    item_key       TEXT NOT NULL,
    -- playing | paused | stopped, or 'new' for a row inserted to be locked before its first state
    state          TEXT NOT NULL,
    position_ms    INTEGER,
    started_at     INTEGER,
    start_event_id TEXT,
    last_kind      TEXT NOT NULL,
    last_event_id  TEXT NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (source, session_key, item_key)
);
CREATE INDEX playback_sessions_updated ON playback_sessions (updated_at);
