//! Downloading a version's files, with `Range`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use cairn_core::wire::Problem;

use super::params::FileParams;
use crate::AppState;
use crate::auth::{Allowed, READ};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiPath;

/// A file of a version (`Range` supported). A reference entry answers 409 with its `ref`.
#[utoipa::path(get, path = "/api/v1/projects/{entity}/{project}/artifacts/{name}/versions/{ref}/files/{*path}",
    params(FileParams),
    responses((status = 200, description = "the file's bytes"), (status = 206, description = "the requested range"),
        (status = 404, body = Problem), (status = 409, description = "a reference entry", body = Problem),
        (status = 416, body = Problem)))]
pub(crate) async fn get(
    State(state): State<AppState>,
    _: Allowed<READ>,
    ApiPath(p): ApiPath<FileParams>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let key = p.key();
    let (version, entry) = state
        .meta
        .entry(&key, &p.name, &p.reference, &p.path)
        .await?;
    let entry = entry.ok_or_else(|| {
        ApiError::NotFound(format!(
            "no file '{}' in version {} of artifact '{}'",
            p.path, version.version, p.name
        ))
    })?;
    let digest = match (&entry.reference, entry.stored_blob()) {
        (None, Some(d)) => d,
        (reference, _) => {
            return Err(ApiError::Reference {
                path: p.path.clone(),
                reference: reference.clone().unwrap_or_default(),
            });
        }
    };
    crate::range::respond(&state, &digest, entry.size, &headers).await
}
