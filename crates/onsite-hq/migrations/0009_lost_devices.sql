-- Issue 11: a device the office marked lost. Its next sync sends what it holds, erases
-- its customer data and reports (counts only, JSON of onsite_api::ErasedReport); head
-- office then revokes it.
ALTER TABLE devices ADD COLUMN lost_at TEXT;
ALTER TABLE devices ADD COLUMN erased_at TEXT;
ALTER TABLE devices ADD COLUMN erased_report TEXT;
