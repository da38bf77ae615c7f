//! Slow links (issue 12): compressed sync bodies and fewer round trips, against a real
//! head office over TLS.
//!
//! - Replies are compressed (zstd or gzip) as the request's `Accept-Encoding` allows, and
//!   decode to what a plain reply says; blobs are never compressed again.
//! - The hello names the request encodings head office decompresses; a push compressed
//!   with one of them is applied exactly like a plain one; any other encoding is refused
//!   with 415 and an ErrorBody; a corrupt body with 400.
//! - A decompression bomb is cut off at the body limit (413), without inflating it: the
//!   process's peak memory does not grow by anything like the bomb's size.
//! - `POST /v1/sync/blobs/missing` names the blobs head office lacks, in one request, and
//!   is described by the OpenAPI document.
//!
//! The client here asks for and reads raw bytes (reqwest's own decompression off), so
//! that what is on the wire is what is checked.

mod common;

use std::io::Write;
use std::time::Duration;

use common::*;
use onsite_api::*;
use reqwest::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A client that trusts the test CA and leaves bodies as they come (no decompression, no
/// `Accept-Encoding` unless a request sets one).
fn raw_client(hq: &Hq) -> reqwest::Client {
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(hq.pki.ca_pem.as_bytes()).unwrap())
        .https_only(true)
        .no_proxy()
        .no_gzip()
        .no_zstd()
        .no_brotli()
        .no_deflate()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

fn zstd_of(bytes: &[u8]) -> Vec<u8> {
    zstd::bulk::compress(bytes, 3).unwrap()
}

fn gzip_of(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// The body as sent, decoded by its Content-Encoding.
async fn decoded(res: reqwest::Response) -> (Option<String>, usize, Vec<u8>) {
    let encoding = res
        .headers()
        .get(CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap().to_owned());
    let raw = res.bytes().await.unwrap().to_vec();
    let plain = match encoding.as_deref() {
        None => raw.clone(),
        Some("zstd") => zstd::stream::decode_all(&raw[..]).unwrap(),
        Some("gzip") => {
            let mut d = flate2::read::GzDecoder::new(&raw[..]);
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut d, &mut out).unwrap();
            out
        }
        Some(other) => panic!("unexpected Content-Encoding {other}"),
    };
    (encoding, raw.len(), plain)
}

async fn get(
    client: &reqwest::Client,
    hq: &Hq,
    path: &str,
    token: &str,
    accept: Option<&str>,
) -> reqwest::Response {
    let mut req = client.get(hq.url(path)).bearer_auth(token);
    if let Some(a) = accept {
        req = req.header(ACCEPT_ENCODING, a);
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "GET {path}");
    res
}

/// A push body sent as `encoding` (already encoded).
async fn post_encoded(
    client: &reqwest::Client,
    hq: &Hq,
    path: &str,
    token: &str,
    encoding: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    client
        .post(hq.url(path))
        .bearer_auth(token)
        .header(CONTENT_TYPE, "application/json")
        .header(CONTENT_ENCODING, encoding)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn error_of(res: reqwest::Response) -> (StatusCode, ErrorBody) {
    let status = res.status();
    let text = res.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}: {e}: {text}"));
    (status, body)
}

#[tokio::test]
async fn replies_are_compressed_as_the_client_accepts_and_mean_the_same() {
    let hq = start().await;
    let dev = hq.enrolled("Tech").await;
    for n in 0..60 {
        hq.work_order(&format!("WO-{n:03}"), Some(dev.technician_id))
            .await;
    }
    let client = raw_client(&hq);
    let pull = format!("{}?limit=500", routes::SYNC_PULL);
    let (enc, plain_len, plain) = decoded(get(&client, &hq, &pull, &dev.token, None).await).await;
    assert_eq!(enc, None, "no Accept-Encoding: a plain reply");
    let plain: PullReply = serde_json::from_slice(&plain).unwrap();
    assert_eq!(plain.changes.len(), 60);
    for (accept, expected) in [
        ("zstd", "zstd"),
        ("gzip", "gzip"),
        // What reqwest sends with its gzip and zstd features: zstd is preferred.
        ("gzip, zstd", "zstd"),
        ("zstd;q=0.5, gzip", "gzip"),
    ] {
        let res = get(&client, &hq, &pull, &dev.token, Some(accept)).await;
        let (enc, wire_len, body) = decoded(res).await;
        assert_eq!(enc.as_deref(), Some(expected), "Accept-Encoding: {accept}");
        assert!(
            wire_len * 4 < plain_len,
            "{accept}: {wire_len} bytes on the wire for {plain_len} of JSON"
        );
        let page: PullReply = serde_json::from_slice(&body).unwrap();
        assert_eq!(page, plain, "{accept}: the same page");
    }
    // An encoding head office does not make: plain.
    let (enc, _, _) = decoded(get(&client, &hq, &pull, &dev.token, Some("br")).await).await;
    assert_eq!(enc, None);
    // The hello too, and it names what head office decompresses.
    let res = get(&client, &hq, routes::SYNC_HELLO, &dev.token, Some("zstd")).await;
    let (_, _, body) = decoded(res).await;
    let hello: Hello = serde_json::from_slice(&body).unwrap();
    assert_eq!(hello.request_encodings, ["zstd", "gzip"]);
    assert!(hello.has(features::BLOBS_MISSING), "{hello:?}");
}

#[tokio::test]
async fn blobs_are_not_compressed_again() {
    let hq = start().await;
    let dev = hq.enrolled("Tech").await;
    let client = raw_client(&hq);
    // Compressible bytes, to be sure it is the content type that decides.
    let bytes = vec![b'a'; 64 * 1024];
    let sha = onsite_hq::auth::sha256_hex(&bytes);
    let path = routes::BLOB.replace("{sha256}", &sha);
    let res = client
        .put(hq.url(&path))
        .bearer_auth(&dev.token)
        .header(CONTENT_TYPE, "application/octet-stream")
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let path = routes::ADMIN_BLOB.replace("{sha256}", &sha);
    let res = get(&client, &hq, &path, ADMIN, Some("zstd, gzip")).await;
    let (enc, wire_len, body) = decoded(res).await;
    assert_eq!(enc, None, "a blob goes as stored");
    assert_eq!((wire_len, body), (bytes.len(), bytes));
}

#[tokio::test]
async fn a_compressed_push_is_applied_like_a_plain_one_and_replayed_as_a_duplicate() {
    let hq = start().await;
    let dev = hq.enrolled("Tech").await;
    let client = raw_client(&hq);
    let mut ops = OpMaker { seq: 0 };
    for (n, (encoding, encode)) in [
        ("zstd", zstd_of as fn(&[u8]) -> Vec<u8>),
        ("gzip", gzip_of),
        ("identity", |b: &[u8]| b.to_vec()),
    ]
    .into_iter()
    .enumerate()
    {
        let wo = hq
            .work_order(&format!("WO-{n}"), Some(dev.technician_id))
            .await;
        let request = PushRequest {
            ops: ops.visit(wo.id),
        };
        let json = serde_json::to_vec(&request).unwrap();
        let body = encode(&json);
        if encoding != "identity" {
            assert!(body.len() < json.len(), "{encoding}");
        }
        let res = post_encoded(
            &client,
            &hq,
            routes::SYNC_PUSH,
            &dev.token,
            encoding,
            body.clone(),
        );
        let res = res.await;
        assert_eq!(res.status(), StatusCode::OK, "{encoding}");
        let (_, _, reply) = decoded(res).await;
        let reply: PushReply = serde_json::from_slice(&reply).unwrap();
        assert_eq!(reply.results.len(), request.ops.len(), "{encoding}");
        assert!(
            reply
                .results
                .iter()
                .all(|r| !r.duplicate && matches!(r.outcome, OpOutcome::Applied { .. })),
            "{encoding}: {reply:?}"
        );
        // The same push again (a lost reply): each op once.
        let res = post_encoded(&client, &hq, routes::SYNC_PUSH, &dev.token, encoding, body).await;
        let (_, _, again) = decoded(res).await;
        let again: PushReply = serde_json::from_slice(&again).unwrap();
        assert!(again.results.iter().all(|r| r.duplicate), "{encoding}");
        assert_eq!(hq.detail(wo.id).await.facts.len(), request.ops.len());
    }
}

#[tokio::test]
async fn an_encoding_head_office_does_not_take_or_a_corrupt_body_is_refused_and_nothing_applied() {
    let hq = start().await;
    let dev = hq.enrolled("Tech").await;
    let client = raw_client(&hq);
    let wo = hq.work_order("WO-1", Some(dev.technician_id)).await;
    let mut ops = OpMaker { seq: 0 };
    let json = serde_json::to_vec(&PushRequest {
        ops: ops.visit(wo.id),
    })
    .unwrap();
    for encoding in ["br", "deflate", "ZSTD", "zstd, gzip", "x-custom"] {
        let res = post_encoded(
            &client,
            &hq,
            routes::SYNC_PUSH,
            &dev.token,
            encoding,
            json.clone(),
        )
        .await;
        let (status, body) = error_of(res).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{encoding}");
        assert_eq!(body.code, codes::UNSUPPORTED_MEDIA_TYPE, "{encoding}");
        assert!(body.message.contains("zstd"), "{}", body.message);
    }
    // Plain JSON labelled compressed, a cut-off frame, garbage.
    let zstd = zstd_of(&json);
    let gzip = gzip_of(&json);
    for (encoding, body) in [
        ("zstd", json.clone()),
        ("gzip", json.clone()),
        ("zstd", zstd[..zstd.len() / 2].to_vec()),
        ("gzip", gzip[..gzip.len() / 2].to_vec()),
        ("gzip", zstd.clone()),
    ] {
        let res = post_encoded(&client, &hq, routes::SYNC_PUSH, &dev.token, encoding, body).await;
        let (status, body) = error_of(res).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{encoding}: {body:?}");
        assert!(
            [codes::BAD_REQUEST, codes::MALFORMED].contains(&body.code.as_str()),
            "{body:?}"
        );
    }
    assert!(hq.detail(wo.id).await.facts.is_empty(), "nothing applied");
}

/// The peak resident memory of this process (head office runs in it), in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap();
    kib * 1024
}

/// `total` zero bytes through a compressor, fed a chunk at a time (the bomb is made without
/// holding what it inflates to).
fn bomb(total: usize, mut encoder: impl Write) {
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..total / chunk.len() {
        encoder.write_all(&chunk).unwrap();
    }
}

#[tokio::test]
async fn a_decompression_bomb_is_cut_off_at_the_body_limit_not_inflated() {
    const GIB: usize = 1 << 30;
    let hq = start().await;
    let dev = hq.enrolled("Tech").await;
    let client = raw_client(&hq);
    // 1 GiB of zeros in about 40 KiB of zstd; 64 MiB in about 64 KiB of gzip (both far
    // over the 4 MiB JSON limit and the 16 MiB blob limit).
    let mut zstd_bomb = Vec::new();
    {
        let mut e = zstd::stream::Encoder::new(&mut zstd_bomb, 3).unwrap();
        bomb(GIB, &mut e);
        e.finish().unwrap();
    }
    let mut gzip_bomb = Vec::new();
    {
        let mut e = flate2::write::GzEncoder::new(&mut gzip_bomb, flate2::Compression::fast());
        bomb(GIB / 16, &mut e);
        e.finish().unwrap();
    }
    assert!(zstd_bomb.len() < 1 << 20 && gzip_bomb.len() < 1 << 20);
    let before = peak_rss();
    for (path, encoding, body) in [
        (routes::SYNC_PUSH, "zstd", zstd_bomb.clone()),
        (routes::SYNC_PUSH, "gzip", gzip_bomb.clone()),
        (routes::SYNC_BLOBS_MISSING, "zstd", zstd_bomb.clone()),
    ] {
        let res = post_encoded(&client, &hq, path, &dev.token, encoding, body).await;
        let (status, body) = error_of(res).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{path} {encoding}");
        assert_eq!(body.code, codes::TOO_LARGE);
    }
    // A blob upload has its own, larger limit: the same there.
    let sha = "0".repeat(64);
    let res = client
        .put(hq.url(&routes::BLOB.replace("{sha256}", &sha)))
        .bearer_auth(&dev.token)
        .header(CONTENT_TYPE, "application/octet-stream")
        .header(CONTENT_ENCODING, "zstd")
        .body(zstd_bomb)
        .send()
        .await
        .unwrap();
    let (status, body) = error_of(res).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body.code, codes::TOO_LARGE);
    let grown = peak_rss().saturating_sub(before);
    assert!(
        grown < 256 << 20,
        "peak memory grew by {} MiB for bombs of 1 GiB",
        grown >> 20
    );
    // Head office still answers, compressed pushes included.
    let wo = hq.work_order("WO-1", Some(dev.technician_id)).await;
    let mut ops = OpMaker { seq: 0 };
    let json = serde_json::to_vec(&PushRequest {
        ops: ops.visit(wo.id),
    })
    .unwrap();
    let res = post_encoded(
        &client,
        &hq,
        routes::SYNC_PUSH,
        &dev.token,
        "zstd",
        zstd_of(&json),
    );
    assert_eq!(res.await.status(), StatusCode::OK);
}

#[tokio::test]
async fn blobs_missing_names_in_one_request_the_blobs_head_office_lacks() {
    let hq = start().await;
    let dev = hq.enrolled("Tech").await;
    let client = raw_client(&hq);
    let stored = b"a signature".to_vec();
    let stored_sha = onsite_hq::auth::sha256_hex(&stored);
    let res = client
        .put(hq.url(&routes::BLOB.replace("{sha256}", &stored_sha)))
        .bearer_auth(&dev.token)
        .body(stored)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let absent = onsite_hq::auth::sha256_hex(b"never sent");
    let other = onsite_hq::auth::sha256_hex(b"nor this");
    let spec = onsite_hq::openapi::document();
    let op = &spec["paths"][routes::SYNC_BLOBS_MISSING]["post"];
    let request_schema = &op["requestBody"]["content"]["application/json"]["schema"];
    let reply_schema = &op["responses"]["200"]["content"]["application/json"]["schema"];
    let valid = |schema: &Value, value: &Value| {
        jsonschema::options()
            .should_validate_formats(true)
            .build(&onsite_hq::openapi::json_schema(&spec, schema))
            .unwrap()
            .is_valid(value)
    };
    let ask = BlobCheck {
        sha256: vec![
            absent.clone(),
            stored_sha.clone(),
            other.clone(),
            absent.clone(),
        ],
    };
    assert!(valid(request_schema, &serde_json::to_value(&ask).unwrap()));
    let reply: BlobCheckReply = hq
        .expect(
            Method::POST,
            routes::SYNC_BLOBS_MISSING,
            Some(&dev.token),
            Some(&ask),
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        reply.missing,
        [absent.clone(), other],
        "in order, each once"
    );
    assert!(valid(reply_schema, &serde_json::to_value(&reply).unwrap()));
    // Nothing asked, nothing missing.
    let none: BlobCheckReply = hq
        .expect(
            Method::POST,
            routes::SYNC_BLOBS_MISSING,
            Some(&dev.token),
            Some(&BlobCheck { sha256: vec![] }),
            StatusCode::OK,
        )
        .await;
    assert!(none.missing.is_empty());
    // Compressed, like a push.
    let json = serde_json::to_vec(&ask).unwrap();
    let res = post_encoded(
        &client,
        &hq,
        routes::SYNC_BLOBS_MISSING,
        &dev.token,
        "zstd",
        zstd_of(&json),
    )
    .await;
    let (_, _, body) = decoded(res).await;
    let again: BlobCheckReply = serde_json::from_slice(&body).unwrap();
    assert_eq!(again, reply);
    // Too many names, and names that are not hashes: 400, and the schema says so too.
    let too_many = BlobCheck {
        sha256: vec![absent.clone(); limits::MAX_BLOBS_PER_CHECK + 1],
    };
    assert!(!valid(
        request_schema,
        &serde_json::to_value(&too_many).unwrap()
    ));
    for bad in [
        too_many,
        BlobCheck {
            sha256: vec![absent.to_uppercase()],
        },
        BlobCheck {
            sha256: vec!["../../etc/passwd".into()],
        },
    ] {
        hq.expect_error(
            Method::POST,
            routes::SYNC_BLOBS_MISSING,
            Some(&dev.token),
            Some(&bad),
            StatusCode::BAD_REQUEST,
            codes::BAD_REQUEST,
        )
        .await;
    }
    assert!(!valid(
        request_schema,
        &json!({"sha256": [absent.to_uppercase()]})
    ));
    // A device's token only.
    hq.expect_error(
        Method::POST,
        routes::SYNC_BLOBS_MISSING,
        None,
        Some(&ask),
        StatusCode::UNAUTHORIZED,
        codes::UNAUTHORIZED,
    )
    .await;
    // In the route table and the document, with the limit stated.
    assert!(onsite_hq::http::route_table()
        .contains(&("POST".to_owned(), routes::SYNC_BLOBS_MISSING.to_owned())));
    assert_eq!(
        spec["components"]["schemas"]["BlobCheck"]["properties"]["sha256"]["maxItems"],
        limits::MAX_BLOBS_PER_CHECK
    );
}
