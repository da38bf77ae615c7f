-- Technician facts that belong to the technician's day rather than to a work order:
-- van stock-takes, the day's expenses, unused stock returned without a job. Append-only
-- like `facts` (a re-sent fact is recognised by fact_id); `day` is the day they count for.
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
    seq           INTEGER NOT NULL
) STRICT;
CREATE INDEX technician_day_facts_day ON technician_day_facts(day, technician_id, seq);
