//! Aliases: set or move, delete.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use cairn_core::wire::{AliasTarget, Problem, Version};

use super::params::AliasParams;
use crate::AppState;
use crate::auth::{Allowed, WRITE};
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath};

/// Point an alias at a version, moving it if it named another.
#[utoipa::path(put, path = "/api/v1/projects/{entity}/{project}/artifacts/{name}/aliases/{alias}",
    params(AliasParams), request_body = AliasTarget,
    responses((status = 200, body = Version), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn put(
    State(state): State<AppState>,
    _: Allowed<WRITE>,
    ApiPath(p): ApiPath<AliasParams>,
    ApiJson(target): ApiJson<AliasTarget>,
) -> ApiResult<Json<Version>> {
    let key = p.key();
    Ok(Json(
        state
            .meta
            .set_alias(&key, &p.name, &p.alias, target.version)
            .await?,
    ))
}

/// Remove an alias (`latest` can only be moved).
#[utoipa::path(delete, path = "/api/v1/projects/{entity}/{project}/artifacts/{name}/aliases/{alias}",
    params(AliasParams), responses((status = 204), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    _: Allowed<WRITE>,
    ApiPath(p): ApiPath<AliasParams>,
) -> ApiResult<StatusCode> {
    let key = p.key();
    state.meta.delete_alias(&key, &p.name, &p.alias).await?;
    Ok(StatusCode::NO_CONTENT)
}
