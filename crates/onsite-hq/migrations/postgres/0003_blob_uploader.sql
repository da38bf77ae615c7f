-- Who first uploaded each blob, for the per-device blob quota (docs/hq-limits.md), as
-- SQLite's migration 0011. Blobs stored before, and those the admin uploads, count for no
-- device.
ALTER TABLE blobs ADD COLUMN device_id TEXT COLLATE "C";
CREATE INDEX blobs_by_device ON blobs (device_id, stored_at);
