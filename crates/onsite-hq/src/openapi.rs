//! The OpenAPI 3 document served at `/openapi.json`, written by hand from one table of
//! operations. A test (`tests/server.rs`, `openapi_lists_exactly_the_routes_the_server_has`)
//! checks that it lists exactly the routes the router serves
//! ([`crate::http::route_table`]), so it cannot go stale silently.
//!
//! Some body schemas are summaries; the Rust types in `onsite-api` are the reference. The
//! work orders' and the reference data's are field by field, and a unit test below checks
//! real serialised values against them.

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
                (
                    "accept",
                    "Opt-in item types the client reads, comma-separated: parts_issued,company (absent: neither is sent)",
                ),
                (
                    "checkpoint",
                    "<seq>:<tag> of the newest commit the device knows of; a commit this database does not hold answers reset",
                ),
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
        Operation {
            query: &[(
                "checkpoint",
                "<seq>:<tag> of the newest commit the device knows of: history_lost when this database does not hold it",
            )],
            ..op(
                "get",
                SYNC_HELLO,
                "What this head office speaks: protocol, op kinds, change items, features (404 on protocol 1)",
                Device,
                Option::None,
                200,
                Some("Hello"),
            )
        },
        op(
            "post",
            SYNC_ERASED,
            "A device marked lost reports it erased its customer data (counts only); head office records it and revokes the device (409 conflict when not marked lost)",
            Device,
            Some("ErasedReport"),
            200,
            Some("Device"),
        ),
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
        op(
            "post",
            ADMIN_DEVICE_LOST,
            "Mark a device lost (idempotent; 404 unknown device): its next hello says erase; it sends what it holds unsent, is sent nothing (pull: 403 device_lost), erases its customer data and files, reports at /v1/sync/erased and is revoked",
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
            ADMIN_PARTS_ISSUES,
            "Issue parts to a technician (their van stock); 400 names a part not in the catalogue in force",
            Admin,
            Some("NewPartsIssue"),
            201,
            Some("PartsIssue"),
        ),
        op(
            "get",
            ADMIN_PARTS_ISSUES,
            "A technician's parts issues, oldest first",
            Admin,
            Option::None,
            200,
            Some("PartsIssue[]"),
        ),
        op(
            "put",
            ADMIN_COMPANY,
            "Set the company profile every device prints on its documents",
            Admin,
            Some("CompanyProfile"),
            200,
            Some("CompanyProfile"),
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
                ("include_resolved", "Include ops applied since (true/false)"),
                ("technician_id", "Only this technician's"),
            ],
            ..op(
                "get",
                ADMIN_REFUSED_OPS,
                "Ops head office refused, kept whole with their reason",
                Admin,
                Option::None,
                200,
                Some("RefusedOp[]"),
            )
        },
        op(
            "get",
            ADMIN_RESTORE_HORIZON,
            "The oldest kept backup, as declared, and the newest commit before it",
            Admin,
            Option::None,
            200,
            Some("RestoreHorizon"),
        ),
        op(
            "get",
            ADMIN_SETTINGS_RETENTION,
            "How many days devices keep closed jobs (default 90)",
            Admin,
            Option::None,
            200,
            Some("RetentionSetting"),
        ),
        op(
            "put",
            ADMIN_SETTINGS_RETENTION,
            "Set how many days devices keep closed jobs (7..=3650; otherwise 400); told to devices in the hello",
            Admin,
            Some("RetentionSetting"),
            200,
            Some("RetentionSetting"),
        ),
        op(
            "put",
            ADMIN_RESTORE_HORIZON,
            "Declare the oldest backup still kept: devices may forget records acknowledged before it",
            Admin,
            Some("RestoreHorizonRequest"),
            200,
            Some("RestoreHorizon"),
        ),
        op(
            "post",
            ADMIN_REFUSED_OP_APPLY,
            "Decide a refused op again once its cause is fixed",
            Admin,
            Option::None,
            200,
            Some("OpResult"),
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
fn described_date(description: &str) -> Value {
    json!({"type": "string", "format": "date", "description": description})
}
fn described_string(description: &str) -> Value {
    json!({"type": "string", "description": description})
}
fn described_int(description: &str) -> Value {
    json!({"type": "integer", "format": "int64", "description": description})
}
fn described_boolean(description: &str) -> Value {
    json!({"type": "boolean", "description": description})
}
fn described_ref(name: &str, description: &str) -> Value {
    json!({"allOf": [r(name)], "description": description})
}
fn nullable(mut schema: Value) -> Value {
    if let Value::Object(m) = &mut schema {
        m.insert("nullable".into(), Value::Bool(true));
    }
    schema
}
fn category() -> Value {
    json!({"type": "string", "pattern": "^[a-z0-9_]{1,64}$", "default": "hq",
        "description": "the appliance category the table prices, e.g. water_purifier; versions are numbered across all categories, and a device uses, per category, the version in force on the work date"})
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
            ("status_from", s()), ("status_to", s()), ("reason", s()), ("callout", r("Money")), ("at", time())], &["fact_id", "quote_id", "decision", "callout", "at"]),
        "PartReturn": obj(&[("fact_id", uuid()), ("return_id", uuid()), ("return_kind", json!({"type": "string", "enum": ["unused", "old"]})), ("part_id", s()),
            ("quantity", int()), ("work_order_id", uuid()), ("part_use_id", uuid()), ("serial", s()), ("quote_id", uuid()), ("reversed_line", int()), ("reversed", r("Money")),
            ("day", described_date("the technician's local calendar day when recorded (an unused return without a job is filed under it); absent from older devices: the UTC date of at")), ("at", time())],
            &["fact_id", "return_id", "return_kind", "part_id", "quantity", "reversed", "at"]),
        "StockTake": obj(&[("fact_id", uuid()), ("stock_take_id", uuid()),
            ("lines", json!({"type": "array", "items": obj(&[("part_id", s()), ("expected", int()), ("counted", int()), ("difference", int())], &["part_id", "expected", "counted", "difference"])})),
            ("day", described_date("the technician's local calendar day of the count, which it is filed under; absent from older devices: the UTC date of at")), ("at", time())],
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
        "Addendum": obj(&[("fact_id", uuid()), ("addendum_id", uuid()),
            ("text", described_string("a note added after the job was closed (1 to 2,000 characters); not part of the signed content")), ("at", time())],
            &["fact_id", "addendum_id", "text", "at"]),
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
    let job_type = json!({"type": "string", "enum": onsite_domain::JobType::ALL.iter().map(|j| j.as_str()).collect::<Vec<_>>()});
    let status = json!({"type": "string", "enum": onsite_domain::WorkOrderStatus::ALL.iter().map(|j| j.as_str()).collect::<Vec<_>>()});
    let customer = obj(
        &[
            ("name", s()),
            ("phone", s()),
            ("address", s()),
            (
                "language",
                json!({"type": "string", "enum": crate::rules::LANGUAGES, "default": "zh-CN",
                    "description": "the language the customer's documents and quote are in"}),
            ),
        ],
        &["name", "phone", "address"],
    );
    let proof = obj(
        &[
            (
                "kind",
                json!({"type": "string", "enum": ["none", "receipt", "invoice"]}),
            ),
            (
                "date",
                json!({"type": "string", "format": "date", "nullable": true,
                "description": "the date on the proof; absent for kind none. A receipt or invoice without one is accepted (the device then charges: free service needs a dated, sealed proof)"}),
            ),
            (
                "sealed",
                json!({"type": "boolean", "description": "the proof bears the seller's seal; false for kind none"}),
            ),
        ],
        &["kind", "sealed"],
    );
    let contract = obj(
        &[
            (
                "reference",
                json!({"type": "string", "minLength": 1, "maxLength": 64, "description": "head office's contract number"}),
            ),
            (
                "covers",
                json!({"type": "string", "enum": ["labour", "parts", "both"],
                "description": "labour: services, labour and travel; parts: parts; both"}),
            ),
            (
                "valid_from",
                json!({"type": "string", "format": "date", "description": "first day covered"}),
            ),
            (
                "valid_to",
                json!({"type": "string", "format": "date", "description": "last day covered (inclusive), not before valid_from"}),
            ),
        ],
        &["reference", "covers", "valid_from", "valid_to"],
    );
    let appliance = obj(
        &[
            (
                "category",
                described_string(
                    "the fee-table category that prices its jobs, e.g. water_purifier",
                ),
            ),
            ("brand", s()),
            ("model", s()),
            ("serial_no", nullable(s())),
            ("purchase_date", nullable(date())),
            (
                "proof",
                json!({"allOf": [r("ProofOfPurchase")], "nullable": true,
                "description": "the proof of purchase head office has seen; null or absent: none on file (the technician records it on site)"}),
            ),
            (
                "contracts",
                json!({"type": "array", "maxItems": crate::rules::MAX_CONTRACTS, "items": r("ServiceContract"), "default": [],
                "description": "maintenance contracts: within its dates, what one covers is free"}),
            ),
        ],
        &["category", "brand", "model"],
    );
    let fee_item = obj(
        &[
            ("code", described_string("unique in the table")),
            (
                "description",
                described_string("what the service is; shown when a name is empty"),
            ),
            (
                "fee",
                json!({"allOf": [r("Money")], "description": "the price of one unit, not negative; for an open-priced item a default the technician replaces"}),
            ),
            (
                "plus_parts",
                described_boolean("parts are charged on top (\"20 + parts\")"),
            ),
            (
                "name_zh",
                json!({"type": "string", "default": "", "description": "name in Chinese"}),
            ),
            (
                "name_en",
                json!({"type": "string", "default": "", "description": "name in English"}),
            ),
            (
                "kind",
                json!({"type": "string", "enum": ["service", "labour", "travel", "part"], "default": "service",
                "description": "service: once per job, may be bundled; labour and travel: by quantity; part: a part fitted"}),
            ),
            (
                "open_priced",
                json!({"type": "boolean", "default": false, "description": "the technician sets the price on site (a quoted repair); never a bundle"}),
            ),
            (
                "coverable",
                json!({"type": "boolean", "default": true,
                "description": "warranty and contracts may make it free; false: charged whatever (relocation)"}),
            ),
            (
                "includes",
                json!({"type": "array", "items": {"type": "string"}, "default": [],
                "description": "a bundle: two or more distinct codes of this table (its own code may be one) that it replaces when all are on one job; only on a fixed-price service"}),
            ),
        ],
        &["code", "description", "fee", "plus_parts"],
    );
    let part = obj(
        &[
            ("part_no", described_string("unique")),
            (
                "name",
                described_string("name (in Chinese when name_en is given)"),
            ),
            (
                "serialised",
                described_boolean("carries a serial number to record when fitted"),
            ),
            (
                "consumable",
                described_boolean("a consumable (a filter): never covered by warranty"),
            ),
            (
                "name_en",
                json!({"type": "string", "nullable": true, "description": "name in English"}),
            ),
            (
                "component",
                json!({"type": "string", "nullable": true, "pattern": "^[a-z0-9_]{1,64}$",
                "description": "the appliance component it is (filter, pump, valve, …): decides its warranty term"}),
            ),
            (
                "return_required",
                json!({"type": "boolean", "default": false,
                "description": "the old part has a recovery value and must come back even when cheap"}),
            ),
        ],
        &["part_no", "name", "serialised", "consumable"],
    );
    let mut all = json!({
        "ErrorBody": obj(&[("code", s()), ("message", s())], &["code", "message"]),
        "Health": obj(&[("status", s())], &["status"]),
        "Money": money,
        "EnrollRequest": obj(&[("code", s()), ("device_name", s())], &["code", "device_name"]),
        "EnrollReply": obj(&[("device_id", uuid()), ("technician_id", uuid()), ("technician_name", s()), ("token", s()), ("epoch", s()),
            ("server_id", described("head office's lasting identity, kept through restores and address changes"))],
            &["device_id", "technician_id", "technician_name", "token", "epoch"]),
        "Op": obj(&[("op_id", uuid()), ("device_seq", int()), ("kind", json!({"type": "string", "description": format!("one of {}", op_kinds.join(", "))})),
            ("entity_id", uuid()), ("base_version", int()), ("payload", described("the kind's payload (onsite_api::OpPayload)"))],
            &["op_id", "device_seq", "kind", "entity_id", "payload"]),
        "PushRequest": obj(&[("ops", json!({"type": "array", "maxItems": limits::MAX_OPS_PER_PUSH, "items": r("Op")}))], &["ops"]),
        "OpResult": obj(&[("op_id", uuid()), ("duplicate", boolean()), ("outcome", obj(&[
            ("status", json!({"type": "string", "enum": ["applied", "rejected"]})),
            ("server_seq", int()), ("flagged_for_review", boolean()), ("code", s()), ("reason", s())], &["status"]))],
            &["op_id", "duplicate", "outcome"]),
        "PushReply": obj(&[("results", json!({"type": "array", "items": r("OpResult")})), ("epoch", s()),
            ("checkpoint", described("<seq>:<tag> of the newest commit among the results; send it back as the pull's checkpoint"))], &["results", "epoch"]),
        "Change": obj(&[("seq", int()), ("item", obj(&[
            ("type", json!({"type": "string", "enum": ["work_order", "work_order_removed", "fee_table", "parts_catalogue", "price_list", "fact", "parts_issued", "company"],
                "description": "parts_issued (data: PartsIssue, the device's technician only) and company (data: CompanyProfile, everyone) are sent only when the pull names them in `accept`; a client ignores a type it does not know"})),
            ("data", described("the entity: WorkOrder, {id}, FeeTable, PartsCatalogue, PriceList, FactRecord, PartsIssue or CompanyProfile"))], &["type", "data"]))], &["seq", "item"]),
        "PullReply": obj(&[("epoch", s()), ("reset", boolean()), ("changes", json!({"type": "array", "items": r("Change")})), ("cursor", s()), ("has_more", boolean()),
            ("checkpoint", described("<seq>:<tag> of the page's last commit; keep the newest one known and send it as the next pull's checkpoint"))],
            &["epoch", "reset", "changes", "cursor", "has_more"]),
        "BlobPutReply": obj(&[("sha256", s()), ("size", int()), ("created", boolean())], &["sha256", "size", "created"]),
        "NewTechnician": obj(&[("name", s())], &["name"]),
        "Technician": obj(&[("id", uuid()), ("name", s()), ("created_at", time())], &["id", "name", "created_at"]),
        "NewEnrolmentCode": obj(&[("valid_hours", json!({"type": "integer", "minimum": 1, "maximum": 720}))], &[]),
        "EnrolmentCode": obj(&[("code", s()), ("technician_id", uuid()), ("expires_at", time())], &["code", "technician_id", "expires_at"]),
        "Device": obj(&[("id", uuid()), ("technician_id", uuid()), ("name", s()), ("enrolled_at", time()), ("revoked_at", time()),
            ("lost_at", json!({"type": "string", "format": "date-time", "description": "when the office marked the device lost; absent when not"})),
            ("erased", described_ref("ErasedRecord", "when the lost device reported erasing its customer data, with its counts; absent until then"))], &["id", "technician_id", "name", "enrolled_at"]),
        "ReassignRequest": obj(&[("technician_id", uuid()), ("expected_version", int())], &["technician_id"]),
        "CancelRequest": obj(&[("reason", s())], &["reason"]),
        "WorkOrderDetail": obj(&[("work_order", r("WorkOrder")),
            ("technician_notes", nullable(described_string("the technician's own notes as they last left them (their latest edit_notes); null when never edited"))),
            ("addenda", json!({"type": "array", "items": r("JobAddendum")})),
            ("facts", json!({"type": "array", "items": described("onsite_api::FactRecord")})), ("review_flags", json!({"type": "array", "items": r("ReviewFlag")}))],
            &["work_order", "facts", "review_flags"]),
        "JobAddendum": obj(&[("id", uuid()), ("text", s()), ("at", time()), ("technician_id", uuid()), ("received_at", time())],
            &["id", "text", "at", "technician_id", "received_at"]),
        "ReviewFlag": obj(&[("id", uuid()), ("work_order_id", uuid()), ("order_no", s()),
            ("reason", json!({"type": "string", "enum": ["cancelled_before_sync", "reassigned_before_sync", "status_conflict", "signature_mismatch"]})),
            ("op_id", uuid()), ("technician_id", uuid()), ("device_id", uuid()), ("created_at", time()), ("resolved_at", time())],
            &["id", "work_order_id", "order_no", "reason", "op_id", "technician_id", "device_id", "created_at"]),
        "ExportJob": obj(&[("work_order", r("WorkOrder")), ("facts", json!({"type": "array", "items": described("onsite_api::FactRecord")})), ("blobs", json!({"type": "array", "items": s()})),
            ("carry_backs", json!({"type": "array", "items": r("CarryBack")})),
            ("technician_notes", nullable(s())), ("addenda", json!({"type": "array", "items": r("JobAddendum")}))],
            &["work_order", "facts", "blobs", "carry_backs"]),
        "CarryBack": obj(&[("carry_back_id", uuid()), ("receipt_no", s()), ("work_order_id", uuid()), ("order_no", s()), ("technician_id", uuid()), ("item", s()),
            ("state", carry_back_state.clone()), ("taken_at", time()), ("expected_return", date()),
            ("working_days_out", json!({"type": "integer", "minimum": 0})),
            ("overdue", json!({"type": "string", "nullable": true, "enum": ["past_expected_return", "past_repair_limit", null],
                "description": "set while out and late: past the promised date, or more than 15 working days since taken"})),
            ("returned_at", time()), ("receipt_collected", boolean()), ("flagged_for_review", boolean())],
            &["carry_back_id", "receipt_no", "work_order_id", "order_no", "technician_id", "item", "state", "taken_at", "expected_return", "working_days_out", "flagged_for_review"]),
        "EpochReply": obj(&[("epoch", s())], &["epoch"]),
        "Hello": obj(&[("protocol", int()), ("epoch", s()), ("history_lost", boolean()), ("op_kinds", json!({"type": "array", "items": s()})), ("change_items", json!({"type": "array", "items": s()})),
            ("features", json!({"type": "array", "items": s()})),
            ("restore_horizon", described("<seq>:<tag> of the newest commit every kept backup holds, when declared")),
            ("retention_days", described("days a device keeps a closed job whose records all reached head office; absent: the device's default (90)")),
            ("erase", described_boolean("the office marked this device lost: send what is unsent, then erase customer data and files and POST /v1/sync/erased; omitted when false"))], &["protocol", "op_kinds", "change_items", "features"]),
        "ErasedReport": obj(&[("erased_at", time()), ("work_orders", int()), ("customers", int()), ("records", int()),
            ("unsent", described_int("records still unsent when the device erased (refused for good, a file missing, held): lost with the device")), ("files", int())],
            &["erased_at", "work_orders", "customers", "records", "unsent", "files"]),
        "ErasedRecord": obj(&[("at", time()), ("report", r("ErasedReport"))], &["at", "report"]),
        "RetentionSetting": json!({"type": "object", "properties": {"days": {"type": "integer", "minimum": 7, "maximum": 3650}}, "required": ["days"]}),
        "RestoreHorizonRequest": obj(&[("oldest_backup_at", time())], &["oldest_backup_at"]),
        "RestoreHorizon": obj(&[("oldest_backup_at", time()), ("checkpoint", s()), ("forgotten_results", int())], &["forgotten_results"]),
        "RefusedOp": obj(&[("device_id", uuid()), ("technician_id", uuid()), ("op_id", uuid()), ("device_seq", int()), ("kind", s()), ("entity_id", uuid()),
            ("base_version", int()), ("payload", described("the op's payload as sent")), ("code", s()), ("reason", s()),
            ("first_refused_at", time()), ("last_refused_at", time()), ("attempts", int()), ("resolved_at", time()),
            ("resolution", json!({"type": "string", "nullable": true, "enum": ["applied_on_resend", "applied_by_office", null]}))],
            &["device_id", "technician_id", "op_id", "device_seq", "kind", "entity_id", "payload", "code", "reason", "first_refused_at", "last_refused_at", "attempts"]),
        "TechnicianDayFact": obj(&[("day", date()), ("fact_id", uuid()), ("op_id", uuid()), ("technician_id", uuid()), ("device_id", uuid()),
            ("kind", json!({"type": "string", "enum": ["stock_take", "record_expense", "return_part"]})),
            ("payload", described("the kind's payload: StockTake, Expense or PartReturn")), ("superseded", boolean()), ("received_at", time())],
            &["day", "fact_id", "op_id", "technician_id", "device_id", "kind", "payload", "superseded", "received_at"]),
    });
    // Work orders and reference data (a second map: one json! this size hits the macro
    // recursion limit).
    let reference = json!({
        "Customer": customer,
        "Appliance": appliance,
        "ProofOfPurchase": proof,
        "ServiceContract": contract,
        "NewWorkOrder": obj(&[("order_no", described_string("unique, 1 to 64 characters; 409 if taken")), ("technician_id", nullable(uuid())),
            ("job_type", job_type.clone()), ("customer", r("Customer")), ("appliance", r("Appliance")), ("reported_fault", s()),
            ("notes", described_string("notes for the technician (default empty)")), ("appointment_start", time()), ("appointment_end", time())],
            &["order_no", "job_type", "customer", "appliance", "reported_fault", "appointment_start", "appointment_end"]),
        "WorkOrderUpdate": obj(&[("expected_version", nullable(described_int("when set, 409 unless the order is at this version"))), ("job_type", nullable(job_type.clone())),
            ("customer", nullable(described_ref("Customer", "replaces the whole customer, language included"))),
            ("appliance", nullable(described_ref("Appliance", "replaces the whole appliance, its proof of purchase and contracts included"))),
            ("reported_fault", nullable(s())), ("notes", nullable(s())), ("appointment_start", nullable(time())), ("appointment_end", nullable(time()))], &[]),
        "WorkOrder": obj(&[("id", uuid()), ("order_no", s()), ("version", int()), ("technician_id", nullable(uuid())), ("status", status),
            ("job_type", job_type), ("customer", r("Customer")), ("appliance", r("Appliance")), ("reported_fault", s()), ("notes", s()),
            ("appointment_start", time()), ("appointment_end", time()), ("cancel_reason", nullable(s())), ("flagged_for_review", boolean()),
            ("created_at", time()), ("updated_at", time())],
            &["id", "order_no", "version", "technician_id", "status", "job_type", "customer", "appliance", "reported_fault", "notes",
              "appointment_start", "appointment_end", "cancel_reason", "flagged_for_review", "created_at", "updated_at"]),
        "FeeTablePublish": obj(&[("category", category()), ("effective_from", time()), ("items", json!({"type": "array", "minItems": 1, "items": r("FeeItem")}))],
            &["effective_from", "items"]),
        "FeeItem": fee_item,
        "FeeTable": obj(&[("category", category()), ("version", described_int("one counter for every category: versions are unique")), ("effective_from", time()),
            ("published_at", time()), ("items", json!({"type": "array", "items": r("FeeItem")}))],
            &["category", "version", "effective_from", "published_at", "items"]),
        "Part": part,
        "PartsCataloguePublish": obj(&[("parts", json!({"type": "array", "items": r("Part"), "description": "part numbers unique"}))], &["parts"]),
        "PartsCatalogue": obj(&[("version", int()), ("published_at", time()), ("parts", json!({"type": "array", "items": r("Part")}))],
            &["version", "published_at", "parts"]),
        "PartPrice": obj(&[("part_no", s()), ("price", r("Money"))], &["part_no", "price"]),
        "PriceListPublish": obj(&[("effective_from", time()), ("prices", json!({"type": "array", "items": r("PartPrice"), "description": "part numbers unique"}))],
            &["effective_from", "prices"]),
        "PriceList": obj(&[("version", int()), ("effective_from", time()), ("published_at", time()), ("prices", json!({"type": "array", "items": r("PartPrice")}))],
            &["version", "effective_from", "published_at", "prices"]),
        "PartsIssueLine": obj(&[("part_no", described_string("in the parts catalogue in force")),
            ("quantity", json!({"type": "integer", "minimum": 1, "maximum": 999}))], &["part_no", "quantity"]),
        "NewPartsIssue": obj(&[("lines", json!({"type": "array", "minItems": 1, "maxItems": 200, "items": r("PartsIssueLine")})),
            ("note", nullable(json!({"type": "string", "maxLength": 500}))),
            ("work_order_id", nullable(json!({"type": "string", "format": "uuid", "description": "the repair order the parts are issued against"})))], &["lines"]),
        "PartsIssue": obj(&[("id", json!({"type": "string", "format": "uuid", "description": "UUIDv7; a device adds the stock once per id"})), ("technician_id", uuid()), ("issued_at", time()),
            ("lines", json!({"type": "array", "items": r("PartsIssueLine")})), ("note", nullable(s())), ("work_order_id", nullable(uuid()))],
            &["id", "technician_id", "issued_at", "lines"]),
        "CompanyProfile": obj(&[("name", json!({"type": "string", "minLength": 1, "maxLength": 200})),
            ("phone", json!({"type": "string", "maxLength": 200})), ("address", json!({"type": "string", "maxLength": 200}))], &["name"]),
    });
    for extra in [payload_schemas(), reference] {
        if let (Value::Object(all), Value::Object(extra)) = (&mut all, extra) {
            all.extend(extra);
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, Utc};
    use onsite_api::{
        Appliance, Customer, FeeTable, NewWorkOrder, PartsCatalogue, PriceList, ServiceContract,
        WorkOrder, WorkOrderUpdate,
    };
    use onsite_domain::rules::ContractCover;
    use onsite_domain::view::{ProofKind, ProofOfPurchase};
    use onsite_domain::{JobType, WorkOrderStatus};
    use uuid::Uuid;

    /// Checks `value` against `schema` as far as the document describes it: every field
    /// sent is documented, every required one is sent, enums and basic types hold, nulls
    /// only where nullable.
    fn check(schemas: &Map<String, Value>, schema: &Value, value: &Value, at: &str) -> Vec<String> {
        let mut errors = Vec::new();
        if let Some(name) = schema["$ref"].as_str() {
            let name = name.trim_start_matches("#/components/schemas/");
            return check(schemas, &schemas[name], value, at);
        }
        if value.is_null() {
            if schema["nullable"] != true {
                errors.push(format!("{at}: null but not nullable"));
            }
            return errors;
        }
        if let Some(all) = schema["allOf"].as_array() {
            for s in all {
                errors.extend(check(schemas, s, value, at));
            }
        }
        if let Some(options) = schema["enum"].as_array() {
            if !options.contains(value) {
                errors.push(format!("{at}: {value} not in the enum"));
            }
        }
        match schema["type"].as_str() {
            Some("object") => match (value.as_object(), schema["properties"].as_object()) {
                (Some(fields), Some(props)) => {
                    for (k, v) in fields {
                        match props.get(k) {
                            Some(s) => errors.extend(check(schemas, s, v, &format!("{at}.{k}"))),
                            None => errors.push(format!("{at}.{k}: not documented")),
                        }
                    }
                    for k in schema["required"].as_array().into_iter().flatten() {
                        if !fields.contains_key(k.as_str().unwrap_or_default()) {
                            errors.push(format!("{at}.{k}: required but not sent"));
                        }
                    }
                }
                (Some(_), None) => errors.push(format!("{at}: only described, no properties")),
                (None, _) => errors.push(format!("{at}: not an object")),
            },
            Some("array") => match value.as_array() {
                Some(items) => {
                    for (i, v) in items.iter().enumerate() {
                        errors.extend(check(schemas, &schema["items"], v, &format!("{at}[{i}]")));
                    }
                }
                None => errors.push(format!("{at}: not an array")),
            },
            Some("string") if !value.is_string() => errors.push(format!("{at}: not a string")),
            Some("integer") if !value.is_i64() => errors.push(format!("{at}: not an integer")),
            Some("boolean") if !value.is_boolean() => errors.push(format!("{at}: not a boolean")),
            _ => {}
        }
        errors
    }

    fn order(proof: Option<ProofOfPurchase>) -> WorkOrder {
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        WorkOrder {
            id: Uuid::now_v7(),
            order_no: "WO-1".into(),
            version: 1,
            technician_id: None,
            status: WorkOrderStatus::Assigned,
            job_type: JobType::Maintain,
            customer: Customer {
                name: "N".into(),
                phone: "P".into(),
                address: "A".into(),
                language: "en".into(),
            },
            appliance: Appliance {
                category: "water_purifier".into(),
                brand: "B".into(),
                model: "M".into(),
                serial_no: None,
                purchase_date: Some(day("2026-01-02")),
                proof,
                contracts: vec![ServiceContract {
                    reference: "MC-1".into(),
                    covers: ContractCover::Both,
                    valid_from: day("2026-01-01"),
                    valid_to: day("2026-12-31"),
                }],
            },
            reported_fault: String::new(),
            notes: String::new(),
            appointment_start: Utc::now(),
            appointment_end: Utc::now(),
            cancel_reason: None,
            flagged_for_review: false,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    /// The schemas of the work orders and the reference data describe exactly what the
    /// server sends and takes, the new fields (language, proof, contracts, category, the fee
    /// items' and parts' fields) included.
    #[test]
    fn the_schemas_describe_the_wire_types() {
        let doc = document();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        let now = Utc::now();
        let invoice = ProofOfPurchase {
            kind: ProofKind::Invoice,
            date: NaiveDate::from_ymd_opt(2026, 1, 2),
            sealed: true,
        };
        let with_proof = order(Some(invoice));
        let without = order(None);
        let published = crate::demo::water_purifier_fee_table(now);
        let table = FeeTable {
            category: published.category.clone(),
            version: 3,
            effective_from: now,
            published_at: now,
            items: published.items.clone(),
        };
        let catalogue = crate::demo::parts_catalogue();
        let prices = crate::demo::price_list(now);
        let new = NewWorkOrder {
            order_no: "WO-2".into(),
            technician_id: Some(Uuid::now_v7()),
            job_type: JobType::Repair,
            customer: with_proof.customer.clone(),
            appliance: with_proof.appliance.clone(),
            reported_fault: String::new(),
            notes: String::new(),
            appointment_start: now,
            appointment_end: now,
        };
        let update = WorkOrderUpdate {
            appliance: Some(without.appliance.clone()),
            ..WorkOrderUpdate::default()
        };
        let samples: Vec<(&str, Value)> = vec![
            ("WorkOrder", serde_json::to_value(&with_proof).unwrap()),
            ("WorkOrder", serde_json::to_value(&without).unwrap()),
            ("NewWorkOrder", serde_json::to_value(&new).unwrap()),
            ("WorkOrderUpdate", serde_json::to_value(&update).unwrap()),
            ("FeeTablePublish", serde_json::to_value(&published).unwrap()),
            ("FeeTable", serde_json::to_value(&table).unwrap()),
            (
                "PartsCataloguePublish",
                serde_json::to_value(&catalogue).unwrap(),
            ),
            (
                "PartsCatalogue",
                serde_json::to_value(PartsCatalogue {
                    version: 1,
                    published_at: now,
                    parts: catalogue.parts.clone(),
                })
                .unwrap(),
            ),
            ("PriceListPublish", serde_json::to_value(&prices).unwrap()),
            (
                "PriceList",
                serde_json::to_value(PriceList {
                    version: 1,
                    effective_from: now,
                    published_at: now,
                    prices: prices.prices.clone(),
                })
                .unwrap(),
            ),
            (
                "NewPartsIssue",
                serde_json::to_value(crate::demo::van_load(Some(Uuid::now_v7()))).unwrap(),
            ),
            (
                "PartsIssue",
                serde_json::to_value(onsite_api::PartsIssue {
                    id: Uuid::now_v7(),
                    technician_id: Uuid::now_v7(),
                    issued_at: now,
                    lines: crate::demo::van_load(None).lines,
                    note: None,
                    work_order_id: None,
                })
                .unwrap(),
            ),
            (
                "CompanyProfile",
                serde_json::to_value(crate::demo::company()).unwrap(),
            ),
        ];
        for (name, value) in samples {
            let errors = check(schemas, &schema_ref(name), &value, name);
            assert!(errors.is_empty(), "{errors:#?}");
        }
        // The checker does catch an undocumented field.
        let mut extra = serde_json::to_value(&with_proof).unwrap();
        extra["appliance"]["warranty_months"] = json!(12);
        assert!(!check(schemas, &schema_ref("WorkOrder"), &extra, "WorkOrder").is_empty());
    }
}
