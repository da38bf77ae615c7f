//! Pages of the admin lists and exports (issue 12, limits; docs/hq-pagination.md), over
//! HTTPS against a real head office: following `Link` and `X-Next-Cursor` to the end gives
//! the whole list once, in order, even when items are added between pages; bad cursors
//! and limits are refused. On SQLite and on PostgreSQL.

mod common;

use common::*;
use onsite_api::{routes, ExportJob, Technician, WorkOrder};
use reqwest::{Method, StatusCode};
use uuid::Uuid;

/// GET `path` as the office: the JSON body, the `Link` target and the `X-Next-Cursor`.
async fn page<T: serde::de::DeserializeOwned>(
    hq: &Hq,
    path: &str,
) -> (Vec<T>, Option<String>, Option<String>) {
    let res = hq.send::<()>(Method::GET, path, Some(ADMIN), None).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    let header = |name: &str| {
        res.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let link = header("link").map(|l| {
        let target = l
            .strip_prefix('<')
            .and_then(|l| l.strip_suffix(">; rel=\"next\""))
            .unwrap_or_else(|| panic!("not a next link: {l}"));
        target.to_owned()
    });
    let cursor = header("x-next-cursor");
    assert_eq!(link.is_some(), cursor.is_some(), "{path}: both or neither");
    (res.json().await.unwrap(), link, cursor)
}

/// Every page from `first`, following the Link header; (items, pages).
async fn follow<T: serde::de::DeserializeOwned>(hq: &Hq, first: &str) -> (Vec<T>, usize) {
    let mut all = Vec::new();
    let mut next = Some(first.to_owned());
    let mut pages = 0;
    while let Some(path) = next {
        let (items, link, _) = page::<T>(hq, &path).await;
        assert!(!items.is_empty(), "{path}: an empty page");
        all.extend(items);
        pages += 1;
        next = link;
    }
    (all, pages)
}

async fn work_orders_page_by_keyset_and_keep_their_place_when_orders_are_added() {
    let hq = start().await;
    let tech = hq.technician("分页师傅").await;
    let other = hq.technician("Other").await;
    for i in 0..7 {
        hq.work_order(&format!("PG-{i}"), Some(tech)).await;
    }
    hq.work_order("PG-OTHER", Some(other)).await;
    let filter = format!("{}?technician_id={tech}", routes::ADMIN_WORK_ORDERS);
    let (whole, _, _) = page::<WorkOrder>(&hq, &filter).await;
    assert_eq!(whole.len(), 7, "the filter holds, one page by default");

    let (paged, pages) = follow::<WorkOrder>(&hq, &format!("{filter}&limit=3")).await;
    assert_eq!(pages, 3);
    let ids = |w: &[WorkOrder]| w.iter().map(|w| w.id).collect::<Vec<Uuid>>();
    assert_eq!(ids(&paged), ids(&whole), "each once, in order");

    // A new order arrives between the first and the second page: the second page starts
    // right after the first one's last order, nothing repeated or skipped.
    let (first, link, cursor) = page::<WorkOrder>(&hq, &format!("{filter}&limit=3")).await;
    let link = link.unwrap();
    assert!(link.contains(&format!("technician_id={tech}")), "{link}");
    assert!(link.contains("limit=3"), "{link}");
    assert!(
        link.contains(&format!("cursor={}", cursor.unwrap())),
        "{link}"
    );
    let added = hq.work_order("PG-LATE", Some(tech)).await;
    let (rest, pages) = follow::<WorkOrder>(&hq, &link).await;
    assert_eq!(pages, 2);
    let mut seen = ids(&first);
    seen.extend(ids(&rest));
    let mut expected = ids(&whole);
    if let Some(at) = seen.iter().position(|id| *id == added.id) {
        // Sorted after the cursor (same appointment time, larger id): it comes once.
        expected.insert(at, added.id);
    }
    assert_eq!(seen, expected);
}

async fn short_lists_and_exports_page_the_same_way() {
    let hq = start().await;
    let mut techs = Vec::new();
    for i in 0..5 {
        techs.push(hq.technician(&format!("T{i}")).await);
    }
    let (all, pages) =
        follow::<Technician>(&hq, &format!("{}?limit=2", routes::ADMIN_TECHNICIANS)).await;
    assert_eq!(pages, 3);
    let (whole, link, _) = page::<Technician>(&hq, routes::ADMIN_TECHNICIANS).await;
    assert!(link.is_none(), "one page holds five");
    assert_eq!(
        all.iter().map(|t| t.id).collect::<Vec<_>>(),
        whole.iter().map(|t| t.id).collect::<Vec<_>>()
    );

    // Three completed jobs, exported two by two, as JSON and as CSV.
    let dev = hq.enrolled("导出师傅").await;
    let mut ops = OpMaker { seq: 0 };
    for i in 0..3 {
        let wo = hq
            .work_order(&format!("EX-{i}"), Some(dev.technician_id))
            .await;
        let reply = hq.push(&dev.token, ops.visit(wo.id)).await;
        assert!(reply.results.iter().all(applied));
    }
    let (jobs, pages) =
        follow::<ExportJob>(&hq, &format!("{}?limit=2", routes::ADMIN_EXPORT)).await;
    assert_eq!(pages, 2);
    assert_eq!(jobs.len(), 3);
    let whole = hq.export().await;
    assert_eq!(
        jobs.iter().map(|j| j.work_order.id).collect::<Vec<_>>(),
        whole.iter().map(|j| j.work_order.id).collect::<Vec<_>>()
    );
    let res = hq
        .send::<()>(
            Method::GET,
            &format!("{}?format=csv&limit=2", routes::ADMIN_EXPORT),
            Some(ADMIN),
            None,
        )
        .await;
    let link = res.headers()["link"].to_str().unwrap().to_owned();
    assert!(link.contains("format=csv"), "{link}");
    let csv = res.text().await.unwrap();
    let orders: std::collections::BTreeSet<&str> = csv
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').find(|f| f.starts_with("EX-")))
        .collect();
    assert_eq!(orders.len(), 2, "two jobs on the first CSV page: {csv}");
}

async fn bad_cursors_and_limits_are_refused_with_a_clear_error() {
    let hq = start().await;
    let tech = hq.technician("X").await;
    hq.work_order("BAD-1", Some(tech)).await;
    for path in [
        format!("{}?limit=0", routes::ADMIN_WORK_ORDERS),
        format!("{}?limit=10001", routes::ADMIN_TECHNICIANS),
        format!("{}?limit=2001", routes::ADMIN_EXPORT),
        format!("{}?limit=abc", routes::ADMIN_DEVICES),
        format!("{}?cursor=not-a-cursor", routes::ADMIN_WORK_ORDERS),
        format!("{}?cursor={}", routes::ADMIN_WORK_ORDERS, Uuid::now_v7()),
        format!("{}?cursor={}", routes::ADMIN_EXPORT, Uuid::now_v7()),
        format!("{}?cursor=nobody", routes::ADMIN_TECHNICIANS),
    ] {
        let e = hq
            .expect_error::<()>(
                Method::GET,
                &path,
                Some(ADMIN),
                None,
                StatusCode::BAD_REQUEST,
                onsite_api::codes::BAD_REQUEST,
            )
            .await;
        assert!(
            e.message.contains("limit")
                || e.message.contains("cursor")
                || e.message.contains("query"),
            "{path}: {}",
            e.message
        );
    }
}

both_backends!(
    work_orders_page_by_keyset_and_keep_their_place_when_orders_are_added,
    short_lists_and_exports_page_the_same_way,
    bad_cursors_and_limits_are_refused_with_a_clear_error,
);
