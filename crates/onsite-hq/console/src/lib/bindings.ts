// Generated from the Rust types in crates/onsite-hq by its `console_bindings` test.
// Do not edit: run `UPDATE_BINDINGS=1 cargo test -p onsite-hq --test console_bindings`.

export type Role = "administrator" | "dispatcher" | "finance";

export type Permission = "read_jobs" | "dispatch" | "technicians" | "devices" | "export" | "reference" | "operations" | "users" | "audit";

export type User = { id: string, 
/**
 * What they sign in with (unique, case aside).
 */
username: string, 
/**
 * Their name as the console shows it.
 */
display_name: string, role: Role, created_at: string, password_changed_at: string, 
/**
 * Disabled accounts cannot sign in; their sessions end.
 */
disabled_at: string | null, };

export type Me = { user: User, permissions: Array<Permission>, 
/**
 * Send it as `X-CSRF-Token` with every change.
 */
csrf: string, };

export type LoginRequest = { username: string, password: string, };

export type PasswordChange = { current: string, new: string, };

export type NewUserRequest = { username: string, display_name: string, role: Role, password: string, };

export type ApiToken = { id: string, name: string, scopes: Array<Permission>, created_by: string | null, created_at: string, revoked_at: string | null, last_used_at: string | null, };

export type NewApiTokenRequest = { name: string, scopes: Array<Permission>, };

export type NewApiTokenReply = { token: string, api_token: ApiToken, };

export type Actor = { "kind": "user", id: string, username: string, } | { "kind": "token", id: string, name: string, } | { "kind": "admin_token" };

export type AuditEntry = { actor: Actor, 
/**
 * What was done: the method and route pattern of a request
 * (`POST /v1/admin/work-orders/{id}/reassign`), or `sign_in`, `change_password`.
 */
action: string, 
/**
 * The kind and id of what it was done to, if one record (the id in the path).
 */
target_kind: string | null, target_id: string | null, };

export type AuditRecord = { 
/**
 * Its place in the log (increasing).
 */
seq: number, at: string, actor: Actor, 
/**
 * What was done: the method and route pattern of a request
 * (`POST /v1/admin/work-orders/{id}/reassign`), or `sign_in`, `change_password`.
 */
action: string, 
/**
 * The kind and id of what it was done to, if one record (the id in the path).
 */
target_kind: string | null, target_id: string | null, };
