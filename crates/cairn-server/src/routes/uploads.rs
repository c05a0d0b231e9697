//! Resumable upload sessions: a large blob in numbered parts (parallel, any order, resumable
//! after a crash or a reload), verified as a whole on completion like `PUT …/blobs/{digest}`.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use cairn_core::wire::{Problem, UploadPart, UploadRequest, UploadSession};
use cairn_store::Error;
use futures::{StreamExt, TryStreamExt};

use super::params::{PartParams, ProjectParams, UploadParams};
use crate::AppState;
use crate::auth::{Allowed, READ, WRITE};
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath};

/// At most this many parts (S3's limit): bigger blobs get bigger parts.
const MAX_PARTS: u64 = 10_000;

/// The part size for a blob of `size`: the configured one, or whole MiBs enough for 10,000
/// parts.
fn part_size(configured: u64, size: u64) -> u64 {
    const MIB: u64 = 1 << 20;
    configured.max(size.div_ceil(MAX_PARTS).div_ceil(MIB) * MIB)
}

/// Start an upload session, or resume the unexpired one this project has for the same digest
/// and size (with the parts it holds).
#[utoipa::path(post, path = "/api/v1/projects/{entity}/{project}/uploads", params(ProjectParams),
    request_body = UploadRequest,
    responses((status = 200, body = UploadSession), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn open(
    State(state): State<AppState>,
    _: Allowed<WRITE>,
    ApiPath(p): ApiPath<ProjectParams>,
    ApiJson(req): ApiJson<UploadRequest>,
) -> ApiResult<Json<UploadSession>> {
    let limit = state.config.max_upload_size;
    if req.size > limit {
        return Err(Error::TooLarge { limit }.into());
    }
    crate::quota::admit_blobs(&state, &p.key(), &[(req.digest, req.size)]).await?;
    let session = state
        .blobs
        .open_upload(
            &p.key().to_string(),
            &req.digest,
            req.size,
            part_size(state.config.upload_part_size, req.size),
            state.config.upload_ttl,
        )
        .await?;
    crate::monitoring::upload_session("opened");
    Ok(Json(session))
}

/// A session and the parts received so far.
#[utoipa::path(get, path = "/api/v1/projects/{entity}/{project}/uploads/{id}", params(UploadParams),
    responses((status = 200, body = UploadSession), (status = 404, body = Problem)))]
pub(crate) async fn get(
    State(state): State<AppState>,
    _: Allowed<READ>,
    ApiPath(p): ApiPath<UploadParams>,
) -> ApiResult<Json<UploadSession>> {
    let session = state.blobs.upload(&p.key().to_string(), &p.id).await?;
    Ok(Json(session))
}

/// Upload part `n` (exactly its size: `part_size`, the last one the rest); parts may come in
/// parallel and in any order, and one sent again replaces the first.
#[utoipa::path(put, path = "/api/v1/projects/{entity}/{project}/uploads/{id}/parts/{n}", params(PartParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = UploadPart), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn part(
    State(state): State<AppState>,
    _: Allowed<WRITE>,
    ApiPath(p): ApiPath<PartParams>,
    body: Body,
) -> ApiResult<Json<UploadPart>> {
    let stream = body
        .into_data_stream()
        .map_err(std::io::Error::other)
        .boxed();
    let part = state
        .blobs
        .put_part(&p.key().to_string(), &p.id, p.n, stream)
        .await?;
    Ok(Json(part))
}

/// Verify the whole blob's SHA-256 and publish it (201 stored, 200 already present); 409 while
/// parts are missing (nothing changes), 422 when the parts do not hash to the digest (nothing is
/// published and the session is gone: start again).
#[utoipa::path(post, path = "/api/v1/projects/{entity}/{project}/uploads/{id}/complete", params(UploadParams),
    responses((status = 201, body = UploadSession), (status = 200, body = UploadSession),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 503, body = Problem, description = "garbage collection is deleting these bytes right now; retry after Retry-After seconds")))]
pub(crate) async fn complete(
    State(state): State<AppState>,
    _: Allowed<WRITE>,
    ApiPath(p): ApiPath<UploadParams>,
) -> ApiResult<(StatusCode, Json<UploadSession>)> {
    let (session, staged) = state
        .blobs
        .complete_upload(&p.key().to_string(), &p.id)
        .await?;
    let new = crate::holding(&state, &p.key(), staged).await?;
    crate::monitoring::upload_session("completed");
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(session)))
}

/// Abandon a session and delete its parts.
#[utoipa::path(delete, path = "/api/v1/projects/{entity}/{project}/uploads/{id}", params(UploadParams),
    responses((status = 204), (status = 404, body = Problem)))]
pub(crate) async fn abort(
    State(state): State<AppState>,
    _: Allowed<WRITE>,
    ApiPath(p): ApiPath<UploadParams>,
) -> ApiResult<StatusCode> {
    state
        .blobs
        .abort_upload(&p.key().to_string(), &p.id)
        .await?;
    crate::monitoring::upload_session("aborted");
    Ok(StatusCode::NO_CONTENT)
}
