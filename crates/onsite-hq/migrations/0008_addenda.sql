-- Issue 10: notes a technician adds after a job is closed (add_addendum facts), kept
-- apart from the job's notes and from the content the customer signed. The fact itself
-- is in `facts` like every other; this table is the job's addenda as the office reads them.
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
