//! Slow links (issue 12), from the device's side: a push asks head office once which of
//! its blobs it lacks and uploads them together, its records go compressed (zstd) to a
//! head office that said it takes them, in batches as large as head office accepts; an
//! older head office (or one of the first release) still gets a `HEAD` per blob and plain
//! pushes; a proxy that drops `Content-Encoding` costs one refused push, then the pushes go
//! plain; a pull of many pages asks for the next page while it writes the current one, and
//! loses nothing when that next page fails; a run with nothing to send asks for its first
//! page beside the hello, and asks again after a push; a page that fails part way is
//! written not at all.
//!
//! Head office counts what reaches it with a layer in front of its router.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use common::*;
use onsite_api::{features, routes, Hello};
use onsite_store::sync as store_sync;
use serde_json::json;
use uuid::Uuid;

/// One request as head office saw it: method, path, the body's Content-Encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    method: String,
    path: String,
    encoding: Option<String>,
}

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Seen>>>);

impl Recorder {
    fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

fn count(seen: &[Seen], method: &str, path_start: &str) -> usize {
    seen.iter()
        .filter(|s| s.method == method && s.path.starts_with(path_start))
        .count()
}

/// Head office with a recorder in front of its router.
async fn recorded_hq() -> (Hq, Recorder) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let storage = Arc::new(onsite_hq::storage::sqlite::SqliteStorage::open_in_dir(&dir).unwrap());
    let recorder = Recorder::default();
    let r = recorder.clone();
    let hq = onsite_testkit::start_with(
        storage,
        &dir,
        Arc::new(pki()),
        Some(tmp),
        Duration::from_secs(30),
        move |app| {
            app.layer(axum::middleware::from_fn(
                move |req: axum::extract::Request, next: axum::middleware::Next| {
                    r.0.lock().unwrap().push(Seen {
                        method: req.method().to_string(),
                        path: req.uri().path().to_owned(),
                        encoding: req
                            .headers()
                            .get("content-encoding")
                            .map(|v| v.to_str().unwrap_or("?").to_owned()),
                    });
                    next.run(req)
                },
            ))
        },
    )
    .await;
    (hq, recorder)
}

/// `n` signatures on `wo`, each its own blob in the store, plus a long note (so that the
/// push body is worth compressing). Returns the blobs' hashes.
fn sign(dev: &Device, wo: Uuid, n: usize, tag: &str) -> Vec<String> {
    let mut shas = Vec::new();
    for i in 0..n {
        let bytes = format!("{tag} signature strokes {i}").into_bytes();
        let sha = onsite_sync::sha256_hex(&bytes);
        dev.with(|s| {
            s.write(|tx| store_sync::put_blob(tx, &sha, &bytes, Utc::now()))
                .unwrap()
        });
        append(
            dev,
            "AttachSignature",
            wo,
            json!({"blob_sha256": sha, "signer": "customer"}),
        );
        shas.push(sha);
    }
    set_notes(dev, wo, &"gate code, dog in the yard; ".repeat(40));
    shas
}

async fn facts_at_hq(hq: &Hq, wo: Uuid) -> usize {
    hq.detail(wo).await.facts.len()
}

#[tokio::test]
async fn a_push_asks_once_which_blobs_head_office_lacks_uploads_them_together_and_is_compressed() {
    let (hq, rec) = recorded_hq().await;
    let dev = device(&hq, "Tech").await;
    let wo = hq.work_order("WO-1", Some(dev.technician_id)).await;
    let client = hq.client(options());
    dev.sync(&client).await.unwrap();
    assert_eq!(
        client.push_encoding(),
        Some("zstd"),
        "negotiated in the hello"
    );
    // 40 signatures; one of them head office has already (another device sent it).
    let shas = sign(&dev, wo.id, 40, "a");
    let known = b"a signature strokes 7".to_vec();
    assert_eq!(onsite_sync::sha256_hex(&known), shas[7]);
    let res = hq
        .client
        .put(hq.url(&routes::BLOB.replace("{sha256}", &shas[7])))
        .bearer_auth(ADMIN)
        .body(known)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    rec.take();
    let r = dev.sync(&client).await.unwrap();
    assert_eq!((r.ops_applied, r.ops_rejected), (41, 0), "{r:?}");
    assert_eq!(r.blobs_uploaded, 39, "{r:?}");
    assert_eq!(r.push_requests, 1, "41 records in one push: {r:?}");
    let seen = rec.take();
    assert_eq!(count(&seen, "GET", routes::SYNC_HELLO), 1, "{seen:#?}");
    assert_eq!(count(&seen, "POST", routes::SYNC_BLOBS_MISSING), 1);
    assert_eq!(count(&seen, "HEAD", "/v1/blobs/"), 0, "no HEAD per blob");
    assert_eq!(count(&seen, "PUT", "/v1/blobs/"), 39, "only what it lacks");
    let pushes: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.path == routes::SYNC_PUSH)
        .collect();
    assert_eq!(pushes.len(), 1);
    assert_eq!(pushes[0].encoding.as_deref(), Some("zstd"));
    // The blobs went before the push that needs them.
    let first_push = seen
        .iter()
        .position(|s| s.path == routes::SYNC_PUSH)
        .unwrap();
    let last_put = seen.iter().rposition(|s| s.method == "PUT").unwrap();
    assert!(last_put < first_push, "{seen:#?}");
    assert_eq!(facts_at_hq(&hq, wo.id).await, 41, "each once");
    for sha in &shas {
        assert!(dev.with(|s| store_sync::blob_uploaded(s.conn(), sha).unwrap()));
    }
    assert!(dev.pending().is_empty());
    // Nothing pending: no blob asked about, nothing pushed.
    let r = dev.sync(&client).await.unwrap();
    assert_eq!((r.blobs_uploaded, r.push_requests), (0, 0), "{r:?}");
    let after = rec.take();
    assert_eq!(
        count(&after, "POST", routes::SYNC_BLOBS_MISSING) + count(&after, "HEAD", "/v1/blobs/"),
        0,
        "{after:#?}"
    );
}

#[tokio::test]
async fn an_older_head_office_gets_a_head_per_blob_and_plain_pushes() {
    let (hq, seen) = recorded_hq().await;
    let dev = device(&hq, "Tech").await;
    let wo = hq.work_order("WO-1", Some(dev.technician_id)).await;
    dev.sync(&hq.client(options())).await.unwrap();
    // A head office of protocol 2 from before compression, then one of the first release.
    let mut before = Hello::current();
    before.request_encodings.clear();
    before.features.retain(|f| f != features::BLOBS_MISSING);
    let older = || HttpFault::Reply {
        status: 200,
        body: serde_json::to_vec(&before).unwrap(),
        retry_after: None,
    };
    let first_release = || HttpFault::Reply {
        status: 404,
        body: br#"{"code":"no_route","message":"no such route"}"#.to_vec(),
        retry_after: None,
    };
    for (n, fault) in [older(), first_release()].into_iter().enumerate() {
        let fwd = Forwarder::start(&hq).await;
        fwd.arm(routes::SYNC_HELLO, fault);
        let client = hq.client_to(fwd.addr, options());
        let shas = sign(&dev, wo.id, 3, &format!("v{n}"));
        seen.take();
        let r = dev.sync(&client).await.unwrap();
        assert_eq!((r.ops_applied, r.blobs_uploaded), (4, 3), "{r:?}");
        assert_eq!(client.push_encoding(), None);
        let seen = seen.take();
        assert_eq!(
            count(&seen, "POST", routes::SYNC_BLOBS_MISSING),
            0,
            "{seen:#?}"
        );
        assert_eq!(count(&seen, "HEAD", "/v1/blobs/"), 3);
        assert_eq!(count(&seen, "PUT", "/v1/blobs/"), 3);
        let pushes: Vec<&Seen> = seen
            .iter()
            .filter(|s| s.path == routes::SYNC_PUSH)
            .collect();
        assert!(!pushes.is_empty());
        assert!(pushes.iter().all(|p| p.encoding.is_none()), "{pushes:?}");
        for sha in &shas {
            assert!(dev.with(|s| store_sync::blob_uploaded(s.conn(), sha).unwrap()));
        }
    }
    assert_eq!(facts_at_hq(&hq, wo.id).await, 8, "each once");
    assert!(dev.pending().is_empty());
}

#[tokio::test]
async fn a_proxy_that_drops_content_encoding_costs_one_refused_push_then_pushes_go_plain() {
    let (hq, seen) = recorded_hq().await;
    let dev = device(&hq, "Tech").await;
    let wo = hq.work_order("WO-1", Some(dev.technician_id)).await;
    let fwd = Forwarder::start_dropping_encoding(&hq).await;
    let client = hq.client_to(fwd.addr, options());
    dev.sync(&client).await.unwrap();
    sign(&dev, wo.id, 2, "p");
    seen.take();
    let r = dev.sync(&client).await.unwrap();
    assert_eq!((r.ops_applied, r.ops_rejected), (3, 0), "{r:?}");
    let pushes: Vec<Seen> = seen
        .take()
        .into_iter()
        .filter(|s| s.path == routes::SYNC_PUSH)
        .collect();
    // The compressed body arrived unlabelled (refused as malformed), then went plain.
    assert_eq!(pushes.len(), 2, "{pushes:?}");
    assert!(pushes.iter().all(|p| p.encoding.is_none()));
    assert_eq!(client.push_encoding(), None, "plain from now on");
    sign(&dev, wo.id, 1, "q");
    let r = dev.sync(&client).await.unwrap();
    assert_eq!(r.ops_applied, 2, "{r:?}");
    let pushes = count(&seen.take(), "POST", routes::SYNC_PUSH);
    assert_eq!(pushes, 1, "no second refusal");
    assert_eq!(facts_at_hq(&hq, wo.id).await, 5, "each once");
}

#[tokio::test]
async fn a_pull_reads_the_next_page_ahead_and_a_failed_next_page_loses_nothing() {
    let hq = start().await;
    let dev = device(&hq, "Tech").await;
    for n in 0..23 {
        hq.work_order(&format!("WO-{n:02}"), Some(dev.technician_id))
            .await;
    }
    let small_pages = || onsite_sync::ClientOptions {
        pull_limit: 5,
        ..options()
    };
    // The third page fails (the first two are let through).
    let fwd = Forwarder::start(&hq).await;
    fwd.arm(routes::SYNC_PULL, HttpFault::Pass);
    fwd.arm(routes::SYNC_PULL, HttpFault::Pass);
    fwd.arm(
        routes::SYNC_PULL,
        HttpFault::Reply {
            status: 500,
            body: br#"{"code":"internal","message":"boom"}"#.to_vec(),
            retry_after: None,
        },
    );
    let err = dev
        .sync(&hq.client_to(fwd.addr, small_pages()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("500"), "{err}");
    let kept = dev.work_order_ids().len();
    assert!(
        (6..=10).contains(&kept),
        "the two pages before it are kept: {kept}"
    );
    // The next run goes on from there (not from the start), and brings the rest once.
    let r = dev.sync(&hq.client(small_pages())).await.unwrap();
    assert!(r.pages_pulled <= 4, "{r:?}");
    let ids = dev.work_order_ids();
    assert_eq!(ids.len(), 23);
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), 23);
    // Head office changes a job meanwhile: the next run brings just that.
    let first = hq.work_order("WO-LATE", Some(dev.technician_id)).await;
    let r = dev.sync(&hq.client(small_pages())).await.unwrap();
    assert_eq!((r.pages_pulled, r.changes_applied), (1, 1), "{r:?}");
    assert!(dev.work_order_ids().contains(&first.id.to_string()));
}

/// Holds the next request on `path` at the forwarder: says when it arrived, forwards it
/// once told to go.
fn gate(
    fwd: &Forwarder,
    path: &str,
) -> (tokio::sync::oneshot::Receiver<()>, Arc<tokio::sync::Notify>) {
    let (arrived, seen) = tokio::sync::oneshot::channel();
    let go = Arc::new(tokio::sync::Notify::new());
    fwd.arm(
        path,
        HttpFault::Gate {
            arrived,
            go: go.clone(),
        },
    );
    (seen, go)
}

#[tokio::test]
async fn a_run_with_nothing_to_send_asks_for_its_first_page_beside_the_hello() {
    let hq = start().await;
    let dev = device(&hq, "Tech").await;
    let wo = hq.work_order("WO-EARLY", Some(dev.technician_id)).await;
    let fwd = Forwarder::start(&hq).await;
    let (hello_seen, hello_go) = gate(&fwd, routes::SYNC_HELLO);
    let (pull_seen, pull_go) = gate(&fwd, routes::SYNC_PULL);
    // A second pull would be refused: the page asked beside the hello is the one used.
    fwd.arm(
        routes::SYNC_PULL,
        HttpFault::Reply {
            status: 500,
            body: br#"{"code":"internal","message":"asked twice"}"#.to_vec(),
            retry_after: None,
        },
    );
    let store = dev.store.clone();
    let client = hq.client_to(fwd.addr, options());
    let run = tokio::spawn(async move { onsite_sync::sync_once(&store, &client).await });
    hello_seen.await.unwrap();
    // The hello is held: only a pull asked beside it can arrive now. (A guard against
    // hanging, not a measure of speed.)
    tokio::time::timeout(Duration::from_secs(60), pull_seen)
        .await
        .expect("the first page was not asked for while the hello was on its way")
        .unwrap();
    hello_go.notify_one();
    pull_go.notify_one();
    let r = run.await.unwrap().unwrap();
    assert_eq!((r.pages_pulled, r.changes_applied), (1, 1), "{r:?}");
    assert_eq!(dev.work_order_ids(), vec![wo.id.to_string()]);
}

#[tokio::test]
async fn a_page_asked_beside_the_hello_is_asked_again_when_the_run_pushes() {
    use onsite_domain::WorkOrderStatus::EnRoute;
    let hq = start().await;
    let dev = device(&hq, "Tech").await;
    let wo = hq.work_order("WO-STALE", Some(dev.technician_id)).await;
    dev.sync(&hq.client(options())).await.unwrap();
    // Head office changes the job: the next first page carries it (still assigned).
    let path = routes::ADMIN_WORK_ORDER.replace("{id}", &wo.id.to_string());
    let _: onsite_api::WorkOrder = hq
        .admin_ok(
            reqwest::Method::PATCH,
            &path,
            Some(&onsite_api::WorkOrderUpdate {
                notes: Some("gate code 4711".into()),
                ..Default::default()
            }),
        )
        .await;
    let fwd = Forwarder::start(&hq).await;
    let (hello_seen, hello_go) = gate(&fwd, routes::SYNC_HELLO);
    let store = dev.store.clone();
    let client = hq.client_to(fwd.addr, options());
    let run = tokio::spawn(async move { onsite_sync::sync_once(&store, &client).await });
    hello_seen.await.unwrap();
    // Nothing was pending when the run began; the technician sets off while it talks.
    dev.change_status(wo.id, EnRoute);
    hello_go.notify_one();
    let r = run.await.unwrap().unwrap();
    assert_eq!((r.push_requests, r.ops_applied), (1, 1), "{r:?}");
    assert!(dev.pending().is_empty());
    // The page from before the push (the job still assigned at head office) was not
    // applied over it (the run pushed, and the push moved the newest commit known here:
    // either drops it): the job is where head office now has it, with the office's note.
    assert_eq!(hq.detail(wo.id).await.work_order.status, EnRoute);
    assert_eq!(dev.status(wo.id), EnRoute);
    let (server_status, notes): (String, String) = dev.with(|s| {
        s.conn()
            .query_row(
                "SELECT server_status, hq_notes FROM pulled_work_order WHERE id = ?1",
                [wo.id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
    });
    assert_eq!(
        (server_status.as_str(), notes.as_str()),
        ("en_route", "gate code 4711")
    );
}

#[tokio::test]
async fn a_page_that_fails_part_way_leaves_nothing_and_the_next_run_applies_it_whole() {
    let hq = start().await;
    let dev = device(&hq, "Tech").await;
    for n in 0..3 {
        hq.work_order(&format!("WO-P{n}"), Some(dev.technician_id))
            .await;
    }
    // Head office's page as it is, but its last job ends before it starts: the store
    // refuses that job after writing the two before it.
    let token = dev.with(|s| store_sync::state(s.conn()).unwrap().unwrap().token);
    let mut page = hq.pull(&token, None, None).await;
    let last = page
        .changes
        .iter_mut()
        .rev()
        .find_map(|c| match &mut c.item {
            onsite_api::ChangeItem::WorkOrder(w) => Some(w),
            _ => None,
        })
        .unwrap();
    last.appointment_end = last.appointment_start - chrono::Duration::hours(1);
    let fwd = Forwarder::start(&hq).await;
    fwd.arm(
        routes::SYNC_PULL,
        HttpFault::ReplaceBody(serde_json::to_vec(&page).unwrap()),
    );
    let err = dev
        .sync(&hq.client_to(fwd.addr, options()))
        .await
        .unwrap_err();
    assert!(matches!(err, onsite_sync::SyncError::Store(_)), "{err}");
    // Nothing of the page: no job, no mirror, no search row, the cursor where it was.
    let counts = || {
        dev.with(|s| {
            let n = |sql: &str| -> i64 { s.conn().query_row(sql, [], |r| r.get(0)).unwrap() };
            (
                n("SELECT count(*) FROM work_order"),
                n("SELECT count(*) FROM pulled_work_order"),
                n("SELECT count(*) FROM search_tri"),
                n("SELECT count(*) FROM customer"),
            )
        })
    };
    assert_eq!(counts(), (0, 0, 0, 0));
    let st = dev.with(|s| store_sync::state(s.conn()).unwrap().unwrap());
    assert_eq!((st.cursor, st.known_commit), (None, None));
    assert_eq!(dev.integrity(), "ok");
    // The same statements, used again after the rollback, write the whole page.
    let r = dev.sync(&hq.client(options())).await.unwrap();
    assert_eq!(r.changes_applied, 3, "{r:?}");
    assert_eq!(counts(), (3, 3, 3, 3));
    let found = dev.with(|s| {
        onsite_store::workorders::search(s.conn(), "WO-P2", &day(), 10)
            .unwrap()
            .len()
    });
    assert_eq!(found, 1);
}
