-- Parts issued to technicians (their devices add them to the van stock once per id) and
-- the company profile every device prints (docs/hq-reference-data.md). Issues are
-- append-only; the company profile is one row, replaced.
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
