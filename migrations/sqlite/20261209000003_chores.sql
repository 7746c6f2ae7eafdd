-- Chores one process of a database does for all (the hourly purge): when each was last claimed, in ms.
CREATE TABLE chores (
    name     TEXT PRIMARY KEY NOT NULL,
    last_run BIGINT NOT NULL
);
