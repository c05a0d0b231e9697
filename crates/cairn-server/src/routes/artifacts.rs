//! Collections.

use axum::Json;
use axum::extract::State;
use cairn_core::wire::{ArtifactInfo, ArtifactList, ListQuery, Problem};

use super::params::{ArtifactParams, ProjectParams};
use crate::AppState;
use crate::auth::{Allowed, READ};
use crate::error::ApiResult;
use crate::extract::{ApiPath, ApiQuery};

/// A project's collections, by name (`?type=`, `limit`, `after`).
#[utoipa::path(get, path = "/api/v1/projects/{entity}/{project}/artifacts", params(ProjectParams, ListQuery),
    responses((status = 200, body = ArtifactList), (status = 422, body = Problem)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    _: Allowed<READ>,
    ApiPath(p): ApiPath<ProjectParams>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<ArtifactList>> {
    let key = p.key();
    Ok(Json(state.meta.list_artifacts(&key, &q).await?))
}

/// One collection: its type, aliases and version count.
#[utoipa::path(get, path = "/api/v1/projects/{entity}/{project}/artifacts/{name}", params(ArtifactParams),
    responses((status = 200, body = ArtifactInfo), (status = 404, body = Problem)))]
pub(crate) async fn get(
    State(state): State<AppState>,
    _: Allowed<READ>,
    ApiPath(p): ApiPath<ArtifactParams>,
) -> ApiResult<Json<ArtifactInfo>> {
    let key = p.key();
    Ok(Json(state.meta.artifact(&key, &p.name).await?))
}
