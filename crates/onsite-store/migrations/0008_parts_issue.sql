-- Parts head office issued to this technician, pulled (docs/hq-reference-data.md). One row
-- per issue applied; an issue whose id is here is never applied again (a refetch after a
-- server restore sends it again). Its stock goes through the ledger as 'restock'
-- movements (ref_id = the issue id), so no CHECK on stock_movement.kind changes.
CREATE TABLE parts_issue (
    id            TEXT PRIMARY KEY,
    issued_at     TEXT NOT NULL,
    work_order_id TEXT,      -- head office's repair order; informational (may not be here)
    note          TEXT,
    lines         TEXT NOT NULL CHECK (json_valid(lines)),  -- [{"part_no": "..", "quantity": n}]
    applied_at    TEXT NOT NULL
) WITHOUT ROWID;
