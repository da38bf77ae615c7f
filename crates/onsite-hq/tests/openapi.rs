//! The generated OpenAPI document against the real server: every route is in it with its
//! method and auth, real responses validate against its response schemas (with the
//! `jsonschema` crate, formats checked), request bodies built from the Rust types validate
//! against its request schemas, and the hand-written mirrors of the domain types have the
//! serde form of the types they mirror. Wrong values must fail, so that a validator that
//! accepts everything cannot pass.

mod common;

use std::collections::BTreeSet;

use common::*;
use onsite_api::*;
use onsite_domain::WorkOrderStatus;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

/// The document and the validators built from it.
struct Spec {
    doc: Value,
}

impl Spec {
    fn new() -> Spec {
        Spec {
            doc: onsite_hq::openapi::document(),
        }
    }

    fn operation(&self, method: &Method, template: &str) -> &Value {
        let op = &self.doc["paths"][template][method.as_str().to_lowercase()];
        assert!(op.is_object(), "{method} {template} is not in the document");
        op
    }

    /// The schema of the JSON body `status` of `method template` replies with.
    fn response_schema(&self, method: &Method, template: &str, status: StatusCode) -> &Value {
        let schema = &self.operation(method, template)["responses"][status.as_str()]["content"]
            ["application/json"]["schema"];
        assert!(
            schema.is_object(),
            "{method} {template}: no JSON schema for status {status}"
        );
        schema
    }

    fn request_schema(&self, method: &Method, template: &str) -> &Value {
        let schema = &self.operation(method, template)["requestBody"]["content"]
            ["application/json"]["schema"];
        assert!(
            schema.is_object(),
            "{method} {template}: no JSON request body"
        );
        schema
    }

    /// The validation errors of `value` against `schema` (a schema of the document).
    fn errors(&self, schema: &Value, value: &Value) -> Vec<String> {
        let json_schema = onsite_hq::openapi::json_schema(&self.doc, schema);
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&json_schema)
            .unwrap_or_else(|e| panic!("not a valid JSON Schema: {e}"));
        validator
            .iter_errors(value)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect()
    }

    fn component(&self, name: &str) -> Value {
        json!({ "$ref": format!("#/components/schemas/{name}") })
    }

    fn assert_valid(&self, schema: &Value, value: &Value, what: &str) {
        let errors = self.errors(schema, value);
        assert!(
            errors.is_empty(),
            "{what} does not validate against its schema:\n{errors:#?}\n{value:#}"
        );
    }
}

/// A running server, a spec, and a count of what was checked.
struct Checked {
    hq: Hq,
    spec: Spec,
    checked: BTreeSet<(String, String, u16)>,
}

impl Checked {
    /// Sends `method path` (`template` with its parameters filled in) with `body`;
    /// validates the request body against the operation's request schema and the reply's
    /// JSON body against the schema of its status; returns the reply.
    async fn call<B: Serialize>(
        &mut self,
        method: Method,
        template: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&B>,
        expected: StatusCode,
    ) -> Value {
        if let Some(b) = body {
            let sent = serde_json::to_value(b).unwrap();
            let schema = self.spec.request_schema(&method, template).clone();
            self.spec
                .assert_valid(&schema, &sent, &format!("request {method} {template}"));
        }
        let res = self.hq.send(method.clone(), path, token, body).await;
        let status = res.status();
        let text = res.text().await.unwrap();
        assert_eq!(status, expected, "{method} {path}: {text}");
        let value: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {text}"));
        let schema = self.spec.response_schema(&method, template, status).clone();
        self.spec.assert_valid(
            &schema,
            &value,
            &format!("reply to {method} {path} ({status})"),
        );
        self.checked
            .insert((method.to_string(), template.to_owned(), status.as_u16()));
        value
    }

    /// The same as [`Checked::call`] with a session's cookie (and CSRF token) instead of a
    /// bearer token; also returns the reply's `Set-Cookie` session, if any.
    #[allow(clippy::too_many_arguments)]
    async fn call_session<B: Serialize>(
        &mut self,
        method: Method,
        template: &str,
        cookie: Option<&str>,
        csrf: Option<&str>,
        body: Option<&B>,
        expected: StatusCode,
    ) -> (Value, Option<String>) {
        if let Some(b) = body {
            let sent = serde_json::to_value(b).unwrap();
            let schema = self.spec.request_schema(&method, template).clone();
            self.spec
                .assert_valid(&schema, &sent, &format!("request {method} {template}"));
        }
        let mut req = self
            .hq
            .client
            .request(method.clone(), self.hq.url(template));
        if let Some(c) = cookie {
            req = req.header(
                "cookie",
                format!("{}={c}", onsite_hq::accounts::SESSION_COOKIE),
            );
        }
        if let Some(t) = csrf {
            req = req.header(onsite_hq::accounts::CSRF_HEADER, t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let session = res
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| onsite_hq::accounts::session_from_cookies(v.split(';').next()?))
            .map(str::to_owned);
        let text = res.text().await.unwrap();
        assert_eq!(status, expected, "{method} {template}: {text}");
        let value: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{method} {template}: not JSON ({e}): {text}"));
        let schema = self.spec.response_schema(&method, template, status).clone();
        self.spec.assert_valid(
            &schema,
            &value,
            &format!("reply to {method} {template} ({status})"),
        );
        self.checked
            .insert((method.to_string(), template.to_owned(), status.as_u16()));
        (value, session)
    }

    async fn admin<B: Serialize>(
        &mut self,
        method: Method,
        template: &str,
        path: &str,
        body: Option<&B>,
        expected: StatusCode,
    ) -> Value {
        self.call(method, template, path, Some(ADMIN), body, expected)
            .await
    }
}

fn at<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).unwrap()
}

#[tokio::test]
async fn every_route_is_in_the_document_with_its_method_and_auth() {
    let hq = start().await;
    let served: Value = hq
        .expect(
            Method::GET,
            routes::OPENAPI,
            None,
            None::<&()>,
            StatusCode::OK,
        )
        .await;
    assert_eq!(served, onsite_hq::openapi::document());
    assert_eq!(served["openapi"], "3.0.3");
    let spec = Spec { doc: served };
    let table = onsite_hq::http::route_table();
    assert!(table.len() > 40);
    let mut listed = Vec::new();
    for (path, ops) in spec.doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            listed.push((method.to_uppercase(), path.clone()));
        }
    }
    listed.sort();
    assert_eq!(listed, table);
    for (method, path) in &table {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let op = spec.operation(&method, path);
        // Auth: admin routes take the admin token, sync routes the device's, blobs
        // either; health, the document and enrolment none.
        let security = op["security"].clone();
        let expected = if path.starts_with("/v1/admin/") {
            json!([{"adminToken": []}, {"consoleSession": []}])
        } else if path.starts_with("/v1/console/") && path != onsite_hq::office::CONSOLE_LOGIN {
            json!([{"consoleSession": []}])
        } else if path == routes::BLOB {
            json!([{"deviceToken": []}, {"adminToken": []}])
        } else if path.starts_with("/v1/sync/") {
            json!([{"deviceToken": []}])
        } else {
            json!([])
        };
        assert_eq!(security, expected, "{method} {path}");
        // Every path parameter is declared, required.
        for name in path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        {
            let declared = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["name"] == name && p["in"] == "path" && p["required"] == true);
            assert!(declared, "{method} {path}: {name} not declared");
        }
        // A success status, and every error status names the ErrorBody.
        let responses = op["responses"].as_object().unwrap();
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{method} {path}"
        );
        for (status, response) in responses {
            if !status.starts_with('2') && method != Method::HEAD {
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{method} {path} {status}"
                );
            }
        }
        if op.get("requestBody").is_some() {
            assert!(responses.contains_key("413"), "{method} {path}: no 413");
        }
    }
    // The query parameters come from the query types.
    let pull = spec.operation(&Method::GET, routes::SYNC_PULL);
    let names: BTreeSet<&str> = pull["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["cursor", "limit", "accept", "checkpoint"])
    );
    // The server's limits are stated.
    assert_eq!(
        spec.doc["components"]["schemas"]["PushRequest"]["properties"]["ops"]["maxItems"],
        limits::MAX_OPS_PER_PUSH
    );
    // Every reference resolves (a query type's enum, say, is inlined or registered).
    let text = spec.doc.to_string();
    for part in text.split("\"$ref\":\"").skip(1) {
        let target: String = part.chars().take_while(|c| *c != '"').collect();
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("a reference outside the schemas: {target}"));
        assert!(
            spec.doc["components"]["schemas"][name].is_object(),
            "{target} does not exist"
        );
    }
    let schemes = &spec.doc["components"]["securitySchemes"];
    assert_eq!(schemes["deviceToken"]["scheme"], "bearer");
    assert_eq!(schemes["adminToken"]["scheme"], "bearer");
}

async fn real_responses_validate_against_the_generated_schemas() {
    use onsite_domain::carryback::CarryBackState;
    let mut c = Checked {
        hq: start().await,
        spec: Spec::new(),
        checked: BTreeSet::new(),
    };
    let none = None::<&()>;
    c.call(
        Method::GET,
        routes::HEALTH,
        routes::HEALTH,
        None,
        none,
        StatusCode::OK,
    )
    .await;
    let ready = c
        .call(
            Method::GET,
            routes::READY,
            routes::READY,
            None,
            none,
            StatusCode::OK,
        )
        .await;
    assert_eq!(ready["status"], "ready");

    // Technicians, enrolment codes, enrolment.
    let tech: Technician = at(c
        .admin(
            Method::POST,
            routes::ADMIN_TECHNICIANS,
            routes::ADMIN_TECHNICIANS,
            Some(&NewTechnician {
                name: "Tech One".into(),
            }),
            StatusCode::CREATED,
        )
        .await);
    c.admin(
        Method::GET,
        routes::ADMIN_TECHNICIANS,
        routes::ADMIN_TECHNICIANS,
        none,
        StatusCode::OK,
    )
    .await;
    let codes_path = routes::ADMIN_ENROLMENT_CODES.replace("{id}", &tech.id.to_string());
    let code: EnrolmentCode = at(c
        .admin(
            Method::POST,
            routes::ADMIN_ENROLMENT_CODES,
            &codes_path,
            Some(&NewEnrolmentCode {
                valid_hours: Some(2),
            }),
            StatusCode::CREATED,
        )
        .await);
    let dev: EnrollReply = at(c
        .call(
            Method::POST,
            routes::ENROLL,
            routes::ENROLL,
            None,
            Some(&EnrollRequest {
                code: code.code,
                device_name: "tablet".into(),
            }),
            StatusCode::OK,
        )
        .await);
    let token = dev.token.clone();
    c.call(
        Method::GET,
        routes::SYNC_HELLO,
        routes::SYNC_HELLO,
        Some(&token),
        none,
        StatusCode::OK,
    )
    .await;
    c.admin(
        Method::GET,
        routes::ADMIN_DEVICES,
        routes::ADMIN_DEVICES,
        none,
        StatusCode::OK,
    )
    .await;

    // Reference data: fee table, parts catalogue, price list, company, parts issue.
    let now = chrono::Utc::now();
    let demo = onsite_hq::demo::water_purifier_fee_table(now - chrono::Duration::days(1));
    assert!(demo.items.iter().any(|i| !i.includes.is_empty()));
    c.admin(
        Method::POST,
        routes::ADMIN_FEE_TABLES,
        routes::ADMIN_FEE_TABLES,
        Some(&demo),
        StatusCode::CREATED,
    )
    .await;
    c.admin(
        Method::GET,
        routes::ADMIN_FEE_TABLES,
        routes::ADMIN_FEE_TABLES,
        none,
        StatusCode::OK,
    )
    .await;
    c.admin(
        Method::PUT,
        routes::ADMIN_PARTS_CATALOGUE,
        routes::ADMIN_PARTS_CATALOGUE,
        Some(&onsite_hq::demo::parts_catalogue()),
        StatusCode::OK,
    )
    .await;
    c.admin(
        Method::POST,
        routes::ADMIN_PRICE_LISTS,
        routes::ADMIN_PRICE_LISTS,
        Some(&onsite_hq::demo::price_list(
            now - chrono::Duration::days(1),
        )),
        StatusCode::CREATED,
    )
    .await;
    c.admin(
        Method::PUT,
        routes::ADMIN_COMPANY,
        routes::ADMIN_COMPANY,
        Some(&onsite_hq::demo::company()),
        StatusCode::OK,
    )
    .await;
    let issues_path = routes::ADMIN_PARTS_ISSUES.replace("{id}", &tech.id.to_string());
    c.admin(
        Method::POST,
        routes::ADMIN_PARTS_ISSUES,
        &issues_path,
        Some(&onsite_hq::demo::van_load(None)),
        StatusCode::CREATED,
    )
    .await;
    c.admin(
        Method::GET,
        routes::ADMIN_PARTS_ISSUES,
        &issues_path,
        none,
        StatusCode::OK,
    )
    .await;

    // Work orders.
    let mut new = new_work_order("WO-1", Some(tech.id));
    new.appliance.category = "water_purifier".into();
    new.appliance.purchase_date = Some("2026-01-02".parse().unwrap());
    new.appliance.proof = Some(onsite_domain::view::ProofOfPurchase {
        kind: onsite_domain::view::ProofKind::Invoice,
        date: Some("2026-01-02".parse().unwrap()),
        sealed: true,
    });
    new.appliance.contracts = vec![ServiceContract {
        reference: "MC-1".into(),
        covers: onsite_domain::rules::ContractCover::Labour,
        valid_from: "2026-01-01".parse().unwrap(),
        valid_to: "2026-12-31".parse().unwrap(),
    }];
    let wo: WorkOrder = at(c
        .admin(
            Method::POST,
            routes::ADMIN_WORK_ORDERS,
            routes::ADMIN_WORK_ORDERS,
            Some(&new),
            StatusCode::CREATED,
        )
        .await);
    let other: WorkOrder = at(c
        .admin(
            Method::POST,
            routes::ADMIN_WORK_ORDERS,
            routes::ADMIN_WORK_ORDERS,
            Some(&new_work_order("WO-2", Some(tech.id))),
            StatusCode::CREATED,
        )
        .await);
    let wo_path = |id: Uuid| routes::ADMIN_WORK_ORDER.replace("{id}", &id.to_string());
    c.admin(
        Method::PATCH,
        routes::ADMIN_WORK_ORDER,
        &wo_path(wo.id),
        Some(&WorkOrderUpdate {
            expected_version: Some(wo.version),
            notes: Some("ring first".into()),
            ..WorkOrderUpdate::default()
        }),
        StatusCode::OK,
    )
    .await;

    // The device pulls its work orders and the reference data (every item type).
    let pull = format!(
        "{}?limit=2&accept={}",
        routes::SYNC_PULL,
        urlencode("parts_issued,company")
    );
    let mut cursor: Option<String> = None;
    let mut types = BTreeSet::new();
    for _ in 0..50 {
        let path = match &cursor {
            Some(cur) => format!("{pull}&cursor={}", urlencode(cur)),
            None => pull.clone(),
        };
        let raw = c
            .call(
                Method::GET,
                routes::SYNC_PULL,
                &path,
                Some(&token),
                none,
                StatusCode::OK,
            )
            .await;
        for change in raw["changes"].as_array().unwrap() {
            types.insert(change["item"]["type"].as_str().unwrap().to_owned());
        }
        let page: PullReply = at(raw);
        cursor = Some(page.cursor);
        if !page.has_more {
            break;
        }
    }
    for expected in [
        "work_order",
        "fee_table",
        "parts_catalogue",
        "price_list",
        "parts_issued",
        "company",
    ] {
        assert!(types.contains(expected), "{expected} not pulled: {types:?}");
    }

    // A blob, then a visit, a refused op, the technician's day and a carry-back.
    let png = b"\x89PNG signature".to_vec();
    let sha = sha256_hex(&png);
    let blob_path = routes::BLOB.replace("{sha256}", &sha);
    for expected in [StatusCode::CREATED, StatusCode::OK] {
        let res =
            c.hq.client
                .put(c.hq.url(&blob_path))
                .bearer_auth(&token)
                .body(png.clone())
                .send()
                .await
                .unwrap();
        assert_eq!(res.status(), expected);
        let body: Value = res.json().await.unwrap();
        let schema = c
            .spec
            .response_schema(&Method::PUT, routes::BLOB, expected)
            .clone();
        c.spec.assert_valid(&schema, &body, "blob upload reply");
    }
    let asked = BlobCheck {
        sha256: vec![sha.clone(), sha256_hex(b"not uploaded")],
    };
    let missing: BlobCheckReply = at(c
        .call(
            Method::POST,
            routes::SYNC_BLOBS_MISSING,
            routes::SYNC_BLOBS_MISSING,
            Some(&token),
            Some(&asked),
            StatusCode::OK,
        )
        .await);
    assert_eq!(missing.missing, asked.sha256[1..]);
    let mut ops = OpMaker { seq: 0 };
    let day: chrono::NaiveDate = now.date_naive();
    let m = onsite_domain::Money::cny;
    let mut batch = ops.visit(wo.id);
    batch.push(ops.signature(wo.id, &sha));
    batch.push(ops.op(
        wo.id,
        OpPayload::RecordFeedback(Feedback {
            fact_id: Uuid::now_v7(),
            rating: 5,
            comment: "quick".into(),
            callback_allowed: true,
            at: now,
        }),
    ));
    batch.push(ops.op(
        Uuid::now_v7(),
        OpPayload::StockTake(StockTake {
            day: Some(day),
            fact_id: Uuid::now_v7(),
            stock_take_id: Uuid::now_v7(),
            lines: vec![StockTakeLine {
                part_id: "F-PP-10".into(),
                expected: 3,
                counted: 2,
                difference: -1,
            }],
            at: now,
        }),
    ));
    batch.push(ops.op(
        Uuid::now_v7(),
        OpPayload::RecordExpense(Expense {
            fact_id: Uuid::now_v7(),
            day,
            km: 10,
            meal_days: 1,
            nights: 0,
            per_km: m(100),
            meal_per_day: m(5000),
            lodging_per_night: m(20000),
            mileage: m(1000),
            meals: m(5000),
            lodging: m(0),
            total: m(6000),
            at: now,
        }),
    ));
    let carry_back = Uuid::now_v7();
    batch.push(ops.op(
        other.id,
        OpPayload::TakeCarryBack(CarryBackTaken {
            fact_id: Uuid::now_v7(),
            carry_back_id: carry_back,
            receipt_no: "CB-1".into(),
            item: "water heater".into(),
            serial_no: None,
            accessories: vec!["remote".into()],
            condition: "scratch".into(),
            fault: "E3".into(),
            expected_return: day + chrono::Duration::days(7),
            photos: vec![],
            signer_name: "S".into(),
            png_sha256: sha.clone(),
            at: now,
        }),
    ));
    batch.push(ops.op(
        other.id,
        OpPayload::AdvanceCarryBack(CarryBackAdvanced {
            fact_id: Uuid::now_v7(),
            carry_back_id: carry_back,
            from: CarryBackState::Taken,
            to: CarryBackState::AtWorkshop,
            at: now,
        }),
    ));
    // Refused: a payment on a work order head office does not know.
    batch.push(ops.payment(Uuid::now_v7(), 100));
    // Each payload is the one its kind's schema describes.
    for op in &batch {
        let kind = OpKind::parse(&op.kind).unwrap();
        let schema = c.spec.component(&kind.payload_schema_name());
        c.spec
            .assert_valid(&schema, &op.payload, &format!("{} payload", op.kind));
    }
    let reply: PushReply = at(c
        .call(
            Method::POST,
            routes::SYNC_PUSH,
            routes::SYNC_PUSH,
            Some(&token),
            Some(&PushRequest { ops: batch }),
            StatusCode::OK,
        )
        .await);
    let refused = reply.results.last().unwrap();
    assert_eq!(rejected_code(refused), Some(RejectCode::UnknownWorkOrder));
    assert!(
        reply.results[..reply.results.len() - 1].iter().all(applied),
        "{reply:?}"
    );

    // Head office reads it back.
    c.admin(
        Method::GET,
        routes::ADMIN_WORK_ORDERS,
        &format!("{}?status=completed", routes::ADMIN_WORK_ORDERS),
        none,
        StatusCode::OK,
    )
    .await;
    let listed: Vec<WorkOrder> = at(c
        .admin(
            Method::GET,
            routes::ADMIN_WORK_ORDERS,
            routes::ADMIN_WORK_ORDERS,
            none,
            StatusCode::OK,
        )
        .await);
    assert_eq!(listed.len(), 2);
    let detail: WorkOrderDetail = at(c
        .admin(
            Method::GET,
            routes::ADMIN_WORK_ORDER,
            &wo_path(wo.id),
            none,
            StatusCode::OK,
        )
        .await);
    assert_eq!(detail.work_order.status, WorkOrderStatus::Completed);
    c.admin(
        Method::GET,
        routes::ADMIN_EXPORT,
        routes::ADMIN_EXPORT,
        none,
        StatusCode::OK,
    )
    .await;
    let days: Vec<TechnicianDayFact> = at(c
        .admin(
            Method::GET,
            routes::ADMIN_EXPORT_TECHNICIAN_DAYS,
            routes::ADMIN_EXPORT_TECHNICIAN_DAYS,
            none,
            StatusCode::OK,
        )
        .await);
    assert_eq!(days.len(), 2);
    let carry_backs: Vec<onsite_api::CarryBack> = at(c
        .admin(
            Method::GET,
            routes::ADMIN_CARRY_BACKS,
            routes::ADMIN_CARRY_BACKS,
            none,
            StatusCode::OK,
        )
        .await);
    assert_eq!(carry_backs.len(), 1);
    let refused: Vec<RefusedOp> = at(c
        .admin(
            Method::GET,
            routes::ADMIN_REFUSED_OPS,
            routes::ADMIN_REFUSED_OPS,
            none,
            StatusCode::OK,
        )
        .await);
    assert_eq!(refused.len(), 1);

    // Cancelling the job whose carry-back is out, then a device fact on it: a review flag.
    c.admin(
        Method::POST,
        routes::ADMIN_WORK_ORDER_CANCEL,
        &routes::ADMIN_WORK_ORDER_CANCEL.replace("{id}", &other.id.to_string()),
        Some(&CancelRequest {
            reason: "customer moved".into(),
        }),
        StatusCode::OK,
    )
    .await;
    let late = ops.status(other.id, WorkOrderStatus::EnRoute);
    c.call(
        Method::POST,
        routes::SYNC_PUSH,
        routes::SYNC_PUSH,
        Some(&token),
        Some(&PushRequest { ops: vec![late] }),
        StatusCode::OK,
    )
    .await;
    let flags: Vec<ReviewFlag> = at(c
        .admin(
            Method::GET,
            routes::ADMIN_REVIEW,
            routes::ADMIN_REVIEW,
            none,
            StatusCode::OK,
        )
        .await);
    assert!(!flags.is_empty());
    c.admin(
        Method::POST,
        routes::ADMIN_REVIEW_RESOLVE,
        &routes::ADMIN_REVIEW_RESOLVE.replace("{id}", &flags[0].id.to_string()),
        none,
        StatusCode::OK,
    )
    .await;

    // Settings.
    c.admin(
        Method::GET,
        routes::ADMIN_SETTINGS_RETENTION,
        routes::ADMIN_SETTINGS_RETENTION,
        none,
        StatusCode::OK,
    )
    .await;
    c.admin(
        Method::PUT,
        routes::ADMIN_SETTINGS_RETENTION,
        routes::ADMIN_SETTINGS_RETENTION,
        Some(&RetentionSetting { days: 30 }),
        StatusCode::OK,
    )
    .await;
    c.admin(
        Method::GET,
        routes::ADMIN_RESTORE_HORIZON,
        routes::ADMIN_RESTORE_HORIZON,
        none,
        StatusCode::OK,
    )
    .await;

    // Error bodies validate too.
    c.call(
        Method::GET,
        routes::ADMIN_WORK_ORDERS,
        routes::ADMIN_WORK_ORDERS,
        Some(&token),
        none,
        StatusCode::FORBIDDEN,
    )
    .await;
    c.admin(
        Method::GET,
        routes::ADMIN_WORK_ORDER,
        &wo_path(Uuid::now_v7()),
        none,
        StatusCode::NOT_FOUND,
    )
    .await;
    c.call(
        Method::POST,
        routes::SYNC_PUSH,
        routes::SYNC_PUSH,
        None,
        Some(&PushRequest { ops: vec![] }),
        StatusCode::UNAUTHORIZED,
    )
    .await;

    // A refused op tried again, a reassignment, the restore horizon.
    let refused_op = &refused[0];
    c.admin(
        Method::POST,
        routes::ADMIN_REFUSED_OP_APPLY,
        &routes::ADMIN_REFUSED_OP_APPLY
            .replace("{device_id}", &refused_op.device_id.to_string())
            .replace("{op_id}", &refused_op.op_id.to_string()),
        none,
        StatusCode::OK,
    )
    .await;
    let second: Technician = at(c
        .admin(
            Method::POST,
            routes::ADMIN_TECHNICIANS,
            routes::ADMIN_TECHNICIANS,
            Some(&NewTechnician {
                name: "Tech Two".into(),
            }),
            StatusCode::CREATED,
        )
        .await);
    let third: WorkOrder = at(c
        .admin(
            Method::POST,
            routes::ADMIN_WORK_ORDERS,
            routes::ADMIN_WORK_ORDERS,
            Some(&new_work_order("WO-3", Some(tech.id))),
            StatusCode::CREATED,
        )
        .await);
    let reassign_path = routes::ADMIN_WORK_ORDER_REASSIGN.replace("{id}", &third.id.to_string());
    c.admin(
        Method::POST,
        routes::ADMIN_WORK_ORDER_REASSIGN,
        &reassign_path,
        Some(&ReassignRequest {
            technician_id: second.id,
            expected_version: Some(third.version),
        }),
        StatusCode::OK,
    )
    .await;
    // A stale version: the 409's body is an ErrorBody too.
    c.admin(
        Method::POST,
        routes::ADMIN_WORK_ORDER_REASSIGN,
        &reassign_path,
        Some(&ReassignRequest {
            technician_id: tech.id,
            expected_version: Some(third.version),
        }),
        StatusCode::CONFLICT,
    )
    .await;
    c.admin(
        Method::PUT,
        routes::ADMIN_RESTORE_HORIZON,
        routes::ADMIN_RESTORE_HORIZON,
        Some(&RestoreHorizonRequest {
            oldest_backup_at: now - chrono::Duration::days(1),
        }),
        StatusCode::OK,
    )
    .await;

    // A second device of the same technician is lost: it is refused a pull, and reports
    // that it erased its data.
    let code: EnrolmentCode = at(c
        .admin(
            Method::POST,
            routes::ADMIN_ENROLMENT_CODES,
            &codes_path,
            none,
            StatusCode::CREATED,
        )
        .await);
    let lost: EnrollReply = at(c
        .call(
            Method::POST,
            routes::ENROLL,
            routes::ENROLL,
            None,
            Some(&EnrollRequest {
                code: code.code,
                device_name: "phone".into(),
            }),
            StatusCode::OK,
        )
        .await);
    c.admin(
        Method::POST,
        routes::ADMIN_DEVICE_LOST,
        &routes::ADMIN_DEVICE_LOST.replace("{id}", &lost.device_id.to_string()),
        none,
        StatusCode::OK,
    )
    .await;
    c.call(
        Method::GET,
        routes::SYNC_PULL,
        routes::SYNC_PULL,
        Some(&lost.token),
        none,
        StatusCode::FORBIDDEN,
    )
    .await;
    let hello: Hello = at(c
        .call(
            Method::GET,
            routes::SYNC_HELLO,
            routes::SYNC_HELLO,
            Some(&lost.token),
            none,
            StatusCode::OK,
        )
        .await);
    assert!(hello.erase);
    let erased: onsite_api::Device = at(c
        .call(
            Method::POST,
            routes::SYNC_ERASED,
            routes::SYNC_ERASED,
            Some(&lost.token),
            Some(&ErasedReport {
                erased_at: now,
                work_orders: 3,
                customers: 2,
                records: 20,
                unsent: 0,
                files: 1,
            }),
            StatusCode::OK,
        )
        .await);
    assert!(erased.erased.is_some() && erased.revoked_at.is_some());

    // Revoking the device last.
    c.admin(
        Method::POST,
        routes::ADMIN_DEVICE_REVOKE,
        &routes::ADMIN_DEVICE_REVOKE.replace("{id}", &dev.device_id.to_string()),
        none,
        StatusCode::OK,
    )
    .await;
    c.admin(
        Method::POST,
        routes::ADMIN_EPOCH_ROTATE,
        routes::ADMIN_EPOCH_ROTATE,
        none,
        StatusCode::OK,
    )
    .await;
    // The office's people and integrations.
    use onsite_hq::office as o;
    let user = c
        .admin(
            Method::POST,
            o::ADMIN_USERS,
            o::ADMIN_USERS,
            Some(
                &json!({"username": "li.na", "display_name": "李娜", "role": "dispatcher",
                         "password": "a long enough password"}),
            ),
            StatusCode::CREATED,
        )
        .await;
    let user_id = user["id"].as_str().unwrap().to_owned();
    c.admin(
        Method::GET,
        o::ADMIN_USERS,
        o::ADMIN_USERS,
        none,
        StatusCode::OK,
    )
    .await;
    let (me, cookie) = c
        .call_session(
            Method::POST,
            o::CONSOLE_LOGIN,
            None,
            None,
            Some(&json!({"username": "li.na", "password": "a long enough password"})),
            StatusCode::OK,
        )
        .await;
    let cookie = cookie.expect("a session cookie");
    let csrf = me["csrf"].as_str().unwrap().to_owned();
    c.call_session(
        Method::GET,
        o::CONSOLE_ME,
        Some(&cookie),
        None,
        none,
        StatusCode::OK,
    )
    .await;
    let (me, cookie) = c
        .call_session(
            Method::POST,
            o::CONSOLE_PASSWORD,
            Some(&cookie),
            Some(&csrf),
            Some(&json!({"current": "a long enough password", "new": "another long password"})),
            StatusCode::OK,
        )
        .await;
    assert!(cookie.is_some() && me["csrf"].is_string());
    let token = c
        .admin(
            Method::POST,
            o::ADMIN_API_TOKENS,
            o::ADMIN_API_TOKENS,
            Some(&json!({"name": "ERP", "scopes": ["export", "read_jobs"]})),
            StatusCode::CREATED,
        )
        .await;
    let token_id = token["api_token"]["id"].as_str().unwrap().to_owned();
    c.admin(
        Method::GET,
        o::ADMIN_API_TOKENS,
        o::ADMIN_API_TOKENS,
        none,
        StatusCode::OK,
    )
    .await;
    c.admin(
        Method::POST,
        o::ADMIN_API_TOKEN_REVOKE,
        &o::ADMIN_API_TOKEN_REVOKE.replace("{id}", &token_id),
        none,
        StatusCode::OK,
    )
    .await;
    for template in [o::ADMIN_USER_DISABLE, o::ADMIN_USER_ENABLE] {
        c.admin(
            Method::POST,
            template,
            &template.replace("{id}", &user_id),
            none,
            StatusCode::OK,
        )
        .await;
    }
    c.admin(
        Method::GET,
        o::ADMIN_AUDIT,
        o::ADMIN_AUDIT,
        none,
        StatusCode::OK,
    )
    .await;

    // Every operation with a JSON body was exercised except the document itself.
    let json_ops: BTreeSet<(String, String)> = onsite_hq::http::route_table()
        .into_iter()
        .filter(|(m, p)| {
            let method = Method::from_bytes(m.as_bytes()).unwrap();
            let op = c.spec.operation(&method, p);
            p != routes::OPENAPI
                && op["responses"].as_object().unwrap().iter().any(|(s, r)| {
                    s.starts_with('2') && r["content"]["application/json"].is_object()
                })
        })
        .collect();
    let exercised: BTreeSet<(String, String)> = c
        .checked
        .iter()
        .map(|(m, p, _)| (m.clone(), p.clone()))
        .chain([("PUT".to_owned(), routes::BLOB.to_owned())])
        .collect();
    let missed: Vec<_> = json_ops.difference(&exercised).collect();
    assert!(missed.is_empty(), "not exercised: {missed:?}");
    println!("{} (operation, status) pairs checked", c.checked.len());
}

/// A validator that accepts everything would pass the test above: these must fail.
#[test]
fn wrong_bodies_fail_validation() {
    let spec = Spec::new();
    let order = serde_json::to_value(new_work_order("WO-9", None)).unwrap();
    let schema = spec.component("NewWorkOrder");
    spec.assert_valid(&schema, &order, "NewWorkOrder");

    // A field renamed in JSON (a required one: the old name is missing).
    let mut renamed = order.clone();
    let value = renamed.as_object_mut().unwrap().remove("order_no").unwrap();
    renamed["orderNo"] = value;
    assert!(!spec.errors(&schema, &renamed).is_empty());
    // An enum value serde would not read.
    let mut wrong = order.clone();
    wrong["job_type"] = json!("Repair");
    assert!(!spec.errors(&schema, &wrong).is_empty());
    // Money as a float.
    let mut table = serde_json::to_value(FeeTablePublish {
        category: "hq".into(),
        effective_from: chrono::Utc::now(),
        items: vec![fee_item("A", 100)],
    })
    .unwrap();
    let table_schema = spec.component("FeeTablePublish");
    spec.assert_valid(&table_schema, &table, "FeeTablePublish");
    table["items"][0]["fee"]["minor"] = json!(1.5);
    assert!(!spec.errors(&table_schema, &table).is_empty());
    // A null where the type has no Option, a date that is not one, a bad UUID.
    let mut nulled = order.clone();
    nulled["reported_fault"] = Value::Null;
    assert!(!spec.errors(&schema, &nulled).is_empty());
    let mut dated = order.clone();
    dated["appointment_start"] = json!("yesterday");
    assert!(!spec.errors(&schema, &dated).is_empty());
    let mut id = order.clone();
    id["technician_id"] = json!("not-a-uuid");
    assert!(!spec.errors(&schema, &id).is_empty());
    // But a null where there is an Option is fine.
    let mut optional = order;
    optional["technician_id"] = Value::Null;
    spec.assert_valid(&schema, &optional, "NewWorkOrder without technician");

    // The tagged enums: an outcome without its tag, a change of an unknown type.
    let outcome = spec.component("OpOutcome");
    spec.assert_valid(
        &outcome,
        &json!({"status": "applied", "server_seq": 3, "flagged_for_review": false}),
        "OpOutcome",
    );
    assert!(!spec
        .errors(
            &outcome,
            &json!({"server_seq": 3, "flagged_for_review": false})
        )
        .is_empty());
    let change = spec.component("ChangeItem");
    spec.assert_valid(
        &change,
        &json!({"type": "work_order_removed", "data": {"id": Uuid::now_v7()}}),
        "ChangeItem",
    );
    assert!(!spec
        .errors(
            &change,
            &json!({"type": "teleport", "data": {"id": Uuid::now_v7()}})
        )
        .is_empty());
    // An op whose payload is no kind's.
    let push = spec.component("PushRequest");
    let op = json!({"op_id": Uuid::now_v7(), "device_seq": 1, "kind": "edit_notes",
        "entity_id": Uuid::now_v7(), "base_version": null, "payload": {"notes": "x"}});
    assert!(!spec.errors(&push, &json!({ "ops": [op] })).is_empty());
    // Over the server's batch limit.
    let mut maker = OpMaker { seq: 0 };
    let many: Vec<Op> = (0..=limits::MAX_OPS_PER_PUSH)
        .map(|_| maker.status(Uuid::now_v7(), WorkOrderStatus::EnRoute))
        .collect();
    assert!(!spec
        .errors(
            &push,
            &serde_json::to_value(PushRequest { ops: many }).unwrap()
        )
        .is_empty());
}

/// The schema of a domain type is a hand-written mirror (`onsite_api::schema`): it must
/// have exactly the serde form of the type it mirrors. Every variant of each domain enum
/// (listed by exhaustive matches, so a new variant does not compile here until listed) is
/// in the schema's `enum` and nothing else is; the structs' values validate and name
/// exactly the schema's properties.
#[test]
fn domain_mirrors_have_the_serde_form_of_the_domain_types() {
    use onsite_domain::carryback::{CarryBackOverdue, CarryBackState};
    use onsite_domain::rules::{ContractCover, Exclusion, ItemKind, LineStatus, RecordedExclusion};
    use onsite_domain::view::{ProofKind, ProofOfPurchase};
    use onsite_domain::{JobType, Money};

    let spec = Spec::new();
    let schemas = spec.doc["components"]["schemas"].clone();
    let check_enum = |name: &str, values: Vec<Value>| {
        let listed: BTreeSet<String> = schemas[name]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} has no enum"))
            .iter()
            .map(|v| v.to_string())
            .collect();
        let real: BTreeSet<String> = values.iter().map(|v| v.to_string()).collect();
        assert_eq!(
            listed, real,
            "{name}: the mirror and the domain type differ"
        );
    };
    fn values<T: Serialize>(all: &[T]) -> Vec<Value> {
        all.iter()
            .map(|v| serde_json::to_value(v).unwrap())
            .collect()
    }
    check_enum("JobType", values(onsite_domain::JobType::ALL));
    check_enum("WorkOrderStatus", values(WorkOrderStatus::ALL));
    check_enum("Exclusion", values(&Exclusion::ALL));
    let states = [
        CarryBackState::Taken,
        CarryBackState::AtWorkshop,
        CarryBackState::Repaired,
        CarryBackState::Returned,
    ];
    for s in states {
        match s {
            CarryBackState::Taken
            | CarryBackState::AtWorkshop
            | CarryBackState::Repaired
            | CarryBackState::Returned => {}
        }
    }
    check_enum("CarryBackState", values(&states));
    let overdue = [
        CarryBackOverdue::PastExpectedReturn,
        CarryBackOverdue::PastRepairLimit,
    ];
    for o in overdue {
        match o {
            CarryBackOverdue::PastExpectedReturn | CarryBackOverdue::PastRepairLimit => {}
        }
    }
    check_enum("CarryBackOverdue", values(&overdue));
    let lines = [
        LineStatus::Covered,
        LineStatus::Charged,
        LineStatus::Deposit,
    ];
    for l in lines {
        match l {
            LineStatus::Covered | LineStatus::Charged | LineStatus::Deposit => {}
        }
    }
    check_enum("LineStatus", values(&lines));
    let covers = [
        ContractCover::Labour,
        ContractCover::Parts,
        ContractCover::Both,
    ];
    for c in covers {
        match c {
            ContractCover::Labour | ContractCover::Parts | ContractCover::Both => {}
        }
    }
    check_enum("ContractCover", values(&covers));
    let kinds = [
        ItemKind::Service,
        ItemKind::Labour,
        ItemKind::Travel,
        ItemKind::Part,
    ];
    for k in kinds {
        match k {
            ItemKind::Service | ItemKind::Labour | ItemKind::Travel | ItemKind::Part => {}
        }
    }
    check_enum("ItemKind", values(&kinds));
    let proofs = [ProofKind::None, ProofKind::Receipt, ProofKind::Invoice];
    for p in proofs {
        match p {
            ProofKind::None | ProofKind::Receipt | ProofKind::Invoice => {}
        }
    }
    check_enum("ProofKind", values(&proofs));
    let currency = onsite_domain::money::Currency::Cny;
    match currency {
        onsite_domain::money::Currency::Cny => {}
    }
    check_enum("Currency", values(&[currency]));

    // Structs: every field the type sends is a property, and the other way round.
    let check_struct = |name: &str, value: Value| {
        spec.assert_valid(&spec.component(name), &value, name);
        let sent: BTreeSet<&String> = value.as_object().unwrap().keys().collect();
        let listed: BTreeSet<&String> = schemas[name]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(
            sent, listed,
            "{name}: the mirror and the domain type differ"
        );
    };
    check_struct("Money", serde_json::to_value(Money::cny(-5)).unwrap());
    check_struct(
        "RecordedExclusion",
        serde_json::to_value(RecordedExclusion {
            kind: Exclusion::Misuse,
            component: Some("pump".into()),
        })
        .unwrap(),
    );
    check_struct(
        "ProofOfPurchase",
        serde_json::to_value(ProofOfPurchase {
            kind: ProofKind::Receipt,
            date: Some("2026-02-03".parse().unwrap()),
            sealed: false,
        })
        .unwrap(),
    );
    let _ = JobType::Install;
}

// The responses of both backends validate.
both_backends!(real_responses_validate_against_the_generated_schemas);
