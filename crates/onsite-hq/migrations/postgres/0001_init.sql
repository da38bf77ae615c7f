-- onsite-hq schema for PostgreSQL, version 1: the SQLite schema as of its migration 0009,
-- table for table and column for column (docs/hq-postgres.md). Never edit once shipped: add
-- 0002_*.sql instead. Ids are UUID text, times RFC 3339 UTC text with microseconds and 'Z'
-- (so that text order is time order, as in SQLite), JSON as text; integers are BIGINT
-- (SQLite's INTEGER), flags BOOLEAN, blob bytes BYTEA.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- The commit counter: one row. A write that devices can see takes the next number with
-- `UPDATE commit_counter SET seq = seq + 1 RETURNING seq` inside its transaction, which
-- holds the row's lock until commit: a number is never visible before every smaller one
-- (docs/hq-storage.md, rule 1). A SEQUENCE would not do: nextval order is not commit order.
CREATE TABLE commit_counter (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL
);
INSERT INTO commit_counter (id, seq) VALUES (1, 0);

-- One row per write transaction that devices can see.
CREATE TABLE commits (
    seq BIGINT PRIMARY KEY,
    at  TEXT NOT NULL,
    tag TEXT
);

CREATE TABLE technicians (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE enrolment_codes (
    code_hash     TEXT PRIMARY KEY,
    technician_id TEXT NOT NULL REFERENCES technicians(id),
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    used_at       TEXT,
    device_id     TEXT
);

CREATE TABLE devices (
    id            TEXT PRIMARY KEY,
    technician_id TEXT NOT NULL REFERENCES technicians(id),
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    enrolled_at   TEXT NOT NULL,
    revoked_at    TEXT,
    lost_at       TEXT,
    erased_at     TEXT,
    erased_report TEXT
);

CREATE TABLE work_orders (
    id                TEXT PRIMARY KEY,
    order_no          TEXT NOT NULL UNIQUE,
    version           BIGINT NOT NULL,
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
    completed_at      TEXT,
    customer_language TEXT NOT NULL DEFAULT 'zh-CN'
);
CREATE INDEX work_orders_status ON work_orders(status, completed_at);

CREATE TABLE assignments (
    work_order_id TEXT NOT NULL REFERENCES work_orders(id),
    technician_id TEXT NOT NULL REFERENCES technicians(id),
    assigned_at   TEXT NOT NULL,
    PRIMARY KEY (work_order_id, technician_id)
);

CREATE TABLE facts (
    fact_id       TEXT PRIMARY KEY,
    op_id         TEXT NOT NULL,
    work_order_id TEXT NOT NULL REFERENCES work_orders(id),
    technician_id TEXT NOT NULL REFERENCES technicians(id),
    device_id     TEXT NOT NULL REFERENCES devices(id),
    kind          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    base_version  BIGINT,
    received_at   TEXT NOT NULL,
    seq           BIGINT NOT NULL,
    file_missing  TEXT
);
CREATE INDEX facts_work_order ON facts(work_order_id, seq);
CREATE INDEX facts_kind ON facts(kind, seq);

-- The stored result of every op a device pushed, for idempotent replays: the primary key
-- is what makes the same op pushed to two instances at once apply once.
CREATE TABLE processed_ops (
    device_id    TEXT NOT NULL REFERENCES devices(id),
    op_id        TEXT NOT NULL,
    device_seq   BIGINT NOT NULL,
    result       TEXT NOT NULL,
    processed_at TEXT NOT NULL,
    PRIMARY KEY (device_id, op_id)
);

CREATE TABLE review_flags (
    id            TEXT PRIMARY KEY,
    work_order_id TEXT NOT NULL REFERENCES work_orders(id),
    reason        TEXT NOT NULL,
    op_id         TEXT NOT NULL,
    technician_id TEXT NOT NULL REFERENCES technicians(id),
    device_id     TEXT NOT NULL REFERENCES devices(id),
    created_at    TEXT NOT NULL,
    resolved_at   TEXT
);
CREATE INDEX review_flags_open ON review_flags(work_order_id, reason, resolved_at);

CREATE TABLE fee_tables (
    version        BIGINT PRIMARY KEY,
    effective_from TEXT NOT NULL,
    published_at   TEXT NOT NULL,
    items          TEXT NOT NULL,
    category       TEXT NOT NULL DEFAULT 'hq'
);
CREATE INDEX fee_tables_category ON fee_tables(category, effective_from);

CREATE TABLE parts_catalogues (
    version      BIGINT PRIMARY KEY,
    published_at TEXT NOT NULL,
    parts        TEXT NOT NULL
);

CREATE TABLE price_lists (
    version        BIGINT PRIMARY KEY,
    effective_from TEXT NOT NULL,
    published_at   TEXT NOT NULL,
    prices         TEXT NOT NULL
);

-- What each technician ('*' = everyone) sees: the latest commit that changed an entity.
CREATE TABLE feed (
    audience    TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    removed     BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (audience, entity_type, entity_id)
);
CREATE INDEX feed_by_seq ON feed(audience, seq);

-- Blobs live in the database, so that every instance serves every blob (docs/hq-postgres.md).
CREATE TABLE blobs (
    sha256    TEXT PRIMARY KEY,
    size      BIGINT NOT NULL,
    data      BYTEA NOT NULL,
    stored_at TEXT NOT NULL
);

CREATE TABLE technician_day_facts (
    fact_id       TEXT PRIMARY KEY,
    op_id         TEXT NOT NULL,
    technician_id TEXT NOT NULL REFERENCES technicians(id),
    device_id     TEXT NOT NULL REFERENCES devices(id),
    day           TEXT NOT NULL,
    kind          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    entity_id     TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    seq           BIGINT NOT NULL
);
CREATE INDEX technician_day_facts_day ON technician_day_facts(day, technician_id, seq);

CREATE TABLE parts_issues (
    id            TEXT PRIMARY KEY,
    technician_id TEXT NOT NULL REFERENCES technicians(id),
    issued_at     TEXT NOT NULL,
    lines         TEXT NOT NULL,
    note          TEXT,
    work_order_id TEXT REFERENCES work_orders(id)
);
CREATE INDEX parts_issues_by_technician ON parts_issues(technician_id, issued_at);

CREATE TABLE company (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    name       TEXT NOT NULL,
    phone      TEXT NOT NULL,
    address    TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE refused_ops (
    device_id        TEXT NOT NULL REFERENCES devices(id),
    op_id            TEXT NOT NULL,
    technician_id    TEXT NOT NULL REFERENCES technicians(id),
    device_seq       BIGINT NOT NULL,
    kind             TEXT NOT NULL,
    entity_id        TEXT NOT NULL,
    base_version     BIGINT,
    payload          TEXT NOT NULL,
    file_missing     TEXT,
    code             TEXT NOT NULL,
    reason           TEXT NOT NULL,
    first_refused_at TEXT NOT NULL,
    last_refused_at  TEXT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 1,
    resolved_at      TEXT,
    resolution       TEXT,
    PRIMARY KEY (device_id, op_id)
);
CREATE INDEX refused_ops_open ON refused_ops(resolved_at, first_refused_at);

CREATE TABLE addenda (
    fact_id       TEXT PRIMARY KEY REFERENCES facts(fact_id),
    addendum_id   TEXT NOT NULL,
    work_order_id TEXT NOT NULL REFERENCES work_orders(id),
    technician_id TEXT NOT NULL REFERENCES technicians(id),
    device_id     TEXT NOT NULL,
    text          TEXT NOT NULL,
    at            TEXT NOT NULL,
    received_at   TEXT NOT NULL
);
CREATE INDEX addenda_order ON addenda(work_order_id, at);

-- The technician-day export compares expenses by the time in their payload (SQLite:
-- julianday(), NULL for text that is not a time): the same here, NULL instead of an error.
CREATE FUNCTION onsite_try_timestamptz(t TEXT) RETURNS TIMESTAMPTZ
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN t::timestamptz;
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$;
