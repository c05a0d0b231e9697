//! Versions: commit, list, read, edit, delete, manifest.

use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use cairn_core::Manifest;
use cairn_core::wire::{
    CommitRequest, CommitResponse, ListQuery, Problem, Version, VersionList, VersionUpdate,
};
use serde::Deserialize;
use utoipa::IntoParams;

use super::params::{ArtifactParams, VersionParams};
use crate::AppState;
use crate::auth::{ADMIN, Allowed, READ, WRITE};
use crate::commit_body::CommitBody;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery};

/// A collection's versions (`limit`, `after`, `order=asc|desc`).
#[utoipa::path(get, path = "/api/v1/projects/{entity}/{project}/artifacts/{name}/versions",
    params(ArtifactParams, ListQuery),
    responses((status = 200, body = VersionList), (status = 404, body = Problem)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    _: Allowed<READ>,
    ApiPath(p): ApiPath<ArtifactParams>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<VersionList>> {
    let key = p.key();
    Ok(Json(state.meta.list_versions(&key, &p.name, &q).await?))
}

/// Commit a version from a full manifest, or from a patch against a base. A full manifest is
/// read as a stream (entries in any order; a path given twice keeps its last entry) and sorted
/// on the registry's disk, so its size does not bound the registry's memory.
#[utoipa::path(post, path = "/api/v1/projects/{entity}/{project}/artifacts/{name}/versions",
    params(ArtifactParams), request_body = CommitRequest,
    responses((status = 201, body = CommitResponse), (status = 200, description = "identical content exists (created: false)", body = CommitResponse),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem),
        (status = 507, body = Problem, description = "no room to sort the manifest on the registry's disk"),
        (status = 503, body = Problem, description = "too many large bodies are being read at once; retry after Retry-After seconds")))]
pub(crate) async fn commit(
    State(state): State<AppState>,
    _: Allowed<WRITE>,
    ApiPath(p): ApiPath<ArtifactParams>,
    body: Request,
) -> ApiResult<(StatusCode, Json<CommitResponse>)> {
    let key = p.key();
    let out = match crate::commit_body::read(&state, body).await? {
        // a full manifest: sorted on disk as it arrived, committed page by page
        CommitBody::Manifest { request, spool } => {
            let (pages, warnings) = spool.pages();
            let mut out = state
                .meta
                .commit_pages(&key, &p.name, request, pages)
                .await?;
            out.warnings = warnings.await.unwrap_or_default();
            out
        }
        CommitBody::Whole(req) => {
            let entries = req
                .patch
                .as_ref()
                .map_or(0, |patch| patch.put.len() + patch.remove.len());
            crate::budget::entries_within(&state.config, entries)?;
            // the paths this commit adds
            let warnings = req.patch.as_ref().map_or_else(Vec::new, |patch| {
                cairn_core::portable::warnings(patch.put.keys())
            });
            let mut out = state.meta.commit(&key, &p.name, req).await?;
            out.warnings = warnings;
            out
        }
    };
    crate::monitoring::commit(out.created);
    Ok((created_status(&out), Json(out)))
}

/// 201 for a new version, 200 for dedup onto an existing one.
pub(super) fn created_status(out: &CommitResponse) -> StatusCode {
    if out.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

/// A version by `vN` or alias.
#[utoipa::path(get, path = "/api/v1/projects/{entity}/{project}/artifacts/{name}/versions/{ref}",
    params(VersionParams), responses((status = 200, body = Version), (status = 404, body = Problem)))]
pub(crate) async fn get(
    State(state): State<AppState>,
    _: Allowed<READ>,
    ApiPath(p): ApiPath<VersionParams>,
) -> ApiResult<Json<Version>> {
    let key = p.key();
    Ok(Json(state.meta.version(&key, &p.name, &p.reference).await?))
}

/// Edit a version's description and metadata (its manifest is immutable).
#[utoipa::path(patch, path = "/api/v1/projects/{entity}/{project}/artifacts/{name}/versions/{ref}",
    params(VersionParams), request_body = VersionUpdate,
    responses((status = 200, body = Version), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn update(
    State(state): State<AppState>,
    _: Allowed<WRITE>,
    ApiPath(p): ApiPath<VersionParams>,
    ApiJson(update): ApiJson<VersionUpdate>,
) -> ApiResult<Json<Version>> {
    let key = p.key();
    Ok(Json(
        state
            .meta
            .update_version(&key, &p.name, &p.reference, update)
            .await?,
    ))
}

/// Options of a version delete.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub(crate) struct DeleteQuery {
    /// Also delete the version's custom aliases (else a version with aliases is kept: 409).
    #[serde(default)]
    delete_aliases: bool,
}

/// Delete a version (needs admin); its number is never reused.
#[utoipa::path(delete, path = "/api/v1/projects/{entity}/{project}/artifacts/{name}/versions/{ref}",
    params(VersionParams, DeleteQuery),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    _: Allowed<ADMIN>,
    ApiPath(p): ApiPath<VersionParams>,
    ApiQuery(q): ApiQuery<DeleteQuery>,
) -> ApiResult<StatusCode> {
    let key = p.key();
    state
        .meta
        .delete_version(&key, &p.name, &p.reference, q.delete_aliases)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A version's manifest (semantics §4), in canonical form, streamed a few thousand entries at
/// a time (a million-entry manifest is never held whole by the registry).
#[utoipa::path(get, path = "/api/v1/projects/{entity}/{project}/artifacts/{name}/versions/{ref}/manifest",
    params(VersionParams), responses((status = 200, body = Manifest), (status = 404, body = Problem)))]
pub(crate) async fn manifest(
    State(state): State<AppState>,
    _: Allowed<READ>,
    ApiPath(p): ApiPath<VersionParams>,
) -> ApiResult<Response> {
    let key = p.key();
    let (_, json) = state
        .meta
        .manifest_json(&key, &p.name, &p.reference)
        .await?;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(json),
    )
        .into_response())
}
