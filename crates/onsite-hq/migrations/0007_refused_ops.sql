-- Issue 9: every op head office refused, kept whole (not only its outcome in
-- processed_ops), so that the office can see it and apply it once the cause is fixed. A
-- refusal whose cause can go away is not final: the op is decided again when the device
-- sends it again (processed_ops then holds the latest result).
CREATE TABLE refused_ops (
    device_id        TEXT NOT NULL REFERENCES devices(id),
    op_id            TEXT NOT NULL,
    technician_id    TEXT NOT NULL REFERENCES technicians(id),
    device_seq       INTEGER NOT NULL,
    kind             TEXT NOT NULL,
    entity_id        TEXT NOT NULL,
    base_version     INTEGER,
    payload          TEXT NOT NULL,
    file_missing     TEXT,
    code             TEXT NOT NULL,
    reason           TEXT NOT NULL,
    first_refused_at TEXT NOT NULL,
    last_refused_at  TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 1,
    resolved_at      TEXT,
    resolution       TEXT,
    PRIMARY KEY (device_id, op_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX refused_ops_open ON refused_ops(resolved_at, first_refused_at);

-- A fact may come without the file it references (lost or damaged on the device): the
-- technician's reason, and the job is flagged for review.
ALTER TABLE facts ADD COLUMN file_missing TEXT;
