-- The audit log (CONTRACT §7): who created, changed, rotated, tested, retried, replayed or deleted what,
-- when, from which address. `owner_id` is whose object it was, so that a user sees what was done to theirs.
-- `detail` is JSON and never holds a key or a secret.
CREATE TABLE audit_log (
    id          TEXT PRIMARY KEY NOT NULL,
    at          INTEGER NOT NULL,
    actor_id    TEXT NOT NULL,
    actor_name  TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    owner_id    TEXT,
    address     TEXT,
    detail      TEXT NOT NULL
);
CREATE INDEX audit_log_actor ON audit_log (actor_id, id);
CREATE INDEX audit_log_owner ON audit_log (owner_id, id);
