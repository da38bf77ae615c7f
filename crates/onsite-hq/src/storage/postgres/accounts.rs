//! The office's accounts in PostgreSQL (`users`, `sessions`, `api_tokens`, `audit_log`;
//! migration 0002): [`AccountStore`] for [`PostgresStorage`], statement for statement as
//! SQLite's (`storage/sqlite/accounts.rs`). None of it takes the write lock: accounts share
//! no decision with the feed, and each change is one statement or one short transaction.

use chrono::{DateTime, Utc};
use postgres::Row;

use super::client::Db;
use uuid::Uuid;

use super::{get, get_json, get_opt_time, get_opt_uuid, get_time, get_uuid, ts, PostgresStorage};
use crate::accounts::Role;
use crate::storage::accounts::{
    AccountStore, ApiToken, AuditEntry, AuditRecord, Credentials, NewUser, Session, User,
};
use crate::storage::{Result, StorageError};

const USER_COLS: &str =
    "u.id, u.username, u.display_name, u.role, u.created_at, u.password_changed_at, u.disabled_at";

fn user_from_row(row: &Row) -> Result<User> {
    let role: String = get(row, 3)?;
    Ok(User {
        id: get_uuid(row, 0)?,
        username: get(row, 1)?,
        display_name: get(row, 2)?,
        role: Role::parse(&role)
            .ok_or_else(|| StorageError::Internal("unreadable stored role".into()))?,
        created_at: get_time(row, 4)?,
        password_changed_at: get_time(row, 5)?,
        disabled_at: get_opt_time(row, 6)?,
    })
}

const TOKEN_COLS: &str = "id, name, scopes, created_by, created_at, revoked_at, last_used_at";

fn token_from_row(row: &Row) -> Result<ApiToken> {
    Ok(ApiToken {
        id: get_uuid(row, 0)?,
        name: get(row, 1)?,
        scopes: get_json(row, 2)?,
        created_by: get_opt_uuid(row, 3)?,
        created_at: get_time(row, 4)?,
        revoked_at: get_opt_time(row, 5)?,
        last_used_at: get_opt_time(row, 6)?,
    })
}

fn user_by_id(conn: &mut impl Db, id: Uuid) -> Result<User> {
    let row = conn
        .query_opt(
            &format!("SELECT {USER_COLS} FROM users u WHERE u.id = $1"),
            &[&id.to_string()],
        )?
        .ok_or(StorageError::NotFound)?;
    user_from_row(&row)
}

impl AccountStore for PostgresStorage {
    fn create_user(&self, user: &NewUser<'_>, now: DateTime<Utc>) -> Result<User> {
        let mut conn = self.conn()?;
        conn.execute(
            "INSERT INTO users (id, username, display_name, role, password_hash, created_at,
                 password_changed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
            &[
                &user.id.to_string(),
                &user.username,
                &user.display_name,
                &user.role.as_str(),
                &user.password_hash,
                &ts(now),
            ],
        )
        .map_err(|e| match e {
            StorageError::Conflict(_) => StorageError::Conflict("the user name is taken".into()),
            e => e,
        })?;
        user_by_id(&mut *conn, user.id)
    }

    fn list_users(&self) -> Result<Vec<User>> {
        self.conn()?
            .query(
                &format!("SELECT {USER_COLS} FROM users u ORDER BY lower(u.username), u.id"),
                &[],
            )?
            .iter()
            .map(user_from_row)
            .collect()
    }

    fn credentials(&self, username: &str) -> Result<Option<Credentials>> {
        let row = self.conn()?.query_opt(
            &format!(
                "SELECT {USER_COLS}, u.password_hash, u.failed_logins, u.last_failed_at
                 FROM users u WHERE lower(u.username) = lower($1)"
            ),
            &[&username],
        )?;
        row.map(|row| {
            let failed: i64 = get(&row, 8)?;
            Ok(Credentials {
                user: user_from_row(&row)?,
                password_hash: get(&row, 7)?,
                failed_logins: u32::try_from(failed).unwrap_or(u32::MAX),
                last_failed_at: get_opt_time(&row, 9)?,
            })
        })
        .transpose()
    }

    fn login_failed(&self, user_id: Uuid, now: DateTime<Utc>) -> Result<u32> {
        let row = self.conn()?.query_one(
            "UPDATE users SET failed_logins = failed_logins + 1, last_failed_at = $2
             WHERE id = $1 RETURNING failed_logins",
            &[&user_id.to_string(), &ts(now)],
        )?;
        let n: i64 = get(&row, 0)?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    fn login_succeeded(
        &self,
        user_id: Uuid,
        session_hash: &str,
        csrf: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        tx.execute(
            "UPDATE users SET failed_logins = 0, last_failed_at = NULL WHERE id = $1",
            &[&user_id.to_string()],
        )?;
        tx.execute("DELETE FROM sessions WHERE expires_at <= $1", &[&ts(now)])?;
        tx.execute(
            "INSERT INTO sessions (id_hash, user_id, csrf, created_at, last_seen_at, expires_at)
             VALUES ($1, $2, $3, $4, $4, $5)",
            &[
                &session_hash,
                &user_id.to_string(),
                &csrf,
                &ts(now),
                &ts(expires_at),
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn session(
        &self,
        session_hash: &str,
        now: DateTime<Utc>,
        idle: chrono::Duration,
    ) -> Result<Option<Session>> {
        let mut conn = self.conn()?;
        let row = conn.query_opt(
            &format!(
                "SELECT {USER_COLS}, s.csrf, s.expires_at, s.last_seen_at
                 FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1"
            ),
            &[&session_hash],
        )?;
        let Some(row) = row else {
            return Ok(None);
        };
        let user = user_from_row(&row)?;
        let csrf: String = get(&row, 7)?;
        let expires_at = get_time(&row, 8)?;
        let last_seen = get_time(&row, 9)?;
        if expires_at <= now || last_seen + idle <= now || user.disabled_at.is_some() {
            conn.execute("DELETE FROM sessions WHERE id_hash = $1", &[&session_hash])?;
            return Ok(None);
        }
        conn.execute(
            "UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1",
            &[&session_hash, &ts(now)],
        )?;
        Ok(Some(Session {
            user,
            csrf,
            expires_at,
        }))
    }

    fn end_session(&self, session_hash: &str) -> Result<()> {
        self.conn()?
            .execute("DELETE FROM sessions WHERE id_hash = $1", &[&session_hash])?;
        Ok(())
    }

    fn set_password(&self, user_id: Uuid, password_hash: &str, now: DateTime<Utc>) -> Result<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        let changed = tx.execute(
            "UPDATE users SET password_hash = $2, password_changed_at = $3, failed_logins = 0,
                 last_failed_at = NULL WHERE id = $1",
            &[&user_id.to_string(), &password_hash, &ts(now)],
        )?;
        if changed == 0 {
            return Err(StorageError::NotFound);
        }
        tx.execute(
            "DELETE FROM sessions WHERE user_id = $1",
            &[&user_id.to_string()],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn set_disabled(&self, user_id: Uuid, disabled: bool, now: DateTime<Utc>) -> Result<User> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        let changed = tx.execute(
            "UPDATE users SET disabled_at = CASE WHEN $2 THEN COALESCE(disabled_at, $3) END
             WHERE id = $1",
            &[&user_id.to_string(), &disabled, &ts(now)],
        )?;
        if changed == 0 {
            return Err(StorageError::NotFound);
        }
        if disabled {
            tx.execute(
                "DELETE FROM sessions WHERE user_id = $1",
                &[&user_id.to_string()],
            )?;
        }
        let user = user_by_id(&mut tx, user_id)?;
        tx.commit()?;
        Ok(user)
    }

    fn create_api_token(&self, token: &ApiToken, token_hash: &str) -> Result<()> {
        self.conn()?.execute(
            "INSERT INTO api_tokens (id, name, token_hash, scopes, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &token.id.to_string(),
                &token.name,
                &token_hash,
                &serde_json::to_string(&token.scopes)?,
                &token.created_by.map(|u| u.to_string()),
                &ts(token.created_at),
            ],
        )?;
        Ok(())
    }

    fn list_api_tokens(&self) -> Result<Vec<ApiToken>> {
        self.conn()?
            .query(
                &format!("SELECT {TOKEN_COLS} FROM api_tokens ORDER BY created_at DESC, id"),
                &[],
            )?
            .iter()
            .map(token_from_row)
            .collect()
    }

    fn api_token(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<ApiToken>> {
        self.conn()?
            .query_opt(
                &format!(
                    "UPDATE api_tokens SET last_used_at = $2
                     WHERE token_hash = $1 AND revoked_at IS NULL RETURNING {TOKEN_COLS}"
                ),
                &[&token_hash, &ts(now)],
            )?
            .map(|r| token_from_row(&r))
            .transpose()
    }

    fn revoke_api_token(&self, id: Uuid, now: DateTime<Utc>) -> Result<ApiToken> {
        let row = self
            .conn()?
            .query_opt(
                &format!(
                    "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2)
                     WHERE id = $1 RETURNING {TOKEN_COLS}"
                ),
                &[&id.to_string(), &ts(now)],
            )?
            .ok_or(StorageError::NotFound)?;
        token_from_row(&row)
    }

    fn audit(&self, entry: &AuditEntry, now: DateTime<Utc>) -> Result<()> {
        self.conn()?.execute(
            "INSERT INTO audit_log (at, actor, action, target_kind, target_id)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &ts(now),
                &serde_json::to_string(&entry.actor)?,
                &entry.action,
                &entry.target_kind,
                &entry.target_id,
            ],
        )?;
        Ok(())
    }

    fn list_audit(&self, before: Option<i64>, limit: usize) -> Result<Vec<AuditRecord>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.conn()?
            .query(
                "SELECT seq, at, actor, action, target_kind, target_id FROM audit_log
                 WHERE $1::BIGINT IS NULL OR seq < $1 ORDER BY seq DESC LIMIT $2",
                &[&before, &limit],
            )?
            .iter()
            .map(|row| {
                Ok(AuditRecord {
                    seq: get(row, 0)?,
                    at: get_time(row, 1)?,
                    entry: AuditEntry {
                        actor: get_json(row, 2)?,
                        action: get(row, 3)?,
                        target_kind: get(row, 4)?,
                        target_id: get(row, 5)?,
                    },
                })
            })
            .collect()
    }
}
