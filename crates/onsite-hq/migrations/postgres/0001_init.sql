-- onsite-hq schema for PostgreSQL, version 1: the SQLite schema as of its migration 0009,
-- table for table and column for column (docs/hq-postgres.md). Never edit once shipped: add
-- 0002_*.sql instead. Ids are UUID text, times RFC 3339 UTC text with microseconds and 'Z'
-- (so that text order is time order, as in SQLite), JSON as text; integers are BIGINT
-- (SQLite's INTEGER), flags BOOLEAN, blob bytes BYTEA. Every text column compares byte by
-- byte (COLLATE "C", SQLite's BINARY), whatever the database's locale: lists sort and
-- ranges compare as on SQLite.

CREATE TABLE meta (
    key   TEXT COLLATE "C" PRIMARY KEY,
    value TEXT COLLATE "C" NOT NULL
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
    at  TEXT COLLATE "C" NOT NULL,
    tag TEXT COLLATE "C"
);

CREATE TABLE technicians (
    id         TEXT COLLATE "C" PRIMARY KEY,
    name       TEXT COLLATE "C" NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL
);

CREATE TABLE enrolment_codes (
    code_hash     TEXT COLLATE "C" PRIMARY KEY,
    technician_id TEXT COLLATE "C" NOT NULL REFERENCES technicians(id),
    created_at    TEXT COLLATE "C" NOT NULL,
    expires_at    TEXT COLLATE "C" NOT NULL,
    used_at       TEXT COLLATE "C",
    device_id     TEXT COLLATE "C"
);

CREATE TABLE devices (
    id            TEXT COLLATE "C" PRIMARY KEY,
    technician_id TEXT COLLATE "C" NOT NULL REFERENCES technicians(id),
    name          TEXT COLLATE "C" NOT NULL,
    token_hash    TEXT COLLATE "C" NOT NULL UNIQUE,
    enrolled_at   TEXT COLLATE "C" NOT NULL,
    revoked_at    TEXT COLLATE "C",
    lost_at       TEXT COLLATE "C",
    erased_at     TEXT COLLATE "C",
    erased_report TEXT COLLATE "C"
);

CREATE TABLE work_orders (
    id                TEXT COLLATE "C" PRIMARY KEY,
    order_no          TEXT COLLATE "C" NOT NULL UNIQUE,
    version           BIGINT NOT NULL,
    technician_id     TEXT COLLATE "C" REFERENCES technicians(id),
    status            TEXT COLLATE "C" NOT NULL,
    job_type          TEXT COLLATE "C" NOT NULL,
    customer_name     TEXT COLLATE "C" NOT NULL,
    customer_phone    TEXT COLLATE "C" NOT NULL,
    customer_address  TEXT COLLATE "C" NOT NULL,
    appliance         TEXT COLLATE "C" NOT NULL,
    reported_fault    TEXT COLLATE "C" NOT NULL,
    notes             TEXT COLLATE "C" NOT NULL,
    appointment_start TEXT COLLATE "C" NOT NULL,
    appointment_end   TEXT COLLATE "C" NOT NULL,
    cancel_reason     TEXT COLLATE "C",
    created_at        TEXT COLLATE "C" NOT NULL,
    updated_at        TEXT COLLATE "C" NOT NULL,
    completed_at      TEXT COLLATE "C",
    customer_language TEXT COLLATE "C" NOT NULL DEFAULT 'zh-CN'
);
CREATE INDEX work_orders_status ON work_orders(status, completed_at);

CREATE TABLE assignments (
    work_order_id TEXT COLLATE "C" NOT NULL REFERENCES work_orders(id),
    technician_id TEXT COLLATE "C" NOT NULL REFERENCES technicians(id),
    assigned_at   TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (work_order_id, technician_id)
);

CREATE TABLE facts (
    fact_id       TEXT COLLATE "C" PRIMARY KEY,
    op_id         TEXT COLLATE "C" NOT NULL,
    work_order_id TEXT COLLATE "C" NOT NULL REFERENCES work_orders(id),
    technician_id TEXT COLLATE "C" NOT NULL REFERENCES technicians(id),
    device_id     TEXT COLLATE "C" NOT NULL REFERENCES devices(id),
    kind          TEXT COLLATE "C" NOT NULL,
    payload       TEXT COLLATE "C" NOT NULL,
    base_version  BIGINT,
    received_at   TEXT COLLATE "C" NOT NULL,
    seq           BIGINT NOT NULL,
    file_missing  TEXT COLLATE "C"
);
CREATE INDEX facts_work_order ON facts(work_order_id, seq);
CREATE INDEX facts_kind ON facts(kind, seq);

-- The stored result of every op a device pushed, for idempotent replays: the primary key
-- is what makes the same op pushed to two instances at once apply once.
CREATE TABLE processed_ops (
    device_id    TEXT COLLATE "C" NOT NULL REFERENCES devices(id),
    op_id        TEXT COLLATE "C" NOT NULL,
    device_seq   BIGINT NOT NULL,
    result       TEXT COLLATE "C" NOT NULL,
    processed_at TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (device_id, op_id)
);

CREATE TABLE review_flags (
    id            TEXT COLLATE "C" PRIMARY KEY,
    work_order_id TEXT COLLATE "C" NOT NULL REFERENCES work_orders(id),
    reason        TEXT COLLATE "C" NOT NULL,
    op_id         TEXT COLLATE "C" NOT NULL,
    technician_id TEXT COLLATE "C" NOT NULL REFERENCES technicians(id),
    device_id     TEXT COLLATE "C" NOT NULL REFERENCES devices(id),
    created_at    TEXT COLLATE "C" NOT NULL,
    resolved_at   TEXT COLLATE "C"
);
CREATE INDEX review_flags_open ON review_flags(work_order_id, reason, resolved_at);

CREATE TABLE fee_tables (
    version        BIGINT PRIMARY KEY,
    effective_from TEXT COLLATE "C" NOT NULL,
    published_at   TEXT COLLATE "C" NOT NULL,
    items          TEXT COLLATE "C" NOT NULL,
    category       TEXT COLLATE "C" NOT NULL DEFAULT 'hq'
);
CREATE INDEX fee_tables_category ON fee_tables(category, effective_from);

CREATE TABLE parts_catalogues (
    version      BIGINT PRIMARY KEY,
    published_at TEXT COLLATE "C" NOT NULL,
    parts        TEXT COLLATE "C" NOT NULL
);

CREATE TABLE price_lists (
    version        BIGINT PRIMARY KEY,
    effective_from TEXT COLLATE "C" NOT NULL,
    published_at   TEXT COLLATE "C" NOT NULL,
    prices         TEXT COLLATE "C" NOT NULL
);

-- What each technician ('*' = everyone) sees: the latest commit that changed an entity.
CREATE TABLE feed (
    audience    TEXT COLLATE "C" NOT NULL,
    entity_type TEXT COLLATE "C" NOT NULL,
    entity_id   TEXT COLLATE "C" NOT NULL,
    seq         BIGINT NOT NULL,
    removed     BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (audience, entity_type, entity_id)
);
CREATE INDEX feed_by_seq ON feed(audience, seq);

-- Blobs live in the database, so that every instance serves every blob (docs/hq-postgres.md).
CREATE TABLE blobs (
    sha256    TEXT COLLATE "C" PRIMARY KEY,
    size      BIGINT NOT NULL,
    data      BYTEA NOT NULL,
    stored_at TEXT COLLATE "C" NOT NULL
);

CREATE TABLE technician_day_facts (
    fact_id       TEXT COLLATE "C" PRIMARY KEY,
    op_id         TEXT COLLATE "C" NOT NULL,
    technician_id TEXT COLLATE "C" NOT NULL REFERENCES technicians(id),
    device_id     TEXT COLLATE "C" NOT NULL REFERENCES devices(id),
    day           TEXT COLLATE "C" NOT NULL,
    kind          TEXT COLLATE "C" NOT NULL,
    payload       TEXT COLLATE "C" NOT NULL,
    entity_id     TEXT COLLATE "C" NOT NULL,
    received_at   TEXT COLLATE "C" NOT NULL,
    seq           BIGINT NOT NULL
);
CREATE INDEX technician_day_facts_day ON technician_day_facts(day, technician_id, seq);

CREATE TABLE parts_issues (
    id            TEXT COLLATE "C" PRIMARY KEY,
    technician_id TEXT COLLATE "C" NOT NULL REFERENCES technicians(id),
    issued_at     TEXT COLLATE "C" NOT NULL,
    lines         TEXT COLLATE "C" NOT NULL,
    note          TEXT COLLATE "C",
    work_order_id TEXT COLLATE "C" REFERENCES work_orders(id)
);
CREATE INDEX parts_issues_by_technician ON parts_issues(technician_id, issued_at);

CREATE TABLE company (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    name       TEXT COLLATE "C" NOT NULL,
    phone      TEXT COLLATE "C" NOT NULL,
    address    TEXT COLLATE "C" NOT NULL,
    updated_at TEXT COLLATE "C" NOT NULL
);

CREATE TABLE refused_ops (
    device_id        TEXT COLLATE "C" NOT NULL REFERENCES devices(id),
    op_id            TEXT COLLATE "C" NOT NULL,
    technician_id    TEXT COLLATE "C" NOT NULL REFERENCES technicians(id),
    device_seq       BIGINT NOT NULL,
    kind             TEXT COLLATE "C" NOT NULL,
    entity_id        TEXT COLLATE "C" NOT NULL,
    base_version     BIGINT,
    payload          TEXT COLLATE "C" NOT NULL,
    file_missing     TEXT COLLATE "C",
    code             TEXT COLLATE "C" NOT NULL,
    reason           TEXT COLLATE "C" NOT NULL,
    first_refused_at TEXT COLLATE "C" NOT NULL,
    last_refused_at  TEXT COLLATE "C" NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 1,
    resolved_at      TEXT COLLATE "C",
    resolution       TEXT COLLATE "C",
    PRIMARY KEY (device_id, op_id)
);
CREATE INDEX refused_ops_open ON refused_ops(resolved_at, first_refused_at);

CREATE TABLE addenda (
    fact_id       TEXT COLLATE "C" PRIMARY KEY REFERENCES facts(fact_id),
    addendum_id   TEXT COLLATE "C" NOT NULL,
    work_order_id TEXT COLLATE "C" NOT NULL REFERENCES work_orders(id),
    technician_id TEXT COLLATE "C" NOT NULL REFERENCES technicians(id),
    device_id     TEXT COLLATE "C" NOT NULL,
    text          TEXT COLLATE "C" NOT NULL,
    at            TEXT COLLATE "C" NOT NULL,
    received_at   TEXT COLLATE "C" NOT NULL
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
