//! The OpenAPI document served at `/openapi.json`, generated from the wire types of
//! `onsite-api` by utoipa (docs/openapi.md).
//!
//! - Schemas: derived (`utoipa::ToSchema`, `IntoParams`) on the types themselves, behind
//!   onsite-api's `openapi` feature, so they follow the serde attributes exactly. What is
//!   written by hand is named there: the mirrors of the `onsite-domain` types
//!   (`onsite_api::schema`) and the op payload's `anyOf`.
//! - Operations: built here with utoipa's builder from one table, [`operations`], which
//!   names each route's method, path, auth, body types, query type and status codes. A
//!   test (`tests/server.rs`, `openapi_lists_exactly_the_routes_the_server_has`) checks
//!   that it lists exactly the routes the router serves ([`crate::http::route_table`]);
//!   `tests/openapi.rs` checks real responses against the schemas.
//! - The server's limits that no type carries (body sizes, batch sizes, the rules'
//!   lengths and ranges) are added to the generated schemas by [`limits_and_defaults`],
//!   from the constants the server enforces.
//! - utoipa 5 writes OpenAPI 3.1; the document is served as OpenAPI 3.0.3 (what more
//!   tools read, and what clients of this server were given so far): [`to_openapi_3_0`]
//!   turns 3.1's `null` types into 3.0's `nullable`. [`json_schema`] turns a 3.0 schema
//!   back into JSON Schema for validators.

use onsite_api::{limits, retention, routes::*};
use onsite_api::{
    BlobCheck, BlobCheckReply, BlobPutReply, CancelRequest, CarryBack, CarryBackQuery,
    CompanyProfile, EnrollReply, EnrollRequest, EnrolmentCode, EpochReply, ErasedReport, ErrorBody,
    ExportJob, ExportQuery, FeeTable, FeeTablePublish, Health, Hello, NewEnrolmentCode,
    NewPartsIssue, NewTechnician, NewWorkOrder, OpResult, PartsCatalogue, PartsCataloguePublish,
    PartsIssue, PriceList, PriceListPublish, PullQuery, PullReply, PushReply, PushRequest,
    ReassignRequest, RefusedOp, RefusedQuery, RestoreHorizon, RestoreHorizonRequest,
    RetentionSetting, ReviewFlag, ReviewQuery, TechnicianDayFact, TechnicianDayQuery, WorkOrder,
    WorkOrderDetail, WorkOrderQuery, WorkOrderUpdate,
};
use serde_json::{json, Map, Value};
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, Parameter, ParameterBuilder, ParameterIn, PathItem, PathsBuilder,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::{ResponseBuilder, ResponsesBuilder};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Ref, RefOr, Required,
};
use utoipa::{IntoParams, ToSchema};

/// Who may call an operation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Auth {
    None,
    Device,
    Admin,
    DeviceOrAdmin,
    /// A signed-in person of the office (the console's session cookie).
    Session,
}

/// The component schemas the operations refer to, collected as they are named.
type Schemas = Vec<(String, RefOr<Schema>)>;

/// A `$ref` to `T`'s schema; `T` and every schema it refers to go into `schemas`.
fn json<T: ToSchema>(schemas: &mut Schemas) -> RefOr<Schema> {
    schemas.push((T::name().into_owned(), T::schema()));
    T::schemas(schemas);
    Ref::from_schema_name(T::name()).into()
}

/// An array of `T`.
fn list<T: ToSchema>(schemas: &mut Schemas) -> RefOr<Schema> {
    ArrayBuilder::new().items(json::<T>(schemas)).into()
}

fn bytes() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Binary,
        )))
        .into()
}

fn text() -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::String).into()
}

/// The query parameters of `T`.
fn query<T: IntoParams>() -> Vec<Parameter> {
    T::into_params(|| Some(ParameterIn::Query))
}

/// One operation of the API.
struct Operation {
    method: HttpMethod,
    path: &'static str,
    summary: &'static str,
    auth: Auth,
    /// Media type and schema of the request body, and whether it is required.
    request: Option<(&'static str, RefOr<Schema>, bool)>,
    params: Vec<Parameter>,
    /// Status, media type and schema of each form of the success body (none: 200 without
    /// a body).
    response: Vec<(u16, &'static str, RefOr<Schema>)>,
    /// Error statuses particular to this operation (the common ones are added by rule).
    errors: Vec<(u16, &'static str)>,
}

const JSON: &str = "application/json";
const OCTETS: &str = "application/octet-stream";

fn op(method: HttpMethod, path: &'static str, auth: Auth, summary: &'static str) -> Operation {
    Operation {
        method,
        path,
        summary,
        auth,
        request: None,
        params: Vec::new(),
        response: Vec::new(),
        errors: Vec::new(),
    }
}

impl Operation {
    fn body(mut self, schema: RefOr<Schema>) -> Self {
        self.request = Some((JSON, schema, true));
        self
    }
    fn optional_body(mut self, schema: RefOr<Schema>) -> Self {
        self.request = Some((JSON, schema, false));
        self
    }
    fn raw_body(mut self) -> Self {
        self.request = Some((OCTETS, bytes(), true));
        self
    }
    fn query(mut self, params: Vec<Parameter>) -> Self {
        self.params = params;
        self
    }
    fn ok(mut self, status: u16, media: &'static str, schema: RefOr<Schema>) -> Self {
        self.response.push((status, media, schema));
        self
    }
    fn error(mut self, status: u16, description: &'static str) -> Self {
        self.errors.push((status, description));
        self
    }
    fn reply(self, schema: RefOr<Schema>) -> Self {
        self.ok(200, JSON, schema)
    }
    fn created(self, schema: RefOr<Schema>) -> Self {
        self.ok(201, JSON, schema)
    }
}

/// Every operation, in the order of the router's table.
fn operations(s: &mut Schemas) -> Vec<Operation> {
    use Auth::*;
    use HttpMethod::{Get, Head, Patch, Post, Put};
    vec![
        op(Get, HEALTH, None, "Liveness").reply(json::<Health>(s)),
        op(
            Get,
            READY,
            None,
            "Readiness: the storage answers (503 unavailable when not)",
        )
        .reply(json::<Health>(s)),
        op(Get, OPENAPI, None, "This document (OpenAPI 3.0.3)").ok(
            200,
            JSON,
            ObjectBuilder::new().schema_type(Type::Object).into(),
        ),
        op(
            Post,
            ENROLL,
            None,
            "Trade a one-time enrolment code for a device token",
        )
        .body(json::<EnrollRequest>(s))
        .reply(json::<EnrollReply>(s))
        .error(401, "the code is unknown, used or expired (invalid_code)"),
        op(
            Post,
            SYNC_PUSH,
            Device,
            "Push outbox ops; one result per op; 503 + Retry-After on a transient failure",
        )
        .body(json::<PushRequest>(s))
        .reply(json::<PushReply>(s)),
        op(
            Get,
            SYNC_HELLO,
            Device,
            "What this head office speaks: protocol, op kinds, change items, features (404 on protocol 1)",
        )
        .query(query::<crate::http::HelloQuery>())
        .reply(json::<Hello>(s)),
        op(
            Get,
            SYNC_PULL,
            Device,
            "Pull changes after a cursor, in pages of whole commits",
        )
        .query(query::<PullQuery>())
        .reply(json::<PullReply>(s))
        .error(403, "head office marked this device lost: it is sent nothing (device_lost)"),
        op(Head, BLOB, DeviceOrAdmin, "Is the blob stored? 200 yes, 404 no"),
        op(
            Post,
            SYNC_BLOBS_MISSING,
            Device,
            "Which of these blobs head office lacks (one request for a whole push instead of a HEAD per blob; feature blobs_missing)",
        )
        .body(json::<BlobCheck>(s))
        .reply(json::<BlobCheckReply>(s)),
        op(Get, ADMIN_TECHNICIANS, Admin, "List technicians")
            .reply(list::<onsite_api::Technician>(s)),
        op(Post, ADMIN_TECHNICIANS, Admin, "Register a technician")
            .body(json::<NewTechnician>(s))
            .created(json::<onsite_api::Technician>(s)),
        op(
            Post,
            ADMIN_ENROLMENT_CODES,
            Admin,
            "Issue a one-time enrolment code (body optional)",
        )
        .optional_body(json::<NewEnrolmentCode>(s))
        .created(json::<EnrolmentCode>(s)),
        op(Get, ADMIN_DEVICES, Admin, "List devices").reply(list::<onsite_api::Device>(s)),
        op(Post, ADMIN_DEVICE_REVOKE, Admin, "Revoke a device").reply(json::<onsite_api::Device>(s)),
        op(
            Post,
            ADMIN_DEVICE_LOST,
            Admin,
            "Mark a device lost (idempotent; 404 unknown device): its next hello says erase; it sends what it holds unsent, is sent nothing (pull: 403 device_lost), erases its customer data and files, reports at /v1/sync/erased and is revoked",
        )
        .reply(json::<onsite_api::Device>(s)),
        op(
            Post,
            SYNC_ERASED,
            Device,
            "A device marked lost reports it erased its customer data (counts only); head office records it and revokes the device (409 conflict when not marked lost)",
        )
        .body(json::<ErasedReport>(s))
        .reply(json::<onsite_api::Device>(s))
        .error(409, "the device is not marked lost (conflict)"),
        op(Get, ADMIN_WORK_ORDERS, Admin, "List work orders")
            .query(query::<WorkOrderQuery>())
            .reply(list::<WorkOrder>(s)),
        op(Post, ADMIN_WORK_ORDERS, Admin, "Create (dispatch) a work order")
            .body(json::<NewWorkOrder>(s))
            .created(json::<WorkOrder>(s))
            .error(409, "order_no is already used (conflict)"),
        op(
            Get,
            ADMIN_WORK_ORDER,
            Admin,
            "A work order with its facts and review flags",
        )
        .reply(json::<WorkOrderDetail>(s)),
        op(
            Patch,
            ADMIN_WORK_ORDER,
            Admin,
            "Update head office's fields of a work order",
        )
        .body(json::<WorkOrderUpdate>(s))
        .reply(json::<WorkOrder>(s))
        .error(409, "expected_version does not match (conflict)"),
        op(Post, ADMIN_WORK_ORDER_REASSIGN, Admin, "Reassign a work order")
            .body(json::<ReassignRequest>(s))
            .reply(json::<WorkOrder>(s))
            .error(409, "expected_version does not match, or the order is completed, unable to complete or cancelled (conflict)"),
        op(Post, ADMIN_WORK_ORDER_CANCEL, Admin, "Cancel a work order")
            .body(json::<CancelRequest>(s))
            .reply(json::<WorkOrder>(s))
            .error(409, "the order is completed or unable to complete (conflict)"),
        op(Get, ADMIN_FEE_TABLES, Admin, "List fee-table versions").reply(list::<FeeTable>(s)),
        op(Post, ADMIN_FEE_TABLES, Admin, "Publish a fee-table version")
            .body(json::<FeeTablePublish>(s))
            .created(json::<FeeTable>(s)),
        op(Put, ADMIN_PARTS_CATALOGUE, Admin, "Replace the parts catalogue")
            .body(json::<PartsCataloguePublish>(s))
            .reply(json::<PartsCatalogue>(s)),
        op(
            Post,
            ADMIN_PARTS_ISSUES,
            Admin,
            "Issue parts to a technician (their van stock); 400 names a part not in the catalogue in force",
        )
        .body(json::<NewPartsIssue>(s))
        .created(json::<PartsIssue>(s)),
        op(
            Get,
            ADMIN_PARTS_ISSUES,
            Admin,
            "A technician's parts issues, oldest first",
        )
        .reply(list::<PartsIssue>(s)),
        op(
            Put,
            ADMIN_COMPANY,
            Admin,
            "Set the company profile every device prints on its documents",
        )
        .body(json::<CompanyProfile>(s))
        .reply(json::<CompanyProfile>(s)),
        op(
            Post,
            ADMIN_PRICE_LISTS,
            Admin,
            "Publish a parts price-list version",
        )
        .body(json::<PriceListPublish>(s))
        .created(json::<PriceList>(s)),
        op(Get, ADMIN_REVIEW, Admin, "Jobs flagged for office review")
            .query(query::<ReviewQuery>())
            .reply(list::<ReviewFlag>(s)),
        op(
            Post,
            ADMIN_REVIEW_RESOLVE,
            Admin,
            "Mark a review flag dealt with",
        )
        .reply(json::<ReviewFlag>(s)),
        op(
            Get,
            ADMIN_REFUSED_OPS,
            Admin,
            "Ops head office refused, kept whole with their reason",
        )
        .query(query::<RefusedQuery>())
        .reply(list::<RefusedOp>(s)),
        op(
            Get,
            ADMIN_RESTORE_HORIZON,
            Admin,
            "The oldest kept backup, as declared, and the newest commit before it",
        )
        .reply(json::<RestoreHorizon>(s)),
        op(
            Put,
            ADMIN_RESTORE_HORIZON,
            Admin,
            "Declare the oldest backup still kept: devices may forget records acknowledged before it",
        )
        .body(json::<RestoreHorizonRequest>(s))
        .reply(json::<RestoreHorizon>(s)),
        op(
            Get,
            ADMIN_SETTINGS_RETENTION,
            Admin,
            "How many days devices keep closed jobs (default 90)",
        )
        .reply(json::<RetentionSetting>(s)),
        op(
            Put,
            ADMIN_SETTINGS_RETENTION,
            Admin,
            "Set how many days devices keep closed jobs (7..=3650; otherwise 400); told to devices in the hello",
        )
        .body(json::<RetentionSetting>(s))
        .reply(json::<RetentionSetting>(s)),
        op(
            Post,
            ADMIN_REFUSED_OP_APPLY,
            Admin,
            "Decide a refused op again once its cause is fixed",
        )
        .reply(json::<OpResult>(s)),
        op(
            Get,
            ADMIN_EXPORT,
            Admin,
            "Export completed jobs with their facts, signatures and documents (JSON, or CSV of ExportRow with format=csv)",
        )
        .query(query::<ExportQuery>())
        .reply(list::<ExportJob>(s))
        .ok(200, "text/csv", text()),
        op(
            Get,
            ADMIN_EXPORT_TECHNICIAN_DAYS,
            Admin,
            "Export technicians' day facts: van stock-takes, expenses, unused returns without a job (JSON, or CSV of TechnicianDayRow with format=csv)",
        )
        .query(query::<TechnicianDayQuery>())
        .reply(list::<TechnicianDayFact>(s))
        .ok(200, "text/csv", text()),
        op(
            Get,
            ADMIN_CARRY_BACKS,
            Admin,
            "List appliances taken to the workshop (carry-backs): receipt, job, state, expected return, overdue",
        )
        .query(query::<CarryBackQuery>())
        .reply(list::<CarryBack>(s)),
        op(Get, ADMIN_BLOB, Admin, "Download a blob").ok(200, OCTETS, bytes()),
        op(
            Post,
            ADMIN_EPOCH_ROTATE,
            Admin,
            "Start a new server epoch (after a restore from backup)",
        )
        .reply(json::<EpochReply>(s)),
        op(
            Put,
            BLOB,
            DeviceOrAdmin,
            "Upload a blob (raw bytes) verified against its SHA-256; 201 stored, 200 already there; 429 blob_quota_exceeded when a device has uploaded its quota of new blobs in 24 hours (Retry-After says when to try again; a blob already stored is always accepted)",
        )
        .raw_body()
        .ok(201, JSON, json::<BlobPutReply>(s))
        .ok(200, JSON, json::<BlobPutReply>(s)),
        // The office's people and integrations (crate::office, docs/hq-accounts.md).
        op(Post, crate::office::CONSOLE_LOGIN, None, "Sign in: sets the session cookie; the reply has the CSRF token for changes (401 bad_login; 429 while a wait after failed logins runs)")
            .body(json::<crate::office::LoginRequest>(s))
            .reply(json::<crate::office::Me>(s)),
        op(Post, crate::office::CONSOLE_LOGOUT, Session, "Sign out: the session ends and its cookie is cleared"),
        op(Get, crate::office::CONSOLE_ME, Session, "The signed-in person, their permissions and the session's CSRF token")
            .reply(json::<crate::office::Me>(s)),
        op(Post, crate::office::CONSOLE_PASSWORD, Session, "Change one's password: every session of the person ends and a new one is set (403 bad_login when the current password is wrong)")
            .body(json::<crate::office::PasswordChange>(s))
            .reply(json::<crate::office::Me>(s)),
        op(Get, crate::office::ADMIN_USERS, Admin, "The office's people").reply(list::<crate::storage::accounts::User>(s)),
        op(Post, crate::office::ADMIN_USERS, Admin, "Add a person with a role and a first password (409 when the name is taken)")
            .body(json::<crate::office::NewUserRequest>(s))
            .created(json::<crate::storage::accounts::User>(s)),
        op(Post, crate::office::ADMIN_USER_DISABLE, Admin, "Disable a person: they cannot sign in and their sessions end")
            .reply(json::<crate::storage::accounts::User>(s)),
        op(Post, crate::office::ADMIN_USER_ENABLE, Admin, "Enable a person again")
            .reply(json::<crate::storage::accounts::User>(s)),
        op(Get, crate::office::ADMIN_API_TOKENS, Admin, "Integrations' API tokens (never the tokens themselves)")
            .reply(list::<crate::storage::accounts::ApiToken>(s)),
        op(Post, crate::office::ADMIN_API_TOKENS, Admin, "Make an API token with scopes: the token is in this reply only")
            .body(json::<crate::office::NewApiTokenRequest>(s))
            .created(json::<crate::office::NewApiTokenReply>(s)),
        op(Post, crate::office::ADMIN_API_TOKEN_REVOKE, Admin, "Revoke an API token (idempotent)")
            .reply(json::<crate::storage::accounts::ApiToken>(s)),
        op(Get, crate::office::ADMIN_AUDIT, Admin, "The audit log, newest first: who viewed or exported customer data and who changed what")
            .query(query::<crate::office::AuditQuery>())
            .reply(list::<crate::storage::accounts::AuditRecord>(s)),
    ]
}

/// The path parameters of a path template: `{sha256}` is 64 lowercase hex digits, every
/// other one (`{id}`, `{device_id}`, `{op_id}`) a UUID (the handlers answer 400 otherwise).
fn path_params(path: &str) -> Vec<Parameter> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| {
            let schema = if name == "sha256" {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some("^[0-9a-f]{64}$"))
            } else {
                ObjectBuilder::new().schema_type(Type::String).format(Some(
                    utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Uuid),
                ))
            };
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .schema(Some(schema))
                .build()
        })
        .collect()
}

fn error(description: impl Into<String>) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}

/// The document as utoipa builds it (OpenAPI 3.1).
pub fn generated() -> OpenApi {
    let mut schemas = Schemas::new();
    json::<ErrorBody>(&mut schemas);
    let mut paths = PathsBuilder::new();
    for mut o in operations(&mut schemas) {
        // Paged lists and exports (crate::paging): `limit` and `cursor`, and the next page
        // in the Link and X-Next-Cursor headers.
        let paged = o.method == HttpMethod::Get && crate::paging::PAGED.contains(&o.path);
        if paged {
            o.params.extend(query::<crate::paging::PageArgs>());
        }
        let mut responses = ResponsesBuilder::new();
        let mut statuses: Vec<u16> = o.response.iter().map(|(status, _, _)| *status).collect();
        statuses.dedup();
        if statuses.is_empty() {
            responses =
                responses.response("200", ResponseBuilder::new().description("success").build());
        }
        for status in statuses {
            let mut r = ResponseBuilder::new().description("success");
            if paged {
                r = r
                    .header(
                        "Link",
                        utoipa::openapi::HeaderBuilder::new()
                            .schema(text())
                            .description(Some(
                                "the next page, `<path?…&cursor=…>; rel=\"next\"`; absent on the last page",
                            ))
                            .build(),
                    )
                    .header(
                        "X-Next-Cursor",
                        utoipa::openapi::HeaderBuilder::new()
                            .schema(text())
                            .description(Some("the next page's `cursor`; absent on the last page"))
                            .build(),
                    );
            }
            for (_, media, schema) in o.response.iter().filter(|(s, _, _)| *s == status) {
                r = r.content(
                    *media,
                    ContentBuilder::new().schema(Some(schema.clone())).build(),
                );
            }
            responses = responses.response(status.to_string(), r.build());
        }
        if o.request.is_some() || !o.params.is_empty() || o.path.contains('{') {
            responses = responses.response(
                "400",
                error("bad or malformed request (codes bad_request, malformed)"),
            );
        }
        if o.auth != Auth::None || o.path == ENROLL {
            responses = responses.response(
                "429",
                error(
                    "this address sent too many wrong tokens or enrolment codes and is refused \
                     for a minute (rate_limited); retry after the Retry-After header's seconds",
                ),
            );
        }
        match o.auth {
            Auth::None => {}
            Auth::Device | Auth::DeviceOrAdmin => {
                responses = responses.response(
                    "401",
                    error(
                        "no valid token (unauthorized), or the device was revoked (device_revoked)",
                    ),
                );
            }
            Auth::Session => {
                responses = responses
                    .response(
                        "401",
                        error("not signed in, or the session ended (unauthorized)"),
                    )
                    .response(
                        "403",
                        error("a change without the session's X-CSRF-Token (forbidden)"),
                    );
            }
            Auth::Admin => {
                responses = responses
                    .response("401", error("no token or session (unauthorized)"))
                    .response(
                        "403",
                        error("not a token or person of the office, or without this route's permission, or a change without the session's X-CSRF-Token (forbidden)"),
                    );
            }
        }
        if o.method == HttpMethod::Head {
            // A HEAD reply has no body.
            responses = responses.response(
                "404",
                ResponseBuilder::new().description("not stored").build(),
            );
        } else if o.path.contains('{') {
            responses = responses.response("404", error("no such resource (not_found)"));
        }
        for (status, description) in &o.errors {
            responses = responses.response(status.to_string(), error(*description));
        }
        match &o.request {
            Some((media, _, _)) if *media == OCTETS => {
                responses = responses.response(
                    "413",
                    error(format!(
                        "body larger than {} bytes (payload_too_large)",
                        limits::MAX_BLOB_BYTES
                    )),
                );
            }
            Some(_) => {
                responses = responses
                    .response(
                        "413",
                        error(format!(
                            "body larger than {} bytes, once decompressed (payload_too_large)",
                            limits::MAX_JSON_BODY_BYTES
                        )),
                    )
                    .response(
                        "415",
                        error("the body is not application/json, or is in a Content-Encoding head office does not take (unsupported_media_type)"),
                    );
            }
            None => {}
        }
        responses = responses.response(
            "503",
            error(
                "transient failure (unavailable), too many requests in flight (busy), or the \
                 request took too long (timeout); retry after the Retry-After header's seconds",
            ),
        );
        let security: Vec<SecurityRequirement> = match o.auth {
            Auth::None => vec![],
            Auth::Device => vec![SecurityRequirement::new(
                "deviceToken",
                Vec::<String>::new(),
            )],
            Auth::Admin => vec![
                SecurityRequirement::new("adminToken", Vec::<String>::new()),
                SecurityRequirement::new("consoleSession", Vec::<String>::new()),
            ],
            Auth::Session => vec![SecurityRequirement::new(
                "consoleSession",
                Vec::<String>::new(),
            )],
            Auth::DeviceOrAdmin => vec![
                SecurityRequirement::new("deviceToken", Vec::<String>::new()),
                SecurityRequirement::new("adminToken", Vec::<String>::new()),
            ],
        };
        let mut params = path_params(o.path);
        params.extend(o.params);
        let mut operation = OperationBuilder::new()
            .summary(Some(o.summary))
            .operation_id(Some(format!(
                "{}{}",
                method_name(&o.method),
                o.path.replace(['/', '{', '}', '-', '.'], "_")
            )))
            .responses(responses.build())
            .securities(Some(security));
        if !params.is_empty() {
            operation = operation.parameters(Some(params));
        }
        if let Some((media, schema, required)) = o.request {
            operation = operation.request_body(Some(
                RequestBodyBuilder::new()
                    .content(media, ContentBuilder::new().schema(Some(schema)).build())
                    .required(Some(if required {
                        Required::True
                    } else {
                        Required::False
                    }))
                    .build(),
            ));
        }
        paths = paths.path(o.path, PathItem::new(o.method, operation.build()));
    }
    let bearer = |description: &str| {
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(description))
                .build(),
        )
    };
    let mut components = ComponentsBuilder::new()
        .security_scheme(
            "deviceToken",
            bearer("A device's token from POST /v1/enroll"),
        )
        .security_scheme(
            "adminToken",
            bearer("The head office's admin token, or an integration's API token (its scopes are the permissions it has; docs/hq-accounts.md)"),
        )
        .security_scheme(
            "consoleSession",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Cookie(
                utoipa::openapi::security::ApiKeyValue::with_description(
                    crate::accounts::SESSION_COOKIE,
                    "A signed-in person's session (POST /v1/console/login); changes also need the X-CSRF-Token header",
                ),
            )),
        );
    for (name, schema) in schemas {
        components = components.schema(name, schema);
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Onsite head office (onsite-hq)")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Sync endpoints for technicians' devices and the head-office API. Every error body is an ErrorBody. Replies are compressed (Content-Encoding zstd or gzip) when the request's Accept-Encoding allows, except blobs; request bodies may be sent compressed with a Content-Encoding named in the hello's request_encodings (zstd, gzip; 415 unsupported_media_type for any other), and are held to the same size limits once decompressed (413). Generated from the wire types of the onsite-api crate (docs/openapi.md).",
                ))
                .build(),
        )
        .paths(paths.build())
        .components(Some(components.build()))
        .build()
}

fn method_name(method: &HttpMethod) -> &'static str {
    match method {
        HttpMethod::Get => "get",
        HttpMethod::Post => "post",
        HttpMethod::Put => "put",
        HttpMethod::Delete => "delete",
        HttpMethod::Options => "options",
        HttpMethod::Head => "head",
        HttpMethod::Patch => "patch",
        HttpMethod::Trace => "trace",
    }
}

/// The OpenAPI document, as served: OpenAPI 3.0.3, with the server's limits.
pub fn document() -> Value {
    let generated = serde_json::to_value(generated()).unwrap_or(Value::Null);
    let mut doc = to_openapi_3_0(generated);
    limits_and_defaults(&mut doc);
    doc
}

/// Merges `extra` into the schema of `schema.property` (panics when it does not exist:
/// the unit tests build the document, so a renamed field fails there).
fn set(doc: &mut Value, at: &str, extra: Value) {
    let (schema, property) = at.split_once('.').unwrap_or((at, ""));
    let mut target = &mut doc["components"]["schemas"][schema];
    if !property.is_empty() {
        target = &mut target["properties"][property];
    }
    match (target, extra) {
        (Value::Object(target), Value::Object(extra)) => target.extend(extra),
        _ => panic!("the OpenAPI document has no schema {at}"),
    }
}

/// The limits the server enforces and the defaults serde fills in, which no Rust type
/// carries: added to the generated schemas from the constants the server checks against.
fn limits_and_defaults(doc: &mut Value) {
    let category = json!({"pattern": "^[a-z0-9_]{1,64}$", "default": "hq"});
    let entries: Vec<(&str, Value)> = vec![
        (
            "PushRequest.ops",
            json!({"maxItems": limits::MAX_OPS_PER_PUSH}),
        ),
        (
            "BlobCheck.sha256",
            json!({"maxItems": limits::MAX_BLOBS_PER_CHECK, "items": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}),
        ),
        (
            "RetentionSetting.days",
            json!({"minimum": retention::MIN_DAYS, "maximum": retention::MAX_DAYS}),
        ),
        (
            "NewEnrolmentCode.valid_hours",
            json!({"minimum": 1, "maximum": 720, "default": 24}),
        ),
        ("Feedback.rating", json!({"minimum": 1, "maximum": 5})),
        (
            "Customer.language",
            json!({"enum": crate::rules::LANGUAGES, "default": "zh-CN"}),
        ),
        (
            "Appliance.contracts",
            json!({"maxItems": crate::rules::MAX_CONTRACTS, "default": []}),
        ),
        (
            "ServiceContract.reference",
            json!({"minLength": 1, "maxLength": 64}),
        ),
        ("FeeTablePublish.category", category.clone()),
        ("FeeTablePublish.items", json!({"minItems": 1})),
        ("FeeTable.category", category),
        ("FeeItem.name_zh", json!({"default": ""})),
        ("FeeItem.name_en", json!({"default": ""})),
        ("FeeItem.kind", json!({"default": "service"})),
        ("FeeItem.open_priced", json!({"default": false})),
        ("FeeItem.coverable", json!({"default": true})),
        ("FeeItem.includes", json!({"default": []})),
        ("Part.component", json!({"pattern": "^[a-z0-9_]{1,64}$"})),
        ("Part.return_required", json!({"default": false})),
        (
            "PartsIssueLine.quantity",
            json!({"minimum": 1, "maximum": 999}),
        ),
        (
            "NewPartsIssue.lines",
            json!({"minItems": 1, "maxItems": 200}),
        ),
        ("NewPartsIssue.note", json!({"maxLength": 500})),
        (
            "CompanyProfile.name",
            json!({"minLength": 1, "maxLength": 200}),
        ),
        (
            "CompanyProfile.phone",
            json!({"maxLength": 200, "default": ""}),
        ),
        (
            "CompanyProfile.address",
            json!({"maxLength": 200, "default": ""}),
        ),
        ("NewWorkOrder.notes", json!({"default": ""})),
    ];
    for (at, extra) in entries {
        set(doc, at, extra);
    }
    // The pull's page size: clamped to 1..=MAX_PULL_LIMIT, DEFAULT_PULL_LIMIT when absent.
    let pull = &mut doc["paths"][SYNC_PULL]["get"]["parameters"];
    if let Some(limit) = pull
        .as_array_mut()
        .and_then(|ps| ps.iter_mut().find(|p| p["name"] == "limit"))
    {
        if let Value::Object(schema) = &mut limit["schema"] {
            schema.insert("default".into(), json!(limits::DEFAULT_PULL_LIMIT));
            schema.insert("maximum".into(), json!(limits::MAX_PULL_LIMIT));
        }
    } else {
        panic!("the pull has no limit parameter");
    }
}

/// OpenAPI 3.1 (JSON Schema 2020-12, as utoipa writes it) to OpenAPI 3.0.3: a `null` in a
/// `type` list becomes `nullable: true`; a `oneOf`/`anyOf` of `{"type": "null"}` and one
/// schema becomes that schema (under `allOf` when it is a `$ref`) with `nullable: true`.
pub fn to_openapi_3_0(mut doc: Value) -> Value {
    tidy_for_3_0(&mut doc);
    fn walk(value: &mut Value) {
        match value {
            Value::Array(items) => items.iter_mut().for_each(walk),
            Value::Object(map) => {
                map.values_mut().for_each(walk);
                if let Some(Value::Array(types)) = map.get("type") {
                    let rest: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
                    if rest.len() < types.len() {
                        map.insert("nullable".into(), Value::Bool(true));
                    }
                    match rest.len() {
                        0 => {
                            map.remove("type");
                        }
                        1 => {
                            map.insert("type".into(), rest[0].clone());
                        }
                        _ => {
                            map.insert("type".into(), Value::Array(rest));
                        }
                    }
                }
                for key in ["oneOf", "anyOf"] {
                    let Some(Value::Array(options)) = map.get(key) else {
                        continue;
                    };
                    let null = json!({"type": "null"});
                    if !options.contains(&null) {
                        continue;
                    }
                    let rest: Vec<Value> =
                        options.iter().filter(|o| **o != null).cloned().collect();
                    map.remove(key);
                    map.insert("nullable".into(), Value::Bool(true));
                    if rest.len() == 1 {
                        match &rest[0] {
                            Value::Object(only) if !only.contains_key("$ref") => {
                                for (k, v) in only {
                                    map.entry(k.clone()).or_insert_with(|| v.clone());
                                }
                            }
                            only => {
                                map.insert("allOf".into(), Value::Array(vec![only.clone()]));
                            }
                        }
                    } else {
                        map.insert(key.into(), Value::Array(rest));
                    }
                }
            }
            _ => {}
        }
    }
    walk(&mut doc);
    doc["openapi"] = json!("3.0.3");
    doc
}

/// OpenAPI 3.0 ignores the siblings of a `$ref`: a reference with a description (a
/// field's doc comment) becomes `allOf: [$ref]` beside the description. And rustdoc's
/// link brackets (``[`Op::kind`]``) are dropped from the descriptions.
fn tidy_for_3_0(value: &mut Value) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(tidy_for_3_0),
        Value::Object(map) => {
            map.values_mut().for_each(tidy_for_3_0);
            if map.len() > 1 {
                if let Some(reference) = map.remove("$ref") {
                    map.insert("allOf".into(), json!([{ "$ref": reference }]));
                }
            }
            if let Some(Value::String(text)) = map.get_mut("description") {
                *text = text.replace("[`", "`").replace("`]", "`");
            }
        }
        _ => {}
    }
}

/// A JSON Schema (2020-12) for a schema of the served (3.0.3) document, for validators:
/// `nullable: true` becomes a `null` alternative, and the document's component schemas
/// ride along so that its `#/components/schemas/…` references resolve.
pub fn json_schema(doc: &Value, schema: &Value) -> Value {
    fn walk(value: &mut Value) {
        match value {
            Value::Array(items) => items.iter_mut().for_each(walk),
            Value::Object(map) => {
                map.values_mut().for_each(walk);
                if map.remove("nullable") == Some(Value::Bool(true)) {
                    match map.get_mut("type") {
                        Some(Value::String(t)) => {
                            let t = t.clone();
                            map.insert("type".into(), json!([t, "null"]));
                            if let Some(Value::Array(options)) = map.get_mut("enum") {
                                options.push(Value::Null);
                            }
                        }
                        _ => {
                            let inner = Value::Object(std::mem::take(map));
                            map.insert("anyOf".into(), json!([{"type": "null"}, inner]));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let mut components = doc["components"].clone();
    walk(&mut components);
    let mut root = schema.clone();
    walk(&mut root);
    let mut out = Map::new();
    out.insert(
        "$schema".into(),
        json!("https://json-schema.org/draft/2020-12/schema"),
    );
    // The schema is wrapped so that it may be a bare `$ref`.
    out.insert("allOf".into(), json!([root]));
    out.insert("components".into(), components);
    Value::Object(out)
}

/// Every (METHOD, path) the document lists, sorted, in the form of
/// [`crate::http::route_table`].
pub fn listed_routes() -> Vec<(String, String)> {
    let doc = document();
    let mut out = Vec::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, ops) in paths {
            if let Some(ops) = ops.as_object() {
                for method in ops.keys() {
                    out.push((method.to_uppercase(), path.clone()));
                }
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(schema: &Value, value: &Value) -> bool {
        jsonschema::options()
            .should_validate_formats(true)
            .build(schema)
            .unwrap()
            .is_valid(value)
    }

    /// The served 3.0.3 document, read back as JSON Schema, accepts and refuses what
    /// utoipa's own 3.1 (JSON Schema 2020-12) document does: the conversion loses nothing.
    #[test]
    fn the_3_0_document_means_what_utoipa_generated() {
        let generated = serde_json::to_value(generated()).unwrap();
        let served = document();
        assert_eq!(served["openapi"], "3.0.3");
        assert!(
            !served.to_string().contains("\"null\""),
            "3.1 null types left"
        );
        let order = serde_json::to_value(crate::demo::van_load(None)).unwrap();
        let mut samples = vec![("NewPartsIssue", order.clone())];
        let mut renamed = order.clone();
        renamed["Lines"] = renamed["lines"].take();
        samples.push(("NewPartsIssue", renamed));
        let mut nulled = order;
        nulled["note"] = Value::Null;
        nulled["work_order_id"] = Value::Null;
        samples.push(("NewPartsIssue", nulled.clone()));
        nulled["lines"] = Value::Null;
        samples.push(("NewPartsIssue", nulled));
        let hello = serde_json::to_value(onsite_api::Hello::current()).unwrap();
        samples.push(("Hello", hello.clone()));
        let mut bad = hello;
        bad["protocol"] = json!(-1);
        samples.push(("Hello", bad));
        let status = json!({"fact_id": uuid::Uuid::now_v7(), "to": "en_route", "from": null,
            "reason": null, "at": "2026-01-02T03:04:05Z"});
        samples.push(("StatusChange", status.clone()));
        let mut wrong = status;
        wrong["to"] = Value::Null;
        samples.push(("StatusChange", wrong));
        let mut verdicts = Vec::new();
        for (name, value) in &samples {
            let reference = json!({ "$ref": format!("#/components/schemas/{name}") });
            let mut utoipa_31 = reference.clone();
            utoipa_31["components"] = generated["components"].clone();
            let ours = json_schema(&served, &reference);
            let expected = valid(&utoipa_31, value);
            assert_eq!(valid(&ours, value), expected, "{name}: {value}");
            verdicts.push(expected);
        }
        // Both kinds of sample were there.
        assert!(verdicts.contains(&true) && verdicts.contains(&false));
    }
}
