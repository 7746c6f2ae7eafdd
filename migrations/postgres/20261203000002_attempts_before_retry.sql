-- A manual retry starts a delivery's retry schedule over (`attempts` back to 0), but its attempt log goes on:
-- the attempts made before the last manual retry, which each new attempt's logged number adds to.
ALTER TABLE deliveries ADD COLUMN attempts_before_retry BIGINT NOT NULL DEFAULT 0;
