//! The office's console, served by head office under `/console/` (issue 13): the built
//! Svelte app embedded in the binary (build.rs), with a strict Content-Security-Policy (no
//! inline script or style, nothing from elsewhere, no framing). Unknown paths under
//! `/console/` without a file extension get the app's page (its own navigation); a
//! missing asset is 404.

use axum::extract::Path;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

include!(concat!(env!("OUT_DIR"), "/console_assets.rs"));

/// The policy every console response carries.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

/// Whether the console was built into this binary.
pub fn built() -> bool {
    ASSETS.iter().any(|(p, _, _)| *p == "index.html")
}

fn asset(path: &str) -> Option<(&'static str, &'static [u8])> {
    ASSETS
        .iter()
        .find(|(p, _, _)| *p == path)
        .map(|(_, t, b)| (*t, *b))
}

fn serve(path: &str) -> Response {
    let headers = |content_type: &'static str, cache: &'static str| {
        [
            (CONTENT_TYPE, content_type),
            (CONTENT_SECURITY_POLICY, CSP),
            (X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (X_FRAME_OPTIONS, "DENY"),
            (REFERRER_POLICY, "no-referrer"),
            (CACHE_CONTROL, cache),
        ]
    };
    if !built() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            headers("text/plain; charset=utf-8", "no-store"),
            "The console was not built into this head office: run `npm install && npm run build` in \
             crates/onsite-hq/console, then build onsite-hq again (cargo xtask does both).\n",
        )
            .into_response();
    }
    if let Some((content_type, bytes)) = asset(path).filter(|_| path != "index.html") {
        // Built files have content hashes in their names: cached for good.
        return (
            headers(content_type, "public, max-age=31536000, immutable"),
            bytes,
        )
            .into_response();
    }
    let last = path.rsplit('/').next().unwrap_or("");
    if last.contains('.') && path != "index.html" {
        return (
            StatusCode::NOT_FOUND,
            headers("text/plain; charset=utf-8", "no-store"),
            "no such file\n",
        )
            .into_response();
    }
    let (content_type, bytes) = asset("index.html").unwrap_or(("text/html", b""));
    (headers(content_type, "no-cache"), bytes).into_response()
}

/// `/` and `/console` lead to `/console/`; `/console/…` serves the app.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let to_console = || async { (StatusCode::SEE_OTHER, [(LOCATION, "/console/")]) };
    Router::new()
        .route("/", get(to_console))
        .route("/console", get(to_console))
        .route("/console/", get(|| async { serve("index.html") }))
        .route(
            "/console/{*path}",
            get(|Path(path): Path<String>| async move { serve(&path) }),
        )
}
