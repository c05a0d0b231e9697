//! Fair sharing between tokens: each token may make [`Config::token_rate`] requests a second
//! (bursts of twice that) and run [`Config::token_uploads`] uploads at once (blob `PUT`s,
//! packs, upload-session parts). Past either, it gets 429 with `Retry-After`; the SDK, the CLI,
//! the Python package and the web app wait and retry by themselves. Other tokens are not
//! affected. Requests without a token are limited elsewhere (failed-auth throttling).
//!
//! [`Config::token_rate`]: crate::Config::token_rate
//! [`Config::token_uploads`]: crate::Config::token_uploads

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cairn_core::Digest;

use crate::Config;
use crate::error::ApiError;

/// The routes whose bodies are uploads.
const UPLOADS: &[(Method, &str)] = &[
    (
        Method::PUT,
        "/api/v1/projects/{entity}/{project}/blobs/{digest}",
    ),
    (Method::POST, "/api/v1/projects/{entity}/{project}/packs"),
    (
        Method::PUT,
        "/api/v1/projects/{entity}/{project}/uploads/{id}/parts/{n}",
    ),
];

/// Prune idle buckets once this many are kept.
const PRUNE_AT: usize = 10_000;

/// Uploads in flight per token.
type Uploads = Arc<Mutex<HashMap<Digest, u32>>>;

/// Each token's request budget and uploads in flight.
#[derive(Debug, Clone)]
pub struct Fairness {
    rate: f64,
    uploads: u32,
    buckets: Arc<Mutex<HashMap<Digest, Bucket>>>,
    uploading: Uploads,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Fairness {
    /// The limits of `config`.
    pub fn new(config: &Config) -> Self {
        Self {
            rate: f64::from(config.token_rate),
            uploads: config.token_uploads,
            buckets: Arc::default(),
            uploading: Arc::default(),
        }
    }

    fn burst(&self) -> f64 {
        self.rate * 2.0
    }

    /// Take one request from `key`'s bucket, or say how many seconds until one is there.
    fn take(&self, key: Digest) -> Result<(), u64> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap();
        if buckets.len() >= PRUNE_AT {
            // a bucket that has refilled is the same as none
            let full = self.burst() / self.rate;
            buckets.retain(|_, b| now.duration_since(b.at).as_secs_f64() < full);
        }
        let b = buckets.entry(key).or_insert(Bucket {
            tokens: self.burst(),
            at: now,
        });
        b.tokens =
            (b.tokens + now.duration_since(b.at).as_secs_f64() * self.rate).min(self.burst());
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / self.rate).ceil().max(1.0) as u64)
        }
    }

    /// Start an upload for `key`, if it has fewer than its limit in flight.
    fn start_upload(&self, key: Digest) -> Option<Uploading> {
        if self.uploads == 0 {
            return Some(Uploading(None));
        }
        let mut uploading = self.uploading.lock().unwrap();
        let n = uploading.entry(key).or_default();
        if *n >= self.uploads {
            return None;
        }
        *n += 1;
        Some(Uploading(Some((self.uploading.clone(), key))))
    }
}

/// An upload in flight; counted until dropped.
struct Uploading(Option<(Uploads, Digest)>);

impl Drop for Uploading {
    fn drop(&mut self) {
        if let Some((map, key)) = &self.0 {
            let mut map = map.lock().unwrap();
            if let Some(n) = map.get_mut(key) {
                *n -= 1;
                if *n == 0 {
                    map.remove(key);
                }
            }
        }
    }
}

fn refuse(detail: String, retry_after: u64) -> Response {
    ApiError::TooManyRequests {
        detail,
        retry_after,
    }
    .into_response()
}

/// Middleware (on the API's routes): the request and upload limits of the request's token.
pub(crate) async fn limit(fair: Fairness, req: Request, next: Next) -> Response {
    let key = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(crate::auth::bearer_secret)
        .map(|s| Digest::of(s.as_bytes()));
    let Some(key) = key else {
        return next.run(req).await;
    };
    if let Err(retry_after) = fair.take(key) {
        return refuse(
            format!(
                "this token made more than {} requests a second; retry in {retry_after} s",
                fair.rate
            ),
            retry_after,
        );
    }
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    let upload = route.is_some_and(|r| UPLOADS.iter().any(|(m, p)| m == req.method() && *p == r));
    if !upload {
        return next.run(req).await;
    }
    let Some(_uploading) = fair.start_upload(key) else {
        return refuse(
            format!(
                "this token has {} uploads in flight, its limit; retry in 1 s",
                fair.uploads
            ),
            1,
        );
    };
    next.run(req).await
}
