// Generated from the Rust types in crates/onsite-hq and crates/onsite-api by onsite-hq's `console_bindings` test.
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

export type Technician = { 
/**
 * Head office's id.
 */
id: string, 
/**
 * Display name.
 */
name: string, 
/**
 * When registered.
 */
created_at: string, };

export type NewTechnician = { 
/**
 * Display name, 1–100 chars.
 */
name: string, };

export type NewEnrolmentCode = { 
/**
 * How long the code stays valid, in hours (default 24, at most 720).
 */
valid_hours: number | null, };

export type EnrolmentCode = { 
/**
 * The code, e.g. `K7QM-3XPD-9WRT`.
 */
code: string, 
/**
 * For whom.
 */
technician_id: string, 
/**
 * Until when.
 */
expires_at: string, };

export type ErasedReport = { 
/**
 * When the device erased (its clock).
 */
erased_at: string, 
/**
 * Work orders removed.
 */
work_orders: number, 
/**
 * Customers removed.
 */
customers: number, 
/**
 * Outbox records removed (sent or not).
 */
records: number, 
/**
 * Records that were still unsent when it erased (they could not be sent: refused
 * for good, a file missing, held for a head-office upgrade). Lost with the device.
 */
unsent: number, 
/**
 * Blob files (signatures, photos, documents) deleted.
 */
files: number, };

export type ErasedRecord = { 
/**
 * When head office received the report.
 */
at: string, 
/**
 * The device's counts.
 */
report: ErasedReport, };

export type Device = { 
/**
 * The device's id.
 */
id: string, 
/**
 * Whose device.
 */
technician_id: string, 
/**
 * The label given at enrolment.
 */
name: string, 
/**
 * When enrolled.
 */
enrolled_at: string, 
/**
 * When revoked; a revoked device's token is refused (401 `device_revoked`).
 */
revoked_at: string | null, 
/**
 * When the office marked it lost (`POST /v1/admin/devices/{id}/lost`): its next sync
 * sends what it holds, then erases its customer data. Absent from older head offices.
 */
lost_at?: string | null, 
/**
 * When the device reported it erased its customer data (it was revoked then), with
 * what it erased.
 */
erased?: ErasedRecord | null, };
