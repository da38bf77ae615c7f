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

-- The technician chose to send a record without the file it references (a signature or
-- document lost or damaged here): their reason, sent with the record (hole 9).
ALTER TABLE outbox ADD COLUMN blob_waiver TEXT;

-- Records the last sync run could not send, and why (no customer data): a file missing or
-- damaged, a record too large, a kind head office does not take yet. Replaced by each run;
-- shown on the sync screen so that nothing waits without a visible reason.
CREATE TABLE sync_waiting (
    op_id TEXT PRIMARY KEY REFERENCES outbox(op_id),
    why   TEXT NOT NULL,
    -- 1: held until head office is upgraded; 0: blocked until the technician resolves it
    held  INTEGER NOT NULL CHECK (held IN (0, 1)),
    at    TEXT NOT NULL
) WITHOUT ROWID;

-- What head office last said it speaks (GET /v1/sync/hello, JSON): when it changes (an
-- upgrade), records it refused for a cause that may have gone are sent again.
ALTER TABLE sync_state ADD COLUMN server_hello TEXT;

-- The fingerprint (SHA-256 of the DER) of head office's certificate seen at enrolment:
-- pinned, any other certificate fails the handshake (hole 11).
ALTER TABLE sync_state ADD COLUMN cert_pin TEXT;
