//! The office's accounts (issue 13, docs/hq-accounts.md): people and their sessions,
//! integrations' API tokens, and the audit log. A trait of its own beside [`super::Storage`]:
//! none of it shares a transaction with the feed, and a backend that does not keep
//! accounts yet says so ([`super::Storage::accounts`] is `None`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Result;
use crate::accounts::{Permission, Role};

/// A person who signs in to the console.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct User {
    pub id: Uuid,
    /// What they sign in with (unique, case aside).
    pub username: String,
    /// Their name as the console shows it.
    pub display_name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub password_changed_at: DateTime<Utc>,
    /// Disabled accounts cannot sign in; their sessions end.
    pub disabled_at: Option<DateTime<Utc>>,
}

/// A user as the login reads it: with the password hash and the failures.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: User,
    /// PHC string ([`crate::accounts::hash_password`]).
    pub password_hash: String,
    /// Failed logins in a row.
    pub failed_logins: u32,
    pub last_failed_at: Option<DateTime<Utc>>,
}

/// A new user (the caller checked the name and hashed the password).
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub id: Uuid,
    pub username: &'a str,
    pub display_name: &'a str,
    pub role: Role,
    pub password_hash: &'a str,
}

/// A session as a request finds it.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    /// The synchronizer token unsafe requests must carry.
    pub csrf: String,
    pub expires_at: DateTime<Utc>,
}

/// An integration's token (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct ApiToken {
    pub id: Uuid,
    pub name: String,
    pub scopes: Vec<Permission>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Who did something.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    /// A person, signed in.
    User { id: Uuid, username: String },
    /// An integration, by its token.
    Token { id: Uuid, name: String },
    /// The admin token of the command line (`--admin-token`, `<data>/admin-token`).
    AdminToken,
}

/// One audited act: never customer data, only what was done to which record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct AuditEntry {
    pub actor: Actor,
    /// What was done: the method and route pattern of a request
    /// (`POST /v1/admin/work-orders/{id}/reassign`), or `sign_in`, `change_password`.
    pub action: String,
    /// The kind and id of what it was done to, if one record (the id in the path).
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
}

/// An audit entry as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct AuditRecord {
    /// Its place in the log (increasing).
    #[ts(type = "number")]
    pub seq: i64,
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub entry: AuditEntry,
}

/// What a backend keeps for the office's accounts.
pub trait AccountStore: Send + Sync {
    /// Creates a user. `Conflict` when the name is taken (case aside).
    fn create_user(&self, user: &NewUser<'_>, now: DateTime<Utc>) -> Result<User>;
    /// Every user, by name.
    fn list_users(&self) -> Result<Vec<User>>;
    /// A user with their password hash and failures, by name (case aside).
    fn credentials(&self, username: &str) -> Result<Option<Credentials>>;
    /// Counts a failed login; returns the failures in a row.
    fn login_failed(&self, user_id: Uuid, now: DateTime<Utc>) -> Result<u32>;
    /// A successful login: the failures reset, the session stored (its id hashed).
    fn login_succeeded(
        &self,
        user_id: Uuid,
        session_hash: &str,
        csrf: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;
    /// The session with this hashed id, if it is current (not expired, not idle too long,
    /// its user not disabled); its last use is recorded. An ended one is removed.
    fn session(
        &self,
        session_hash: &str,
        now: DateTime<Utc>,
        idle: chrono::Duration,
    ) -> Result<Option<Session>>;
    /// Ends a session (sign out); no such session is not an error.
    fn end_session(&self, session_hash: &str) -> Result<()>;
    /// Replaces a user's password hash and ends every session of theirs.
    fn set_password(&self, user_id: Uuid, password_hash: &str, now: DateTime<Utc>) -> Result<()>;
    /// Disables (or enables again) a user; disabling ends their sessions. `NotFound` when
    /// unknown.
    fn set_disabled(&self, user_id: Uuid, disabled: bool, now: DateTime<Utc>) -> Result<User>;
    /// Stores an API token (its hash).
    fn create_api_token(&self, token: &ApiToken, token_hash: &str) -> Result<()>;
    /// Every API token, newest first.
    fn list_api_tokens(&self) -> Result<Vec<ApiToken>>;
    /// The current (not revoked) token with this hash; its last use is recorded.
    fn api_token(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<ApiToken>>;
    /// Revokes a token (idempotent). `NotFound` when unknown.
    fn revoke_api_token(&self, id: Uuid, now: DateTime<Utc>) -> Result<ApiToken>;
    /// Appends to the audit log.
    fn audit(&self, entry: &AuditEntry, now: DateTime<Utc>) -> Result<()>;
    /// The audit log, newest first, before `before` (its `seq`) when given, at most `limit`.
    fn list_audit(&self, before: Option<i64>, limit: usize) -> Result<Vec<AuditRecord>>;
}
