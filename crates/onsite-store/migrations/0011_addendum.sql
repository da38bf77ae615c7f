-- Notes added after a job is closed (issue 10, defect 1): the notes are part of the
-- content the customer signed, so a closed job's notes no longer change; a note after
-- completion is an addendum, recorded and synced (AddAddendum), outside the signed content.
CREATE TABLE work_order_addendum (
    id            TEXT PRIMARY KEY,
    work_order_id TEXT NOT NULL REFERENCES work_order(id),
    text          TEXT NOT NULL CHECK (length(trim(text)) BETWEEN 1 AND 2000),
    at            TEXT NOT NULL,
    op_id         TEXT NOT NULL
);
CREATE INDEX work_order_addendum_order ON work_order_addendum(work_order_id, at);
