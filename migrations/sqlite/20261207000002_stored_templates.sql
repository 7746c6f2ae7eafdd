-- Templates saved in the template studio or with PUT /api/templates/{type}/{name}: each one overrides the file's
-- or the built-in template of that name, and every save or removal is kept in its history (who, when, what),
-- from which an older text can be restored. A change bumps the configuration's generation, so every process
-- renders with it within a poll.
CREATE TABLE stored_templates (
    name       TEXT PRIMARY KEY NOT NULL,
    body       TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL
);

-- One row per save (body) or removal (body NULL: back to the file's or the built-in one).
CREATE TABLE template_history (
    id    TEXT PRIMARY KEY NOT NULL,
    name  TEXT NOT NULL,
    body  TEXT,
    at    INTEGER NOT NULL,
    who   TEXT NOT NULL
);
CREATE INDEX template_history_name ON template_history (name, at);
