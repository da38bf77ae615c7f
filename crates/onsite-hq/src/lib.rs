//! onsite-hq: Onsite's head-office server.
//!
//! - [`http`]: the axum router: sync endpoints for devices (`/v1/enroll`, `/v1/sync/*`,
//!   `/v1/blobs/*`) and the head-office API (`/v1/admin/*`), wire types from `onsite-api`;
//! - [`storage`]: the [`storage::Storage`] trait and its SQLite and PostgreSQL
//!   implementations;
//! - [`rules`]: the sync rules as pure functions;
//! - [`tls`]: rustls configuration and a self-made CA for first start;
//! - [`openapi`]: the OpenAPI document served at `/openapi.json`;
//! - [`demo`]: sample data for `onsite-hq demo`;
//! - [`metrics`]: Prometheus metrics, served on their own address.

pub mod accounts;
pub mod auth;
pub mod carryback;
pub mod config;
pub mod console;
pub mod demo;
pub mod export;
pub mod guard;
pub mod http;
pub mod metrics;
pub mod office;
pub mod openapi;
pub mod paging;
pub mod rules;
pub mod storage;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum_server::tls_rustls::RustlsConfig;
use axum_server::Handle;

/// A server running on a tokio task.
pub struct RunningServer {
    /// The address it listens on.
    pub addr: SocketAddr,
    handle: Handle<SocketAddr>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Stops accepting, lets requests in flight finish (up to `grace`), and waits.
    pub async fn shutdown(self, grace: Duration) -> std::io::Result<()> {
        self.handle.graceful_shutdown(Some(grace));
        self.wait().await
    }

    /// Waits until the server stops.
    pub async fn wait(self) -> std::io::Result<()> {
        match self.task.await {
            Ok(result) => result,
            Err(e) => Err(std::io::Error::other(e)),
        }
    }

    /// A handle to stop it from elsewhere (e.g. a signal handler).
    pub fn handle(&self) -> Handle<SocketAddr> {
        self.handle.clone()
    }
}

/// Serves `app` over HTTPS on an already bound listener (so the address is known, and
/// connections queue, before this returns). Must be called inside a tokio runtime.
pub fn serve_tls(
    listener: std::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: axum::Router,
) -> std::io::Result<RunningServer> {
    let addr = listener.local_addr()?;
    let handle = Handle::new();
    let mut server = axum_server::from_tcp_rustls(listener, RustlsConfig::from_config(tls))?
        .handle(handle.clone());
    // A device uploads its blobs as concurrent HTTP/2 streams on one connection: with
    // HTTP/2's default 64 KiB windows a slow link carries 64 KiB per round trip. Larger
    // windows (a request body is read whole anyway, within the body limits) keep a day's
    // sync at 100 ms each way at 6.0 s instead of 7.4 s (docs/sync-benchmarks.md).
    server
        .http_builder()
        .http2()
        .initial_stream_window_size(1 << 20)
        .initial_connection_window_size(8 << 20);
    let task = tokio::spawn(async move {
        server
            .serve(app.into_make_service_with_connect_info::<SocketAddr>())
            .await
    });
    Ok(RunningServer { addr, handle, task })
}

/// Serves `app` over plain HTTP on an already bound listener (the metrics address: a
/// scraper on the internal network). Must be called inside a tokio runtime.
pub fn serve_plain(
    listener: std::net::TcpListener,
    app: axum::Router,
) -> std::io::Result<RunningServer> {
    let addr = listener.local_addr()?;
    let handle = Handle::new();
    let server = axum_server::from_tcp(listener)?.handle(handle.clone());
    let task = tokio::spawn(async move { server.serve(app.into_make_service()).await });
    Ok(RunningServer { addr, handle, task })
}
