//! The office's console as head office serves it (issue 13): embedded, under /console/,
//! with a strict Content-Security-Policy and the usual hardening headers. Needs the
//! console built first (`npm install && npm run build` in crates/onsite-hq/console; `cargo
//! xtask test` does it).

mod common;

use common::*;
use reqwest::{Method, StatusCode};

#[tokio::test]
async fn the_console_is_served_with_a_strict_policy() {
    assert!(
        onsite_hq::console::built(),
        "the console is not built into this binary: run `npm install && npm run build` in crates/onsite-hq/console"
    );
    let hq = start().await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .add_root_certificate(reqwest::Certificate::from_pem(hq.pki.ca_pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    for path in ["/", "/console"] {
        let res = no_redirects.get(hq.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(res.headers()["location"], "/console/");
    }
    let res = hq.send::<()>(Method::GET, "/console/", None, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers().clone();
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    let page = res.text().await.unwrap();
    // No inline script or style in the page: everything is a file the policy allows.
    assert!(
        !page.contains("<script>") && !page.contains("<style"),
        "{page}"
    );
    let script = page
        .split("src=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the page loads its script from a file")
        .to_owned();
    assert!(script.starts_with("/console/assets/"), "{script}");
    let res = hq.send::<()>(Method::GET, &script, None, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert!(res.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    // The app's own paths get the page; a missing file is 404.
    let res = hq
        .send::<()>(Method::GET, "/console/work-orders/today", None, None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().await.unwrap(), page);
    let res = hq
        .send::<()>(Method::GET, "/console/assets/nothing.js", None, None)
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}
