-- Onsite local store, schema 1. Never edit a shipped migration: add a new file.
-- Times are RFC 3339 UTC text ('2026-11-24T01:00:00Z'), sortable as text.
-- Money is integer minor units (fen). Ids are UUIDv7 text, born where the record is born.

CREATE TABLE technician (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    phone       TEXT NOT NULL DEFAULT '',
    employee_no TEXT NOT NULL DEFAULT ''
);

CREATE TABLE customer (
    id       TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    phone    TEXT NOT NULL DEFAULT '',
    address  TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL DEFAULT 'zh-CN',
    version  INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE appliance (
    id            TEXT PRIMARY KEY,
    customer_id   TEXT NOT NULL REFERENCES customer(id),
    category      TEXT NOT NULL,
    brand         TEXT NOT NULL DEFAULT '',
    model         TEXT NOT NULL,
    serial_no     TEXT,
    purchase_date TEXT,
    proof_kind    TEXT NOT NULL DEFAULT 'none' CHECK (proof_kind IN ('none', 'receipt', 'invoice')),
    proof_date    TEXT,
    proof_sealed  INTEGER NOT NULL DEFAULT 0 CHECK (proof_sealed IN (0, 1))
);
CREATE INDEX appliance_customer ON appliance(customer_id);

CREATE TABLE work_order (
    seq               INTEGER PRIMARY KEY,  -- stable rowid, used by the search index
    id                TEXT NOT NULL UNIQUE,
    order_no          TEXT NOT NULL UNIQUE,
    technician_id     TEXT NOT NULL REFERENCES technician(id),
    customer_id       TEXT NOT NULL REFERENCES customer(id),
    appliance_id      TEXT NOT NULL REFERENCES appliance(id),
    job_type          TEXT NOT NULL CHECK (job_type IN ('install', 'maintain', 'repair', 'relocate', 'inspect')),
    status            TEXT NOT NULL CHECK (status IN ('assigned', 'en_route', 'on_site', 'in_progress',
                                                      'completed', 'unable_to_complete', 'cancelled')),
    reported_fault    TEXT NOT NULL DEFAULT '',
    appointment_start TEXT NOT NULL,
    appointment_end   TEXT NOT NULL,
    notes             TEXT NOT NULL DEFAULT '',
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    version           INTEGER NOT NULL DEFAULT 1,
    CHECK (appointment_end >= appointment_start)
);
CREATE INDEX work_order_tech_time ON work_order(technician_id, appointment_start);
CREATE INDEX work_order_appliance ON work_order(appliance_id, appointment_start);
CREATE INDEX work_order_open ON work_order(technician_id, appointment_start)
    WHERE status IN ('assigned', 'en_route', 'on_site', 'in_progress');

CREATE TABLE work_order_status (
    id            INTEGER PRIMARY KEY,
    work_order_id TEXT NOT NULL REFERENCES work_order(id),
    from_status   TEXT,
    to_status     TEXT NOT NULL,
    at            TEXT NOT NULL,
    reason        TEXT,
    op_id         TEXT
);
CREATE INDEX work_order_status_order ON work_order_status(work_order_id, id);

-- Fee tables are versioned by effective date; a job is priced with the version in force
-- when the work was done.
CREATE TABLE fee_table (
    id             TEXT PRIMARY KEY,
    category       TEXT NOT NULL,
    version        INTEGER NOT NULL,
    effective_from TEXT NOT NULL,
    currency       TEXT NOT NULL DEFAULT 'CNY',
    UNIQUE (category, version),
    UNIQUE (category, effective_from)
);

CREATE TABLE fee_item (
    fee_table_id TEXT NOT NULL REFERENCES fee_table(id),
    code         TEXT NOT NULL,
    name_zh      TEXT NOT NULL,
    name_en      TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('service', 'labour', 'travel', 'part')),
    price_minor  INTEGER NOT NULL CHECK (price_minor >= 0),
    plus_parts   INTEGER NOT NULL DEFAULT 0 CHECK (plus_parts IN (0, 1)),
    open_priced  INTEGER NOT NULL DEFAULT 0 CHECK (open_priced IN (0, 1)),
    includes     TEXT NOT NULL DEFAULT '',  -- bundles: space-separated codes this item replaces
    PRIMARY KEY (fee_table_id, code)
) WITHOUT ROWID;

CREATE TABLE part (
    id              TEXT PRIMARY KEY,
    part_no         TEXT NOT NULL UNIQUE,
    name_zh         TEXT NOT NULL,
    name_en         TEXT NOT NULL,
    category        TEXT NOT NULL,
    price_minor     INTEGER NOT NULL CHECK (price_minor >= 0),
    serialized      INTEGER NOT NULL DEFAULT 0 CHECK (serialized IN (0, 1)),
    consumable      INTEGER NOT NULL DEFAULT 0 CHECK (consumable IN (0, 1)),
    return_required INTEGER NOT NULL DEFAULT 0 CHECK (return_required IN (0, 1))
);

CREATE TABLE van_stock (
    part_id    TEXT PRIMARY KEY REFERENCES part(id),
    quantity   INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);

-- Every change a user makes writes its rows and one outbox operation in the same
-- transaction. device_seq orders the push.
CREATE TABLE outbox (
    device_seq   INTEGER PRIMARY KEY AUTOINCREMENT,
    op_id        TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    base_version INTEGER,
    payload      TEXT NOT NULL CHECK (json_valid(payload)),
    created_at   TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'applied', 'rejected')),
    result       TEXT
);
CREATE INDEX outbox_pending ON outbox(device_seq) WHERE state = 'pending';

-- Device-local settings (language, device id, sync cursor): never synced.
CREATE TABLE setting (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
