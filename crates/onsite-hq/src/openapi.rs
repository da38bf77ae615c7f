//! The OpenAPI 3 document served at `/openapi.json`, written by hand from one table of
//! operations. A test (`tests/openapi.rs`) checks that it lists exactly the routes the
//! router serves ([`crate::http::route_table`]), so it cannot go stale silently.
//!
//! The body schemas are summaries; the Rust types in `onsite-api` are the reference.

use onsite_api::{limits, routes::*};
use serde_json::{json, Map, Value};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Auth {
    None,
    Device,
    Admin,
    DeviceOrAdmin,
}

struct Operation {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    auth: Auth,
    request: Option<&'static str>,
    query: &'static [(&'static str, &'static str)],
    ok: u16,
    response: Option<&'static str>,
}

const fn op(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    auth: Auth,
    request: Option<&'static str>,
    ok: u16,
    response: Option<&'static str>,
) -> Operation {
    Operation {
        method,
        path,
        summary,
        auth,
        request,
        query: &[],
        ok,
        response,
    }
}

fn operations() -> Vec<Operation> {
    use Auth::*;
    vec![
        op(
            "get",
            HEALTH,
            "Liveness",
            None,
            Option::None,
            200,
            Some("Health"),
        ),
        op(
            "get",
            OPENAPI,
            "This document",
            None,
            Option::None,
            200,
            Option::None,
        ),
        op(
            "post",
            ENROLL,
            "Trade a one-time enrolment code for a device token",
            None,
            Some("EnrollRequest"),
            200,
            Some("EnrollReply"),
        ),
        op(
            "post",
            SYNC_PUSH,
            "Push outbox ops; one result per op; 503 + Retry-After on a transient failure",
            Device,
            Some("PushRequest"),
            200,
            Some("PushReply"),
        ),
        Operation {
            query: &[
                (
                    "cursor",
                    "The cursor of the last saved page; absent for a first pull",
                ),
                ("limit", "Changes per page wanted"),
            ],
            ..op(
                "get",
                SYNC_PULL,
                "Pull changes after a cursor, in pages of whole commits",
                Device,
                Option::None,
                200,
                Some("PullReply"),
            )
        },
        op(
            "head",
            BLOB,
            "Is the blob stored? 200 yes, 404 no",
            DeviceOrAdmin,
            Option::None,
            200,
            Option::None,
        ),
        op(
            "put",
            BLOB,
            "Upload a blob (raw bytes) verified against its SHA-256; 201 stored, 200 already there",
            DeviceOrAdmin,
            Some("binary"),
            201,
            Some("BlobPutReply"),
        ),
        op(
            "get",
            ADMIN_TECHNICIANS,
            "List technicians",
            Admin,
            Option::None,
            200,
            Some("Technician[]"),
        ),
        op(
            "post",
            ADMIN_TECHNICIANS,
            "Register a technician",
            Admin,
            Some("NewTechnician"),
            201,
            Some("Technician"),
        ),
        op(
            "post",
            ADMIN_ENROLMENT_CODES,
            "Issue a one-time enrolment code (body optional)",
            Admin,
            Some("NewEnrolmentCode"),
            201,
            Some("EnrolmentCode"),
        ),
        op(
            "get",
            ADMIN_DEVICES,
            "List devices",
            Admin,
            Option::None,
            200,
            Some("Device[]"),
        ),
        op(
            "post",
            ADMIN_DEVICE_REVOKE,
            "Revoke a device",
            Admin,
            Option::None,
            200,
            Some("Device"),
        ),
        Operation {
            query: &[
                ("status", "Only this status"),
                ("technician_id", "Only this technician's"),
            ],
            ..op(
                "get",
                ADMIN_WORK_ORDERS,
                "List work orders",
                Admin,
                Option::None,
                200,
                Some("WorkOrder[]"),
            )
        },
        op(
            "post",
            ADMIN_WORK_ORDERS,
            "Create (dispatch) a work order",
            Admin,
            Some("NewWorkOrder"),
            201,
            Some("WorkOrder"),
        ),
        op(
            "get",
            ADMIN_WORK_ORDER,
            "A work order with its facts and review flags",
            Admin,
            Option::None,
            200,
            Some("WorkOrderDetail"),
        ),
        op(
            "patch",
            ADMIN_WORK_ORDER,
            "Update head office's fields of a work order",
            Admin,
            Some("WorkOrderUpdate"),
            200,
            Some("WorkOrder"),
        ),
        op(
            "post",
            ADMIN_WORK_ORDER_REASSIGN,
            "Reassign a work order",
            Admin,
            Some("ReassignRequest"),
            200,
            Some("WorkOrder"),
        ),
        op(
            "post",
            ADMIN_WORK_ORDER_CANCEL,
            "Cancel a work order",
            Admin,
            Some("CancelRequest"),
            200,
            Some("WorkOrder"),
        ),
        op(
            "get",
            ADMIN_FEE_TABLES,
            "List fee-table versions",
            Admin,
            Option::None,
            200,
            Some("FeeTable[]"),
        ),
        op(
            "post",
            ADMIN_FEE_TABLES,
            "Publish a fee-table version",
            Admin,
            Some("FeeTablePublish"),
            201,
            Some("FeeTable"),
        ),
        op(
            "put",
            ADMIN_PARTS_CATALOGUE,
            "Replace the parts catalogue",
            Admin,
            Some("PartsCataloguePublish"),
            200,
            Some("PartsCatalogue"),
        ),
        op(
            "post",
            ADMIN_PRICE_LISTS,
            "Publish a parts price-list version",
            Admin,
            Some("PriceListPublish"),
            201,
            Some("PriceList"),
        ),
        Operation {
            query: &[("include_resolved", "Include resolved flags (true/false)")],
            ..op(
                "get",
                ADMIN_REVIEW,
                "Jobs flagged for office review",
                Admin,
                Option::None,
                200,
                Some("ReviewFlag[]"),
            )
        },
        op(
            "post",
            ADMIN_REVIEW_RESOLVE,
            "Mark a review flag dealt with",
            Admin,
            Option::None,
            200,
            Some("ReviewFlag"),
        ),
        Operation {
            query: &[
                ("format", "json (default) or csv"),
                ("since", "RFC 3339: only jobs finished from then on"),
            ],
            ..op(
                "get",
                ADMIN_EXPORT,
                "Export completed jobs with their facts, signatures and documents",
                Admin,
                Option::None,
                200,
                Some("ExportJob[]"),
            )
        },
        Operation {
            query: &[
                ("format", "json (default) or csv"),
                ("from", "YYYY-MM-DD: only days on or after it"),
                ("to", "YYYY-MM-DD: only days on or before it"),
                ("technician_id", "only this technician's"),
            ],
            ..op(
                "get",
                ADMIN_EXPORT_TECHNICIAN_DAYS,
                "Export technicians' day facts: van stock-takes, expenses, unused returns without a job",
                Admin,
                Option::None,
                200,
                Some("TechnicianDayFact[]"),
            )
        },
        Operation {
            query: &[
                ("include_returned", "true: also items already returned (default false)"),
                ("technician_id", "only those taken by this technician"),
            ],
            ..op(
                "get",
                ADMIN_CARRY_BACKS,
                "List appliances taken to the workshop (carry-backs): receipt, job, state, expected return, overdue",
                Admin,
                Option::None,
                200,
                Some("CarryBack[]"),
            )
        },
        op(
            "get",
            ADMIN_BLOB,
            "Download a blob",
            Admin,
            Option::None,
            200,
            Some("binary"),
        ),
        op(
            "post",
            ADMIN_EPOCH_ROTATE,
            "Start a new server epoch (after a restore from backup)",
            Admin,
            Option::None,
            200,
            Some("EpochReply"),
        ),
    ]
}

fn schema_ref(name: &str) -> Value {
    if name == "binary" {
        return json!({"type": "string", "format": "binary"});
    }
    match name.strip_suffix("[]") {
        Some(item) => {
            json!({"type": "array", "items": {"$ref": format!("#/components/schemas/{item}")}})
        }
        None => json!({"$ref": format!("#/components/schemas/{name}")}),
    }
}

fn content(name: &str) -> Value {
    let media = if name == "binary" {
        "application/octet-stream"
    } else {
        "application/json"
    };
    json!({ media: { "schema": schema_ref(name) } })
}

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}})
}

fn path_params(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| {
            json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}})
        })
        .collect()
}

fn obj(props: &[(&str, Value)], required: &[&str]) -> Value {
    let mut p = Map::new();
    for (k, v) in props {
        p.insert((*k).to_owned(), v.clone());
    }
    json!({"type": "object", "properties": p, "required": required})
}

fn s() -> Value {
    json!({"type": "string"})
}
fn uuid() -> Value {
    json!({"type": "string", "format": "uuid"})
}
fn int() -> Value {
    json!({"type": "integer", "format": "int64"})
}
fn time() -> Value {
    json!({"type": "string", "format": "date-time"})
}
fn date() -> Value {
    json!({"type": "string", "format": "date"})
}
fn strings() -> Value {
    json!({"type": "array", "items": {"type": "string"}})
}
fn boolean() -> Value {
    json!({"type": "boolean"})
}
fn r(name: &str) -> Value {
    schema_ref(name)
}
fn described_string(description: &str) -> Value {
    json!({"type": "string", "description": description})
}
fn described(description: &str) -> Value {
    json!({"type": "object", "description": description})
}

/// The payloads of the visit's ops (`Op.payload` by `Op.kind`; onsite_api::OpPayload).
fn payload_schemas() -> Value {
    let state = json!({"type": "string", "enum": ["taken", "at_workshop", "repaired", "returned"]});
    json!({
        "Diagnosis": obj(&[("fact_id", uuid()), ("diagnosis_id", uuid()), ("fault_found", s()), ("components", strings()),
            ("exclusions", json!({"type": "array", "items": obj(&[("kind", s()), ("component", s())], &["kind"])})),
            ("notes", s()), ("photos", json!({"type": "array", "items": obj(&[("sha256", s()), ("media_type", s()), ("size", int())], &["sha256", "media_type", "size"])})), ("at", time())],
            &["fact_id", "diagnosis_id", "fault_found", "components", "exclusions", "notes", "photos", "at"]),
        "QuoteIssued": obj(&[("fact_id", uuid()), ("quote_id", uuid()), ("fee_table_id", s()), ("fee_table_version", int()), ("visit_date", date()), ("work_date", date()),
            ("lines", json!({"type": "array", "items": obj(&[("code", s()), ("quantity", int()), ("unit_price", r("Money")),
                ("status", json!({"type": "string", "enum": ["covered", "charged", "deposit"]})), ("charged", r("Money"))], &["code", "quantity", "unit_price", "status", "charged"])})),
            ("gross", r("Money")), ("covered", r("Money")), ("deposit", r("Money")), ("charged", r("Money")), ("due", r("Money")), ("at", time())],
            &["fact_id", "quote_id", "fee_table_version", "visit_date", "work_date", "lines", "gross", "covered", "deposit", "charged", "due", "at"]),
        "QuoteDecision": obj(&[("fact_id", uuid()), ("quote_id", uuid()), ("decision", json!({"type": "string", "enum": ["accepted", "declined"]})),
            ("status_to", s()), ("reason", s()), ("callout", r("Money")), ("at", time())], &["fact_id", "quote_id", "decision", "callout", "at"]),
        "PartReturn": obj(&[("fact_id", uuid()), ("return_id", uuid()), ("return_kind", json!({"type": "string", "enum": ["unused", "old"]})), ("part_id", s()),
            ("quantity", int()), ("work_order_id", uuid()), ("part_use_id", uuid()), ("serial", s()), ("quote_id", uuid()), ("reversed_line", int()), ("reversed", r("Money")), ("at", time())],
            &["fact_id", "return_id", "return_kind", "part_id", "quantity", "reversed", "at"]),
        "StockTake": obj(&[("fact_id", uuid()), ("stock_take_id", uuid()),
            ("lines", json!({"type": "array", "items": obj(&[("part_id", s()), ("expected", int()), ("counted", int()), ("difference", int())], &["part_id", "expected", "counted", "difference"])})), ("at", time())],
            &["fact_id", "stock_take_id", "lines", "at"]),
        "CarryBackTaken": obj(&[("fact_id", uuid()), ("carry_back_id", uuid()), ("receipt_no", s()), ("item", s()), ("serial_no", s()), ("accessories", strings()),
            ("condition", s()), ("fault", s()), ("expected_return", date()), ("photos", strings()), ("signer_name", s()),
            ("png_sha256", described_string("SHA-256 of the signature PNG, uploaded as a blob first")), ("at", time())],
            &["fact_id", "carry_back_id", "receipt_no", "item", "accessories", "condition", "fault", "expected_return", "photos", "signer_name", "png_sha256", "at"]),
        "CarryBackAdvanced": obj(&[("fact_id", uuid()), ("carry_back_id", uuid()), ("from", state.clone()), ("to", state.clone()), ("at", time())],
            &["fact_id", "carry_back_id", "from", "to", "at"]),
        "CarryBackReturned": obj(&[("fact_id", uuid()), ("carry_back_id", uuid()), ("receipt_collected", boolean()), ("receipt_lost_note", s()), ("signer_name", s()),
            ("png_sha256", described_string("SHA-256 of the signature PNG, uploaded as a blob first")), ("at", time())],
            &["fact_id", "carry_back_id", "receipt_collected", "signer_name", "png_sha256", "at"]),
        "InvoiceLater": obj(&[("fact_id", uuid()), ("amount", r("Money")), ("at", time())], &["fact_id", "amount", "at"]),
        "Feedback": obj(&[("fact_id", uuid()), ("rating", json!({"type": "integer", "minimum": 1, "maximum": 5})), ("comment", s()), ("callback_allowed", boolean()), ("at", time())],
            &["fact_id", "rating", "comment", "callback_allowed", "at"]),
        "Expense": obj(&[("fact_id", uuid()), ("day", date()), ("km", int()), ("meal_days", int()), ("nights", int()), ("per_km", r("Money")), ("meal_per_day", r("Money")),
            ("lodging_per_night", r("Money")), ("mileage", r("Money")), ("meals", r("Money")), ("lodging", r("Money")), ("total", r("Money")), ("at", time())],
            &["fact_id", "day", "km", "meal_days", "nights", "per_km", "meal_per_day", "lodging_per_night", "mileage", "meals", "lodging", "total", "at"]),
    })
}

fn schemas() -> Value {
    let money = obj(
        &[
            ("minor", int()),
            ("currency", json!({"type": "string", "enum": ["CNY"]})),
        ],
        &["minor", "currency"],
    );
    let op_kinds: Vec<&str> = onsite_api::OpKind::ALL.iter().map(|k| k.as_str()).collect();
    let carry_back_state =
        json!({"type": "string", "enum": ["taken", "at_workshop", "repaired", "returned"]});
    let mut all = json!({
        "ErrorBody": obj(&[("code", s()), ("message", s())], &["code", "message"]),
        "Health": obj(&[("status", s())], &["status"]),
        "Money": money,
        "EnrollRequest": obj(&[("code", s()), ("device_name", s())], &["code", "device_name"]),
        "EnrollReply": obj(&[("device_id", uuid()), ("technician_id", uuid()), ("technician_name", s()), ("token", s()), ("epoch", s())],
            &["device_id", "technician_id", "technician_name", "token", "epoch"]),
        "Op": obj(&[("op_id", uuid()), ("device_seq", int()), ("kind", json!({"type": "string", "description": format!("one of {}", op_kinds.join(", "))})),
            ("entity_id", uuid()), ("base_version", int()), ("payload", described("the kind's payload (onsite_api::OpPayload)"))],
            &["op_id", "device_seq", "kind", "entity_id", "payload"]),
        "PushRequest": obj(&[("ops", json!({"type": "array", "maxItems": limits::MAX_OPS_PER_PUSH, "items": r("Op")}))], &["ops"]),
        "OpResult": obj(&[("op_id", uuid()), ("duplicate", boolean()), ("outcome", obj(&[
            ("status", json!({"type": "string", "enum": ["applied", "rejected"]})),
            ("server_seq", int()), ("flagged_for_review", boolean()), ("code", s()), ("reason", s())], &["status"]))],
            &["op_id", "duplicate", "outcome"]),
        "PushReply": obj(&[("results", json!({"type": "array", "items": r("OpResult")})), ("epoch", s())], &["results", "epoch"]),
        "Change": obj(&[("seq", int()), ("item", obj(&[
            ("type", json!({"type": "string", "enum": ["work_order", "work_order_removed", "fee_table", "parts_catalogue", "price_list", "fact"]})),
            ("data", described("the entity"))], &["type", "data"]))], &["seq", "item"]),
        "PullReply": obj(&[("epoch", s()), ("reset", boolean()), ("changes", json!({"type": "array", "items": r("Change")})), ("cursor", s()), ("has_more", boolean())],
            &["epoch", "reset", "changes", "cursor", "has_more"]),
        "BlobPutReply": obj(&[("sha256", s()), ("size", int()), ("created", boolean())], &["sha256", "size", "created"]),
        "NewTechnician": obj(&[("name", s())], &["name"]),
        "Technician": obj(&[("id", uuid()), ("name", s()), ("created_at", time())], &["id", "name", "created_at"]),
        "NewEnrolmentCode": obj(&[("valid_hours", json!({"type": "integer", "minimum": 1, "maximum": 720}))], &[]),
        "EnrolmentCode": obj(&[("code", s()), ("technician_id", uuid()), ("expires_at", time())], &["code", "technician_id", "expires_at"]),
        "Device": obj(&[("id", uuid()), ("technician_id", uuid()), ("name", s()), ("enrolled_at", time()), ("revoked_at", time())], &["id", "technician_id", "name", "enrolled_at"]),
        "NewWorkOrder": described("onsite_api::NewWorkOrder: order_no, technician_id, job_type, customer, appliance, reported_fault, notes, appointment_start, appointment_end"),
        "WorkOrderUpdate": described("onsite_api::WorkOrderUpdate: expected_version and any of job_type, customer, appliance, reported_fault, notes, appointment_start, appointment_end"),
        "ReassignRequest": obj(&[("technician_id", uuid()), ("expected_version", int())], &["technician_id"]),
        "CancelRequest": obj(&[("reason", s())], &["reason"]),
        "WorkOrder": described("onsite_api::WorkOrder"),
        "WorkOrderDetail": obj(&[("work_order", r("WorkOrder")), ("facts", json!({"type": "array", "items": described("onsite_api::FactRecord")})), ("review_flags", json!({"type": "array", "items": r("ReviewFlag")}))],
            &["work_order", "facts", "review_flags"]),
        "FeeTablePublish": obj(&[("effective_from", time()), ("items", json!({"type": "array", "items": r("FeeItem")}))], &["effective_from", "items"]),
        "FeeItem": obj(&[("code", s()), ("description", s()), ("fee", r("Money")), ("plus_parts", boolean())], &["code", "description", "fee", "plus_parts"]),
        "FeeTable": obj(&[("version", int()), ("effective_from", time()), ("published_at", time()), ("items", json!({"type": "array", "items": r("FeeItem")}))],
            &["version", "effective_from", "published_at", "items"]),
        "PartsCataloguePublish": described("onsite_api::PartsCataloguePublish: parts[] of part_no, name, serialised, consumable"),
        "PartsCatalogue": described("onsite_api::PartsCatalogue: version, published_at, parts[]"),
        "PriceListPublish": described("onsite_api::PriceListPublish: effective_from, prices[] of part_no, price"),
        "PriceList": described("onsite_api::PriceList: version, effective_from, published_at, prices[]"),
        "ReviewFlag": obj(&[("id", uuid()), ("work_order_id", uuid()), ("order_no", s()),
            ("reason", json!({"type": "string", "enum": ["cancelled_before_sync", "reassigned_before_sync", "status_conflict"]})),
            ("op_id", uuid()), ("technician_id", uuid()), ("device_id", uuid()), ("created_at", time()), ("resolved_at", time())],
            &["id", "work_order_id", "order_no", "reason", "op_id", "technician_id", "device_id", "created_at"]),
        "ExportJob": obj(&[("work_order", r("WorkOrder")), ("facts", json!({"type": "array", "items": described("onsite_api::FactRecord")})), ("blobs", json!({"type": "array", "items": s()})),
            ("carry_backs", json!({"type": "array", "items": r("CarryBack")}))],
            &["work_order", "facts", "blobs", "carry_backs"]),
        "CarryBack": obj(&[("carry_back_id", uuid()), ("receipt_no", s()), ("work_order_id", uuid()), ("order_no", s()), ("technician_id", uuid()), ("item", s()),
            ("state", carry_back_state.clone()), ("taken_at", time()), ("expected_return", date()),
            ("working_days_out", json!({"type": "integer", "minimum": 0})),
            ("overdue", json!({"type": "string", "nullable": true, "enum": ["past_expected_return", "past_repair_limit", null],
                "description": "set while out and late: past the promised date, or more than 15 working days since taken"})),
            ("returned_at", time()), ("receipt_collected", boolean()), ("flagged_for_review", boolean())],
            &["carry_back_id", "receipt_no", "work_order_id", "order_no", "technician_id", "item", "state", "taken_at", "expected_return", "working_days_out", "flagged_for_review"]),
        "EpochReply": obj(&[("epoch", s())], &["epoch"]),
        "TechnicianDayFact": obj(&[("day", date()), ("fact_id", uuid()), ("op_id", uuid()), ("technician_id", uuid()), ("device_id", uuid()),
            ("kind", json!({"type": "string", "enum": ["stock_take", "record_expense", "return_part"]})),
            ("payload", described("the kind's payload: StockTake, Expense or PartReturn")), ("superseded", boolean()), ("received_at", time())],
            &["day", "fact_id", "op_id", "technician_id", "device_id", "kind", "payload", "superseded", "received_at"]),
    });
    if let (Value::Object(all), Value::Object(payloads)) = (&mut all, payload_schemas()) {
        all.extend(payloads);
    }
    all
}

/// The OpenAPI document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for o in operations() {
        let mut operation = Map::new();
        operation.insert("summary".into(), json!(o.summary));
        operation.insert(
            "operationId".into(),
            json!(format!(
                "{}{}",
                o.method,
                o.path.replace(['/', '{', '}', '-', '.'], "_")
            )),
        );
        let mut params = path_params(o.path);
        for (name, description) in o.query {
            params.push(json!({"name": name, "in": "query", "required": false, "description": description, "schema": {"type": "string"}}));
        }
        if !params.is_empty() {
            operation.insert("parameters".into(), Value::Array(params));
        }
        if let Some(req) = o.request {
            operation.insert(
                "requestBody".into(),
                json!({"required": req != "NewEnrolmentCode", "content": content(req)}),
            );
        }
        let mut responses = Map::new();
        let ok = match o.response {
            Some(name) => json!({"description": "success", "content": content(name)}),
            None => json!({"description": "success"}),
        };
        responses.insert(o.ok.to_string(), ok);
        if o.request.is_some() || !o.query.is_empty() || o.path.contains('{') {
            responses.insert(
                "400".into(),
                error_response("bad, malformed or oversized request"),
            );
        }
        match o.auth {
            Auth::None => {}
            Auth::Device | Auth::DeviceOrAdmin => {
                responses.insert(
                    "401".into(),
                    error_response("no valid token, or the device was revoked"),
                );
            }
            Auth::Admin => {
                responses.insert("401".into(), error_response("no token"));
                responses.insert("403".into(), error_response("not the admin token"));
            }
        }
        if o.request.is_some() {
            responses.insert("413".into(), error_response("body too large"));
        }
        responses.insert(
            "503".into(),
            error_response("transient failure; see Retry-After"),
        );
        operation.insert("responses".into(), Value::Object(responses));
        let security = match o.auth {
            Auth::None => json!([]),
            Auth::Device => json!([{"deviceToken": []}]),
            Auth::Admin => json!([{"adminToken": []}]),
            Auth::DeviceOrAdmin => json!([{"deviceToken": []}, {"adminToken": []}]),
        };
        operation.insert("security".into(), security);
        let entry = paths
            .entry(o.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(map) = entry {
            map.insert(o.method.into(), Value::Object(operation));
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Onsite head office (onsite-hq)",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Sync endpoints for technicians' devices and the head-office API. Every error body is an ErrorBody. Wire types: the onsite-api crate."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "deviceToken": {"type": "http", "scheme": "bearer", "description": "A device's token from POST /v1/enroll"},
                "adminToken": {"type": "http", "scheme": "bearer", "description": "The head office's admin token"}
            },
            "schemas": schemas()
        }
    })
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
