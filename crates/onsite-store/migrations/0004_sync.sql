-- Sync state (issue 5): the enrolment and pull position, per-op push results, blobs to
-- upload, what was pulled from head office, and jobs flagged for review on this device.
-- Applying pulled data writes no outbox row: it is not a user change.

-- One row once the device is enrolled. The token is a bearer secret: the local database
-- is not yet encrypted at rest (docs/store.md, docs/sync.md).
CREATE TABLE sync_state (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    server_url      TEXT NOT NULL,
    ca_pem          TEXT,
    device_id       TEXT NOT NULL,
    technician_id   TEXT NOT NULL,
    token           TEXT NOT NULL,
    epoch           TEXT NOT NULL,          -- the server epoch the cursor belongs to
    cursor          TEXT,                   -- last saved pull page's cursor; NULL: from scratch
    refetch_gen     INTEGER NOT NULL DEFAULT 0,  -- bumped by each full refetch (reset)
    refetching      INTEGER NOT NULL DEFAULT 0 CHECK (refetching IN (0, 1)),
    last_success_at TEXT,
    last_attempt_at TEXT,
    last_error      TEXT                    -- no customer data
);

-- The server's result of each pushed op, written in the same transaction that moves the
-- op's outbox.state to 'applied' or 'rejected'. acked_epoch: the server epoch that
-- acknowledged it (a new epoch after a restore re-sends ops acknowledged in older ones).
CREATE TABLE op_result (
    op_id        TEXT PRIMARY KEY REFERENCES outbox(op_id),
    outcome      TEXT NOT NULL CHECK (outcome IN ('applied', 'rejected')),
    server_seq   INTEGER,
    flagged      INTEGER NOT NULL DEFAULT 0 CHECK (flagged IN (0, 1)),
    reject_code  TEXT,
    reason       TEXT,
    acked_epoch  TEXT NOT NULL,
    at           TEXT NOT NULL
);

-- Content-addressed bytes that ops reference (signatures, photos, PDFs).
CREATE TABLE blob (
    sha256      TEXT PRIMARY KEY CHECK (length(sha256) = 64),
    bytes       BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    uploaded_at TEXT                        -- acknowledged by head office
) WITHOUT ROWID;

-- Work orders as head office last sent them (what the local row was merged from).
CREATE TABLE pulled_work_order (
    id             TEXT PRIMARY KEY REFERENCES work_order(id),
    server_version INTEGER NOT NULL,
    server_status  TEXT NOT NULL,
    hq_notes       TEXT NOT NULL DEFAULT '',
    cancel_reason  TEXT,
    server_seq     INTEGER NOT NULL,
    refetch_gen    INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- Facts this technician recorded on other devices (and this one), as head office stored them.
CREATE TABLE pulled_fact (
    fact_id       TEXT PRIMARY KEY,
    op_id         TEXT NOT NULL,
    work_order_id TEXT NOT NULL,
    device_id     TEXT NOT NULL,
    kind          TEXT NOT NULL,
    payload       TEXT NOT NULL CHECK (json_valid(payload)),
    received_at   TEXT NOT NULL
) WITHOUT ROWID;

-- Fee tables, parts catalogues and price lists as published (JSON), by version.
CREATE TABLE hq_reference (
    kind           TEXT NOT NULL CHECK (kind IN ('fee_table', 'parts_catalogue', 'price_list')),
    version        INTEGER NOT NULL,
    effective_from TEXT,
    body           TEXT NOT NULL CHECK (json_valid(body)),
    PRIMARY KEY (kind, version)
) WITHOUT ROWID;

-- Jobs to look at again: cancelled or reassigned at head office while the technician had
-- recorded work on them here, or gone after a server restore.
CREATE TABLE review_flag (
    work_order_id TEXT NOT NULL,
    reason        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    resolved_at   TEXT,
    PRIMARY KEY (work_order_id, reason)
) WITHOUT ROWID;
