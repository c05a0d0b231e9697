//! # cairn-wandb
//!
//! The real `wandb` SDK against Cairn: the GraphQL operations its Go core and Python code send
//! for runs and artifacts, the signed upload and download URLs it is handed, and the file
//! routes it calls, mapped onto Cairn's store and rules. A version logged through `wandb` is an
//! ordinary Cairn version (same indices, aliases, dedup, distributed merge, lineage); one
//! pushed with `cairn` or the web app can be used and downloaded by `wandb`.
//!
//! The SDK names files by MD5: every blob uploaded here is hashed with MD5 and SHA-256 at once,
//! refused if its MD5 is not the one declared, and recorded in the project's MD5 index
//! ([`cairn_store::MetadataStore::record_md5`]); blobs uploaded natively get their MD5 the
//! first time a W&B client asks for a manifest naming them.
//!
//! Mount it beside the native API: `cairn_server::router_with(state, cairn_wandb::router())`.

mod error;
mod files;
mod ids;
mod manifest;
mod md5sum;
mod ops;
mod ticket;

use axum::Router;
use axum::routing::{get, post, put};
use cairn_server::AppState;

pub use error::WandbError;

/// The largest GraphQL request body: 32 MiB.
pub const GRAPHQL_LIMIT: usize = 32 << 20;

/// The routes the `wandb` SDK calls: `POST /graphql`, run file streams, signed uploads and
/// downloads, and the V2 artifact file route; give them to [`cairn_server::router_with`].
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/graphql",
            // the SDK's operations are small (file specs come in batches); a larger body is
            // refused (413) before it is read into memory (ops::graphql)
            post(ops::graphql),
        )
        .route(
            "/files/{entity}/{project}/{run}/file_stream",
            post(files::file_stream),
        )
        .route("/wandb/v1/put/{ticket}", put(files::upload))
        .route("/wandb/v1/get/{ticket}", get(files::download))
        .route(
            "/artifactsV2/{region}/{entity}/{project}/{collection}/{*rest}",
            get(files::artifact_file),
        )
        // the SDK's telemetry probe: 404 turns it off (the web app would answer it otherwise)
        .route(
            "/sdk/otel/v1/metrics",
            post(|| async { axum::http::StatusCode::NOT_FOUND }),
        )
}

/// With the layer off (`cairn serve --no-wandb`): `/graphql` answers 404 with a GraphQL error
/// that says so, instead of the web app's page, so the SDK reports something a user can act on.
pub fn disabled() -> Router<AppState> {
    Router::new().route(
        "/graphql",
        axum::routing::any(|| async {
            let message =
                "this Cairn registry does not answer the W&B SDK (it runs with --no-wandb)";
            let body = serde_json::json!({ "data": null, "errors": [{ "message": message }] });
            (axum::http::StatusCode::NOT_FOUND, axum::Json(body))
        }),
    )
}
