//! # cairn-server
//!
//! The registry as a library: [`router`] builds the axum app for an [`AppState`] (a metadata
//! store, a blob store and a [`Config`]); `cairn serve` only opens the stores and serves it.
//! Every route of `docs/api.md` is here, documented in the OpenAPI document served at
//! `GET /api/v1/openapi.json` ([`openapi`]).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! let dir = tempfile::tempdir()?;
//! let state = cairn_server::AppState {
//!     meta: Arc::new(cairn_store::SqlStore::open(&dir.path().join("cairn.db")).await?),
//!     blobs: Arc::new(cairn_store::ObjectBlobStore::local(&dir.path().join("blobs"))?),
//!     config: Arc::new(cairn_server::Config::default()),
//!     throttle: Default::default(),
//!     draining: Default::default(),
//!     quotas: Default::default(),
//!     streams: Default::default(),
//! };
//! let app: axum::Router = cairn_server::router(state);
//! assert!(cairn_server::openapi().paths.paths.contains_key("/api/v1/health"));
//! # let _ = app; Ok(()) }
//! ```

pub mod auth;
pub mod budget;
mod commit_body;
pub mod error;
mod extract;
pub mod fairness;
mod guide;
mod monitoring;
pub mod proxy;
pub mod quota;
pub mod range;
mod routes;
mod serve;
pub mod signed;
mod spool;
mod throttle;
mod web;

use std::path::PathBuf;
use std::sync::Arc;

use cairn_store::{BlobStore, MetadataStore};

pub use error::ApiError;

pub use routes::{openapi, router, router_with};
pub use serve::{Drain, serve, serve_with};
pub use throttle::Throttle;

/// The default single-request blob size limit: 5 GiB.
pub const DEFAULT_MAX_BLOB_SIZE: u64 = 5 << 30;
/// The default largest blob of an upload session: 5 TiB (S3's largest object).
pub const DEFAULT_MAX_UPLOAD_SIZE: u64 = 5 << 40;

/// Registry settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// Largest blob one `PUT` may carry.
    pub max_blob_size: u64,
    /// The built web app (Trunk's `dist/`), served at `/` when it holds an `index.html`.
    pub web_dir: Option<PathBuf>,
    /// Origins (`https://dash.example.com`) whose pages may call the API from the browser
    /// (CORS); empty: none but the registry's own.
    pub cors_origins: Vec<String>,
    /// Origins that may frame the web app (CSP `frame-ancestors`); empty: the registry's own.
    pub frame_ancestors: Vec<String>,
    /// Failed authentications a client address may make per minute before it is refused
    /// with 429 (0: no limit). Needs the server started with connect info
    /// (`into_make_service_with_connect_info::<SocketAddr>()`).
    pub auth_failures_per_minute: u32,
    /// Proxies (load balancers) whose `X-Forwarded-For` / `Forwarded` headers name the client
    /// ([`proxy::client`]); empty: the connection's address is the client.
    pub trusted_proxies: Vec<proxy::Cidr>,
    /// Largest blob an upload session may carry.
    pub max_upload_size: u64,
    /// The part size of upload sessions (bigger when a blob would need over 10,000 parts).
    pub upload_part_size: u64,
    /// How long an upload session may stay unfinished before it and its parts are deleted.
    pub upload_ttl: std::time::Duration,
    /// How long a request body may send nothing before the request is dropped (a stalled or
    /// trickling client cannot hold a connection and a staging file open for ever).
    pub body_timeout: std::time::Duration,
    /// How long an upload of bytes garbage collection is deleting waits for the deletion
    /// before it answers 503.
    pub collect_wait: std::time::Duration,
    /// Largest JSON body (a commit's manifest, an upsert) in bytes: 413 over it.
    pub max_json_body: u64,
    /// Most entries one commit or upsert may carry (a manifest's, or a patch's puts): 413
    /// over it.
    pub max_manifest_entries: u64,
    /// Where a commit's manifest is sorted on disk while it arrives (`None`: the system's
    /// temporary folder); needs room for the largest manifest's JSON.
    pub spool_dir: Option<PathBuf>,
    /// Bytes of large JSON bodies read and parsed at once, across requests ([`budget`]).
    pub json_memory: u64,
    /// How long a large JSON body waits for its share of `json_memory` before 503.
    pub json_wait: std::time::Duration,
    /// Requests a second one token may make (bursts of twice that; 0: no limit): 429 with
    /// `Retry-After` past it ([`fairness`]).
    pub token_rate: u32,
    /// Uploads one token may run at once (0: no limit): 429 past it.
    pub token_uploads: u32,
    /// How long a client may take to send a request's headers (on a new connection, or the
    /// next request of a kept-alive one) before its connection is closed.
    pub header_timeout: std::time::Duration,
    /// Tests only: where uploads are held still (see [`cairn_store::Seam`]).
    pub seam: cairn_store::Seam,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_blob_size: DEFAULT_MAX_BLOB_SIZE,
            web_dir: None,
            cors_origins: Vec::new(),
            frame_ancestors: Vec::new(),
            auth_failures_per_minute: 30,
            trusted_proxies: Vec::new(),
            max_upload_size: DEFAULT_MAX_UPLOAD_SIZE,
            upload_part_size: cairn_core::wire::DEFAULT_PART_SIZE,
            upload_ttl: std::time::Duration::from_secs(24 * 3600),
            body_timeout: std::time::Duration::from_secs(60),
            collect_wait: cairn_store::holding::DEFAULT_WAIT,
            max_json_body: 1 << 30,
            max_manifest_entries: 10_000_000,
            spool_dir: None,
            json_memory: 4 << 30,
            json_wait: std::time::Duration::from_secs(30),
            token_rate: 1000,
            token_uploads: 64,
            header_timeout: std::time::Duration::from_secs(30),
            seam: cairn_store::Seam::default(),
        }
    }
}

/// Publish verified, staged bytes and record that `project` holds them, safely beside garbage
/// collection; true if the project did not hold them before.
pub async fn holding(
    state: &AppState,
    project: &cairn_store::ProjectKey,
    staged: cairn_store::Staged,
) -> Result<bool, cairn_store::Error> {
    let config = &state.config;
    let new = cairn_store::hold(
        state.meta.as_ref(),
        state.blobs.as_ref(),
        project,
        staged,
        config.collect_wait,
        &config.seam,
    )
    .await?;
    // staged bytes were verified against their digest on the way in
    monitoring::blob_verified(1);
    if !new {
        monitoring::blob_deduplicated();
    }
    Ok(new)
}

/// What every handler shares.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Tokens, versions, aliases, …
    pub meta: Arc<dyn MetadataStore>,
    /// Blob bytes.
    pub blobs: Arc<dyn BlobStore>,
    /// Settings.
    pub config: Arc<Config>,
    /// Failed-authentication counts per client address.
    pub throttle: Arc<Throttle>,
    /// Set once shutdown began: `/api/v1/ready` answers 503 from then on.
    pub draining: Arc<std::sync::atomic::AtomicBool>,
    /// What this replica last read of projects' quotas and usage.
    pub quotas: Arc<quota::Quotas>,
    /// Large files this replica is hashing while their packs arrive.
    pub streams: Arc<cairn_store::Streams>,
}
