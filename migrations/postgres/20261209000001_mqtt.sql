-- What hookarr tells Home Assistant over MQTT: `mqtt_docs` keeps each source's and each player's state
-- (kind `source` / `player`, id, JSON doc) and the hub's switches (kind `hub`); `mqtt_announced` the discovery
-- configs last published, so that one no longer wanted is removed (an empty retained config) even after a
-- restart.
CREATE TABLE mqtt_docs (
    kind TEXT NOT NULL,
    id   TEXT NOT NULL,
    doc  TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);

CREATE TABLE mqtt_announced (
    topic  TEXT PRIMARY KEY NOT NULL,
    config TEXT NOT NULL
);
