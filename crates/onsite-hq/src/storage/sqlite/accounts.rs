//! The office's accounts in SQLite (`users`, `sessions`, `api_tokens`, `audit_log`;
//! migration 0010): [`AccountStore`] for [`SqliteStorage`].

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row, TransactionBehavior};
use uuid::Uuid;

use super::{get_json, get_opt_time, get_opt_uuid, get_time, get_uuid, ts, SqliteStorage};
use crate::accounts::Role;
use crate::storage::accounts::{
    AccountStore, ApiToken, AuditEntry, AuditRecord, Credentials, NewUser, Session, User,
};
use crate::storage::{Result, StorageError};

const USER_COLS: &str =
    "u.id, u.username, u.display_name, u.role, u.created_at, u.password_changed_at, u.disabled_at";

fn user_from_row(row: &Row) -> rusqlite::Result<User> {
    let role: String = row.get(3)?;
    Ok(User {
        id: get_uuid(row, 0)?,
        username: row.get(1)?,
        display_name: row.get(2)?,
        role: Role::parse(&role).ok_or_else(|| super::conv(3, "role"))?,
        created_at: get_time(row, 4)?,
        password_changed_at: get_time(row, 5)?,
        disabled_at: get_opt_time(row, 6)?,
    })
}

const TOKEN_COLS: &str = "id, name, scopes, created_by, created_at, revoked_at, last_used_at";

fn token_from_row(row: &Row) -> rusqlite::Result<ApiToken> {
    Ok(ApiToken {
        id: get_uuid(row, 0)?,
        name: row.get(1)?,
        scopes: get_json(row, 2)?,
        created_by: get_opt_uuid(row, 3)?,
        created_at: get_time(row, 4)?,
        revoked_at: get_opt_time(row, 5)?,
        last_used_at: get_opt_time(row, 6)?,
    })
}

fn user_by_id(conn: &rusqlite::Connection, id: Uuid) -> Result<User> {
    Ok(conn.query_row(
        &format!("SELECT {USER_COLS} FROM users u WHERE u.id = ?1"),
        [id.to_string()],
        user_from_row,
    )?)
}

impl AccountStore for SqliteStorage {
    fn create_user(&self, user: &NewUser<'_>, now: DateTime<Utc>) -> Result<User> {
        let conn = self.writer();
        conn.execute(
            "INSERT INTO users (id, username, display_name, role, password_hash, created_at,
                 password_changed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            params![
                user.id.to_string(),
                user.username,
                user.display_name,
                user.role.as_str(),
                user.password_hash,
                ts(now)
            ],
        )
        .map_err(|e| match StorageError::from(e) {
            StorageError::Conflict(_) => StorageError::Conflict("the user name is taken".into()),
            e => e,
        })?;
        user_by_id(&conn, user.id)
    }

    fn list_users(&self) -> Result<Vec<User>> {
        let conn = self.reader();
        let mut stmt = conn.prepare(&format!(
            "SELECT {USER_COLS} FROM users u ORDER BY u.username COLLATE NOCASE"
        ))?;
        let rows = stmt.query_map([], user_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn credentials(&self, username: &str) -> Result<Option<Credentials>> {
        let conn = self.reader();
        Ok(conn
            .query_row(
                &format!(
                    "SELECT {USER_COLS}, u.password_hash, u.failed_logins, u.last_failed_at
                     FROM users u WHERE u.username = ?1 COLLATE NOCASE"
                ),
                [username],
                |row| {
                    Ok(Credentials {
                        user: user_from_row(row)?,
                        password_hash: row.get(7)?,
                        failed_logins: row.get(8)?,
                        last_failed_at: get_opt_time(row, 9)?,
                    })
                },
            )
            .optional()?)
    }

    fn login_failed(&self, user_id: Uuid, now: DateTime<Utc>) -> Result<u32> {
        let conn = self.writer();
        Ok(conn.query_row(
            "UPDATE users SET failed_logins = failed_logins + 1, last_failed_at = ?2
             WHERE id = ?1 RETURNING failed_logins",
            params![user_id.to_string(), ts(now)],
            |r| r.get(0),
        )?)
    }

    fn login_succeeded(
        &self,
        user_id: Uuid,
        session_hash: &str,
        csrf: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE users SET failed_logins = 0, last_failed_at = NULL WHERE id = ?1",
            [user_id.to_string()],
        )?;
        // Ended sessions are swept here, so the table holds only current ones.
        tx.execute("DELETE FROM sessions WHERE expires_at <= ?1", [ts(now)])?;
        tx.execute(
            "INSERT INTO sessions (id_hash, user_id, csrf, created_at, last_seen_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
            params![
                session_hash,
                user_id.to_string(),
                csrf,
                ts(now),
                ts(expires_at)
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
        let conn = self.writer();
        let found = conn
            .query_row(
                &format!(
                    "SELECT {USER_COLS}, s.csrf, s.expires_at, s.last_seen_at
                     FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?1"
                ),
                [session_hash],
                |row| {
                    Ok((
                        user_from_row(row)?,
                        row.get::<_, String>(7)?,
                        get_time(row, 8)?,
                        get_time(row, 9)?,
                    ))
                },
            )
            .optional()?;
        let Some((user, csrf, expires_at, last_seen)) = found else {
            return Ok(None);
        };
        if expires_at <= now || last_seen + idle <= now || user.disabled_at.is_some() {
            conn.execute("DELETE FROM sessions WHERE id_hash = ?1", [session_hash])?;
            return Ok(None);
        }
        conn.execute(
            "UPDATE sessions SET last_seen_at = ?2 WHERE id_hash = ?1",
            params![session_hash, ts(now)],
        )?;
        Ok(Some(Session {
            user,
            csrf,
            expires_at,
        }))
    }

    fn end_session(&self, session_hash: &str) -> Result<()> {
        self.writer()
            .execute("DELETE FROM sessions WHERE id_hash = ?1", [session_hash])?;
        Ok(())
    }

    fn set_password(&self, user_id: Uuid, password_hash: &str, now: DateTime<Utc>) -> Result<()> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let changed = tx.execute(
            "UPDATE users SET password_hash = ?2, password_changed_at = ?3, failed_logins = 0,
                 last_failed_at = NULL WHERE id = ?1",
            params![user_id.to_string(), password_hash, ts(now)],
        )?;
        if changed == 0 {
            return Err(StorageError::NotFound);
        }
        tx.execute(
            "DELETE FROM sessions WHERE user_id = ?1",
            [user_id.to_string()],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn set_disabled(&self, user_id: Uuid, disabled: bool, now: DateTime<Utc>) -> Result<User> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let changed = tx.execute(
            "UPDATE users SET disabled_at = CASE WHEN ?2 THEN COALESCE(disabled_at, ?3) END
             WHERE id = ?1",
            params![user_id.to_string(), disabled, ts(now)],
        )?;
        if changed == 0 {
            return Err(StorageError::NotFound);
        }
        if disabled {
            tx.execute(
                "DELETE FROM sessions WHERE user_id = ?1",
                [user_id.to_string()],
            )?;
        }
        let user = user_by_id(&tx, user_id)?;
        tx.commit()?;
        Ok(user)
    }

    fn create_api_token(&self, token: &ApiToken, token_hash: &str) -> Result<()> {
        self.writer().execute(
            "INSERT INTO api_tokens (id, name, token_hash, scopes, created_by, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                token.id.to_string(),
                token.name,
                token_hash,
                serde_json::to_string(&token.scopes)?,
                token.created_by.map(|u| u.to_string()),
                ts(token.created_at)
            ],
        )?;
        Ok(())
    }

    fn list_api_tokens(&self) -> Result<Vec<ApiToken>> {
        let conn = self.reader();
        let mut stmt = conn.prepare(&format!(
            "SELECT {TOKEN_COLS} FROM api_tokens ORDER BY created_at DESC, id"
        ))?;
        let rows = stmt.query_map([], token_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn api_token(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<ApiToken>> {
        let conn = self.writer();
        Ok(conn
            .query_row(
                &format!(
                    "UPDATE api_tokens SET last_used_at = ?2
                     WHERE token_hash = ?1 AND revoked_at IS NULL RETURNING {TOKEN_COLS}"
                ),
                params![token_hash, ts(now)],
                token_from_row,
            )
            .optional()?)
    }

    fn revoke_api_token(&self, id: Uuid, now: DateTime<Utc>) -> Result<ApiToken> {
        let conn = self.writer();
        Ok(conn.query_row(
            &format!(
                "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?2)
                 WHERE id = ?1 RETURNING {TOKEN_COLS}"
            ),
            params![id.to_string(), ts(now)],
            token_from_row,
        )?)
    }

    fn audit(&self, entry: &AuditEntry, now: DateTime<Utc>) -> Result<()> {
        self.writer().execute(
            "INSERT INTO audit_log (at, actor, action, target_kind, target_id)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                ts(now),
                serde_json::to_string(&entry.actor)?,
                entry.action,
                entry.target_kind,
                entry.target_id
            ],
        )?;
        Ok(())
    }

    fn list_audit(&self, before: Option<i64>, limit: usize) -> Result<Vec<AuditRecord>> {
        let conn = self.reader();
        let mut stmt = conn.prepare(
            "SELECT seq, at, actor, action, target_kind, target_id FROM audit_log
             WHERE ?1 IS NULL OR seq < ?1 ORDER BY seq DESC LIMIT ?2",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![before, limit], |row| {
            Ok(AuditRecord {
                seq: row.get(0)?,
                at: get_time(row, 1)?,
                entry: AuditEntry {
                    actor: get_json(row, 2)?,
                    action: row.get(3)?,
                    target_kind: row.get(4)?,
                    target_id: row.get(5)?,
                },
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::{hash_password, verify_password, Permission};
    use crate::storage::accounts::Actor;
    use crate::storage::Storage;
    use chrono::Duration;

    fn store() -> (tempfile::TempDir, SqliteStorage) {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStorage::open_in_dir(dir.path()).unwrap();
        (dir, s)
    }

    fn t(min: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-06T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + Duration::minutes(min)
    }

    fn add(s: &dyn AccountStore, name: &str, role: Role) -> User {
        let hash = hash_password("a long enough password");
        s.create_user(
            &NewUser {
                id: Uuid::now_v7(),
                username: name,
                display_name: "李娜",
                role,
                password_hash: &hash,
            },
            t(0),
        )
        .unwrap()
    }

    #[test]
    fn users_are_unique_by_name_whatever_the_case_and_logins_count_failures() {
        let (_d, s) = store();
        let s = s.accounts().expect("SQLite keeps accounts");
        let li = add(s, "li.na", Role::Dispatcher);
        let e = s
            .create_user(
                &NewUser {
                    id: Uuid::now_v7(),
                    username: "LI.NA",
                    display_name: "x",
                    role: Role::Finance,
                    password_hash: "x",
                },
                t(0),
            )
            .unwrap_err();
        assert!(matches!(e, StorageError::Conflict(_)), "{e:?}");
        let c = s.credentials("Li.Na").unwrap().unwrap();
        assert_eq!(c.user, li);
        assert!(verify_password("a long enough password", &c.password_hash));
        assert_eq!(s.login_failed(li.id, t(1)).unwrap(), 1);
        assert_eq!(s.login_failed(li.id, t(2)).unwrap(), 2);
        let c = s.credentials("li.na").unwrap().unwrap();
        assert_eq!((c.failed_logins, c.last_failed_at), (2, Some(t(2))));
        s.login_succeeded(li.id, "h1", "csrf1", t(3), t(3) + Duration::hours(12))
            .unwrap();
        assert_eq!(s.credentials("li.na").unwrap().unwrap().failed_logins, 0);
        assert!(s.credentials("nobody").unwrap().is_none());
        assert_eq!(s.list_users().unwrap(), vec![li]);
    }

    #[test]
    fn sessions_end_when_expired_idle_disabled_or_the_password_changes() {
        let (_d, s) = store();
        let s = s.accounts().unwrap();
        let u = add(s, "wang", Role::Administrator);
        let idle = Duration::hours(8);
        s.login_succeeded(u.id, "h", "c", t(0), t(0) + Duration::hours(12))
            .unwrap();
        let found = s.session("h", t(60), idle).unwrap().unwrap();
        assert_eq!((found.user.id, found.csrf.as_str()), (u.id, "c"));
        // Used at t(60): still current 7 h later, gone after 8 h idle.
        assert!(s.session("h", t(60 + 7 * 60), idle).unwrap().is_some());
        assert!(s
            .session("h", t(60 + 7 * 60 + 8 * 60), idle)
            .unwrap()
            .is_none());
        assert!(s.session("h", t(0), idle).unwrap().is_none(), "removed");
        // Expiry, whatever the use.
        s.login_succeeded(u.id, "h2", "c", t(0), t(30)).unwrap();
        assert!(s.session("h2", t(29), idle).unwrap().is_some());
        assert!(s.session("h2", t(30), idle).unwrap().is_none());
        // A password change ends every session of the user; so does disabling.
        s.login_succeeded(u.id, "h3", "c", t(0), t(600)).unwrap();
        s.set_password(u.id, &hash_password("another long password"), t(1))
            .unwrap();
        assert!(s.session("h3", t(2), idle).unwrap().is_none());
        s.login_succeeded(u.id, "h4", "c", t(3), t(600)).unwrap();
        let off = s.set_disabled(u.id, true, t(4)).unwrap();
        assert_eq!(off.disabled_at, Some(t(4)));
        assert!(s.session("h4", t(5), idle).unwrap().is_none());
        assert_eq!(s.set_disabled(u.id, false, t(6)).unwrap().disabled_at, None);
        // Sign out.
        s.login_succeeded(u.id, "h5", "c", t(7), t(600)).unwrap();
        s.end_session("h5").unwrap();
        s.end_session("h5").unwrap();
        assert!(s.session("h5", t(8), idle).unwrap().is_none());
        assert!(matches!(
            s.set_password(Uuid::now_v7(), "x", t(9)),
            Err(StorageError::NotFound)
        ));
    }

    #[test]
    fn api_tokens_are_found_by_hash_until_revoked_and_the_audit_log_pages_back() {
        let (_d, s) = store();
        let s = s.accounts().unwrap();
        let token = ApiToken {
            id: Uuid::now_v7(),
            name: "ERP".into(),
            scopes: vec![Permission::Export, Permission::ReadJobs],
            created_by: None,
            created_at: t(0),
            revoked_at: None,
            last_used_at: None,
        };
        s.create_api_token(&token, "hash-1").unwrap();
        let found = s.api_token("hash-1", t(5)).unwrap().unwrap();
        assert_eq!(found.scopes, token.scopes);
        assert_eq!(found.last_used_at, Some(t(5)));
        assert!(s.api_token("hash-2", t(5)).unwrap().is_none());
        let revoked = s.revoke_api_token(token.id, t(6)).unwrap();
        assert_eq!(revoked.revoked_at, Some(t(6)));
        assert_eq!(
            s.revoke_api_token(token.id, t(7)).unwrap().revoked_at,
            Some(t(6)),
            "idempotent"
        );
        assert!(s.api_token("hash-1", t(8)).unwrap().is_none());
        assert_eq!(s.list_api_tokens().unwrap().len(), 1);

        for i in 0..5 {
            s.audit(
                &AuditEntry {
                    actor: Actor::Token {
                        id: token.id,
                        name: "ERP".into(),
                    },
                    action: "export".into(),
                    target_kind: Some("work_order".into()),
                    target_id: Some(format!("wo-{i}")),
                },
                t(i),
            )
            .unwrap();
        }
        let first = s.list_audit(None, 2).unwrap();
        assert_eq!(
            first
                .iter()
                .map(|r| r.entry.target_id.clone().unwrap())
                .collect::<Vec<_>>(),
            ["wo-4", "wo-3"]
        );
        let next = s.list_audit(Some(first[1].seq), 10).unwrap();
        assert_eq!(next.len(), 3);
        assert_eq!(next[0].entry.target_id.as_deref(), Some("wo-2"));
        assert!(matches!(next[0].entry.actor, Actor::Token { .. }));
    }
}
