-- Issue 9: the newest head-office commit this device knows of, as <seq>:<tag> (from a
-- pulled page or a push reply). Sent with every pull: head office answers with a reset
-- when it no longer holds that commit (restored from a backup, with or without a new
-- epoch), and the device re-sends what was acknowledged. Kept across re-enrolment.
ALTER TABLE sync_state ADD COLUMN known_commit TEXT;

-- Head office's lasting identity (kept by its backups and address changes): re-enrolling
-- with the same head office keeps the sync history, with another starts afresh.
ALTER TABLE sync_state ADD COLUMN server_id TEXT;

-- The outbox is looked up by job inside every pull transaction (is anything pending on
-- this job? were its facts recorded here?): index it by entity (hole 13).
CREATE INDEX outbox_entity ON outbox(entity_id, device_seq);
