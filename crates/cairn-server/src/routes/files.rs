//! Downloading a version's files, with `Range`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use cairn_core::wire::Problem;
use cairn_core::{ArtifactName, Digest, VersionRef};
use cairn_store::ProjectKey;

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
    let (digest, size) = stored_file(&state, &p.key(), &p.name, &p.reference, &p.path).await?;
    crate::range::respond(&state, &digest, size, &headers).await
}

/// The blob and size of the file at `path` in a version: 404 when the version has no such
/// file, 409 (with its URI) for a reference entry, which the registry does not hold.
pub(super) async fn stored_file(
    state: &AppState,
    key: &ProjectKey,
    name: &ArtifactName,
    reference: &VersionRef,
    path: &str,
) -> ApiResult<(Digest, u64)> {
    let (version, entry) = state.meta.entry(key, name, reference, path).await?;
    let entry = entry.ok_or_else(|| {
        ApiError::NotFound(format!(
            "no file '{path}' in version {} of artifact '{name}'",
            version.version
        ))
    })?;
    match (&entry.reference, entry.stored_blob()) {
        (None, Some(d)) => Ok((d, entry.size)),
        (reference, _) => Err(ApiError::Reference {
            path: path.to_owned(),
            reference: reference.clone().unwrap_or_default(),
        }),
    }
}
