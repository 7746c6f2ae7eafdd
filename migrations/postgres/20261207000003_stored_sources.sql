-- Sources made in the page or the API (extra named instances such as radarr-4k) beside the built-ins, and an
-- allow-list for any source of the table. Tokens are sealed with the data directory's key from this version on
-- (hookarr seals the built-ins' clear tokens when it starts).
ALTER TABLE sources ADD COLUMN allow_ips TEXT NOT NULL DEFAULT '[]';
-- 1: made through the page or the API (it may be deleted there); 0: a built-in.
ALTER TABLE sources ADD COLUMN stored BIGINT NOT NULL DEFAULT 0;

-- A value sealed with the key the database's secrets are sealed with: a process with another key is told so
-- when it starts, instead of failing on each secret.
ALTER TABLE config_generation ADD COLUMN key_check TEXT;
