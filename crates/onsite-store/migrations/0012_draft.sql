-- Text typed but not saved yet (issue 10): kept across closing the app, on this device
-- only, never synced. Saving the real thing clears the matching draft. A draft does not
-- keep a job that head office took away (ON DELETE CASCADE).
CREATE TABLE draft (
    work_order_id TEXT NOT NULL REFERENCES work_order(id) ON DELETE CASCADE,
    field         TEXT NOT NULL CHECK (field IN ('notes', 'addendum', 'fault', 'diagnosis_notes', 'feedback_comment')),
    text          TEXT NOT NULL,
    saved_at      TEXT NOT NULL,
    PRIMARY KEY (work_order_id, field)
) WITHOUT ROWID;
