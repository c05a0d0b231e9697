//! Distributed versions: upsert, finish, inspect, abort.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use cairn_core::wire::{CommitResponse, PendingVersion, Problem, UpsertRequest};

use super::params::DistributedParams;
use super::versions::created_status;
use crate::AppState;
use crate::auth::{Allowed, READ, WRITE};
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath};

/// Add a run's entries to the pending version of a distributed id.
#[utoipa::path(post, path = "/api/v1/projects/{entity}/{project}/artifacts/{name}/distributed/{id}/upsert",
    params(DistributedParams), request_body = UpsertRequest,
    responses((status = 200, body = PendingVersion), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn upsert(
    State(state): State<AppState>,
    _: Allowed<WRITE>,
    ApiPath(p): ApiPath<DistributedParams>,
    ApiJson(req): ApiJson<UpsertRequest>,
) -> ApiResult<Json<PendingVersion>> {
    let key = p.key();
    crate::budget::entries_within(&state.config, req.manifest.as_ref().map_or(0, |m| m.len()))?;
    Ok(Json(state.meta.upsert(&key, &p.name, &p.id, req).await?))
}

/// Commit the union of every upsert (and this request's entries) as one version.
#[utoipa::path(post, path = "/api/v1/projects/{entity}/{project}/artifacts/{name}/distributed/{id}/finish",
    params(DistributedParams), request_body = UpsertRequest,
    responses((status = 201, body = CommitResponse), (status = 200, body = CommitResponse),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn finish(
    State(state): State<AppState>,
    _: Allowed<WRITE>,
    ApiPath(p): ApiPath<DistributedParams>,
    ApiJson(req): ApiJson<UpsertRequest>,
) -> ApiResult<(StatusCode, Json<CommitResponse>)> {
    let key = p.key();
    crate::budget::entries_within(&state.config, req.manifest.as_ref().map_or(0, |m| m.len()))?;
    let out = state.meta.finish(&key, &p.name, &p.id, req).await?;
    crate::monitoring::commit(out.created);
    Ok((created_status(&out), Json(out)))
}

/// The pending version of a distributed id, with its entries so far.
#[utoipa::path(get, path = "/api/v1/projects/{entity}/{project}/artifacts/{name}/distributed/{id}",
    params(DistributedParams), responses((status = 200, body = PendingVersion), (status = 404, body = Problem)))]
pub(crate) async fn inspect(
    State(state): State<AppState>,
    _: Allowed<READ>,
    ApiPath(p): ApiPath<DistributedParams>,
) -> ApiResult<Json<PendingVersion>> {
    let key = p.key();
    Ok(Json(state.meta.pending(&key, &p.name, &p.id).await?))
}

/// Abort the pending version of a distributed id.
#[utoipa::path(delete, path = "/api/v1/projects/{entity}/{project}/artifacts/{name}/distributed/{id}",
    params(DistributedParams), responses((status = 204), (status = 404, body = Problem)))]
pub(crate) async fn abort(
    State(state): State<AppState>,
    _: Allowed<WRITE>,
    ApiPath(p): ApiPath<DistributedParams>,
) -> ApiResult<StatusCode> {
    let key = p.key();
    state.meta.abort(&key, &p.name, &p.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
