-- Stories (CONTRACT §5.1): each title's story across apps as one JSON document, with the columns the API filters
-- and the stuck sweep reads; the keys (ids) that find a story; its timeline; the queue of routed events not yet
-- joined (filled in the routing transaction, so nothing routed is missed, whatever the commit order of several
-- processes); each source's rhythm; and counters (unmatched events, the rules' version).
CREATE TABLE stories (
    id           TEXT PRIMARY KEY NOT NULL,
    kind         TEXT NOT NULL,
    stage        TEXT NOT NULL,
    title        TEXT NOT NULL,
    parent_id    TEXT,
    sources      TEXT NOT NULL,
    updated_at   BIGINT NOT NULL,
    stuck_due_at BIGINT,
    doc          TEXT NOT NULL
);
CREATE INDEX stories_updated ON stories (updated_at, id);
CREATE INDEX stories_stuck_due ON stories (stuck_due_at) WHERE stuck_due_at IS NOT NULL;
CREATE INDEX stories_parent ON stories (parent_id) WHERE parent_id IS NOT NULL;

-- A key (`movie/tmdb:693134`, `episode/tvdb:81189/s1e2`, `movie/name:dune|2024`) → its story; '' for a name
-- two stories share (it then finds neither).
CREATE TABLE story_keys (
    key      TEXT PRIMARY KEY NOT NULL,
    story_id TEXT NOT NULL
);
CREATE INDEX story_keys_story ON story_keys (story_id);

CREATE TABLE story_timeline (
    story_id TEXT NOT NULL,
    event_id TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    at       BIGINT NOT NULL,
    event    TEXT NOT NULL,
    stage    TEXT NOT NULL,
    PRIMARY KEY (story_id, event_id)
);
CREATE INDEX story_timeline_event ON story_timeline (event_id);

CREATE TABLE story_queue (
    event_id TEXT PRIMARY KEY NOT NULL REFERENCES events (id) ON DELETE CASCADE
);

CREATE TABLE source_rhythm (
    source TEXT PRIMARY KEY NOT NULL,
    doc    TEXT NOT NULL
);

-- `unmatched` (events of a story's kind that named no title), `rules_version`, and `lock` (the row a joining
-- pass locks on PostgreSQL, so that one process joins at a time).
CREATE TABLE story_state (
    name  TEXT PRIMARY KEY NOT NULL,
    value BIGINT NOT NULL
);
INSERT INTO story_state (name, value) VALUES ('unmatched', 0), ('rules_version', 0), ('lock', 0);
