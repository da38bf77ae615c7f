-- Files that could not be sent (issue 9, hole 8): a photo an op referenced that this
-- device no longer had, whose bytes no longer matched, or that head office would refuse as
-- too large. The op went without it (a photo does not hold its fact back), so nothing
-- would ever bring it later: the sync screen and the day-end check show these rows until
-- the technician dismisses them.
CREATE TABLE unsent_file (
    sha256        TEXT NOT NULL CHECK (length(sha256) = 64),
    op_id         TEXT NOT NULL,          -- the outbox op that referenced it
    kind          TEXT NOT NULL CHECK (kind IN ('photo', 'signature', 'document')),
    work_order_id TEXT,                   -- the job, when the op is about one
    why           TEXT NOT NULL CHECK (why IN ('missing', 'damaged', 'too_large')),
    first_at      TEXT NOT NULL,
    last_at       TEXT NOT NULL,
    dismissed_at  TEXT,
    PRIMARY KEY (sha256, op_id)
) WITHOUT ROWID;
