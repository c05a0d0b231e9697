//! Runs and lineage.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use cairn_core::wire::{Lineage, Problem, Run, RunRequest, UseRequest, Version};

use super::params::{ProjectParams, RunParams, VersionParams};
use crate::AppState;
use crate::auth::{Allowed, READ, WRITE};
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath};

/// Start a run (the registry assigns its id).
#[utoipa::path(post, path = "/api/v1/projects/{entity}/{project}/runs", params(ProjectParams),
    request_body = RunRequest, responses((status = 201, body = Run), (status = 422, body = Problem)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    _: Allowed<WRITE>,
    ApiPath(p): ApiPath<ProjectParams>,
    ApiJson(req): ApiJson<RunRequest>,
) -> ApiResult<(StatusCode, Json<Run>)> {
    let key = p.key();
    Ok((
        StatusCode::CREATED,
        Json(state.meta.create_run(&key, req).await?),
    ))
}

/// A run, with the versions it logged and used.
#[utoipa::path(get, path = "/api/v1/projects/{entity}/{project}/runs/{id}", params(RunParams),
    responses((status = 200, body = Run), (status = 404, body = Problem)))]
pub(crate) async fn get(
    State(state): State<AppState>,
    _: Allowed<READ>,
    ApiPath(p): ApiPath<RunParams>,
) -> ApiResult<Json<Run>> {
    let key = p.key();
    Ok(Json(state.meta.run(&key, &p.id).await?))
}

/// Resolve a version for a run and record that the run uses it.
#[utoipa::path(post, path = "/api/v1/projects/{entity}/{project}/runs/{id}/use", params(RunParams),
    request_body = UseRequest, responses((status = 200, body = Version), (status = 404, body = Problem)))]
pub(crate) async fn use_version(
    State(state): State<AppState>,
    _: Allowed<WRITE>,
    ApiPath(p): ApiPath<RunParams>,
    ApiJson(req): ApiJson<UseRequest>,
) -> ApiResult<Json<Version>> {
    let key = p.key();
    Ok(Json(
        state
            .meta
            .use_version(&key, &p.id, &req.name, &req.version)
            .await?,
    ))
}

/// Which run logged a version and which runs used it.
#[utoipa::path(get, path = "/api/v1/projects/{entity}/{project}/artifacts/{name}/versions/{ref}/lineage",
    params(VersionParams), responses((status = 200, body = Lineage), (status = 404, body = Problem)))]
pub(crate) async fn lineage(
    State(state): State<AppState>,
    _: Allowed<READ>,
    ApiPath(p): ApiPath<VersionParams>,
) -> ApiResult<Json<Lineage>> {
    let key = p.key();
    Ok(Json(state.meta.lineage(&key, &p.name, &p.reference).await?))
}
