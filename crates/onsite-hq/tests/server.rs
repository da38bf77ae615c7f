//! onsite-hq end to end: a real server on 127.0.0.1 over real TLS (test CA made here), a
//! reqwest client trusting only that CA.

mod common;

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use common::*;
use onsite_api::*;
use onsite_domain::WorkOrderStatus;
use reqwest::{Method, StatusCode};
use uuid::Uuid;

const NONE: Option<&()> = None;

async fn enrol_push_replay_and_pull() {
    let hq = start().await;
    let tech = hq.technician("Tech One").await;
    let code = hq.code_for(tech).await;
    // Codes are typed by people: case and dashes do not matter.
    let dev = hq.enroll_code(&code.to_lowercase().replace('-', " ")).await;
    assert_eq!(dev.technician_id, tech);
    assert!(!dev.epoch.is_empty());
    // The code is one-time.
    hq.expect_error(
        Method::POST,
        routes::ENROLL,
        None,
        Some(&EnrollRequest {
            code: code.clone(),
            device_name: "second".into(),
        }),
        StatusCode::UNAUTHORIZED,
        codes::INVALID_CODE,
    )
    .await;

    let wo = hq.work_order("WO-1", Some(tech)).await;
    let (changes, _) = hq.pull_all(&dev.token, None, None).await;
    assert_eq!(work_order_ids(&changes), vec![wo.id]);
    let pulled = changes
        .iter()
        .find_map(|c| match &c.item {
            ChangeItem::WorkOrder(w) => Some(w.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(pulled.customer.name, "王伟 Secretname WO-1");

    let mut ops = OpMaker { seq: 0 };
    let batch = ops.visit(wo.id);
    let first = hq.push(&dev.token, batch.clone()).await;
    assert_eq!(first.results.len(), batch.len());
    assert!(
        first.results.iter().all(|r| applied(r) && !r.duplicate),
        "{first:?}"
    );
    for (r, op) in first.results.iter().zip(&batch) {
        assert_eq!(r.op_id, op.op_id);
    }

    // A replay (the reply was lost) returns the stored results, and stores nothing twice.
    let replay = hq.push(&dev.token, batch.clone()).await;
    assert!(replay.results.iter().all(|r| r.duplicate));
    let outcomes: Vec<_> = first.results.iter().map(|r| r.outcome.clone()).collect();
    let replayed: Vec<_> = replay.results.iter().map(|r| r.outcome.clone()).collect();
    assert_eq!(outcomes, replayed);

    let detail = hq.detail(wo.id).await;
    assert_eq!(detail.work_order.status, WorkOrderStatus::Completed);
    assert_eq!(detail.facts.len(), batch.len());
    assert!(detail.review_flags.is_empty());
    assert!(detail.facts.iter().all(|f| f.device_id == dev.device_id));
}

async fn poison_op_is_rejected_and_the_queue_moves_on() {
    let hq = start().await;
    let dev = hq.enrolled("Tech").await;
    let wo = hq.work_order("WO-P", Some(dev.technician_id)).await;
    let mut ops = OpMaker { seq: 10 };
    let good1 = ops.status(wo.id, WorkOrderStatus::EnRoute);
    let mut unknown = ops.payment(wo.id, 100);
    unknown.kind = "teleport_customer".into();
    let mut bad = ops.payment(wo.id, 100);
    bad.payload = serde_json::json!({"amount": "lots"});
    let negative = ops.payment(wo.id, -5);
    let missing_order = ops.payment(Uuid::now_v7(), 100);
    let good2 = ops.status(wo.id, WorkOrderStatus::OnSite);
    let batch = vec![good1, unknown, bad, negative, missing_order, good2];
    let reply = hq.push(&dev.token, batch.clone()).await;
    let codes: Vec<_> = reply.results.iter().map(rejected_code).collect();
    assert_eq!(
        codes,
        vec![
            None,
            Some(RejectCode::UnknownKind),
            Some(RejectCode::BadPayload),
            Some(RejectCode::BadPayload),
            Some(RejectCode::UnknownWorkOrder),
            None
        ]
    );
    // Applied ops replay as stored; refusals whose cause can go away (issue 9) are
    // decided again (here, with the same outcome).
    let replay = hq.push(&dev.token, batch).await;
    assert_eq!(
        replay
            .results
            .iter()
            .map(|r| r.duplicate)
            .collect::<Vec<_>>(),
        vec![true, false, false, false, false, true]
    );
    assert_eq!(
        replay.results.iter().map(rejected_code).collect::<Vec<_>>(),
        codes
    );
    // Head office keeps each refused op whole, with its reason and the number of tries.
    let kept: Vec<RefusedOp> = hq
        .admin::<(), _>(Method::GET, routes::ADMIN_REFUSED_OPS, None, StatusCode::OK)
        .await;
    assert_eq!(kept.len(), 4);
    assert!(kept
        .iter()
        .all(|r| r.attempts == 2 && r.resolved_at.is_none()));
    let teleport = kept.iter().find(|r| r.kind == "teleport_customer").unwrap();
    assert_eq!(teleport.code, RejectCode::UnknownKind);
    assert_eq!(teleport.payload["amount"]["minor"], 100);
    let detail = hq.detail(wo.id).await;
    assert_eq!(detail.work_order.status, WorkOrderStatus::OnSite);
    assert_eq!(detail.facts.len(), 2);
}

#[tokio::test]
async fn a_transient_failure_is_a_503_with_retry_after_and_a_retry_converges() {
    let hq = start().await;
    let dev = hq.enrolled("Tech").await;
    let wo = hq.work_order("WO-T", Some(dev.technician_id)).await;
    let sqlite = hq.sqlite.clone().unwrap();
    sqlite.set_busy_timeout(Duration::from_millis(50)).unwrap();
    let mut ops = OpMaker { seq: 0 };
    let batch = ops.visit(wo.id);

    // Another process holds the database's write lock: the server cannot write.
    let blocker = rusqlite::Connection::open(sqlite.path()).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let res = hq
        .send(
            Method::POST,
            routes::SYNC_PUSH,
            Some(&dev.token),
            Some(&PushRequest { ops: batch.clone() }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    let body: ErrorBody = res.json().await.unwrap();
    assert_eq!(body.code, codes::UNAVAILABLE);
    blocker.execute_batch("ROLLBACK").unwrap();
    drop(blocker);

    let reply = hq.push(&dev.token, batch.clone()).await;
    assert!(reply.results.iter().all(|r| applied(r) && !r.duplicate));
    assert_eq!(hq.detail(wo.id).await.facts.len(), batch.len());
    assert_eq!(sqlite.integrity_check().unwrap(), "ok");
}

async fn pull_pages_hold_whole_commits_and_the_cursor_resumes() {
    let hq = start().await;
    let dev = hq.enrolled("Tech").await;
    let other = hq.technician("Other").await;
    let mut mine = Vec::new();
    for i in 0..7 {
        mine.push(
            hq.work_order(&format!("WO-{i}"), Some(dev.technician_id))
                .await
                .id,
        );
        hq.work_order(&format!("OTHER-{i}"), Some(other)).await;
    }
    let fee = onsite_hq::demo::water_purifier_fee_table(now());
    let _: FeeTable = hq
        .admin(
            Method::POST,
            routes::ADMIN_FEE_TABLES,
            Some(&fee),
            StatusCode::CREATED,
        )
        .await;

    // Page by page, limit 2: nothing repeated, nothing missing, no commit split.
    let mut cursor: Option<String> = None;
    let mut seen = Vec::new();
    let mut page_seqs: Vec<BTreeSet<i64>> = Vec::new();
    let mut pages = 0;
    loop {
        let page = hq.pull(&dev.token, cursor.as_deref(), Some(2)).await;
        assert!(!page.reset);
        pages += 1;
        assert!(
            page.changes.len() <= 2 || page.changes.iter().all(|c| c.seq == page.changes[0].seq)
        );
        page_seqs.push(page.changes.iter().map(|c| c.seq).collect());
        seen.extend(page.changes);
        cursor = Some(page.cursor);
        if !page.has_more {
            break;
        }
    }
    assert!(pages >= 4, "{pages} pages");
    for pair in page_seqs.windows(2) {
        assert!(
            pair[0].is_disjoint(&pair[1]),
            "a commit was split: {page_seqs:?}"
        );
    }
    let ids = work_order_ids(&seen);
    assert_eq!(
        ids, mine,
        "exactly this technician's orders, in commit order"
    );
    assert_eq!(
        seen.iter()
            .filter(|c| matches!(c.item, ChangeItem::FeeTable(_)))
            .count(),
        1
    );

    // Nothing new: an empty page and the same cursor.
    let again = hq.pull(&dev.token, cursor.as_deref(), None).await;
    assert!(again.changes.is_empty() && !again.has_more);
    assert_eq!(Some(again.cursor.clone()), cursor);

    // A change made after the saved cursor: only it comes.
    let update = WorkOrderUpdate {
        notes: Some("ring twice".into()),
        ..Default::default()
    };
    let path = routes::ADMIN_WORK_ORDER.replace("{id}", &mine[3].to_string());
    let updated: WorkOrder = hq
        .admin(Method::PATCH, &path, Some(&update), StatusCode::OK)
        .await;
    assert_eq!(updated.version, 2);
    let resumed = hq.pull(&dev.token, cursor.as_deref(), None).await;
    assert_eq!(work_order_ids(&resumed.changes), vec![mine[3]]);
    match &resumed.changes[0].item {
        ChangeItem::WorkOrder(w) => assert_eq!(w.notes, "ring twice"),
        other => panic!("{other:?}"),
    }
    // Head office wins on the schedule: a stale expected_version is refused.
    let stale = WorkOrderUpdate {
        expected_version: Some(1),
        notes: Some("x".into()),
        ..Default::default()
    };
    hq.expect_error(
        Method::PATCH,
        &path,
        Some(ADMIN),
        Some(&stale),
        StatusCode::CONFLICT,
        codes::CONFLICT,
    )
    .await;
}

async fn a_new_epoch_or_a_foreign_cursor_means_refetch_from_scratch() {
    let hq = start().await;
    let dev = hq.enrolled("Tech").await;
    let wo = hq.work_order("WO-E", Some(dev.technician_id)).await;
    let (first, cursor) = hq.pull_all(&dev.token, None, None).await;
    assert_eq!(work_order_ids(&first), vec![wo.id]);

    for foreign in [
        "garbage",
        "someone-else:3",
        &format!("{}:999999", cursor.rsplit_once(':').unwrap().0),
    ] {
        let page = hq.pull(&dev.token, Some(foreign), None).await;
        assert!(page.reset, "{foreign}");
        assert_eq!(work_order_ids(&page.changes), vec![wo.id], "{foreign}");
    }

    let old_epoch = hq.pull(&dev.token, Some(&cursor), None).await.epoch;
    let rotated: EpochReply = hq
        .admin(
            Method::POST,
            routes::ADMIN_EPOCH_ROTATE,
            NONE,
            StatusCode::OK,
        )
        .await;
    assert_ne!(rotated.epoch, old_epoch);
    let page = hq.pull(&dev.token, Some(&cursor), None).await;
    assert!(page.reset);
    assert_eq!(page.epoch, rotated.epoch);
    assert_eq!(work_order_ids(&page.changes), vec![wo.id]);
    assert!(page.cursor.starts_with(&rotated.epoch));
    // The new cursor works normally.
    let next = hq.pull(&dev.token, Some(&page.cursor), None).await;
    assert!(!next.reset && next.changes.is_empty());
    // Push replies carry the epoch too.
    let reply = hq.push(&dev.token, vec![]).await;
    assert_eq!(reply.epoch, rotated.epoch);
}

async fn blobs_are_verified_against_their_hash_and_size_limited() {
    let hq = start().await;
    let dev = hq.enrolled("Tech").await;
    let wo = hq.work_order("WO-B", Some(dev.technician_id)).await;
    let bytes = b"\x89PNG pretend signature".to_vec();
    let sha = sha256_hex(&bytes);
    let path = routes::BLOB.replace("{sha256}", &sha);
    let head = |token: &str| {
        hq.client
            .head(hq.url(&path))
            .bearer_auth(token.to_owned())
            .send()
    };
    assert_eq!(
        head(&dev.token).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );

    // An op that references a blob not uploaded yet is refused.
    let mut ops = OpMaker { seq: 0 };
    let early = hq.push(&dev.token, vec![ops.signature(wo.id, &sha)]).await;
    assert_eq!(
        rejected_code(&early.results[0]),
        Some(RejectCode::BlobMissing)
    );

    let put = |body: Vec<u8>, p: String| {
        hq.client
            .put(hq.url(&p))
            .bearer_auth(dev.token.clone())
            .body(body)
            .send()
    };
    let wrong = put(b"something else".to_vec(), path.clone()).await.unwrap();
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        wrong.json::<ErrorBody>().await.unwrap().code,
        codes::HASH_MISMATCH
    );
    assert_eq!(
        head(&dev.token).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );

    let created = put(bytes.clone(), path.clone()).await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let reply: BlobPutReply = created.json().await.unwrap();
    assert_eq!(
        (reply.sha256.as_str(), reply.size, reply.created),
        (sha.as_str(), bytes.len() as u64, true)
    );
    let again = put(bytes.clone(), path.clone()).await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert!(!again.json::<BlobPutReply>().await.unwrap().created);
    assert_eq!(head(&dev.token).await.unwrap().status(), StatusCode::OK);

    // Names that are not a SHA-256 are refused before anything is read.
    let bad_name = put(bytes.clone(), "/v1/blobs/..%2F..%2Fetc%2Fpasswd".into())
        .await
        .unwrap();
    assert_eq!(bad_name.status(), StatusCode::BAD_REQUEST);
    let upper = put(
        bytes.clone(),
        routes::BLOB.replace("{sha256}", &sha.to_uppercase()),
    )
    .await
    .unwrap();
    assert_eq!(upper.status(), StatusCode::BAD_REQUEST);

    // Too large: 413, and the server goes on.
    let big = vec![7u8; limits::MAX_BLOB_BYTES + 1];
    let big_path = routes::BLOB.replace("{sha256}", &sha256_hex(&big));
    let res = put(big, big_path.clone()).await.unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        res.json::<ErrorBody>().await.unwrap().code,
        codes::TOO_LARGE
    );

    // Without a token: 401.
    let anon = hq
        .client
        .put(hq.url(&path))
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);

    // Now the op goes through (as a new op), and head office can download the blob.
    let later = hq.push(&dev.token, vec![ops.signature(wo.id, &sha)]).await;
    assert!(applied(&later.results[0]));
    let got = hq
        .client
        .get(hq.url(&routes::ADMIN_BLOB.replace("{sha256}", &sha)))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.bytes().await.unwrap().to_vec(), bytes);
}

async fn two_technicians_cannot_see_or_change_each_others_work() {
    let hq = start().await;
    let a = hq.enrolled("A").await;
    let b = hq.enrolled("B").await;
    let wo_a = hq.work_order("WO-A", Some(a.technician_id)).await;
    let wo_b = hq.work_order("WO-B", Some(b.technician_id)).await;

    let (seen_a, _) = hq.pull_all(&a.token, None, None).await;
    let (seen_b, _) = hq.pull_all(&b.token, None, None).await;
    assert_eq!(work_order_ids(&seen_a), vec![wo_a.id]);
    assert_eq!(work_order_ids(&seen_b), vec![wo_b.id]);

    // B tries to record facts on A's job: refused, nothing stored.
    let mut ops = OpMaker { seq: 0 };
    let reply = hq
        .push(
            &b.token,
            vec![
                ops.status(wo_a.id, WorkOrderStatus::EnRoute),
                ops.payment(wo_a.id, 100),
            ],
        )
        .await;
    assert!(reply
        .results
        .iter()
        .all(|r| rejected_code(r) == Some(RejectCode::NotYourWorkOrder)));
    let detail = hq.detail(wo_a.id).await;
    assert!(detail.facts.is_empty());
    assert_eq!(detail.work_order.status, WorkOrderStatus::Assigned);

    // A's facts never reach B's pull.
    let mut a_ops = OpMaker { seq: 0 };
    let pushed = hq.push(&a.token, a_ops.visit(wo_a.id)).await;
    assert!(pushed.results.iter().all(applied));
    let (b_after, _) = hq.pull_all(&b.token, None, None).await;
    assert!(b_after.iter().all(|c| match &c.item {
        ChangeItem::Fact(f) => f.technician_id == b.technician_id,
        ChangeItem::WorkOrder(w) => w.id == wo_b.id,
        ChangeItem::WorkOrderRemoved { .. } => false,
        _ => true,
    }));
    // Devices get 403 on the head-office API, so they cannot read orders there either.
    let path = routes::ADMIN_WORK_ORDER.replace("{id}", &wo_a.id.to_string());
    hq.expect_error(
        Method::GET,
        &path,
        Some(&b.token),
        NONE,
        StatusCode::FORBIDDEN,
        codes::FORBIDDEN,
    )
    .await;
}

async fn a_revoked_device_is_refused() {
    let hq = start().await;
    let a = hq.enrolled("A").await;
    let tech = a.technician_id;
    let second = hq.enroll_code(&hq.code_for(tech).await).await;
    let path = routes::ADMIN_DEVICE_REVOKE.replace("{id}", &a.device_id.to_string());
    let revoked: Device = hq.admin(Method::POST, &path, NONE, StatusCode::OK).await;
    assert!(revoked.revoked_at.is_some());

    let pull_path = routes::SYNC_PULL;
    hq.expect_error(
        Method::GET,
        pull_path,
        Some(&a.token),
        NONE,
        StatusCode::UNAUTHORIZED,
        codes::DEVICE_REVOKED,
    )
    .await;
    hq.expect_error(
        Method::POST,
        routes::SYNC_PUSH,
        Some(&a.token),
        Some(&PushRequest { ops: vec![] }),
        StatusCode::UNAUTHORIZED,
        codes::DEVICE_REVOKED,
    )
    .await;
    // The technician's other device still works.
    let page = hq.pull(&second.token, None, None).await;
    assert!(!page.reset);
    let devices: Vec<Device> = hq
        .admin(Method::GET, routes::ADMIN_DEVICES, NONE, StatusCode::OK)
        .await;
    assert_eq!(devices.len(), 2);
    // Unknown device: 404.
    let path = routes::ADMIN_DEVICE_REVOKE.replace("{id}", &Uuid::now_v7().to_string());
    hq.expect_error(
        Method::POST,
        &path,
        Some(ADMIN),
        NONE,
        StatusCode::NOT_FOUND,
        codes::NOT_FOUND,
    )
    .await;
}

async fn admin_endpoints_refuse_device_tokens_and_sync_refuses_bad_tokens() {
    let hq = start().await;
    let dev = hq.enrolled("Tech").await;
    let admin_gets = [
        routes::ADMIN_TECHNICIANS,
        routes::ADMIN_DEVICES,
        routes::ADMIN_WORK_ORDERS,
        routes::ADMIN_REVIEW,
        routes::ADMIN_EXPORT,
        routes::ADMIN_FEE_TABLES,
    ];
    for path in admin_gets {
        hq.expect_error(
            Method::GET,
            path,
            Some(&dev.token),
            NONE,
            StatusCode::FORBIDDEN,
            codes::FORBIDDEN,
        )
        .await;
        hq.expect_error(
            Method::GET,
            path,
            None,
            NONE,
            StatusCode::UNAUTHORIZED,
            codes::UNAUTHORIZED,
        )
        .await;
    }
    let new_tech = NewTechnician {
        name: "Sneaky".into(),
    };
    hq.expect_error(
        Method::POST,
        routes::ADMIN_TECHNICIANS,
        Some(&dev.token),
        Some(&new_tech),
        StatusCode::FORBIDDEN,
        codes::FORBIDDEN,
    )
    .await;
    let code_path = routes::ADMIN_ENROLMENT_CODES.replace("{id}", &dev.technician_id.to_string());
    hq.expect_error(
        Method::POST,
        &code_path,
        Some(&dev.token),
        NONE,
        StatusCode::FORBIDDEN,
        codes::FORBIDDEN,
    )
    .await;
    let technicians: Vec<Technician> = hq
        .admin(Method::GET, routes::ADMIN_TECHNICIANS, NONE, StatusCode::OK)
        .await;
    assert_eq!(technicians.len(), 1);

    // The admin token is not a device token, and made-up tokens are nobody's.
    for token in [ADMIN, "onsite_0000", "x"] {
        hq.expect_error(
            Method::GET,
            routes::SYNC_PULL,
            Some(token),
            NONE,
            StatusCode::UNAUTHORIZED,
            codes::UNAUTHORIZED,
        )
        .await;
    }
    let res = hq
        .client
        .get(hq.url(routes::SYNC_PULL))
        .header("authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

async fn malformed_and_oversized_requests_get_clear_json_errors() {
    let hq = start().await;
    let dev = hq.enrolled("Tech").await;
    let raw =
        |method: Method, path: &str, token: Option<&str>, ctype: Option<&str>, body: Vec<u8>| {
            let mut req = hq.client.request(method, hq.url(path)).body(body);
            if let Some(t) = token {
                req = req.bearer_auth(t.to_owned());
            }
            if let Some(c) = ctype {
                req = req.header("content-type", c.to_owned());
            }
            req.send()
        };
    let check = |res: reqwest::Response, status: StatusCode, code: &'static str| async move {
        assert_eq!(res.status(), status);
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
        let e: ErrorBody = res.json().await.unwrap();
        assert_eq!(e.code, code, "{}", e.message);
        e
    };
    // Broken JSON.
    let res = raw(
        Method::POST,
        routes::SYNC_PUSH,
        Some(&dev.token),
        Some("application/json"),
        b"{\"ops\": [".to_vec(),
    )
    .await
    .unwrap();
    check(res, StatusCode::BAD_REQUEST, codes::MALFORMED).await;
    // Wrong shape, with customer data in it: the error does not echo it.
    let body = serde_json::json!({
        "order_no": "X-1", "technician_id": null, "job_type": "repair",
        "customer": {"name": "Zhao Secretname", "phone": 13800001111_i64, "address": "1 Road"},
        "appliance": {"category": "c", "brand": "b", "model": "m", "serial_no": null, "purchase_date": null},
        "reported_fault": "f", "appointment_start": "2026-01-01T00:00:00Z", "appointment_end": "2026-01-01T01:00:00Z"
    });
    let res = raw(
        Method::POST,
        routes::ADMIN_WORK_ORDERS,
        Some(ADMIN),
        Some("application/json"),
        body.to_string().into_bytes(),
    )
    .await
    .unwrap();
    let e = check(res, StatusCode::BAD_REQUEST, codes::MALFORMED).await;
    assert!(
        !e.message.contains("13800001111") && !e.message.contains("Secretname"),
        "{}",
        e.message
    );
    let mut wrong_variant = body.clone();
    wrong_variant["customer"]["phone"] = "1".into();
    wrong_variant["job_type"] = "Mrs Secretname's job".into();
    let res = raw(
        Method::POST,
        routes::ADMIN_WORK_ORDERS,
        Some(ADMIN),
        Some("application/json"),
        wrong_variant.to_string().into_bytes(),
    )
    .await
    .unwrap();
    let e = check(res, StatusCode::BAD_REQUEST, codes::MALFORMED).await;
    assert!(!e.message.contains("Secretname"), "{}", e.message);
    // Not JSON at all.
    let res = raw(
        Method::POST,
        routes::SYNC_PUSH,
        Some(&dev.token),
        Some("text/plain"),
        b"ops".to_vec(),
    )
    .await
    .unwrap();
    check(
        res,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        codes::UNSUPPORTED_MEDIA_TYPE,
    )
    .await;
    // Too large.
    let mut huge = b"{\"ops\": [\"".to_vec();
    huge.extend(std::iter::repeat_n(b'a', limits::MAX_JSON_BODY_BYTES + 10));
    huge.extend(b"\"]}");
    let res = raw(
        Method::POST,
        routes::SYNC_PUSH,
        Some(&dev.token),
        Some("application/json"),
        huge,
    )
    .await
    .unwrap();
    check(res, StatusCode::PAYLOAD_TOO_LARGE, codes::TOO_LARGE).await;
    // Too many ops, and ops out of order.
    let wo = hq.work_order("WO-M", Some(dev.technician_id)).await;
    let mut ops = OpMaker { seq: 0 };
    let many: Vec<Op> = (0..=limits::MAX_OPS_PER_PUSH)
        .map(|_| ops.payment(wo.id, 1))
        .collect();
    hq.expect_error(
        Method::POST,
        routes::SYNC_PUSH,
        Some(&dev.token),
        Some(&PushRequest { ops: many }),
        StatusCode::BAD_REQUEST,
        codes::BAD_REQUEST,
    )
    .await;
    let mut backwards = vec![ops.payment(wo.id, 1), ops.payment(wo.id, 1)];
    backwards.reverse();
    hq.expect_error(
        Method::POST,
        routes::SYNC_PUSH,
        Some(&dev.token),
        Some(&PushRequest { ops: backwards }),
        StatusCode::BAD_REQUEST,
        codes::BAD_REQUEST,
    )
    .await;
    assert!(
        hq.detail(wo.id).await.facts.is_empty(),
        "a refused batch stores nothing"
    );
    // Bad query, bad path id, unknown route, wrong method.
    let res = raw(
        Method::GET,
        "/v1/sync/pull?limit=lots",
        Some(&dev.token),
        None,
        vec![],
    )
    .await
    .unwrap();
    check(res, StatusCode::BAD_REQUEST, codes::BAD_REQUEST).await;
    let res = raw(
        Method::GET,
        "/v1/admin/work-orders/not-a-uuid",
        Some(ADMIN),
        None,
        vec![],
    )
    .await
    .unwrap();
    check(res, StatusCode::BAD_REQUEST, codes::BAD_REQUEST).await;
    let res = raw(
        Method::GET,
        &format!("/v1/admin/work-orders/{}", Uuid::now_v7()),
        Some(ADMIN),
        None,
        vec![],
    )
    .await
    .unwrap();
    check(res, StatusCode::NOT_FOUND, codes::NOT_FOUND).await;
    let res = raw(Method::GET, "/v1/nothing-here", None, None, vec![])
        .await
        .unwrap();
    check(res, StatusCode::NOT_FOUND, codes::NO_ROUTE).await;
    let res = raw(
        Method::DELETE,
        routes::SYNC_PUSH,
        Some(&dev.token),
        None,
        vec![],
    )
    .await
    .unwrap();
    check(res, StatusCode::METHOD_NOT_ALLOWED, codes::NO_ROUTE).await;
    // Invalid admin input: a rule, not a shape.
    let mut backwards_time = new_work_order("WO-BAD", None);
    backwards_time.appointment_end = backwards_time.appointment_start - chrono::Duration::hours(1);
    hq.expect_error(
        Method::POST,
        routes::ADMIN_WORK_ORDERS,
        Some(ADMIN),
        Some(&backwards_time),
        StatusCode::BAD_REQUEST,
        codes::BAD_REQUEST,
    )
    .await;
    hq.expect_error(
        Method::POST,
        routes::ADMIN_WORK_ORDERS,
        Some(ADMIN),
        Some(&new_work_order("WO-M", None)),
        StatusCode::CONFLICT,
        codes::CONFLICT,
    )
    .await;
    // Still serving.
    let h: Health = hq
        .expect(Method::GET, routes::HEALTH, None, NONE, StatusCode::OK)
        .await;
    assert_eq!(h.status, "ok");
    if let Some(sqlite) = &hq.sqlite {
        assert_eq!(sqlite.integrity_check().unwrap(), "ok");
    }
}

async fn facts_on_a_cancelled_or_reassigned_job_are_kept_and_flagged() {
    let hq = start().await;
    let a = hq.enrolled("A").await;
    let b = hq.enrolled("B").await;
    let cancelled = hq.work_order("WO-C", Some(a.technician_id)).await;
    let moved = hq.work_order("WO-R", Some(a.technician_id)).await;
    let (_, cursor) = hq.pull_all(&a.token, None, None).await;

    // Meanwhile at head office (the technician is offline, working):
    let path = routes::ADMIN_WORK_ORDER_CANCEL.replace("{id}", &cancelled.id.to_string());
    let c: WorkOrder = hq
        .admin(
            Method::POST,
            &path,
            Some(&CancelRequest {
                reason: "customer called off".into(),
            }),
            StatusCode::OK,
        )
        .await;
    assert_eq!(c.status, WorkOrderStatus::Cancelled);
    let path = routes::ADMIN_WORK_ORDER_REASSIGN.replace("{id}", &moved.id.to_string());
    let r: WorkOrder = hq
        .admin(
            Method::POST,
            &path,
            Some(&ReassignRequest {
                technician_id: b.technician_id,
                expected_version: Some(1),
            }),
            StatusCode::OK,
        )
        .await;
    assert_eq!(r.technician_id, Some(b.technician_id));

    // The technician's work arrives afterwards: all kept, both jobs flagged.
    let mut ops = OpMaker { seq: 0 };
    let mut batch = ops.visit(cancelled.id);
    batch.extend(ops.visit(moved.id));
    let reply = hq.push(&a.token, batch.clone()).await;
    assert!(
        reply.results.iter().all(|r| applied(r) && flagged(r)),
        "{reply:?}"
    );

    let flags: Vec<ReviewFlag> = hq
        .admin(Method::GET, routes::ADMIN_REVIEW, NONE, StatusCode::OK)
        .await;
    let reasons: HashSet<_> = flags.iter().map(|f| (f.work_order_id, f.reason)).collect();
    assert_eq!(
        reasons,
        HashSet::from([
            (cancelled.id, ReviewReason::CancelledBeforeSync),
            (moved.id, ReviewReason::ReassignedBeforeSync)
        ])
    );
    assert_eq!(flags.len(), 2, "one open flag per job and reason");
    let c = hq.detail(cancelled.id).await;
    assert_eq!(
        c.work_order.status,
        WorkOrderStatus::Cancelled,
        "head office wins"
    );
    assert!(c.work_order.flagged_for_review);
    assert_eq!(c.facts.len(), 7);
    let m = hq.detail(moved.id).await;
    assert_eq!(m.work_order.status, WorkOrderStatus::Assigned);
    assert_eq!(m.work_order.technician_id, Some(b.technician_id));
    assert_eq!(m.facts.len(), 7);

    // A's next pull: the cancelled job (flagged), the reassigned job removed; not A's own
    // facts (A has them).
    let (changes, _) = hq.pull_all(&a.token, Some(&cursor), None).await;
    assert!(changes
        .iter()
        .any(|c| matches!(&c.item, ChangeItem::WorkOrderRemoved { id } if *id == moved.id)));
    assert!(changes.iter().any(|c| matches!(&c.item,
        ChangeItem::WorkOrder(w) if w.id == cancelled.id && w.status == WorkOrderStatus::Cancelled && w.flagged_for_review)));
    let facts = changes
        .iter()
        .filter(|c| matches!(c.item, ChangeItem::Fact(_)))
        .count();
    assert_eq!(facts, 0);
    // B sees the reassigned job.
    let (b_changes, _) = hq.pull_all(&b.token, None, None).await;
    assert_eq!(work_order_ids(&b_changes), vec![moved.id]);

    // Resolving a flag clears it from the open list.
    let path = routes::ADMIN_REVIEW_RESOLVE.replace("{id}", &flags[0].id.to_string());
    let resolved: ReviewFlag = hq.admin(Method::POST, &path, NONE, StatusCode::OK).await;
    assert!(resolved.resolved_at.is_some());
    let open: Vec<ReviewFlag> = hq
        .admin(Method::GET, routes::ADMIN_REVIEW, NONE, StatusCode::OK)
        .await;
    assert_eq!(open.len(), 1);
    let all: Vec<ReviewFlag> = hq
        .admin(
            Method::GET,
            &format!("{}?include_resolved=true", routes::ADMIN_REVIEW),
            NONE,
            StatusCode::OK,
        )
        .await;
    assert_eq!(all.len(), 2);
}

async fn export_holds_the_pushed_facts_signatures_and_documents() {
    let hq = start().await;
    let dev = hq.enrolled("Tech").await;
    let wo = hq.work_order("WO-X", Some(dev.technician_id)).await;
    let open = hq.work_order("WO-OPEN", Some(dev.technician_id)).await;
    let signature = b"signature image".to_vec();
    let pdf = b"%PDF-1.7 pretend".to_vec();
    for blob in [&signature, &pdf] {
        let path = routes::BLOB.replace("{sha256}", &sha256_hex(blob));
        let res = hq
            .client
            .put(hq.url(&path))
            .bearer_auth(&dev.token)
            .body(blob.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let mut ops = OpMaker { seq: 0 };
    let mut batch = ops.visit(wo.id);
    let completed = batch.pop().unwrap();
    batch.push(ops.signature(wo.id, &sha256_hex(&signature)));
    batch.push(ops.document(wo.id, &sha256_hex(&pdf)));
    batch.push(Op {
        device_seq: ops.seq + 1,
        ..completed
    });
    batch.push(ops.op(
        open.id,
        OpPayload::ChangeStatus(StatusChange {
            from: None,
            fact_id: Uuid::now_v7(),
            to: WorkOrderStatus::EnRoute,
            reason: None,
            at: now(),
        }),
    ));
    batch.last_mut().unwrap().device_seq = ops.seq + 2;
    let reply = hq.push(&dev.token, batch.clone()).await;
    assert!(reply.results.iter().all(applied), "{reply:?}");

    let jobs: Vec<ExportJob> = hq
        .admin(
            Method::GET,
            &format!("{}?format=json", routes::ADMIN_EXPORT),
            NONE,
            StatusCode::OK,
        )
        .await;
    assert_eq!(jobs.len(), 1, "only completed jobs");
    let job = &jobs[0];
    assert_eq!(job.work_order.id, wo.id);
    assert_eq!(job.facts.len(), 9);
    let pushed: HashSet<Uuid> = batch[..9].iter().map(|op| op.op_id).collect();
    assert_eq!(
        job.facts.iter().map(|f| f.op_id).collect::<HashSet<_>>(),
        pushed
    );
    assert_eq!(job.blobs, vec![sha256_hex(&signature), sha256_hex(&pdf)]);

    let future =
        (now() + chrono::Duration::days(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let none: Vec<ExportJob> = hq
        .admin(
            Method::GET,
            &format!("{}?since={}", routes::ADMIN_EXPORT, urlencode(&future)),
            NONE,
            StatusCode::OK,
        )
        .await;
    assert!(none.is_empty());

    let res = hq
        .client
        .get(hq.url(&format!("{}?format=csv", routes::ADMIN_EXPORT)))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], ExportRow::COLUMNS.join(","));
    assert_eq!(lines.len(), 1 + 9);
    for fact in &job.facts {
        assert!(csv.contains(&fact.fact_id.to_string()));
    }
    assert!(lines
        .iter()
        .any(|l| l.contains(",consume_part,") && l.contains(",F-PP-10,1,2500,CNY,1,")));
    assert!(lines
        .iter()
        .any(|l| l.contains(",take_payment,") && l.contains(",cash,,4500,CNY,")));
    assert!(lines
        .iter()
        .any(|l| l.contains(",attach_signature,") && l.contains(&sha256_hex(&signature))));
    assert!(lines
        .iter()
        .any(|l| l.contains(",attach_document,") && l.contains(&sha256_hex(&pdf))));
    assert!(
        !csv.contains("Secretname") && !csv.contains("Hidden Street"),
        "no customer data in the CSV"
    );
}

async fn openapi_lists_exactly_the_routes_the_server_has() {
    let hq = start().await;
    let doc: serde_json::Value = hq
        .expect(Method::GET, routes::OPENAPI, None, NONE, StatusCode::OK)
        .await;
    assert_eq!(doc["openapi"], "3.0.3");
    let mut served_doc = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            served_doc.push((method.to_uppercase(), path.clone()));
        }
    }
    served_doc.sort();
    let table = onsite_hq::http::route_table();
    assert_eq!(
        served_doc, table,
        "the OpenAPI document and the router disagree"
    );
    assert_eq!(onsite_hq::openapi::listed_routes(), table);

    // And the router really answers each of them (no "no_route" 404 or 405).
    let fake_sha = "0".repeat(64);
    let fake_id = Uuid::now_v7().to_string();
    for (method, path) in &table {
        let concrete = path
            .replace("{sha256}", &fake_sha)
            .replace("{id}", &fake_id);
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let res = hq
            .client
            .request(method.clone(), hq.url(&concrete))
            .send()
            .await
            .unwrap();
        assert_ne!(
            res.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        if res.status() == StatusCode::NOT_FOUND && method != Method::HEAD {
            let e: ErrorBody = res.json().await.unwrap();
            assert_ne!(e.code, codes::NO_ROUTE, "{method} {path}");
        }
    }
    // Every $ref points at a schema that exists.
    let text = doc.to_string();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for part in text.split("#/components/schemas/").skip(1) {
        let name: String = part.chars().take_while(|c| c.is_alphanumeric()).collect();
        assert!(schemas.contains_key(&name), "missing schema {name}");
    }
}

#[tokio::test]
async fn demo_data_reaches_an_enrolled_device() {
    let dir = tempfile::tempdir().unwrap();
    let storage = std::sync::Arc::new(
        onsite_hq::storage::sqlite::SqliteStorage::open_in_dir(dir.path()).unwrap(),
    );
    let seeded = onsite_hq::demo::seed(&*storage, now()).unwrap();
    let hq = start_on(storage, dir).await;
    let dev = hq.enroll_code(&seeded.enrolment_code).await;
    assert_eq!(dev.technician_id, seeded.technician_id);
    let (changes, _) = hq.pull_all(&dev.token, None, None).await;
    let orders: Vec<&WorkOrder> = changes
        .iter()
        .filter_map(|c| match &c.item {
            ChangeItem::WorkOrder(w) => Some(&**w),
            _ => None,
        })
        .collect();
    assert_eq!(orders.len(), 4);
    // Priced with the water-purifier table; the cases a device should try are there.
    assert!(orders
        .iter()
        .all(|w| w.appliance.category == onsite_hq::demo::CATEGORY));
    assert_eq!(
        orders
            .iter()
            .filter(|w| w.appliance.proof.is_none())
            .count(),
        1
    );
    assert!(orders
        .iter()
        .filter_map(|w| w.appliance.proof.as_ref())
        .all(|p| p.sealed && p.date.is_some()));
    assert_eq!(
        orders
            .iter()
            .filter(|w| !w.appliance.contracts.is_empty())
            .count(),
        1
    );
    assert_eq!(
        orders
            .iter()
            .filter(|w| w.customer.language == "en")
            .count(),
        1
    );
    assert!(orders
        .iter()
        .all(|w| ["zh-CN", "en"].contains(&w.customer.language.as_str())));
    let fee = changes
        .iter()
        .find_map(|c| match &c.item {
            ChangeItem::FeeTable(t) => Some(t.clone()),
            _ => None,
        })
        .unwrap();
    let relocate_maint = fee
        .items
        .iter()
        .find(|i| i.code == "RELOCATE_MAINT")
        .unwrap();
    assert_eq!(
        relocate_maint.fee.minor, 5000,
        "the bundle is 50, not 40 + 30"
    );
    assert_eq!(fee.category, onsite_hq::demo::CATEGORY);
    assert_eq!(relocate_maint.includes, ["RELOCATE", "MAINT"]);
    assert!(!relocate_maint.coverable);
    let catalogue = changes
        .iter()
        .find_map(|c| match &c.item {
            ChangeItem::PartsCatalogue(p) => Some(p.clone()),
            _ => None,
        })
        .unwrap();
    let pump = catalogue
        .parts
        .iter()
        .find(|p| p.part_no == "P-PUMP-24V")
        .unwrap();
    assert!(pump.return_required && pump.serialised && !pump.consumable);
    assert_eq!(pump.component.as_deref(), Some("pump"));
    assert!(changes
        .iter()
        .any(|c| matches!(c.item, ChangeItem::PartsCatalogue(_))));
    assert!(changes
        .iter()
        .any(|c| matches!(c.item, ChangeItem::PriceList(_))));
}

#[tokio::test]
async fn the_server_shuts_down_and_its_data_survives_a_restart() {
    let mut hq = start().await;
    let dev = hq.enrolled("Tech").await;
    let wo = hq.work_order("WO-S", Some(dev.technician_id)).await;
    let mut ops = OpMaker { seq: 0 };
    let batch = ops.visit(wo.id);
    let first = hq.push(&dev.token, batch.clone()).await;
    let (_, cursor) = hq.pull_all(&dev.token, None, None).await;
    hq.server
        .take()
        .unwrap()
        .shutdown(Duration::from_secs(5))
        .await
        .unwrap();
    let dir = hq.tmp.take().unwrap();
    drop(hq.storage);
    drop(hq.sqlite.take());
    let storage = std::sync::Arc::new(
        onsite_hq::storage::sqlite::SqliteStorage::open_in_dir(dir.path()).unwrap(),
    );
    assert_eq!(storage.integrity_check().unwrap(), "ok");
    let hq = start_on(storage, dir).await;
    // Same token, same epoch, replays still recognised, cursor still valid.
    let replay = hq.push(&dev.token, batch).await;
    assert!(replay.results.iter().all(|r| r.duplicate));
    assert_eq!(
        replay
            .results
            .iter()
            .map(|r| &r.outcome)
            .collect::<Vec<_>>(),
        first.results.iter().map(|r| &r.outcome).collect::<Vec<_>>()
    );
    let page = hq.pull(&dev.token, Some(&cursor), None).await;
    assert!(!page.reset && page.changes.is_empty());
}

#[test]
fn help_documents_every_flag() {
    let bin = env!("CARGO_BIN_EXE_onsite-hq");
    let out = std::process::Command::new(bin)
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--data",
        "--listen",
        "--cert",
        "--key",
        "--cert-name",
        "--admin-token",
        "--new-epoch",
        "demo",
    ] {
        assert!(text.contains(flag), "--help lacks {flag}:\n{text}");
    }
    let out = std::process::Command::new(bin)
        .args(["demo", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for flag in ["--data", "--listen"] {
        assert!(text.contains(flag), "demo --help lacks {flag}:\n{text}");
    }
    let bad = std::process::Command::new(bin)
        .args(["--cert", "x.pem"])
        .output()
        .unwrap();
    assert!(!bad.status.success(), "--cert needs --key");
}

async fn a_fact_re_sent_under_a_new_op_id_is_stored_once_and_a_reused_fact_id_is_refused() {
    let hq = start().await;
    let dev = hq.enrolled("Tech").await;
    let wo = hq.work_order("WO-F", Some(dev.technician_id)).await;
    let mut ops = OpMaker { seq: 0 };
    let original = ops.payment(wo.id, 4500);
    let first = hq.push(&dev.token, vec![original.clone()]).await;
    assert!(applied(&first.results[0]));
    // After a server restore the client re-sends its unacknowledged ops, possibly under new
    // op ids: the same fact is not stored twice.
    let resent = Op {
        op_id: Uuid::now_v7(),
        device_seq: ops.seq + 1,
        ..original.clone()
    };
    let again = hq.push(&dev.token, vec![resent]).await;
    assert!(applied(&again.results[0]) && !again.results[0].duplicate);
    assert_eq!(again.results[0].outcome, first.results[0].outcome);
    // The same fact id with different content is refused.
    let mut clash = original.clone();
    clash.op_id = Uuid::now_v7();
    clash.device_seq = ops.seq + 2;
    clash.payload["amount"]["minor"] = 1.into();
    let refused = hq.push(&dev.token, vec![clash]).await;
    assert_eq!(
        rejected_code(&refused.results[0]),
        Some(RejectCode::FactIdReused)
    );
    assert_eq!(hq.detail(wo.id).await.facts.len(), 1);
}

async fn a_technicians_notes_are_a_fact_kept_apart_from_head_office_notes() {
    let hq = start().await;
    let dev = hq.enrolled("Tech").await;
    let wo = hq.work_order("WO-N", Some(dev.technician_id)).await;
    let mut ops = OpMaker { seq: 0 };
    let notes = |text: String| {
        OpPayload::EditNotes(NotesEdit {
            fact_id: Uuid::now_v7(),
            notes: text,
            at: now(),
        })
    };
    let good = ops.op(
        wo.id,
        notes("filter housing cracked, customer informed".into()),
    );
    let too_long = ops.op(wo.id, notes("x".repeat(10_001)));
    let reply = hq.push(&dev.token, vec![good.clone(), too_long]).await;
    assert!(applied(&reply.results[0]), "{:?}", reply.results[0]);
    assert_eq!(
        rejected_code(&reply.results[1]),
        Some(RejectCode::BadPayload)
    );
    // A replay is a duplicate with the first result.
    let again = hq.push(&dev.token, vec![good.clone()]).await;
    assert!(again.results[0].duplicate && applied(&again.results[0]));

    let detail = hq.detail(wo.id).await;
    assert_eq!(detail.facts.len(), 1);
    assert_eq!(detail.facts[0].kind, OpKind::EditNotes);
    assert_eq!(detail.facts[0].payload, good.payload);
    // Head office's own notes for the technician are untouched.
    assert_eq!(detail.work_order.notes, wo.notes);
    // The fact goes to the technician's other devices through pull, not back to the
    // device that pushed it (it has it already).
    let second = hq.enroll_code(&hq.code_for(dev.technician_id).await).await;
    let (changes, _) = hq.pull_all(&second.token, None, None).await;
    assert!(changes.iter().any(|c| matches!(
        &c.item,
        ChangeItem::Fact(f) if f.kind == OpKind::EditNotes && f.op_id == good.op_id
    )));
    let (own, _) = hq.pull_all(&dev.token, None, None).await;
    assert!(
        !own.iter().any(|c| matches!(&c.item, ChangeItem::Fact(_))),
        "no echo of a device's own facts"
    );
}

async fn technician_day_facts_belong_to_the_devices_technician_and_export_by_day() {
    let hq = start().await;
    let a = hq.enrolled("Tech A").await;
    let b = hq.enrolled("Tech B").await;
    let mut ops = OpMaker { seq: 0 };
    let m = onsite_domain::Money::cny;
    let at: chrono::DateTime<chrono::Utc> = "2026-11-24T10:00:00Z".parse().unwrap();
    let day: chrono::NaiveDate = "2026-11-24".parse().unwrap();
    let expense = |km: i64, at| {
        OpPayload::RecordExpense(Expense {
            fact_id: Uuid::now_v7(),
            day,
            km,
            meal_days: 1,
            nights: 0,
            per_km: m(100),
            meal_per_day: m(5000),
            lodging_per_night: m(20000),
            mileage: m(km * 100),
            meals: m(5000),
            lodging: m(0),
            total: m(km * 100 + 5000),
            at,
        })
    };
    let take = OpPayload::StockTake(StockTake {
        day: None,
        fact_id: Uuid::now_v7(),
        stock_take_id: Uuid::now_v7(),
        lines: vec![StockTakeLine {
            part_id: "p1".into(),
            expected: 3,
            counted: 2,
            difference: -1,
        }],
        at,
    });
    // The entity id of a day fact is not a work order: here, B's technician id, which
    // must not make the fact B's.
    let first = ops.op(b.technician_id, expense(10, at));
    let pushed = hq
        .push(
            &a.token,
            vec![
                first.clone(),
                ops.op(Uuid::now_v7(), take.clone()),
                ops.op(Uuid::now_v7(), expense(20, at + chrono::Duration::hours(1))),
            ],
        )
        .await;
    assert!(pushed.results.iter().all(applied), "{pushed:?}");
    // Re-sent under a new op id: recognised, stored once.
    let resent = Op {
        op_id: Uuid::now_v7(),
        device_seq: ops.seq + 1,
        ..first.clone()
    };
    let again = hq.push(&a.token, vec![resent]).await;
    assert_eq!(again.results[0].outcome, pushed.results[0].outcome);
    // A bad one is refused alone.
    ops.seq += 1; // past the re-sent op's seq
    let mut bad = ops.op(Uuid::now_v7(), expense(5, at));
    bad.payload["total"]["minor"] = 1.into();
    let refused = hq.push(&a.token, vec![bad]).await;
    assert_eq!(
        rejected_code(&refused.results[0]),
        Some(RejectCode::BadPayload)
    );

    let path = format!(
        "{}?technician_id={}&from={day}&to={day}",
        routes::ADMIN_EXPORT_TECHNICIAN_DAYS,
        a.technician_id
    );
    let facts: Vec<TechnicianDayFact> = hq.admin(Method::GET, &path, NONE, StatusCode::OK).await;
    let summary: Vec<(OpKind, bool)> = facts.iter().map(|f| (f.kind, f.superseded)).collect();
    assert_eq!(
        summary,
        [
            (OpKind::RecordExpense, true),
            (OpKind::StockTake, false),
            (OpKind::RecordExpense, false)
        ]
    );
    assert!(facts
        .iter()
        .all(|f| f.technician_id == a.technician_id && f.day == day));
    let path_b = format!(
        "{}?technician_id={}",
        routes::ADMIN_EXPORT_TECHNICIAN_DAYS,
        b.technician_id
    );
    let none: Vec<TechnicianDayFact> = hq.admin(Method::GET, &path_b, NONE, StatusCode::OK).await;
    assert!(none.is_empty());
    let next_day = format!("{}?from=2026-11-25", routes::ADMIN_EXPORT_TECHNICIAN_DAYS);
    let none: Vec<TechnicianDayFact> = hq.admin(Method::GET, &next_day, NONE, StatusCode::OK).await;
    assert!(none.is_empty());

    let csv = hq
        .send(
            Method::GET,
            &format!("{path}&format=csv"),
            Some(ADMIN),
            NONE,
        )
        .await
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
    assert_eq!(lines[0], TechnicianDayRow::COLUMNS.join(","));
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(
        lines[2].contains(",stock_take,") && lines[2].contains(",p1,2,-1,"),
        "{csv}"
    );
    // The technician's other device sends an expense for that day recorded before the
    // last one, arriving after it (issue 9, hole 10): the one recorded last still counts.
    let late = ops.op(
        Uuid::now_v7(),
        expense(30, at + chrono::Duration::minutes(30)),
    );
    let pushed = hq.push(&a.token, vec![late]).await;
    assert!(pushed.results.iter().all(applied), "{pushed:?}");
    let facts: Vec<TechnicianDayFact> = hq.admin(Method::GET, &path, NONE, StatusCode::OK).await;
    let counting: Vec<i64> = facts
        .iter()
        .filter(|f| f.kind == OpKind::RecordExpense && !f.superseded)
        .map(|f| f.payload["km"].as_i64().unwrap())
        .collect();
    assert_eq!(
        counting,
        [20],
        "the expense recorded last counts, not the last to arrive"
    );
}

async fn a_declined_quote_ends_the_job_at_head_office_and_a_visit_fact_on_a_cancelled_job_is_flagged(
) {
    let hq = start().await;
    let dev = hq.enrolled("Tech").await;
    let wo = hq.work_order("WO-Q", Some(dev.technician_id)).await;
    let mut ops = OpMaker { seq: 0 };
    let mut batch: Vec<Op> = [
        WorkOrderStatus::EnRoute,
        WorkOrderStatus::OnSite,
        WorkOrderStatus::InProgress,
    ]
    .into_iter()
    .map(|s| ops.status(wo.id, s))
    .collect();
    batch.push(ops.op(
        wo.id,
        OpPayload::RecordQuoteDecision(QuoteDecision {
            status_from: None,
            fact_id: Uuid::now_v7(),
            quote_id: Uuid::now_v7(),
            decision: QuoteAnswer::Declined,
            status_to: Some(WorkOrderStatus::UnableToComplete),
            reason: Some("quote_declined".into()),
            callout: onsite_domain::Money::cny(5000),
            at: now(),
        }),
    ));
    let r = hq.push(&dev.token, batch).await;
    assert!(r.results.iter().all(applied), "{r:?}");
    assert_eq!(
        hq.detail(wo.id).await.work_order.status,
        WorkOrderStatus::UnableToComplete
    );

    let other = hq.work_order("WO-C", Some(dev.technician_id)).await;
    let path = routes::ADMIN_WORK_ORDER_CANCEL.replace("{id}", &other.id.to_string());
    let _: WorkOrder = hq
        .admin(
            Method::POST,
            &path,
            Some(&CancelRequest {
                reason: "customer cancelled".into(),
            }),
            StatusCode::OK,
        )
        .await;
    let feedback = ops.op(
        other.id,
        OpPayload::RecordFeedback(Feedback {
            fact_id: Uuid::now_v7(),
            rating: 4,
            comment: String::new(),
            callback_allowed: false,
            at: now(),
        }),
    );
    let r = hq.push(&dev.token, vec![feedback]).await;
    assert!(applied(&r.results[0]) && flagged(&r.results[0]), "{r:?}");
    let detail = hq.detail(other.id).await;
    assert_eq!(detail.facts.len(), 1);
    assert_eq!(detail.work_order.status, WorkOrderStatus::Cancelled);
}

async fn carry_backs_are_stored_checked_flagged_on_a_cancelled_job_and_listed() {
    use onsite_domain::carryback::{CarryBackOverdue, CarryBackState};
    let hq = start().await;
    let dev = hq.enrolled("Tech").await;
    let wo = hq.work_order("WO-CB", Some(dev.technician_id)).await;
    let mut ops = OpMaker { seq: 0 };
    let png = b"\x89PNG receipt signature".to_vec();
    let sha = sha256_hex(&png);
    let taken_at: chrono::DateTime<chrono::Utc> = "2026-01-05T02:00:00Z".parse().unwrap();
    let take = |id: Uuid, receipt: &str| {
        OpPayload::TakeCarryBack(CarryBackTaken {
            fact_id: Uuid::now_v7(),
            carry_back_id: id,
            receipt_no: receipt.into(),
            item: "water heater".into(),
            serial_no: Some("TF60E-1".into()),
            accessories: vec!["remote".into()],
            condition: "scratch".into(),
            fault: "E3".into(),
            expected_return: "2026-01-12".parse().unwrap(),
            photos: vec![],
            signer_name: "S".into(),
            png_sha256: sha.clone(),
            at: taken_at,
        })
    };
    let first = Uuid::now_v7();
    // Before its signature is uploaded the take is refused (blob_missing), alone.
    let r = hq
        .push(&dev.token, vec![ops.op(wo.id, take(first, "CB-1"))])
        .await;
    assert_eq!(rejected_code(&r.results[0]), Some(RejectCode::BlobMissing));
    let res = hq
        .client
        .put(hq.url(&routes::BLOB.replace("{sha256}", &sha)))
        .bearer_auth(dev.token.clone())
        .body(png)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let advance = |from, to| {
        OpPayload::AdvanceCarryBack(CarryBackAdvanced {
            fact_id: Uuid::now_v7(),
            carry_back_id: first,
            from,
            to,
            at: taken_at + chrono::Duration::days(1),
        })
    };
    let r = hq
        .push(
            &dev.token,
            vec![
                ops.op(wo.id, take(first, "CB-1")),
                ops.op(
                    wo.id,
                    advance(CarryBackState::Taken, CarryBackState::AtWorkshop),
                ),
                // A step that skips one is refused, alone.
                ops.op(
                    wo.id,
                    advance(CarryBackState::AtWorkshop, CarryBackState::Returned),
                ),
            ],
        )
        .await;
    assert!(applied(&r.results[0]) && applied(&r.results[1]), "{r:?}");
    assert!(!flagged(&r.results[0]));
    assert_eq!(rejected_code(&r.results[2]), Some(RejectCode::BadPayload));

    // On a job head office cancelled meanwhile: kept and flagged, like every fact.
    let other = hq.work_order("WO-CB2", Some(dev.technician_id)).await;
    let path = routes::ADMIN_WORK_ORDER_CANCEL.replace("{id}", &other.id.to_string());
    let _: WorkOrder = hq
        .admin(
            Method::POST,
            &path,
            Some(&CancelRequest {
                reason: "customer cancelled".into(),
            }),
            StatusCode::OK,
        )
        .await;
    let r = hq
        .push(
            &dev.token,
            vec![ops.op(other.id, take(Uuid::now_v7(), "CB-2"))],
        )
        .await;
    assert!(applied(&r.results[0]) && flagged(&r.results[0]), "{r:?}");
    assert_eq!(hq.detail(other.id).await.facts.len(), 1);

    // Head office's list: both out, oldest first; taken in January, promised for the
    // 12th, so long overdue (more than 15 working days out).
    let list: Vec<CarryBack> = hq
        .admin(Method::GET, routes::ADMIN_CARRY_BACKS, NONE, StatusCode::OK)
        .await;
    let got: Vec<(&str, CarryBackState, bool)> = list
        .iter()
        .map(|c| (c.receipt_no.as_str(), c.state, c.flagged_for_review))
        .collect();
    assert_eq!(
        got,
        [
            ("CB-1", CarryBackState::AtWorkshop, false),
            ("CB-2", CarryBackState::Taken, true)
        ]
    );
    assert_eq!(list[0].order_no, "WO-CB");
    assert_eq!(list[0].overdue, Some(CarryBackOverdue::PastRepairLimit));
    assert!(list[0].working_days_out > 15);
    // Another technician's filter sees none; bad query values are a clear 400.
    let path = format!(
        "{}?technician_id={}",
        routes::ADMIN_CARRY_BACKS,
        Uuid::now_v7()
    );
    let none: Vec<CarryBack> = hq.admin(Method::GET, &path, NONE, StatusCode::OK).await;
    assert!(none.is_empty());
    let path = format!("{}?include_returned=maybe", routes::ADMIN_CARRY_BACKS);
    let _: ErrorBody = hq
        .admin(Method::GET, &path, NONE, StatusCode::BAD_REQUEST)
        .await;
    // Device tokens cannot read it.
    let res = hq
        .client
        .get(hq.url(routes::ADMIN_CARRY_BACKS))
        .bearer_auth(dev.token.clone())
        .send()
        .await
        .unwrap();
    assert!(res.status() == StatusCode::FORBIDDEN || res.status() == StatusCode::UNAUTHORIZED);
}

// ---------------------------------------------------------------------------------------
// The fields the device's pricing needs: language, proof of purchase, contracts, fee-table
// categories, bundles and flags, parts' components.

fn day(s: &str) -> chrono::NaiveDate {
    s.parse().unwrap()
}

fn contract(reference: &str, covers: onsite_domain::rules::ContractCover) -> ServiceContract {
    ServiceContract {
        reference: reference.into(),
        covers,
        valid_from: day("2026-01-01"),
        valid_to: day("2026-12-31"),
    }
}

fn pulled_order(changes: &[Change], id: Uuid) -> WorkOrder {
    changes
        .iter()
        .rev()
        .find_map(|c| match &c.item {
            ChangeItem::WorkOrder(w) if w.id == id => Some((**w).clone()),
            _ => None,
        })
        .expect("the order was pulled")
}

async fn proof_contracts_and_language_round_trip_through_create_pull_patch_and_export() {
    use onsite_domain::rules::ContractCover;
    use onsite_domain::view::{ProofKind, ProofOfPurchase};
    let hq = start().await;
    let dev = hq.enrolled("Tech").await;
    let mut new = new_work_order("WO-PROOF", Some(dev.technician_id));
    new.customer.language = "en".into();
    new.appliance.category = "water_purifier".into();
    new.appliance.purchase_date = Some(day("2026-03-02"));
    new.appliance.proof = Some(ProofOfPurchase {
        kind: ProofKind::Invoice,
        date: Some(day("2026-03-02")),
        sealed: true,
    });
    new.appliance.contracts = vec![
        contract("MC-2026-0001", ContractCover::Labour),
        contract("MC-2026-0002", ContractCover::Parts),
    ];
    let created: WorkOrder = hq
        .admin(
            Method::POST,
            routes::ADMIN_WORK_ORDERS,
            Some(&new),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(created.customer, new.customer);
    assert_eq!(created.appliance, new.appliance);
    assert_eq!(hq.detail(created.id).await.work_order, created);

    // The device gets them as sent.
    let (changes, cursor) = hq.pull_all(&dev.token, None, None).await;
    let pulled = pulled_order(&changes, created.id);
    assert_eq!(pulled, created);

    // A PATCH with a new appliance replaces proof and contracts; one with a customer
    // replaces the language.
    let mut appliance = new.appliance.clone();
    appliance.proof = None;
    appliance.contracts = vec![contract("MC-2026-0009", ContractCover::Both)];
    let mut customer = new.customer.clone();
    customer.language = "zh-CN".into();
    let path = routes::ADMIN_WORK_ORDER.replace("{id}", &created.id.to_string());
    let patched: WorkOrder = hq
        .admin(
            Method::PATCH,
            &path,
            Some(&WorkOrderUpdate {
                expected_version: Some(created.version),
                appliance: Some(appliance.clone()),
                customer: Some(customer.clone()),
                ..Default::default()
            }),
            StatusCode::OK,
        )
        .await;
    assert_eq!(patched.appliance, appliance);
    assert_eq!(patched.customer.language, "zh-CN");
    let (changes, _) = hq.pull_all(&dev.token, Some(&cursor), None).await;
    assert_eq!(pulled_order(&changes, created.id), patched);
    // An update without them leaves them alone.
    let notes: WorkOrder = hq
        .admin(
            Method::PATCH,
            &path,
            Some(&WorkOrderUpdate {
                notes: Some("gate code 12".into()),
                ..Default::default()
            }),
            StatusCode::OK,
        )
        .await;
    assert_eq!(notes.appliance, appliance);
    assert_eq!(notes.customer, customer);

    // The job done: the export carries them.
    let mut ops = OpMaker { seq: 0 };
    let reply = hq.push(&dev.token, ops.visit(created.id)).await;
    assert!(reply.results.iter().all(applied), "{reply:?}");
    let jobs: Vec<ExportJob> = hq
        .admin(
            Method::GET,
            &format!("{}?format=json", routes::ADMIN_EXPORT),
            NONE,
            StatusCode::OK,
        )
        .await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].work_order.appliance, appliance);
    assert_eq!(jobs[0].work_order.customer, customer);
    // The raw JSON names the fields (what an export reader sees).
    let raw: serde_json::Value = hq
        .admin(
            Method::GET,
            &format!("{}?format=json", routes::ADMIN_EXPORT),
            NONE,
            StatusCode::OK,
        )
        .await;
    let exported = &raw[0]["work_order"];
    assert_eq!(exported["customer"]["language"], "zh-CN");
    assert_eq!(exported["appliance"]["proof"], serde_json::Value::Null);
    assert_eq!(
        exported["appliance"]["contracts"][0]["covers"], "both",
        "{exported}"
    );
}

async fn fee_tables_with_categories_bundles_and_flags_round_trip_with_one_version_counter() {
    let hq = start().await;
    let dev = hq.enrolled("Tech").await;
    let purifier = onsite_hq::demo::water_purifier_fee_table(now());
    let heater = FeeTablePublish {
        category: "water_heater".into(),
        effective_from: now(),
        items: vec![
            FeeItem {
                name_zh: "热水器保养".into(),
                name_en: "Water-heater maintenance".into(),
                ..fee_item("HEATER_MAINT", 6000)
            },
            FeeItem {
                kind: onsite_domain::rules::ItemKind::Travel,
                coverable: false,
                ..fee_item("TRAVEL_KM", 150)
            },
            FeeItem {
                kind: onsite_domain::rules::ItemKind::Labour,
                open_priced: true,
                ..fee_item("REPAIR_QUOTED", 0)
            },
            FeeItem {
                includes: vec!["HEATER_MAINT".into(), "TRAVEL_KM".into()],
                ..fee_item("HEATER_MAINT_TRAVEL", 6500)
            },
        ],
    };
    let mut published = Vec::new();
    for table in [&purifier, &heater, &purifier] {
        let t: FeeTable = hq
            .admin(
                Method::POST,
                routes::ADMIN_FEE_TABLES,
                Some(table),
                StatusCode::CREATED,
            )
            .await;
        assert_eq!(t.category, table.category);
        assert_eq!(t.items, table.items);
        published.push(t);
    }
    assert_eq!(
        published.iter().map(|t| t.version).collect::<Vec<_>>(),
        [1, 2, 3],
        "one counter across categories"
    );
    // (Times compared apart: the publish reply carries the clock's nanoseconds, the store
    // keeps microseconds.)
    let key = |t: &FeeTable| (t.category.clone(), t.version, t.items.clone());
    let published: Vec<_> = published.iter().map(key).collect();
    let listed: Vec<FeeTable> = hq
        .admin(Method::GET, routes::ADMIN_FEE_TABLES, NONE, StatusCode::OK)
        .await;
    assert_eq!(listed.iter().map(key).collect::<Vec<_>>(), published);
    let (changes, _) = hq.pull_all(&dev.token, None, None).await;
    let pulled: Vec<FeeTable> = changes
        .iter()
        .filter_map(|c| match &c.item {
            ChangeItem::FeeTable(t) => Some(t.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(pulled.iter().map(key).collect::<Vec<_>>(), published);

    // The parts catalogue's new fields too.
    let catalogue = onsite_hq::demo::parts_catalogue();
    let stored: PartsCatalogue = hq
        .admin(
            Method::PUT,
            routes::ADMIN_PARTS_CATALOGUE,
            Some(&catalogue),
            StatusCode::OK,
        )
        .await;
    assert_eq!(stored.parts, catalogue.parts);
    let (changes, _) = hq.pull_all(&dev.token, None, None).await;
    let pulled = changes
        .iter()
        .find_map(|c| match &c.item {
            ChangeItem::PartsCatalogue(p) => Some(p.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(pulled.parts, catalogue.parts);
}

async fn each_new_rule_is_a_400_naming_the_field_and_never_the_customer() {
    let hq = start().await;
    let tech = hq.technician("Tech").await;
    let order = serde_json::to_value(new_work_order("WO-V", Some(tech))).unwrap();
    let table = serde_json::to_value(onsite_hq::demo::water_purifier_fee_table(now())).unwrap();
    let parts = serde_json::to_value(onsite_hq::demo::parts_catalogue()).unwrap();
    let proof_none_dated =
        serde_json::json!({"kind": "none", "date": "2026-01-01", "sealed": false});
    let proof_none_sealed = serde_json::json!({"kind": "none", "date": null, "sealed": true});
    let c = |reference: &str, from: &str, to: &str| serde_json::json!({"reference": reference, "covers": "labour", "valid_from": from, "valid_to": to});
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        // Work orders (also checked on PATCH below).
        (
            routes::ADMIN_WORK_ORDERS,
            Box::new(|o| o["customer"]["language"] = "fr".into()),
            "customer.language",
        ),
        (
            routes::ADMIN_WORK_ORDERS,
            Box::new(|o| o["customer"]["language"] = "".into()),
            "customer.language",
        ),
        (
            routes::ADMIN_WORK_ORDERS,
            Box::new(move |o| o["appliance"]["proof"] = proof_none_dated.clone()),
            "appliance.proof",
        ),
        (
            routes::ADMIN_WORK_ORDERS,
            Box::new(move |o| o["appliance"]["proof"] = proof_none_sealed.clone()),
            "appliance.proof",
        ),
        (
            routes::ADMIN_WORK_ORDERS,
            Box::new(move |o| {
                o["appliance"]["contracts"] =
                    serde_json::json!([c("MC-1", "2026-06-01", "2026-05-31")])
            }),
            "appliance.contracts[].valid_to",
        ),
        (
            routes::ADMIN_WORK_ORDERS,
            Box::new(move |o| {
                o["appliance"]["contracts"] =
                    serde_json::json!([c("  ", "2026-01-01", "2026-05-31")])
            }),
            "appliance.contracts[].reference",
        ),
        (
            routes::ADMIN_WORK_ORDERS,
            Box::new(move |o| {
                o["appliance"]["contracts"] =
                    serde_json::json!([c(&"R".repeat(65), "2026-01-01", "2026-05-31")])
            }),
            "appliance.contracts[].reference",
        ),
        (
            routes::ADMIN_WORK_ORDERS,
            Box::new(move |o| {
                o["appliance"]["contracts"] =
                    serde_json::json!(vec![c("MC-1", "2026-01-01", "2026-05-31"); 11])
            }),
            "appliance.contracts",
        ),
        // Fee tables.
        (
            routes::ADMIN_FEE_TABLES,
            Box::new(|t| t["category"] = "".into()),
            "category",
        ),
        (
            routes::ADMIN_FEE_TABLES,
            Box::new(|t| t["category"] = "Water Purifier".into()),
            "category",
        ),
        (
            routes::ADMIN_FEE_TABLES,
            Box::new(|t| t["category"] = "x".repeat(65).into()),
            "category",
        ),
        (
            routes::ADMIN_FEE_TABLES,
            Box::new(|t| t["items"][1]["code"] = "INSTALL".into()),
            "items[].code",
        ),
        (
            routes::ADMIN_FEE_TABLES,
            Box::new(|t| t["items"][1]["fee"]["minor"] = (-1).into()),
            "items[].fee",
        ),
        (
            routes::ADMIN_FEE_TABLES,
            Box::new(|t| t["items"][4]["includes"] = serde_json::json!(["RELOCATE", "NO_SUCH"])),
            "items[].includes",
        ),
        (
            routes::ADMIN_FEE_TABLES,
            Box::new(|t| t["items"][4]["includes"] = serde_json::json!(["RELOCATE"])),
            "items[].includes",
        ),
        (
            routes::ADMIN_FEE_TABLES,
            Box::new(|t| {
                t["items"][4]["includes"] = serde_json::json!(["RELOCATE", "MAINT", "MAINT"])
            }),
            "items[].includes",
        ),
        (
            routes::ADMIN_FEE_TABLES,
            Box::new(|t| t["items"][2]["includes"] = serde_json::json!(["RELOCATE", "MAINT"])),
            "items[].includes",
        ),
        (
            routes::ADMIN_FEE_TABLES,
            Box::new(|t| t["items"][4]["open_priced"] = true.into()),
            "items[].includes",
        ),
        // Parts.
        (
            routes::ADMIN_PARTS_CATALOGUE,
            Box::new(|p| p["parts"][0]["component"] = "Filter Cartridge".into()),
            "parts[].component",
        ),
        (
            routes::ADMIN_PARTS_CATALOGUE,
            Box::new(|p| p["parts"][0]["name_en"] = "n".repeat(201).into()),
            "parts[].name_en",
        ),
    ];
    for (route, edit, field) in &cases {
        let (method, mut body) = match *route {
            routes::ADMIN_WORK_ORDERS => (Method::POST, order.clone()),
            routes::ADMIN_FEE_TABLES => (Method::POST, table.clone()),
            _ => (Method::PUT, parts.clone()),
        };
        edit(&mut body);
        let e = hq
            .expect_error(
                method,
                route,
                Some(ADMIN),
                Some(&body),
                StatusCode::BAD_REQUEST,
                codes::BAD_REQUEST,
            )
            .await;
        assert!(
            e.message.starts_with(field),
            "{route}: {:?} should name {field}",
            e.message
        );
        assert!(!e.message.contains("Secretname") && !e.message.contains("Hidden"));
    }
    // An open-priced bundle says so.
    let mut open_bundle = table.clone();
    open_bundle["items"][4]["open_priced"] = true.into();
    let e = hq
        .expect_error(
            Method::POST,
            routes::ADMIN_FEE_TABLES,
            Some(ADMIN),
            Some(&open_bundle),
            StatusCode::BAD_REQUEST,
            codes::BAD_REQUEST,
        )
        .await;
    assert!(e.message.contains("open-priced"), "{}", e.message);
    // Nothing was stored.
    let tables: Vec<FeeTable> = hq
        .admin(Method::GET, routes::ADMIN_FEE_TABLES, NONE, StatusCode::OK)
        .await;
    assert!(tables.is_empty());

    // PATCH checks the customer and the appliance it replaces the same way.
    let wo = hq.work_order("WO-PATCH", Some(tech)).await;
    let path = routes::ADMIN_WORK_ORDER.replace("{id}", &wo.id.to_string());
    for (name, field) in [
        ("customer", "customer.language"),
        ("appliance", "appliance.contracts[].valid_to"),
    ] {
        let mut customer = order["customer"].clone();
        customer["language"] = "de".into();
        let mut appliance = order["appliance"].clone();
        appliance["contracts"] = serde_json::json!([c("MC-2", "2026-02-01", "2026-01-01")]);
        let body = if name == "customer" {
            serde_json::json!({ "customer": customer })
        } else {
            serde_json::json!({ "appliance": appliance })
        };
        let e = hq
            .expect_error(
                Method::PATCH,
                &path,
                Some(ADMIN),
                Some(&body),
                StatusCode::BAD_REQUEST,
                codes::BAD_REQUEST,
            )
            .await;
        assert!(e.message.starts_with(field), "{}", e.message);
    }
    assert_eq!(hq.detail(wo.id).await.work_order, wo, "unchanged");
    // Unknown enum values are malformed JSON, without the value echoed.
    let mut bad_cover = order.clone();
    bad_cover["order_no"] = "WO-V2".into();
    bad_cover["appliance"]["contracts"] = serde_json::json!([{"reference": "MC", "covers": "Secretname", "valid_from": "2026-01-01", "valid_to": "2026-01-02"}]);
    let e = hq
        .expect_error(
            Method::POST,
            routes::ADMIN_WORK_ORDERS,
            Some(ADMIN),
            Some(&bad_cover),
            StatusCode::BAD_REQUEST,
            codes::MALFORMED,
        )
        .await;
    assert!(!e.message.contains("Secretname"), "{}", e.message);
}

async fn old_style_json_without_the_new_fields_gets_the_defaults() {
    let hq = start().await;
    let dev = hq.enrolled("Tech").await;
    // As an older head-office tool sends them: no language, proof, contracts, category,
    // names, kinds, flags, components.
    let order = serde_json::json!({
        "order_no": "OLD-1", "technician_id": dev.technician_id, "job_type": "maintain",
        "customer": {"name": "N", "phone": "P", "address": "A"},
        "appliance": {"category": "water purifier", "brand": "b", "model": "m", "serial_no": null, "purchase_date": "2025-09-01"},
        "reported_fault": "f", "appointment_start": "2026-01-01T00:00:00Z", "appointment_end": "2026-01-01T01:00:00Z"
    });
    let created: WorkOrder = hq
        .admin(
            Method::POST,
            routes::ADMIN_WORK_ORDERS,
            Some(&order),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(created.customer.language, "zh-CN");
    assert_eq!(created.appliance.proof, None);
    assert!(created.appliance.contracts.is_empty());
    assert_eq!(created.appliance.purchase_date, Some(day("2025-09-01")));
    let table = serde_json::json!({
        "effective_from": "2026-01-01T00:00:00Z",
        "items": [{"code": "MAINT", "description": "Maintain", "fee": {"minor": 3000, "currency": "CNY"}, "plus_parts": false}]
    });
    let t: FeeTable = hq
        .admin(
            Method::POST,
            routes::ADMIN_FEE_TABLES,
            Some(&table),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(t.category, "hq");
    assert_eq!(
        t.items,
        [fee_item("MAINT", 3000)].map(|i| FeeItem {
            description: "Maintain".into(),
            ..i
        })
    );
    let parts = serde_json::json!({"parts": [{"part_no": "F-1", "name": "Filter", "serialised": false, "consumable": true}]});
    let c: PartsCatalogue = hq
        .admin(
            Method::PUT,
            routes::ADMIN_PARTS_CATALOGUE,
            Some(&parts),
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        c.parts[0],
        Part {
            part_no: "F-1".into(),
            name: "Filter".into(),
            serialised: false,
            consumable: true,
            name_en: None,
            component: None,
            return_required: false,
        }
    );
    // An old PATCH body (customer without language) sets the default language.
    let path = routes::ADMIN_WORK_ORDER.replace("{id}", &created.id.to_string());
    let patched: WorkOrder = hq
        .admin(
            Method::PATCH,
            &path,
            Some(&serde_json::json!({"customer": {"name": "N2", "phone": "P", "address": "A"}})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(patched.customer.language, "zh-CN");
    // The device gets the defaults spelled out.
    let (changes, _) = hq.pull_all(&dev.token, None, None).await;
    assert_eq!(pulled_order(&changes, created.id), patched);
    assert!(changes.iter().any(
        |c| matches!(&c.item, ChangeItem::FeeTable(f) if f.items == t.items && f.category == "hq")
    ));
}

/// A pull as a current client sends it (naming the opt-in item types).
async fn pull_accepting(hq: &Hq, token: &str) -> Vec<Change> {
    let mut cursor: Option<String> = None;
    let mut all = Vec::new();
    loop {
        let mut path = format!("{}?accept=parts_issued,company&", routes::SYNC_PULL);
        if let Some(c) = &cursor {
            path.push_str(&format!("cursor={}", urlencode(c)));
        }
        let page: PullReply = hq
            .expect::<(), _>(Method::GET, &path, Some(token), None, StatusCode::OK)
            .await;
        all.extend(page.changes);
        cursor = Some(page.cursor);
        if !page.has_more {
            return all;
        }
    }
}

fn issues(changes: &[Change]) -> Vec<PartsIssue> {
    changes
        .iter()
        .filter_map(|c| match &c.item {
            ChangeItem::PartsIssued(i) => Some(i.clone()),
            _ => None,
        })
        .collect()
}

fn companies(changes: &[Change]) -> Vec<CompanyProfile> {
    changes
        .iter()
        .filter_map(|c| match &c.item {
            ChangeItem::Company(p) => Some(p.clone()),
            _ => None,
        })
        .collect()
}

async fn parts_issued_reach_only_their_technician_and_are_listed() {
    let hq = start().await;
    let a = hq.enrolled("A").await;
    let b = hq.enrolled("B").await;
    let _: PartsCatalogue = hq
        .admin(
            Method::PUT,
            routes::ADMIN_PARTS_CATALOGUE,
            Some(&onsite_hq::demo::parts_catalogue()),
            StatusCode::OK,
        )
        .await;
    let job = hq.work_order("WO-ISSUE-1", Some(a.technician_id)).await;
    let path = routes::ADMIN_PARTS_ISSUES.replace("{id}", &a.technician_id.to_string());
    let request = NewPartsIssue {
        lines: vec![
            PartsIssueLine {
                part_no: "F-PP-10".into(),
                quantity: 6,
            },
            PartsIssueLine {
                part_no: "P-PUMP-24V".into(),
                quantity: 2,
            },
        ],
        note: Some("for the pump job".into()),
        work_order_id: Some(job.id),
    };
    let issued: PartsIssue = hq
        .admin(Method::POST, &path, Some(&request), StatusCode::CREATED)
        .await;
    assert_eq!(issued.id.get_version_num(), 7);
    assert_eq!(issued.technician_id, a.technician_id);
    assert_eq!(issued.lines, request.lines);
    assert_eq!(issued.work_order_id, Some(job.id));

    // Into A's feed only, as stored.
    let got = issues(&pull_accepting(&hq, &a.token).await);
    assert_eq!(got, vec![issued.clone()]);
    assert!(issues(&pull_accepting(&hq, &b.token).await).is_empty());
    // An older client (no `accept`) never sees the new item type.
    let (old, _) = hq.pull_all(&a.token, None, None).await;
    assert!(issues(&old).is_empty());
    assert!(work_order_ids(&old).contains(&job.id));

    // Listed, oldest first.
    let second = NewPartsIssue {
        lines: vec![PartsIssueLine {
            part_no: "X-TEE-14".into(),
            quantity: 10,
        }],
        note: None,
        work_order_id: None,
    };
    let later: PartsIssue = hq
        .admin(Method::POST, &path, Some(&second), StatusCode::CREATED)
        .await;
    let listed: Vec<PartsIssue> = hq
        .admin::<(), _>(Method::GET, &path, None, StatusCode::OK)
        .await;
    assert_eq!(listed, vec![issued, later]);
    let empty: Vec<PartsIssue> = hq
        .admin::<(), _>(
            Method::GET,
            &routes::ADMIN_PARTS_ISSUES.replace("{id}", &b.technician_id.to_string()),
            None,
            StatusCode::OK,
        )
        .await;
    assert!(empty.is_empty());

    // Checks: 400s that name the field (and the part number, never customer data).
    let bad = |lines: Vec<(&str, u32)>| NewPartsIssue {
        lines: lines
            .into_iter()
            .map(|(p, q)| PartsIssueLine {
                part_no: p.into(),
                quantity: q,
            })
            .collect(),
        note: None,
        work_order_id: None,
    };
    let e = hq
        .expect_error(
            Method::POST,
            &path,
            Some(ADMIN),
            Some(&bad(vec![("F-PP-10", 1), ("NO-SUCH-PART", 1)])),
            StatusCode::BAD_REQUEST,
            codes::BAD_REQUEST,
        )
        .await;
    assert!(e.message.contains("NO-SUCH-PART"), "{}", e.message);
    for body in [
        bad(vec![]),
        bad(vec![("F-PP-10", 0)]),
        bad(vec![("F-PP-10", 1000)]),
        bad(vec![("F-PP-10", 1); 201]),
    ] {
        hq.expect_error(
            Method::POST,
            &path,
            Some(ADMIN),
            Some(&body),
            StatusCode::BAD_REQUEST,
            codes::BAD_REQUEST,
        )
        .await;
    }
    let mut unknown_job = bad(vec![("F-PP-10", 1)]);
    unknown_job.work_order_id = Some(Uuid::now_v7());
    hq.expect_error(
        Method::POST,
        &path,
        Some(ADMIN),
        Some(&unknown_job),
        StatusCode::BAD_REQUEST,
        codes::BAD_REQUEST,
    )
    .await;
    let nobody = routes::ADMIN_PARTS_ISSUES.replace("{id}", &Uuid::now_v7().to_string());
    hq.expect_error(
        Method::POST,
        &nobody,
        Some(ADMIN),
        Some(&bad(vec![("F-PP-10", 1)])),
        StatusCode::NOT_FOUND,
        codes::NOT_FOUND,
    )
    .await;
    // Nothing refused was stored.
    let listed: Vec<PartsIssue> = hq
        .admin::<(), _>(Method::GET, &path, None, StatusCode::OK)
        .await;
    assert_eq!(listed.len(), 2);
    // A device may not issue parts.
    let res = hq
        .send(Method::POST, &path, Some(&a.token), Some(&second))
        .await;
    assert!(res.status().is_client_error());
}

async fn the_company_profile_reaches_every_device() {
    let hq = start().await;
    let a = hq.enrolled("A").await;
    let b = hq.enrolled("B").await;
    let first = CompanyProfile {
        name: "清源净水服务有限公司".into(),
        phone: "400 000 0000".into(),
        address: "88 Fictional Road".into(),
    };
    let stored: CompanyProfile = hq
        .admin(
            Method::PUT,
            routes::ADMIN_COMPANY,
            Some(&first),
            StatusCode::OK,
        )
        .await;
    assert_eq!(stored, first);
    let second = CompanyProfile {
        phone: "400 000 0001".into(),
        ..first.clone()
    };
    let _: CompanyProfile = hq
        .admin(
            Method::PUT,
            routes::ADMIN_COMPANY,
            Some(&second),
            StatusCode::OK,
        )
        .await;
    // Every device gets the latest profile, once.
    for dev in [&a, &b] {
        assert_eq!(
            companies(&pull_accepting(&hq, &dev.token).await),
            vec![second.clone()]
        );
        let (old, _) = hq.pull_all(&dev.token, None, None).await;
        assert!(
            companies(&old).is_empty(),
            "an older client does not get it"
        );
    }
    for bad in [
        CompanyProfile {
            name: String::new(),
            ..first.clone()
        },
        CompanyProfile {
            name: "x".repeat(201),
            ..first.clone()
        },
        CompanyProfile {
            phone: "1".repeat(201),
            ..first.clone()
        },
        CompanyProfile {
            address: "a".repeat(201),
            ..first.clone()
        },
    ] {
        hq.expect_error(
            Method::PUT,
            routes::ADMIN_COMPANY,
            Some(ADMIN),
            Some(&bad),
            StatusCode::BAD_REQUEST,
            codes::BAD_REQUEST,
        )
        .await;
    }
}

#[tokio::test]
async fn the_demo_publishes_a_company_and_a_van_load() {
    let dir = tempfile::tempdir().unwrap();
    let storage = std::sync::Arc::new(
        onsite_hq::storage::sqlite::SqliteStorage::open_in_dir(dir.path()).unwrap(),
    );
    let seeded = onsite_hq::demo::seed(&*storage, now()).unwrap();
    let hq = start_on(storage, dir).await;
    let dev = hq.enroll_code(&seeded.enrolment_code).await;
    let changes = pull_accepting(&hq, &dev.token).await;
    assert_eq!(companies(&changes), vec![onsite_hq::demo::company()]);
    let load = issues(&changes);
    assert_eq!(load.len(), 1);
    assert_eq!(load[0].lines, onsite_hq::demo::van_load(None).lines);
}

async fn the_office_sets_how_long_devices_keep_closed_jobs_within_a_sane_range() {
    let hq = start().await;
    let path = routes::ADMIN_SETTINGS_RETENTION;
    let got: RetentionSetting = hq.admin(Method::GET, path, NONE, StatusCode::OK).await;
    assert_eq!(got.days, retention::DEFAULT_DAYS, "never set: the default");
    for bad in [6, 0, 3651, u32::MAX] {
        let e = hq
            .expect_error(
                Method::PUT,
                path,
                Some(ADMIN),
                Some(&RetentionSetting { days: bad }),
                StatusCode::BAD_REQUEST,
                codes::BAD_REQUEST,
            )
            .await;
        assert!(e.message.contains("between 7 and 3650"), "{}", e.message);
    }
    for malformed in [
        serde_json::json!({}),
        serde_json::json!({"days": -1}),
        serde_json::json!({"days": "90"}),
    ] {
        let res = hq
            .send(Method::PUT, path, Some(ADMIN), Some(&malformed))
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{malformed}");
    }
    let still: RetentionSetting = hq.admin(Method::GET, path, NONE, StatusCode::OK).await;
    assert_eq!(still.days, retention::DEFAULT_DAYS, "refused: unchanged");
    for good in [7, 3650, 30] {
        let set: RetentionSetting = hq
            .admin(
                Method::PUT,
                path,
                Some(&RetentionSetting { days: good }),
                StatusCode::OK,
            )
            .await;
        assert_eq!(set.days, good);
    }
    let got: RetentionSetting = hq.admin(Method::GET, path, NONE, StatusCode::OK).await;
    assert_eq!(got.days, 30);
    // Only the office may read or set it.
    let dev = hq.enrolled("Tech").await;
    for (token, status) in [
        (None, StatusCode::UNAUTHORIZED),
        (Some(dev.token.as_str()), StatusCode::FORBIDDEN),
    ] {
        let res = hq
            .send(
                Method::PUT,
                path,
                token,
                Some(&RetentionSetting { days: 8 }),
            )
            .await;
        assert_eq!(res.status(), status);
    }
    // Devices are told in the hello.
    let hello: Hello = hq
        .expect(
            Method::GET,
            routes::SYNC_HELLO,
            Some(&dev.token),
            NONE,
            StatusCode::OK,
        )
        .await;
    assert_eq!(hello.retention_days, Some(30));
}

/// Issue 11, lost device: the office marks a device lost (admin only, 404 for an unknown
/// device, idempotent); its hello then says erase, it may still push but is sent nothing;
/// its erase report is recorded once and revokes it.
async fn a_lost_device_is_told_to_erase_and_revoked_once_it_did() {
    let hq = start().await;
    let a = hq.enrolled("A").await;
    let other = hq.enroll_code(&hq.code_for(a.technician_id).await).await;
    let wo = hq.work_order("LOST-1", Some(a.technician_id)).await;
    let lost_path = routes::ADMIN_DEVICE_LOST.replace("{id}", &a.device_id.to_string());
    // Not lost: the hello says nothing of erasing (the field is omitted), and a report of
    // erasing is refused.
    let raw: serde_json::Value = hq
        .expect(
            Method::GET,
            routes::SYNC_HELLO,
            Some(&a.token),
            NONE,
            StatusCode::OK,
        )
        .await;
    assert!(raw.get("erase").is_none(), "{raw}");
    let report = ErasedReport {
        erased_at: now(),
        work_orders: 1,
        customers: 1,
        records: 3,
        unsent: 0,
        files: 2,
    };
    hq.expect_error(
        Method::POST,
        routes::SYNC_ERASED,
        Some(&a.token),
        Some(&report),
        StatusCode::CONFLICT,
        codes::CONFLICT,
    )
    .await;
    // Only the admin marks a device lost: no token 401, a device's token 403.
    hq.expect_error(
        Method::POST,
        &lost_path,
        None,
        NONE,
        StatusCode::UNAUTHORIZED,
        codes::UNAUTHORIZED,
    )
    .await;
    hq.expect_error(
        Method::POST,
        &lost_path,
        Some(&a.token),
        NONE,
        StatusCode::FORBIDDEN,
        codes::FORBIDDEN,
    )
    .await;
    let unknown = routes::ADMIN_DEVICE_LOST.replace("{id}", &Uuid::now_v7().to_string());
    hq.expect_error(
        Method::POST,
        &unknown,
        Some(ADMIN),
        NONE,
        StatusCode::NOT_FOUND,
        codes::NOT_FOUND,
    )
    .await;
    let lost: Device = hq
        .admin(Method::POST, &lost_path, NONE, StatusCode::OK)
        .await;
    let lost_at = lost.lost_at.expect("marked lost");
    assert!(lost.revoked_at.is_none() && lost.erased.is_none());
    // Idempotent: marking it again keeps the first time.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let again: Device = hq
        .admin(Method::POST, &lost_path, NONE, StatusCode::OK)
        .await;
    assert_eq!(again.lost_at, Some(lost_at));
    let devices: Vec<Device> = hq
        .admin(Method::GET, routes::ADMIN_DEVICES, NONE, StatusCode::OK)
        .await;
    let listed = devices.iter().find(|d| d.id == a.device_id).unwrap();
    assert_eq!(listed.lost_at, Some(lost_at));
    assert!(devices
        .iter()
        .find(|d| d.id == other.device_id)
        .unwrap()
        .lost_at
        .is_none());

    // The lost device's hello says erase; the technician's other device's does not.
    let hello: Hello = hq
        .expect(
            Method::GET,
            routes::SYNC_HELLO,
            Some(&a.token),
            NONE,
            StatusCode::OK,
        )
        .await;
    assert!(hello.erase);
    let hello: Hello = hq
        .expect(
            Method::GET,
            routes::SYNC_HELLO,
            Some(&other.token),
            NONE,
            StatusCode::OK,
        )
        .await;
    assert!(!hello.erase);
    // It may still send what it holds...
    let mut ops = OpMaker { seq: 0 };
    let reply = hq
        .push(&a.token, vec![ops.status(wo.id, WorkOrderStatus::EnRoute)])
        .await;
    assert!(applied(&reply.results[0]));
    // ...but is sent nothing more.
    hq.expect_error(
        Method::GET,
        routes::SYNC_PULL,
        Some(&a.token),
        NONE,
        StatusCode::FORBIDDEN,
        codes::DEVICE_LOST,
    )
    .await;

    // It reports erasing: recorded with its counts, and revoked.
    let erased: Device = hq
        .expect(
            Method::POST,
            routes::SYNC_ERASED,
            Some(&a.token),
            Some(&report),
            StatusCode::OK,
        )
        .await;
    let record = erased.erased.clone().expect("erase recorded");
    assert_eq!(record.report, report);
    assert!(erased.revoked_at.is_some());
    assert_eq!(erased.lost_at, Some(lost_at));
    for (method, path) in [
        (Method::GET, routes::SYNC_HELLO),
        (Method::GET, routes::SYNC_PULL),
    ] {
        hq.expect_error(
            method,
            path,
            Some(&a.token),
            NONE,
            StatusCode::UNAUTHORIZED,
            codes::DEVICE_REVOKED,
        )
        .await;
    }
    // A repeat (its reply was lost) is refused as revoked; the first report stands.
    hq.expect_error(
        Method::POST,
        routes::SYNC_ERASED,
        Some(&a.token),
        Some(&ErasedReport {
            files: 99,
            ..report.clone()
        }),
        StatusCode::UNAUTHORIZED,
        codes::DEVICE_REVOKED,
    )
    .await;
    let devices: Vec<Device> = hq
        .admin(Method::GET, routes::ADMIN_DEVICES, NONE, StatusCode::OK)
        .await;
    let listed = devices.iter().find(|d| d.id == a.device_id).unwrap();
    assert_eq!(listed.erased, Some(record));
    // The other device syncs on.
    let page = hq.pull(&other.token, None, None).await;
    assert!(!page.changes.is_empty());
}

// Every test above without its own #[tokio::test] runs on SQLite and on PostgreSQL.
both_backends!(
    enrol_push_replay_and_pull,
    poison_op_is_rejected_and_the_queue_moves_on,
    pull_pages_hold_whole_commits_and_the_cursor_resumes,
    a_new_epoch_or_a_foreign_cursor_means_refetch_from_scratch,
    blobs_are_verified_against_their_hash_and_size_limited,
    two_technicians_cannot_see_or_change_each_others_work,
    a_revoked_device_is_refused,
    admin_endpoints_refuse_device_tokens_and_sync_refuses_bad_tokens,
    malformed_and_oversized_requests_get_clear_json_errors,
    facts_on_a_cancelled_or_reassigned_job_are_kept_and_flagged,
    export_holds_the_pushed_facts_signatures_and_documents,
    openapi_lists_exactly_the_routes_the_server_has,
    a_fact_re_sent_under_a_new_op_id_is_stored_once_and_a_reused_fact_id_is_refused,
    a_technicians_notes_are_a_fact_kept_apart_from_head_office_notes,
    technician_day_facts_belong_to_the_devices_technician_and_export_by_day,
    a_declined_quote_ends_the_job_at_head_office_and_a_visit_fact_on_a_cancelled_job_is_flagged,
    carry_backs_are_stored_checked_flagged_on_a_cancelled_job_and_listed,
    proof_contracts_and_language_round_trip_through_create_pull_patch_and_export,
    fee_tables_with_categories_bundles_and_flags_round_trip_with_one_version_counter,
    each_new_rule_is_a_400_naming_the_field_and_never_the_customer,
    old_style_json_without_the_new_fields_gets_the_defaults,
    parts_issued_reach_only_their_technician_and_are_listed,
    the_company_profile_reaches_every_device,
    the_office_sets_how_long_devices_keep_closed_jobs_within_a_sane_range,
    a_lost_device_is_told_to_erase_and_revoked_once_it_did,
);
