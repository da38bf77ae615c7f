-- onsite-hq schema, version 1. Never edit once shipped: add 0002_*.sql instead.
-- Ids are UUID text, times RFC 3339 UTC text (microseconds, 'Z'), JSON as text.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- One row per write transaction that devices can see: its rowid is the commit sequence.
CREATE TABLE commits (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at  TEXT NOT NULL
);

CREATE TABLE technicians (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE enrolment_codes (
    code_hash     TEXT PRIMARY KEY,
    technician_id TEXT NOT NULL REFERENCES technicians(id),
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    used_at       TEXT,
    device_id     TEXT
) STRICT;

CREATE TABLE devices (
    id            TEXT PRIMARY KEY,
    technician_id TEXT NOT NULL REFERENCES technicians(id),
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    enrolled_at   TEXT NOT NULL,
    revoked_at    TEXT
) STRICT;

CREATE TABLE work_orders (
    id                TEXT PRIMARY KEY,
    order_no          TEXT NOT NULL UNIQUE,
    version           INTEGER NOT NULL,
    technician_id     TEXT REFERENCES technicians(id),
    status            TEXT NOT NULL,
    job_type          TEXT NOT NULL,
    customer_name     TEXT NOT NULL,
    customer_phone    TEXT NOT NULL,
    customer_address  TEXT NOT NULL,
    appliance         TEXT NOT NULL,
    reported_fault    TEXT NOT NULL,
    notes             TEXT NOT NULL,
    appointment_start TEXT NOT NULL,
    appointment_end   TEXT NOT NULL,
    cancel_reason     TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    completed_at      TEXT
) STRICT;
CREATE INDEX work_orders_status ON work_orders(status, completed_at);

-- Every technician a work order was ever assigned to (facts from them are kept).
CREATE TABLE assignments (
    work_order_id TEXT NOT NULL REFERENCES work_orders(id),
    technician_id TEXT NOT NULL REFERENCES technicians(id),
    assigned_at   TEXT NOT NULL,
    PRIMARY KEY (work_order_id, technician_id)
) STRICT, WITHOUT ROWID;

-- Technicians' facts: append-only, keyed by the client's fact id.
CREATE TABLE facts (
    fact_id       TEXT PRIMARY KEY,
    op_id         TEXT NOT NULL,
    work_order_id TEXT NOT NULL REFERENCES work_orders(id),
    technician_id TEXT NOT NULL REFERENCES technicians(id),
    device_id     TEXT NOT NULL REFERENCES devices(id),
    kind          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    base_version  INTEGER,
    received_at   TEXT NOT NULL,
    seq           INTEGER NOT NULL
) STRICT;
CREATE INDEX facts_work_order ON facts(work_order_id, seq);

-- The stored result of every op a device pushed, for idempotent replays.
CREATE TABLE processed_ops (
    device_id    TEXT NOT NULL REFERENCES devices(id),
    op_id        TEXT NOT NULL,
    device_seq   INTEGER NOT NULL,
    result       TEXT NOT NULL,
    processed_at TEXT NOT NULL,
    PRIMARY KEY (device_id, op_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE review_flags (
    id            TEXT PRIMARY KEY,
    work_order_id TEXT NOT NULL REFERENCES work_orders(id),
    reason        TEXT NOT NULL,
    op_id         TEXT NOT NULL,
    technician_id TEXT NOT NULL REFERENCES technicians(id),
    device_id     TEXT NOT NULL REFERENCES devices(id),
    created_at    TEXT NOT NULL,
    resolved_at   TEXT
) STRICT;
CREATE INDEX review_flags_open ON review_flags(work_order_id, reason, resolved_at);

CREATE TABLE fee_tables (
    version        INTEGER PRIMARY KEY,
    effective_from TEXT NOT NULL,
    published_at   TEXT NOT NULL,
    items          TEXT NOT NULL
) STRICT;

CREATE TABLE parts_catalogues (
    version      INTEGER PRIMARY KEY,
    published_at TEXT NOT NULL,
    parts        TEXT NOT NULL
) STRICT;

CREATE TABLE price_lists (
    version        INTEGER PRIMARY KEY,
    effective_from TEXT NOT NULL,
    published_at   TEXT NOT NULL,
    prices         TEXT NOT NULL
) STRICT;

-- What each technician ('*' = everyone) sees: the latest commit that changed an entity.
CREATE TABLE feed (
    audience    TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    removed     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (audience, entity_type, entity_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX feed_by_seq ON feed(audience, seq);

CREATE TABLE blobs (
    sha256    TEXT PRIMARY KEY,
    size      INTEGER NOT NULL,
    data      BLOB NOT NULL,
    stored_at TEXT NOT NULL
) STRICT;
