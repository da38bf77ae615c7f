//! Prometheus metrics of one instance (issue 12, operations), served on their own address
//! (`--metrics-listen`, plain HTTP for a scraper on the internal network) so they never
//! share a port, a certificate or a limit with devices and the office.
//!
//! What is counted (docs/hq-operations.md has the list for dashboards):
//! - every request by route (the route's pattern, never a path with ids), method and
//!   status, and its latency, measured outside the limits so 429 and 503 are counted;
//! - requests and storage calls in flight (storage calls run on the blocking pool and hold
//!   or wait for a database connection: the pool's use);
//! - technicians' ops by outcome (applied, duplicate, rejected);
//! - the feed: the newest commit (`seq`) and, at each pull, how many commits the device
//!   was behind.
//!
//! No label ever carries an id, a token or customer data.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// A request's labels: the route pattern (`/v1/sync/push`, `/v1/admin/work-orders/{id}`,
/// or `unmatched`), the method and the status code.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: String,
}

/// A latency's labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: String,
}

/// An op's outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// The instance's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    in_flight: Gauge,
    storage_in_flight: Gauge,
    ops: Family<OutcomeLabels, Counter>,
    feed_head: Gauge,
    pull_behind: Histogram,
    db_connections: Family<PoolLabels, Gauge>,
    /// Asked at each scrape for the database pool's (open, idle) connections.
    pool_probe: std::sync::OnceLock<PoolProbe>,
}

/// Reads a pool's (open, idle) connections.
pub type PoolProbe = Box<dyn Fn() -> Option<(u32, u32)> + Send + Sync>;

/// A pool gauge's label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A new set, every metric registered under `onsite_hq_`.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("onsite_hq");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route pattern, method and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            // 1 ms to about 16 s.
            Histogram::new(exponential_buckets(0.001, 2.0, 15))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's arrival to its answer, by route pattern and method",
            latency.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "http_requests_in_flight",
            "Requests being handled now",
            in_flight.clone(),
        );
        let storage_in_flight = Gauge::default();
        registry.register(
            "storage_calls_in_flight",
            "Storage calls running or waiting for a database connection now",
            storage_in_flight.clone(),
        );
        let ops = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "ops",
            "Technicians' ops pushed, by outcome (applied, duplicate, rejected)",
            ops.clone(),
        );
        let feed_head = Gauge::default();
        registry.register(
            "feed_head_seq",
            "The newest commit sequence number seen by this instance",
            feed_head.clone(),
        );
        let pull_behind = Histogram::new(exponential_buckets(1.0, 4.0, 10));
        registry.register(
            "pull_behind_commits",
            "At each pull, how many commits the device was behind the newest (feed lag)",
            pull_behind.clone(),
        );
        let db_connections = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "db_connections",
            "Database connections of this instance's pool, by state (open, idle); PostgreSQL only",
            db_connections.clone(),
        );
        Metrics {
            db_connections,
            pool_probe: std::sync::OnceLock::new(),
            registry,
            requests,
            latency,
            in_flight,
            storage_in_flight,
            ops,
            feed_head,
            pull_behind,
        }
    }

    /// Where the pool's use is read at each scrape (set once, by the HTTP state).
    pub fn set_pool_probe(&self, probe: PoolProbe) {
        let _ = self.pool_probe.set(probe);
    }

    /// The metrics in the OpenMetrics text format.
    pub fn render(&self) -> String {
        if let Some((open, idle)) = self.pool_probe.get().and_then(|p| p()) {
            self.db_connections
                .get_or_create(&PoolLabels { state: "open" })
                .set(i64::from(open));
            self.db_connections
                .get_or_create(&PoolLabels { state: "idle" })
                .set(i64::from(idle));
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// Counts one push's results.
    pub fn ops(&self, applied: u64, duplicate: u64, rejected: u64) {
        for (outcome, n) in [
            ("applied", applied),
            ("duplicate", duplicate),
            ("rejected", rejected),
        ] {
            self.ops.get_or_create(&OutcomeLabels { outcome }).inc_by(n);
        }
    }

    /// Records a pull from a device at `after` while the newest commit is `head`.
    pub fn pulled(&self, after: i64, head: i64) {
        self.feed_head.set(head);
        self.pull_behind
            .observe(head.saturating_sub(after).max(0) as f64);
    }

    /// Marks a storage call as running (or waiting for a connection) until the guard drops.
    pub fn storage_call(self: &Arc<Self>) -> InFlight {
        self.storage_in_flight.inc();
        InFlight(self.storage_in_flight.clone())
    }
}

/// Decrements its gauge when dropped (also when the call's task panics or is cancelled).
pub struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The middleware that counts and times every request of the API router.
pub async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().as_str().to_owned();
    let started = Instant::now();
    metrics.in_flight.inc();
    let _done = InFlight(metrics.in_flight.clone());
    let res = next.run(req).await;
    metrics
        .latency
        .get_or_create(&RouteLabels {
            route: route.clone(),
            method: method.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&RequestLabels {
            route,
            method,
            status: res.status().as_u16().to_string(),
        })
        .inc();
    res
}

/// The metrics address's router: `GET /metrics`, nothing else.
pub fn router(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(|State(m): State<Arc<Metrics>>| async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    m.render(),
                )
            }),
        )
        .fallback(|| async { (StatusCode::NOT_FOUND, "metrics are at /metrics\n").into_response() })
        .with_state(metrics)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_show_in_the_text_with_the_prefix_and_no_ids() {
        let m = Arc::new(Metrics::new());
        m.ops(3, 1, 0);
        m.pulled(10, 42);
        {
            let _a = m.storage_call();
            let text = m.render();
            assert!(
                text.contains("onsite_hq_storage_calls_in_flight 1"),
                "{text}"
            );
        }
        let text = m.render();
        assert!(
            text.contains(r#"onsite_hq_ops_total{outcome="applied"} 3"#),
            "{text}"
        );
        assert!(text.contains(r#"onsite_hq_ops_total{outcome="duplicate"} 1"#));
        assert!(text.contains("onsite_hq_feed_head_seq 42"));
        assert!(text.contains("onsite_hq_pull_behind_commits_count 1"));
        assert!(text.contains("onsite_hq_pull_behind_commits_sum 32.0"));
        assert!(text.contains("onsite_hq_storage_calls_in_flight 0"));
        assert!(text.ends_with("# EOF\n"));
        assert!(!text.contains("db_connections{"), "no pool, no samples");
    }

    #[test]
    fn the_pool_is_read_at_each_scrape() {
        let m = Metrics::new();
        let open = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(4));
        let seen = open.clone();
        m.set_pool_probe(Box::new(move || {
            Some((seen.load(std::sync::atomic::Ordering::SeqCst), 1))
        }));
        assert!(m
            .render()
            .contains(r#"onsite_hq_db_connections{state="open"} 4"#));
        open.store(9, std::sync::atomic::Ordering::SeqCst);
        let text = m.render();
        assert!(
            text.contains(r#"onsite_hq_db_connections{state="open"} 9"#),
            "{text}"
        );
        assert!(text.contains(r#"onsite_hq_db_connections{state="idle"} 1"#));
    }
}
