-- Maintenance contracts on an appliance (DOMAIN.md: contract service). Within its dates
-- a contract makes what it covers (labour, parts or both) free, whatever the warranty.
-- Head office's, replaced as a set when a work order is pulled; the demo seeds one.
CREATE TABLE service_contract (
    appliance_id TEXT NOT NULL REFERENCES appliance(id) ON DELETE CASCADE,
    reference    TEXT NOT NULL,
    covers       TEXT NOT NULL CHECK (covers IN ('labour', 'parts', 'both')),
    valid_from   TEXT NOT NULL,
    valid_to     TEXT NOT NULL,
    PRIMARY KEY (appliance_id, reference),
    CHECK (valid_from <= valid_to)
) STRICT;
