//! Bounded memory for JSON bodies. A JSON body (a commit's manifest, an upsert) is read and
//! parsed whole, and takes several times its size in memory while it is; so each request with
//! a large one first takes its size from a shared budget ([`Config::json_memory`]) and gives it
//! back when answered. Several large commits at once queue instead of adding up; one that
//! cannot get its share within [`Config::json_wait`] gets 503 with `Retry-After`. Small bodies
//! (under [`SMALL`]) take nothing, so health checks, reads and ordinary commits never queue
//! behind large ones. A body over [`Config::max_json_body`] gets 413 before it is read.
//!
//! [`Config::json_memory`]: crate::Config::json_memory
//! [`Config::json_wait`]: crate::Config::json_wait
//! [`Config::max_json_body`]: crate::Config::max_json_body

use std::sync::Arc;

use axum::extract::Request;
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use crate::Config;
use crate::error::ApiError;

/// Bodies under this many bytes take nothing from the budget.
pub const SMALL: u64 = 1 << 20;
/// The budget's unit: one permit is this many bytes.
const UNIT: u64 = 1 << 20;
/// Seconds a refused client waits before trying again.
const RETRY_AFTER_SECS: u64 = 5;

/// The shared budget of one registry process.
#[derive(Debug, Clone)]
pub struct JsonBudget {
    permits: Arc<Semaphore>,
    total: u32,
    config: Arc<Config>,
}

impl JsonBudget {
    /// A budget of `config.json_memory` bytes.
    pub fn new(config: Arc<Config>) -> Self {
        let total = u32::try_from(config.json_memory.div_ceil(UNIT).max(1)).unwrap_or(u32::MAX);
        Self {
            permits: Arc::new(Semaphore::new(total as usize)),
            total,
            config,
        }
    }
}

fn is_json(req: &Request) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| {
            t.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        })
}

/// Middleware: refuse JSON bodies over the limit, and make large ones wait for their share of
/// the budget (a body of unknown length is counted at the limit).
pub(crate) async fn admit(budget: JsonBudget, req: Request, next: Next) -> Response {
    if !is_json(&req) {
        return next.run(req).await;
    }
    let limit = budget.config.max_json_body;
    let declared = crate::extract::declared_length(req.headers());
    if let Some(len) = declared.filter(|len| *len > limit) {
        return ApiError::TooLarge(format!(
            "a JSON body of {len} bytes is over this registry's limit of {limit} bytes \
             (--max-json-body)"
        ))
        .into_response();
    }
    let cost = declared.unwrap_or(limit);
    if cost < SMALL {
        return next.run(req).await;
    }
    let wanted = u32::try_from(cost.div_ceil(UNIT))
        .unwrap_or(u32::MAX)
        .min(budget.total);
    let wait = budget.config.json_wait;
    let Ok(Ok(_share)) =
        tokio::time::timeout(wait, budget.permits.clone().acquire_many_owned(wanted)).await
    else {
        return ApiError::Busy {
            detail: format!(
                "too many large JSON bodies are being read at once (this one is {cost} bytes); \
                 retry in {RETRY_AFTER_SECS} s"
            ),
            retry_after: RETRY_AFTER_SECS,
        }
        .into_response();
    };
    next.run(req).await
}

/// Refuse (413) a commit or upsert carrying more than `config.max_manifest_entries` entries.
pub(crate) fn entries_within(config: &Config, entries: usize) -> Result<(), ApiError> {
    let limit = config.max_manifest_entries;
    if entries as u64 > limit {
        return Err(ApiError::TooLarge(format!(
            "{entries} entries in one request; this registry takes at most {limit} \
             (--max-manifest-entries): send them as several upserts of one distributed version"
        )));
    }
    Ok(())
}
