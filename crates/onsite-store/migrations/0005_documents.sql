-- Signatures and documents (issue 4). A signature vouches for the job's content hash at
-- signing (onsite_domain::signoff); it is never replaced or deleted: a later signature is
-- a new row. Files (PNG, PDF) live in the blobs folder under their SHA-256.
CREATE TABLE signature (
    id            TEXT PRIMARY KEY,
    work_order_id TEXT NOT NULL REFERENCES work_order(id),
    signer_name   TEXT NOT NULL CHECK (length(trim(signer_name)) > 0),
    signed_at     TEXT NOT NULL,
    content_hash  TEXT NOT NULL CHECK (length(content_hash) = 64),
    png_sha256    TEXT NOT NULL CHECK (length(png_sha256) = 64),
    strokes       TEXT NOT NULL CHECK (json_valid(strokes))
);
CREATE INDEX signature_order ON signature(work_order_id, signed_at);

CREATE TABLE document (
    work_order_id TEXT NOT NULL REFERENCES work_order(id),
    sha256        TEXT NOT NULL CHECK (length(sha256) = 64),
    kind          TEXT NOT NULL CHECK (kind IN ('sign_off', 'quote', 'payment_receipt', 'carry_back', 'day_end')),
    lang          TEXT NOT NULL,
    size          INTEGER NOT NULL CHECK (size > 0),
    created_at    TEXT NOT NULL,
    PRIMARY KEY (work_order_id, sha256)
) WITHOUT ROWID;
