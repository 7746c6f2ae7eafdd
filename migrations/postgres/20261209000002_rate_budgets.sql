-- A destination's rate limit shared by every process on one database: the theoretical arrival time (GCRA, in
-- microseconds since the epoch) of its next send. A process leases sends from it (one at a time for slow
-- limits, a few for fast ones), so N processes never send more than the limit between them.
CREATE TABLE rate_budgets (
    destination TEXT PRIMARY KEY NOT NULL,
    tat         BIGINT NOT NULL
);
