-- The office's accounts (issue 13), as SQLite's migration 0010: people, their sessions,
-- integrations' API tokens and the audit log. User names are unique whatever their case
-- (an index on lower(username), as SQLite's COLLATE NOCASE).
CREATE TABLE users (
    id                  TEXT COLLATE "C" PRIMARY KEY,
    username            TEXT COLLATE "C" NOT NULL,
    display_name        TEXT COLLATE "C" NOT NULL,
    role                TEXT COLLATE "C" NOT NULL
                        CHECK (role IN ('administrator', 'dispatcher', 'finance')),
    password_hash       TEXT COLLATE "C" NOT NULL,
    failed_logins       BIGINT NOT NULL DEFAULT 0,
    last_failed_at      TEXT COLLATE "C",
    created_at          TEXT COLLATE "C" NOT NULL,
    password_changed_at TEXT COLLATE "C" NOT NULL,
    disabled_at         TEXT COLLATE "C"
);
CREATE UNIQUE INDEX users_by_name ON users (lower(username));

CREATE TABLE sessions (
    id_hash      TEXT COLLATE "C" PRIMARY KEY,
    user_id      TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    csrf         TEXT COLLATE "C" NOT NULL,
    created_at   TEXT COLLATE "C" NOT NULL,
    last_seen_at TEXT COLLATE "C" NOT NULL,
    expires_at   TEXT COLLATE "C" NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id           TEXT COLLATE "C" PRIMARY KEY,
    name         TEXT COLLATE "C" NOT NULL,
    token_hash   TEXT COLLATE "C" NOT NULL UNIQUE,
    scopes       TEXT COLLATE "C" NOT NULL,
    created_by   TEXT COLLATE "C" REFERENCES users (id),
    created_at   TEXT COLLATE "C" NOT NULL,
    revoked_at   TEXT COLLATE "C",
    last_used_at TEXT COLLATE "C"
);

CREATE TABLE audit_log (
    seq         BIGSERIAL PRIMARY KEY,
    at          TEXT COLLATE "C" NOT NULL,
    actor       TEXT COLLATE "C" NOT NULL,
    action      TEXT COLLATE "C" NOT NULL,
    target_kind TEXT COLLATE "C",
    target_id   TEXT COLLATE "C"
);
