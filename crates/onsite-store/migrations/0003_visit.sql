-- The visit (issue 3): diagnosis, quote, parts movements, payments, feedback, expenses.
-- Every row a technician writes here is written together with one outbox operation
-- (see src/visit.rs). Money is integer fen; times RFC 3339 UTC text; days 'YYYY-MM-DD'.

-- What the rules engine needs from a fee item beyond 0001's columns.
--  coverable:   warranty or a contract may make the item free (relocation: 0).
--  component:   for parts priced from the table, the warranty component they are.
--  recoverable: the old part has a recovery value and must come back even when cheap.
ALTER TABLE fee_item ADD COLUMN coverable INTEGER NOT NULL DEFAULT 1 CHECK (coverable IN (0, 1));
ALTER TABLE fee_item ADD COLUMN component TEXT;
ALTER TABLE fee_item ADD COLUMN recoverable INTEGER NOT NULL DEFAULT 0 CHECK (recoverable IN (0, 1));

-- Warranty terms per component (part.category is the component of a van part).
-- category '' applies to every appliance category; a category's own row wins.
-- term: 'default' (the category's term), 'months' (own term), 'consumable' (never covered).
CREATE TABLE warranty_component (
    category TEXT NOT NULL DEFAULT '',
    code     TEXT NOT NULL,
    name_zh  TEXT NOT NULL,
    name_en  TEXT NOT NULL,
    term     TEXT NOT NULL CHECK (term IN ('default', 'months', 'consumable')),
    months   INTEGER CHECK (months IS NULL OR months BETWEEN 0 AND 1200),
    CHECK ((term = 'months') = (months IS NOT NULL)),
    PRIMARY KEY (category, code)
) WITHOUT ROWID;

INSERT INTO warranty_component (category, code, name_zh, name_en, term, months) VALUES
    ('', 'appliance',  '整机',     'Appliance',        'default',    NULL),
    ('', 'filter',     '滤芯',     'Filter',           'consumable', NULL),
    ('', 'pump',       '增压泵',   'Booster pump',     'default',    NULL),
    ('', 'valve',      '阀门',     'Valve',            'default',    NULL),
    ('', 'electrical', '电气部件', 'Electrical part',  'default',    NULL),
    ('', 'tank',       '压力桶',   'Pressure tank',    'default',    NULL),
    ('', 'fitting',    '管件配件', 'Fitting',          'default',    NULL),
    ('', 'heater',     '加热管',   'Heating element',  'default',    NULL),
    ('', 'glass',      '玻璃',     'Glass',            'months',     6),
    ('', 'mirror',     '镜子',     'Mirror',           'months',     6),
    ('', 'compressor', '压缩机',   'Compressor',       'months',     36);

-- Content-addressed files (photos): the bytes live in <blobs dir>/<sha256>, written
-- before the transaction that records them. One row per content, never duplicated.
CREATE TABLE visit_attachment (
    sha256     TEXT PRIMARY KEY CHECK (length(sha256) = 64),
    media_type TEXT NOT NULL,
    size       INTEGER NOT NULL CHECK (size > 0),
    file_name  TEXT NOT NULL,
    created_at TEXT NOT NULL
) WITHOUT ROWID;

-- Diagnoses are facts appended in order; the latest is the job's current diagnosis.
CREATE TABLE visit_diagnosis (
    seq           INTEGER PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    work_order_id TEXT NOT NULL REFERENCES work_order(id),
    fault_found   TEXT NOT NULL,
    components    TEXT NOT NULL CHECK (json_valid(components)),  -- ["pump", ...]
    exclusions    TEXT NOT NULL CHECK (json_valid(exclusions)),  -- [{"kind": "misuse", "component": null}]
    notes         TEXT NOT NULL DEFAULT '',
    recorded_at   TEXT NOT NULL,
    op_id         TEXT NOT NULL
);
CREATE INDEX visit_diagnosis_order ON visit_diagnosis(work_order_id, seq);

CREATE TABLE visit_diagnosis_photo (
    diagnosis_id TEXT NOT NULL REFERENCES visit_diagnosis(id),
    position     INTEGER NOT NULL,
    sha256       TEXT NOT NULL REFERENCES visit_attachment(sha256),
    PRIMARY KEY (diagnosis_id, position)
) WITHOUT ROWID;

-- Quotes: a priced snapshot (the rules' PricedJob as JSON, with the fee-table version),
-- its totals as columns, and the customer's decision. The latest quote of a job is its
-- current one; a new quote supersedes the previous one (which keeps its decision).
CREATE TABLE visit_quote (
    seq               INTEGER PRIMARY KEY,
    id                TEXT NOT NULL UNIQUE,
    work_order_id     TEXT NOT NULL REFERENCES work_order(id),
    fee_table_id      TEXT NOT NULL REFERENCES fee_table(id),
    fee_table_version INTEGER NOT NULL,
    visit_date        TEXT NOT NULL,
    work_date         TEXT NOT NULL,
    request           TEXT NOT NULL CHECK (json_valid(request)),
    priced            TEXT NOT NULL CHECK (json_valid(priced)),
    gross_minor       INTEGER NOT NULL,
    covered_minor     INTEGER NOT NULL,
    deposit_minor     INTEGER NOT NULL,
    charged_minor     INTEGER NOT NULL,
    due_minor         INTEGER NOT NULL CHECK (due_minor >= 0),
    issued_at         TEXT NOT NULL,
    issue_op_id       TEXT NOT NULL,
    decision          TEXT CHECK (decision IN ('accepted', 'declined')),
    decided_at        TEXT,
    decision_op_id    TEXT,
    callout_minor     INTEGER NOT NULL DEFAULT 0 CHECK (callout_minor >= 0),  -- due when declined
    callout           TEXT CHECK (callout IS NULL OR json_valid(callout)),   -- its priced job
    CHECK ((decision IS NULL) = (decided_at IS NULL))
);
CREATE INDEX visit_quote_order ON visit_quote(work_order_id, seq);

-- Deposits reversed because the old part came back (rules: PricedJob::reverse_deposit).
CREATE TABLE visit_deposit_reversal (
    quote_id     TEXT NOT NULL REFERENCES visit_quote(id),
    line_index   INTEGER NOT NULL,
    amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0),
    return_id    TEXT NOT NULL,
    at           TEXT NOT NULL,
    PRIMARY KEY (quote_id, line_index)
) WITHOUT ROWID;

-- The van's stock ledger. van_stock.quantity is always the sum of its part's movements:
-- inserting a van_stock row records an 'opening' movement, and every other movement is
-- applied to van_stock by the trigger below. Write movements, never van_stock directly.
CREATE TABLE stock_movement (
    id             INTEGER PRIMARY KEY,
    part_id        TEXT NOT NULL REFERENCES part(id),
    kind           TEXT NOT NULL CHECK (kind IN ('opening', 'consume', 'return_unused',
                                                  'stock_take', 'restock', 'adjust')),
    delta          INTEGER NOT NULL,
    work_order_id  TEXT REFERENCES work_order(id),
    ref_id         TEXT,      -- the part use, return or stock-take this movement belongs to
    override_reason TEXT,     -- set when the movement took stock below zero
    at             TEXT NOT NULL,
    op_id          TEXT
);
CREATE INDEX stock_movement_part ON stock_movement(part_id, id);

INSERT INTO stock_movement (part_id, kind, delta, at)
    SELECT part_id, 'opening', quantity, updated_at FROM van_stock;

CREATE TRIGGER van_stock_opening AFTER INSERT ON van_stock
BEGIN
    INSERT INTO stock_movement (part_id, kind, delta, at)
    VALUES (NEW.part_id, 'opening', NEW.quantity, NEW.updated_at);
END;

CREATE TRIGGER stock_movement_apply AFTER INSERT ON stock_movement WHEN NEW.kind <> 'opening'
BEGIN
    UPDATE van_stock SET quantity = quantity + NEW.delta, updated_at = NEW.at
    WHERE part_id = NEW.part_id;
END;

-- A part taken from the van for a job. Serialized parts carry the serial fitted and the
-- serial of the part removed from the appliance.
CREATE TABLE visit_part_use (
    seq             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    work_order_id   TEXT NOT NULL REFERENCES work_order(id),
    part_id         TEXT NOT NULL REFERENCES part(id),
    quantity        INTEGER NOT NULL CHECK (quantity > 0),
    serial_fitted   TEXT,
    serial_removed  TEXT,
    quote_id        TEXT REFERENCES visit_quote(id),
    override_reason TEXT,
    at              TEXT NOT NULL,
    op_id           TEXT NOT NULL
);
CREATE INDEX visit_part_use_order ON visit_part_use(work_order_id, seq);

-- Parts marked to go back to the warehouse: 'unused' (out of the van's stock) or 'old'
-- (the part removed from the appliance, referring to the part use that replaced it).
CREATE TABLE part_return (
    seq           INTEGER PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL CHECK (kind IN ('unused', 'old')),
    part_id       TEXT NOT NULL REFERENCES part(id),
    quantity      INTEGER NOT NULL CHECK (quantity > 0),
    work_order_id TEXT REFERENCES work_order(id),
    part_use_id   TEXT REFERENCES visit_part_use(id),
    serial        TEXT,
    at            TEXT NOT NULL,
    op_id         TEXT NOT NULL,
    CHECK ((kind = 'old') = (part_use_id IS NOT NULL))
);
CREATE INDEX part_return_use ON part_return(part_use_id) WHERE part_use_id IS NOT NULL;

CREATE TABLE stock_take (
    id    TEXT PRIMARY KEY,
    at    TEXT NOT NULL,
    op_id TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE stock_take_line (
    stock_take_id TEXT NOT NULL REFERENCES stock_take(id),
    part_id       TEXT NOT NULL REFERENCES part(id),
    expected      INTEGER NOT NULL,
    counted       INTEGER NOT NULL CHECK (counted >= 0),
    PRIMARY KEY (stock_take_id, part_id)
) WITHOUT ROWID;

-- Money taken on a job. customer_id is copied so a customer's balance is one query.
CREATE TABLE payment (
    seq            INTEGER PRIMARY KEY,
    id             TEXT NOT NULL UNIQUE,
    work_order_id  TEXT NOT NULL REFERENCES work_order(id),
    customer_id    TEXT NOT NULL REFERENCES customer(id),
    method         TEXT NOT NULL CHECK (method IN ('cash', 'card', 'bank_transfer', 'qr')),
    amount_minor   INTEGER NOT NULL CHECK (amount_minor > 0),
    tendered_minor INTEGER,
    change_minor   INTEGER CHECK (change_minor IS NULL OR change_minor >= 0),
    at             TEXT NOT NULL,
    op_id          TEXT NOT NULL,
    CHECK ((method = 'cash') = (tendered_minor IS NOT NULL))
);
CREATE INDEX payment_order ON payment(work_order_id, seq);
CREATE INDEX payment_customer ON payment(customer_id);

-- The rest of the amount due will be invoiced (collected later by head office).
CREATE TABLE visit_invoice_later (
    work_order_id TEXT PRIMARY KEY REFERENCES work_order(id),
    amount_minor  INTEGER NOT NULL CHECK (amount_minor > 0),
    at            TEXT NOT NULL,
    op_id         TEXT NOT NULL
) WITHOUT ROWID;

-- The customer's feedback: facts appended in order, the latest counts.
CREATE TABLE visit_feedback (
    seq              INTEGER PRIMARY KEY,
    work_order_id    TEXT NOT NULL REFERENCES work_order(id),
    rating           INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment          TEXT NOT NULL DEFAULT '',
    callback_allowed INTEGER NOT NULL CHECK (callback_allowed IN (0, 1)),
    at               TEXT NOT NULL,
    op_id            TEXT NOT NULL
);
CREATE INDEX visit_feedback_order ON visit_feedback(work_order_id, seq);

-- The technician's expenses for a day (one row per day, replaced when recorded again);
-- rates copied from the settings in force when recorded.
CREATE TABLE technician_expense (
    technician_id     TEXT NOT NULL REFERENCES technician(id),
    day               TEXT NOT NULL,
    km                INTEGER NOT NULL CHECK (km >= 0),
    rate_per_km_minor INTEGER NOT NULL CHECK (rate_per_km_minor >= 0),
    meal_days         INTEGER NOT NULL CHECK (meal_days >= 0),
    meal_rate_minor   INTEGER NOT NULL CHECK (meal_rate_minor >= 0),
    nights            INTEGER NOT NULL CHECK (nights >= 0),
    night_rate_minor  INTEGER NOT NULL CHECK (night_rate_minor >= 0),
    mileage_minor     INTEGER NOT NULL,
    meals_minor       INTEGER NOT NULL,
    lodging_minor     INTEGER NOT NULL,
    total_minor       INTEGER NOT NULL,
    at                TEXT NOT NULL,
    op_id             TEXT NOT NULL,
    PRIMARY KEY (technician_id, day)
) WITHOUT ROWID;
