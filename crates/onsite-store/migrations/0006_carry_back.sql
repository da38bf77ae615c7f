-- Carry-back (000 §5.10): the goods in/out log. One row per appliance taken; every state
-- change is an event row; rows are never deleted.
CREATE TABLE carry_back (
    id                TEXT PRIMARY KEY,
    receipt_no        TEXT NOT NULL UNIQUE,
    work_order_id     TEXT NOT NULL REFERENCES work_order(id),
    item              TEXT NOT NULL CHECK (length(trim(item)) > 0),
    serial_no         TEXT,
    accessories       TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(accessories)),
    condition         TEXT NOT NULL DEFAULT '',
    fault             TEXT NOT NULL DEFAULT '',
    expected_return   TEXT NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('taken', 'at_workshop', 'repaired', 'returned')),
    taken_at          TEXT NOT NULL,
    taken_signer      TEXT NOT NULL,
    taken_png_sha256  TEXT NOT NULL CHECK (length(taken_png_sha256) = 64),
    taken_strokes     TEXT NOT NULL CHECK (json_valid(taken_strokes)),
    returned_at       TEXT,
    receipt_collected INTEGER CHECK (receipt_collected IN (0, 1)),
    receipt_lost_note TEXT,
    returned_signer   TEXT,
    returned_png_sha256 TEXT,
    returned_strokes  TEXT,
    CHECK ((state = 'returned') = (returned_at IS NOT NULL))
);
CREATE INDEX carry_back_order ON carry_back(work_order_id);
CREATE INDEX carry_back_open ON carry_back(taken_at) WHERE state <> 'returned';

CREATE TABLE carry_back_photo (
    carry_back_id TEXT NOT NULL REFERENCES carry_back(id),
    sha256        TEXT NOT NULL CHECK (length(sha256) = 64),
    PRIMARY KEY (carry_back_id, sha256)
) WITHOUT ROWID;

CREATE TABLE carry_back_event (
    id            INTEGER PRIMARY KEY,
    carry_back_id TEXT NOT NULL REFERENCES carry_back(id),
    state         TEXT NOT NULL,
    at            TEXT NOT NULL
);
