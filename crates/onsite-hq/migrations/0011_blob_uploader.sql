-- Who first uploaded each blob, for the per-device blob quota (docs/hq-limits.md). Blobs
-- stored before this migration, and those the admin uploads, have none and count for no
-- device.
ALTER TABLE blobs ADD COLUMN device_id TEXT;
CREATE INDEX blobs_by_device ON blobs (device_id, stored_at);
