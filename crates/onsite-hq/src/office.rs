//! Who may use the head-office API (issue 13, docs/hq-accounts.md): the permission each
//! admin route needs, how a request is authorised (the admin token, an integration's API
//! token, or a signed-in person's session with its CSRF token), the audit of what they
//! did, and the console's sign-in, sign-out, password and account endpoints.

use axum::extract::{MatchedPath, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use onsite_api::codes;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::accounts::{self, Permission, Role};
use crate::auth;
use crate::guard::client_ip;
use crate::http::{
    bearer, route, run, Admin, ApiError, ApiResult, AppState, JsonBody, PathId, Route,
};
use crate::storage::accounts::{AccountStore, Actor, ApiToken, AuditEntry, NewUser, User};
use crate::storage::StorageError;

/// The console's own endpoints (session-based).
pub const CONSOLE_LOGIN: &str = "/v1/console/login";
pub const CONSOLE_LOGOUT: &str = "/v1/console/logout";
pub const CONSOLE_ME: &str = "/v1/console/me";
pub const CONSOLE_PASSWORD: &str = "/v1/console/password";
/// Accounts, tokens and the audit log (administrators).
pub const ADMIN_USERS: &str = "/v1/admin/users";
pub const ADMIN_USER_DISABLE: &str = "/v1/admin/users/{id}/disable";
pub const ADMIN_USER_ENABLE: &str = "/v1/admin/users/{id}/enable";
pub const ADMIN_API_TOKENS: &str = "/v1/admin/api-tokens";
pub const ADMIN_API_TOKEN_REVOKE: &str = "/v1/admin/api-tokens/{id}/revoke";
pub const ADMIN_AUDIT: &str = "/v1/admin/audit";

/// The permission an admin route needs; `None` for a route missing from the table (a test
/// keeps the table whole, and such a route is refused).
pub fn permission_for(method: &Method, route: &str) -> Option<Permission> {
    use onsite_api::routes::*;
    use Permission::*;
    let get = method == Method::GET || method == Method::HEAD;
    Some(match route {
        ADMIN_TECHNICIANS if get => ReadJobs,
        ADMIN_TECHNICIANS | ADMIN_ENROLMENT_CODES => Technicians,
        ADMIN_DEVICES if get => ReadJobs,
        ADMIN_DEVICE_REVOKE | ADMIN_DEVICE_LOST => Devices,
        ADMIN_WORK_ORDERS | ADMIN_WORK_ORDER if get => ReadJobs,
        ADMIN_WORK_ORDERS
        | ADMIN_WORK_ORDER
        | ADMIN_WORK_ORDER_REASSIGN
        | ADMIN_WORK_ORDER_CANCEL => Dispatch,
        ADMIN_REVIEW | ADMIN_CARRY_BACKS if get => ReadJobs,
        ADMIN_REVIEW_RESOLVE => Dispatch,
        ADMIN_FEE_TABLES
        | ADMIN_PARTS_CATALOGUE
        | ADMIN_PARTS_ISSUES
        | ADMIN_COMPANY
        | ADMIN_PRICE_LISTS => Reference,
        ADMIN_EXPORT | ADMIN_EXPORT_TECHNICIAN_DAYS | ADMIN_BLOB => Export,
        ADMIN_REFUSED_OPS
        | ADMIN_REFUSED_OP_APPLY
        | ADMIN_RESTORE_HORIZON
        | ADMIN_SETTINGS_RETENTION
        | ADMIN_EPOCH_ROTATE => Operations,
        ADMIN_USERS
        | ADMIN_USER_DISABLE
        | ADMIN_USER_ENABLE
        | ADMIN_API_TOKENS
        | ADMIN_API_TOKEN_REVOKE => Users,
        ADMIN_AUDIT => Audit,
        _ => return None,
    })
}

/// Reads of customer data that the audit log records (every change is recorded too).
fn audited_read(route: &str) -> bool {
    use onsite_api::routes::*;
    matches!(
        route,
        ADMIN_WORK_ORDER | ADMIN_EXPORT | ADMIN_EXPORT_TECHNICIAN_DAYS | ADMIN_BLOB
    )
}

/// Who is acting, and what they may do.
#[derive(Debug, Clone)]
pub struct Office {
    pub actor: Actor,
    pub permissions: Vec<Permission>,
    /// The signed-in person (sessions only).
    pub user: Option<User>,
    /// The session's CSRF token (sessions only).
    pub csrf: Option<String>,
}

fn forbidden(message: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, codes::FORBIDDEN, message.to_owned())
}

fn no_credentials() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        codes::UNAUTHORIZED,
        "sign in, or send an API token",
    )
}

/// The session id in the request's cookies.
fn session_id(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| accounts::session_from_cookies(h).map(str::to_owned))
}

/// Who sent the request, without the route's permission: the admin token, an API token,
/// or a current session (with the CSRF token when the method changes something).
pub(crate) async fn identify(parts: &Parts, state: &AppState) -> ApiResult<Office> {
    let ip = client_ip(parts);
    state.guard().auth_allowed(ip)?;
    let unsafe_method = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    if let Some(token) = bearer(parts) {
        if state.is_admin(token) {
            return Ok(Office {
                actor: Actor::AdminToken,
                permissions: Permission::ALL.to_vec(),
                user: None,
                csrf: None,
            });
        }
        let hash = auth::token_hash(token);
        let found = run(state, move |s| match s.accounts() {
            Some(a) => Ok(a.api_token(&hash, Utc::now())?),
            None => Ok(None),
        })
        .await?;
        return match found {
            Some(t) => Ok(Office {
                actor: Actor::Token {
                    id: t.id,
                    name: t.name.clone(),
                },
                permissions: t.scopes,
                user: None,
                csrf: None,
            }),
            None => {
                state.guard().auth_failed(ip);
                Err(forbidden(
                    "this endpoint needs the office's sign-in or an API token",
                ))
            }
        };
    }
    let Some(id) = session_id(parts) else {
        return Err(no_credentials());
    };
    let csrf = parts
        .headers
        .get(accounts::CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let hash = auth::token_hash(&id);
    let idle = chrono::Duration::from_std(accounts::SESSION_IDLE).unwrap_or_default();
    let session = run(state, move |s| match s.accounts() {
        Some(a) => Ok(a.session(&hash, Utc::now(), idle)?),
        None => Ok(None),
    })
    .await?;
    // An ended session is not counted as a failed authentication: a console left open
    // past its session keeps asking, and an office behind one address must not be locked
    // out for it (a session id has 256 random bits: guessing one is not a threat).
    let Some(session) = session else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            codes::UNAUTHORIZED,
            "the session has ended: sign in again",
        ));
    };
    if unsafe_method {
        let ok =
            csrf.is_some_and(|c| auth::constant_time_eq(c.as_bytes(), session.csrf.as_bytes()));
        if !ok {
            return Err(forbidden(
                "the request lacks this session's CSRF token (X-CSRF-Token)",
            ));
        }
    }
    Ok(Office {
        actor: Actor::User {
            id: session.user.id,
            username: session.user.username.clone(),
        },
        permissions: session.user.role.permissions().to_vec(),
        user: Some(session.user),
        csrf: Some(session.csrf),
    })
}

/// Authorises an admin request: who (see [`identify`]), the route's permission, and the
/// audit entry for a change or a read of customer data.
pub(crate) async fn authorize(parts: &Parts, state: &AppState) -> ApiResult<Office> {
    let office = identify(parts, state).await?;
    let route = parts
        .extensions
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let Some(needed) = permission_for(&parts.method, &route) else {
        return Err(forbidden("this endpoint is not open to the office"));
    };
    if !office.permissions.contains(&needed) {
        return Err(forbidden(&format!(
            "this needs the {} permission, which this account or token lacks",
            serde_json::to_value(needed)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        )));
    }
    let read = matches!(parts.method, Method::GET | Method::HEAD);
    if !read || audited_read(&route) {
        let entry = AuditEntry {
            actor: office.actor.clone(),
            action: format!("{} {route}", parts.method),
            target_kind: None,
            target_id: target_of(parts.uri.path(), &route),
        };
        run(state, move |s| {
            if let Some(a) = s.accounts() {
                a.audit(&entry, Utc::now())?;
            }
            Ok(())
        })
        .await?;
    }
    Ok(office)
}

/// The id or hash in the path where the route has a placeholder (never a query string).
fn target_of(path: &str, route: &str) -> Option<String> {
    route
        .split('/')
        .zip(path.split('/'))
        .find(|(r, _)| r.starts_with('{'))
        .map(|(_, p)| p.to_owned())
}

pub(crate) fn routes() -> Vec<Route> {
    vec![
        route(Method::POST, CONSOLE_LOGIN, login),
        route(Method::POST, CONSOLE_LOGOUT, logout),
        route(Method::GET, CONSOLE_ME, me),
        route(Method::POST, CONSOLE_PASSWORD, change_password),
        route(Method::GET, ADMIN_USERS, list_users),
        route(Method::POST, ADMIN_USERS, create_user),
        route(Method::POST, ADMIN_USER_DISABLE, disable_user),
        route(Method::POST, ADMIN_USER_ENABLE, enable_user),
        route(Method::GET, ADMIN_API_TOKENS, list_tokens),
        route(Method::POST, ADMIN_API_TOKENS, create_token),
        route(Method::POST, ADMIN_API_TOKEN_REVOKE, revoke_token),
        route(Method::GET, ADMIN_AUDIT, list_audit),
    ]
}

fn no_accounts() -> ApiError {
    ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        "accounts_unavailable",
        "this head office's database does not keep accounts yet",
    )
}

fn accounts_of(s: &dyn crate::storage::Storage) -> ApiResult<&dyn AccountStore> {
    s.accounts().ok_or_else(no_accounts)
}

/// `POST /v1/console/login`.
#[derive(Debug, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// A signed-in person as the console sees itself.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct Me {
    pub user: User,
    pub permissions: Vec<Permission>,
    /// Send it as `X-CSRF-Token` with every change.
    pub csrf: String,
}

/// A session about to be opened: its id (for the cookie), the hash stored, its CSRF token.
#[derive(Clone)]
struct NewSession {
    id: String,
    hash: String,
    csrf: String,
}

impl NewSession {
    fn new() -> NewSession {
        let id = auth::new_token();
        NewSession {
            hash: auth::token_hash(&id),
            id,
            csrf: auth::new_token(),
        }
    }

    /// Stores it for `user` (their failures reset) and audits `action`.
    fn open(
        &self,
        a: &dyn AccountStore,
        user: &User,
        action: &str,
        now: chrono::DateTime<Utc>,
    ) -> ApiResult<()> {
        let expires = now + chrono::Duration::from_std(accounts::SESSION_MAX).unwrap_or_default();
        a.login_succeeded(user.id, &self.hash, &self.csrf, now, expires)?;
        a.audit(
            &AuditEntry {
                actor: Actor::User {
                    id: user.id,
                    username: user.username.clone(),
                },
                action: action.into(),
                target_kind: None,
                target_id: None,
            },
            now,
        )?;
        Ok(())
    }

    /// The reply that sets the cookie and tells the console who it is.
    fn reply(self, user: User) -> Response {
        let me = Me {
            permissions: user.role.permissions().to_vec(),
            user,
            csrf: self.csrf,
        };
        ([(SET_COOKIE, accounts::session_cookie(&self.id))], Json(me)).into_response()
    }
}

async fn login(
    State(state): State<AppState>,
    parts: Parts,
    JsonBody(req): JsonBody<LoginRequest>,
) -> ApiResult<Response> {
    let ip = client_ip(&parts);
    state.guard().auth_allowed(ip)?;
    let session = NewSession::new();
    let opening = session.clone();
    let outcome = run(&state, move |s| {
        let a = accounts_of(s)?;
        let now = Utc::now();
        let Some(c) = a.credentials(req.username.trim())? else {
            // As long as a wrong password takes.
            accounts::verify_password(&req.password, accounts::decoy_hash());
            return Ok(Err(None));
        };
        let wait = accounts::login_wait(c.failed_logins);
        if let Some(last) = c.last_failed_at {
            let until = last + chrono::Duration::from_std(wait).unwrap_or_default();
            if until > now {
                let left = (until - now).to_std().unwrap_or_default();
                return Ok(Err(Some(left)));
            }
        }
        if !accounts::verify_password(&req.password, &c.password_hash) {
            a.login_failed(c.user.id, now)?;
            return Ok(Err(None));
        }
        if c.user.disabled_at.is_some() {
            return Ok(Err(None));
        }
        opening.open(a, &c.user, "sign_in", now)?;
        Ok(Ok(c.user))
    })
    .await?;
    match outcome {
        Ok(user) => Ok(session.reply(user)),
        Err(Some(wait)) => Err(ApiError::rate_limited(wait)),
        Err(None) => {
            state.guard().auth_failed(ip);
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "bad_login",
                "the user name or the password is not right",
            ))
        }
    }
}

async fn logout(State(state): State<AppState>, parts: Parts) -> ApiResult<Response> {
    // Signing out needs the session and its CSRF token, like any change.
    identify(&parts, &state).await?;
    if let Some(id) = session_id(&parts) {
        let hash = auth::token_hash(&id);
        run(&state, move |s| Ok(accounts_of(s)?.end_session(&hash)?)).await?;
    }
    Ok((
        StatusCode::NO_CONTENT,
        [(SET_COOKIE, accounts::cleared_cookie())],
    )
        .into_response())
}

async fn me(State(state): State<AppState>, parts: Parts) -> ApiResult<Json<Me>> {
    let office = identify(&parts, &state).await?;
    let (Some(user), Some(csrf)) = (office.user, office.csrf) else {
        return Err(forbidden("only a signed-in person has a console session"));
    };
    Ok(Json(Me {
        permissions: user.role.permissions().to_vec(),
        user,
        csrf,
    }))
}

/// `POST /v1/console/password`.
#[derive(Debug, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct PasswordChange {
    pub current: String,
    pub new: String,
}

async fn change_password(
    State(state): State<AppState>,
    parts: Parts,
    JsonBody(req): JsonBody<PasswordChange>,
) -> ApiResult<Response> {
    let office = identify(&parts, &state).await?;
    let Some(user) = office.user else {
        return Err(forbidden("only a signed-in person changes a password here"));
    };
    accounts::check_new_password(&req.new, &user.username)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let session = NewSession::new();
    let opening = session.clone();
    let username = user.username.clone();
    let changed = run(&state, move |s| {
        let a = accounts_of(s)?;
        let now = Utc::now();
        let c = a.credentials(&username)?.ok_or(StorageError::NotFound)?;
        if !accounts::verify_password(&req.current, &c.password_hash) {
            return Ok(false);
        }
        // Every session of the user ends (a stolen cookie with it); this one is replaced.
        a.set_password(c.user.id, &accounts::hash_password(&req.new), now)?;
        opening.open(a, &c.user, "change_password", now)?;
        Ok(true)
    })
    .await?;
    if !changed {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "bad_login",
            "the current password is not right",
        ));
    }
    Ok(session.reply(user))
}

/// `POST /v1/admin/users`.
#[derive(Debug, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct NewUserRequest {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub password: String,
}

async fn list_users(State(state): State<AppState>, _: Admin) -> ApiResult<Json<Vec<User>>> {
    run(&state, |s| Ok(Json(accounts_of(s)?.list_users()?))).await
}

async fn create_user(
    State(state): State<AppState>,
    _: Admin,
    JsonBody(req): JsonBody<NewUserRequest>,
) -> ApiResult<(StatusCode, Json<User>)> {
    let username = req.username.trim().to_owned();
    accounts::check_username(&username).map_err(ApiError::bad_request)?;
    crate::rules::check_name("display_name", &req.display_name).map_err(ApiError::bad_request)?;
    accounts::check_new_password(&req.password, &username)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let hash = accounts::hash_password(&req.password);
    let user = run(&state, move |s| {
        Ok(accounts_of(s)?.create_user(
            &NewUser {
                id: Uuid::now_v7(),
                username: &username,
                display_name: req.display_name.trim(),
                role: req.role,
                password_hash: &hash,
            },
            Utc::now(),
        )?)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

async fn set_disabled(state: &AppState, id: Uuid, disabled: bool) -> ApiResult<Json<User>> {
    run(state, move |s| {
        accounts_of(s)?
            .set_disabled(id, disabled, Utc::now())
            .map(Json)
            .map_err(|e| match e {
                StorageError::NotFound => ApiError::not_found("user"),
                e => e.into(),
            })
    })
    .await
}

async fn disable_user(
    State(state): State<AppState>,
    parts: Parts,
    PathId(id): PathId,
) -> ApiResult<Json<User>> {
    let office = authorize(&parts, &state).await?;
    if matches!(&office.actor, Actor::User { id: me, .. } if *me == id) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            codes::CONFLICT,
            "you cannot disable your own account",
        ));
    }
    // Never the last administrator who can still sign in: nobody could manage people.
    let last_admin = run(&state, move |s| {
        let users = accounts_of(s)?.list_users()?;
        let active_admins: Vec<&User> = users
            .iter()
            .filter(|u| u.role == Role::Administrator && u.disabled_at.is_none())
            .collect();
        Ok(active_admins.len() == 1 && active_admins[0].id == id)
    })
    .await?;
    if last_admin {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            codes::CONFLICT,
            "this is the last administrator who can sign in",
        ));
    }
    set_disabled(&state, id, true).await
}

async fn enable_user(
    State(state): State<AppState>,
    _: Admin,
    PathId(id): PathId,
) -> ApiResult<Json<User>> {
    set_disabled(&state, id, false).await
}

/// `POST /v1/admin/api-tokens`.
#[derive(Debug, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct NewApiTokenRequest {
    pub name: String,
    pub scopes: Vec<Permission>,
}

/// A new token: shown this once.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct NewApiTokenReply {
    pub token: String,
    pub api_token: ApiToken,
}

async fn list_tokens(State(state): State<AppState>, _: Admin) -> ApiResult<Json<Vec<ApiToken>>> {
    run(&state, |s| Ok(Json(accounts_of(s)?.list_api_tokens()?))).await
}

async fn create_token(
    State(state): State<AppState>,
    parts: Parts,
    JsonBody(req): JsonBody<NewApiTokenRequest>,
) -> ApiResult<(StatusCode, Json<NewApiTokenReply>)> {
    let office = authorize(&parts, &state).await?;
    crate::rules::check_name("name", &req.name).map_err(ApiError::bad_request)?;
    if req.scopes.is_empty() {
        return Err(ApiError::bad_request("a token needs at least one scope"));
    }
    let token = auth::new_token();
    let record = ApiToken {
        id: Uuid::now_v7(),
        name: req.name.trim().to_owned(),
        scopes: req.scopes,
        created_by: office.user.map(|u| u.id),
        created_at: Utc::now(),
        revoked_at: None,
        last_used_at: None,
    };
    let hash = auth::token_hash(&token);
    let stored = record.clone();
    run(&state, move |s| {
        Ok(accounts_of(s)?.create_api_token(&stored, &hash)?)
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(NewApiTokenReply {
            token,
            api_token: record,
        }),
    ))
}

async fn revoke_token(
    State(state): State<AppState>,
    _: Admin,
    PathId(id): PathId,
) -> ApiResult<Json<ApiToken>> {
    run(&state, move |s| {
        accounts_of(s)?
            .revoke_api_token(id, Utc::now())
            .map(Json)
            .map_err(|e| match e {
                StorageError::NotFound => ApiError::not_found("API token"),
                e => e.into(),
            })
    })
    .await
}

/// `GET /v1/admin/audit`: newest first, `before` a `seq` for the next page.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries older than this `seq` (the last of the previous page).
    pub before: Option<i64>,
    /// Entries in the page, 1 to 1,000 (default 200).
    pub limit: Option<u32>,
}

async fn list_audit(
    State(state): State<AppState>,
    _: Admin,
    crate::http::QueryArgs(q): crate::http::QueryArgs<AuditQuery>,
) -> ApiResult<Json<Vec<crate::storage::accounts::AuditRecord>>> {
    let limit = q.limit.unwrap_or(200);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 1000"));
    }
    run(&state, move |s| {
        Ok(Json(accounts_of(s)?.list_audit(q.before, limit as usize)?))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_admin_route_needs_a_permission_and_the_paths_give_their_ids() {
        for (method, path) in crate::http::route_table() {
            if !path.starts_with("/v1/admin/") {
                continue;
            }
            let method: Method = method.parse().unwrap();
            assert!(
                permission_for(&method, &path).is_some(),
                "{method} {path} has no permission"
            );
        }
        assert_eq!(
            permission_for(&Method::POST, onsite_api::routes::ADMIN_WORK_ORDER_REASSIGN),
            Some(Permission::Dispatch)
        );
        assert_eq!(
            permission_for(&Method::GET, onsite_api::routes::ADMIN_WORK_ORDERS),
            Some(Permission::ReadJobs)
        );
        assert_eq!(permission_for(&Method::GET, "/v1/admin/nothing"), None);
        assert_eq!(
            target_of(
                "/v1/admin/work-orders/0193/reassign",
                "/v1/admin/work-orders/{id}/reassign"
            ),
            Some("0193".into())
        );
        assert_eq!(target_of("/v1/admin/export", "/v1/admin/export"), None);
    }
}
