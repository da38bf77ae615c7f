-- The fields the device's pricing needs from head office (docs/hq-reference-data.md):
-- the customer's language and the fee table's appliance category. Existing rows take the
-- wire types' defaults. (The appliance's proof of purchase and contracts, and the fee
-- items' new fields, live in the JSON columns `work_orders.appliance` and
-- `fee_tables.items`: no column needed.)
ALTER TABLE work_orders ADD COLUMN customer_language TEXT NOT NULL DEFAULT 'zh-CN';
ALTER TABLE fee_tables ADD COLUMN category TEXT NOT NULL DEFAULT 'hq';
CREATE INDEX fee_tables_category ON fee_tables(category, effective_from);
