//! Bounded memory for JSON bodies. A JSON body (a commit's manifest, an upsert) is read and
//! parsed whole, and takes several times its size in memory while it is; so each request with
//! a large one first takes its size from a shared budget ([`Config::json_memory`]) and gives it
//! back when answered. Several large commits at once queue instead of adding up; one that
//! cannot get its share within [`Config::json_wait`] gets 503 with `Retry-After`. Small bodies
//! (under [`SMALL`]) take nothing, so health checks, reads and ordinary commits never queue
//! behind large ones. A body over [`Config::max_json_body`] gets 413 before it is read.
//!
//! A full-manifest commit is the exception: its manifest is spooled (`crate::spool`), so it
//! takes at most [`STREAMED`] whatever its size, and grows its share only if the body turns
//! out to carry a patch, which is parsed whole ([`JsonShare::grow`]).
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
/// What a commit whose manifest is spooled takes at most: one run of entries
/// ([`crate::spool::RUN_BYTES`], with the slack of its estimate), the pages in flight, buffers.
pub const STREAMED: u64 = 64 << 20;
/// The route whose JSON body is read as a stream (`POST`).
const COMMIT_ROUTE: &str = "/artifacts/{name}/versions";

/// The part of the budget a streamed commit holds, in the request's extensions; the handler
/// grows it to the body's whole cost when the body is a patch (parsed whole).
#[derive(Debug, Clone)]
pub(crate) struct JsonShare {
    budget: JsonBudget,
    /// Units the whole body would cost.
    cost: u32,
    held: Arc<std::sync::Mutex<Option<tokio::sync::OwnedSemaphorePermit>>>,
}

impl JsonShare {
    /// Hold the body's whole cost (waiting up to the configured time, from a blocking thread:
    /// the commit body is parsed on one). `Busy` if it does not come in time.
    pub(crate) fn grow(&self, handle: &tokio::runtime::Handle) -> Result<(), ApiError> {
        let mut held = self.held.lock().expect("share lock");
        let have = held.as_ref().map_or(0, |p| p.num_permits() as u32);
        if have >= self.cost {
            return Ok(());
        }
        let more = self
            .budget
            .permits
            .clone()
            .acquire_many_owned(self.cost - have);
        match handle.block_on(tokio::time::timeout(self.budget.config.json_wait, more)) {
            Ok(Ok(permit)) => {
                match held.as_mut() {
                    Some(p) => p.merge(permit),
                    None => *held = Some(permit),
                }
                Ok(())
            }
            _ => Err(busy(u64::from(self.cost) * UNIT)),
        }
    }
}

fn busy(cost: u64) -> ApiError {
    ApiError::Busy {
        detail: format!(
            "too many large JSON bodies are being read at once (this one is {cost} bytes); \
             retry in {RETRY_AFTER_SECS} s"
        ),
        retry_after: RETRY_AFTER_SECS,
    }
}

fn is_streamed(req: &Request) -> bool {
    req.method() == axum::http::Method::POST
        && req
            .extensions()
            .get::<axum::extract::MatchedPath>()
            .is_some_and(|m| m.as_str().ends_with(COMMIT_ROUTE))
}

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

/// Whether the request says its body is JSON (`application/json`, any parameters).
pub(crate) fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers
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
pub(crate) async fn admit(budget: JsonBudget, mut req: Request, next: Next) -> Response {
    if !is_json(req.headers()) {
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
    let units = |bytes: u64| {
        u32::try_from(bytes.div_ceil(UNIT))
            .unwrap_or(u32::MAX)
            .min(budget.total)
    };
    let streamed = is_streamed(&req);
    let wanted = if streamed {
        units(cost.min(STREAMED))
    } else {
        units(cost)
    };
    let wait = budget.config.json_wait;
    let Ok(Ok(permit)) =
        tokio::time::timeout(wait, budget.permits.clone().acquire_many_owned(wanted)).await
    else {
        return busy(cost).into_response();
    };
    // held until the response: in the extensions the handler grows it, else here
    let share = JsonShare {
        cost: units(cost),
        budget,
        held: Arc::new(std::sync::Mutex::new(Some(permit))),
    };
    if streamed {
        req.extensions_mut().insert(share.clone());
    }
    let res = next.run(req).await;
    drop(share);
    res
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

#[cfg(test)]
mod tests {
    use super::*;

    fn share(budget: &JsonBudget, held: u32, cost: u32) -> JsonShare {
        let permit = budget.permits.clone().try_acquire_many_owned(held).unwrap();
        JsonShare {
            budget: budget.clone(),
            cost,
            held: Arc::new(std::sync::Mutex::new(Some(permit))),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_streamed_commit_grows_its_share_to_a_patchs_cost_or_is_told_to_wait() {
        let budget = JsonBudget::new(Arc::new(Config {
            json_memory: 8 * UNIT,
            json_wait: std::time::Duration::from_millis(100),
            ..Config::default()
        }));
        let first = share(&budget, 2, 6);
        let handle = tokio::runtime::Handle::current();
        let grow = {
            let (first, handle) = (first.clone(), handle.clone());
            tokio::task::spawn_blocking(move || first.grow(&handle))
        };
        grow.await.unwrap().unwrap();
        assert_eq!(
            budget.permits.available_permits(),
            2,
            "the share grew to 6 of 8"
        );
        // a second one cannot grow past what is left: Busy after the wait, holding what it had
        let second = share(&budget, 1, 4);
        let refused = {
            let (second, handle) = (second.clone(), handle.clone());
            tokio::task::spawn_blocking(move || second.grow(&handle))
        };
        assert!(matches!(refused.await.unwrap(), Err(ApiError::Busy { .. })));
        drop((first, second));
        assert_eq!(
            budget.permits.available_permits(),
            8,
            "everything given back"
        );
    }
}
