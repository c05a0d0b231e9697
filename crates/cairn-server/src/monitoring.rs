//! Prometheus metrics, rendered at `GET /metrics` (the names are listed in the README):
//! requests by route, method and status with their latency, request and response bytes (by
//! `Content-Length`), blobs verified, rejected and deduplicated, upload sessions, commits and
//! dedup hits, and the database's connection pools. `cairn gc` writes its own (see
//! `cairn gc --metrics-file`): it is a separate process.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::extract::declared_length;

/// Latency buckets, in seconds.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0,
];

/// The process's recorder (one per process: every registry served in it shares it).
fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
                .ok()?
                .install_recorder()
                .ok()
        })
        .as_ref()
}

/// Install the recorder (if no other is installed).
pub(crate) fn install() {
    let _ = handle();
}

/// `GET /metrics`: the Prometheus text format.
pub(crate) async fn render(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
) -> Response {
    match handle() {
        Some(h) => {
            for pool in state.meta.pools() {
                let busy = pool.size.saturating_sub(pool.idle);
                metrics::gauge!("cairn_db_connections", "pool" => pool.name, "state" => "busy")
                    .set(busy as f64);
                metrics::gauge!("cairn_db_connections", "pool" => pool.name, "state" => "idle")
                    .set(pool.idle as f64);
                metrics::gauge!("cairn_db_connections_max", "pool" => pool.name)
                    .set(pool.max as f64);
            }
            h.run_upkeep();
            (
                [(
                    axum::http::header::CONTENT_TYPE,
                    "text/plain; version=0.0.4; charset=utf-8",
                )],
                h.render(),
            )
                .into_response()
        }
        None => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "another metrics recorder is installed in this process",
        )
            .into_response(),
    }
}

/// Middleware: count and time every API request by its route pattern (never the raw path, so
/// the label set stays small).
pub(crate) async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let received = declared_length(req.headers()).unwrap_or(0);
    let start = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    let labels = [("route", route), ("method", method)];
    metrics::histogram!("cairn_http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    let [route, method] = labels;
    metrics::counter!(
        "cairn_http_requests_total",
        &[route.clone(), method, ("status", status)]
    )
    .increment(1);
    metrics::counter!(
        "cairn_http_received_bytes_total",
        std::slice::from_ref(&route)
    )
    .increment(received);
    metrics::counter!("cairn_http_sent_bytes_total", &[route])
        .increment(declared_length(res.headers()).unwrap_or(0));
    res
}

/// A blob (or an assembled one) verified against its digest and kept.
pub(crate) fn blob_verified(count: u64) {
    metrics::counter!("cairn_blobs_verified_total").increment(count);
}

/// A blob uploaded that the project already held (nothing new stored).
pub(crate) fn blob_deduplicated() {
    metrics::counter!("cairn_blobs_deduplicated_total").increment(1);
}

/// An upload session `opened`, `completed` or `aborted`: the sessions open across replicas are
/// `sum(opened) - sum(completed) - sum(aborted)` (less those that expired).
pub(crate) fn upload_session(event: &'static str) {
    metrics::counter!("cairn_upload_sessions_total", "event" => event).increment(1);
}

/// Bytes that did not hash to the digest they were sent for.
pub(crate) fn blob_rejected() {
    metrics::counter!("cairn_blobs_rejected_total").increment(1);
}

/// A commit (or a distributed finish); `created` false is a dedup hit.
pub(crate) fn commit(created: bool) {
    metrics::counter!("cairn_commits_total", "created" => created.to_string()).increment(1);
}
