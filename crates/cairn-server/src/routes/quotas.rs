//! A project's storage: what it holds, and its quota (enforced in `crate::quota`).

use axum::Json;
use axum::extract::State;
use cairn_core::wire::{Problem, QuotaRequest, Usage};

use super::params::ProjectParams;
use crate::AppState;
use crate::auth::{ADMIN, Allowed, READ};
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath};

/// The bytes and blobs the project holds (each blob once), and its quota.
#[utoipa::path(get, path = "/api/v1/projects/{entity}/{project}/usage", params(ProjectParams),
    responses((status = 200, body = Usage), (status = 422, body = Problem)))]
pub(crate) async fn usage(
    State(state): State<AppState>,
    _: Allowed<READ>,
    ApiPath(p): ApiPath<ProjectParams>,
) -> ApiResult<Json<Usage>> {
    Ok(Json(state.meta.usage(&p.key()).await?))
}

/// Set (`{"bytes": N}`) or lift (`{"bytes": null}`) the project's quota (admin). Uploads that
/// would take the project over it get 507; lowering it below what the project holds deletes
/// nothing. Answers the project's usage.
#[utoipa::path(put, path = "/api/v1/projects/{entity}/{project}/quota", params(ProjectParams),
    request_body = QuotaRequest,
    responses((status = 200, body = Usage), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn set(
    State(state): State<AppState>,
    _: Allowed<ADMIN>,
    ApiPath(p): ApiPath<ProjectParams>,
    ApiJson(req): ApiJson<QuotaRequest>,
) -> ApiResult<Json<Usage>> {
    let key = p.key();
    state.meta.set_quota(&key, req.bytes).await?;
    state.quotas.forget(&key);
    Ok(Json(state.meta.usage(&key).await?))
}
