//! Content-addressed blobs: missing-check, verified upload, existence.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use cairn_core::wire::{MAX_MISSING_CHECK, MissingBlobs, Problem};
use cairn_store::Error;
use futures::{StreamExt, TryStreamExt};

use super::params::{BlobParams, ProjectParams};
use crate::AppState;
use crate::auth::{Allowed, READ, WRITE};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, declared_length};

/// Which of these digests the project does not hold yet.
#[utoipa::path(post, path = "/api/v1/projects/{entity}/{project}/blobs/missing", params(ProjectParams),
    request_body = MissingBlobs, responses((status = 200, body = MissingBlobs), (status = 422, body = Problem)))]
pub(crate) async fn missing(
    State(state): State<AppState>,
    _: Allowed<WRITE>,
    ApiPath(p): ApiPath<ProjectParams>,
    ApiJson(req): ApiJson<MissingBlobs>,
) -> ApiResult<Json<MissingBlobs>> {
    let key = p.key();
    if req.digests.len() > MAX_MISSING_CHECK {
        return Err(ApiError::BadRequest(format!(
            "{} digests asked; at most {MAX_MISSING_CHECK} per request",
            req.digests.len()
        )));
    }
    let missing = state.meta.missing_blobs(&key, &req.digests).await?;
    Ok(Json(MissingBlobs {
        digests: Vec::new(),
        missing,
    }))
}

/// Upload a blob's bytes; they are hashed as they stream and stored only if they match.
#[utoipa::path(put, path = "/api/v1/projects/{entity}/{project}/blobs/{digest}", params(BlobParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, description = "stored"), (status = 200, description = "already present"),
        (status = 413, body = Problem), (status = 422, body = Problem),
        (status = 503, body = Problem, description = "garbage collection is deleting these bytes right now; retry after Retry-After seconds"),
        (status = 507, body = Problem, description = "the registry is out of space, or the project would exceed its quota; nothing was stored")))]
pub(crate) async fn put(
    State(state): State<AppState>,
    _: Allowed<WRITE>,
    ApiPath(p): ApiPath<BlobParams>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<StatusCode> {
    let key = p.key();
    let limit = state.config.max_blob_size;
    let stream = body_within(&headers, body, limit)?;
    let declared = declared_length(&headers);
    if let Some(len) = declared {
        crate::quota::admit_blobs(&state, &key, &[(p.digest, len)]).await?;
    }
    let staged = state.blobs.stage(&p.digest, stream, limit).await?;
    if declared.is_none() {
        // a chunked body: its length is known once it is staged
        if let Err(e) = crate::quota::admit_blobs(&state, &key, &[(p.digest, staged.size)]).await {
            state.blobs.discard(staged).await?;
            return Err(e);
        }
    }
    let new = crate::holding(&state, &key, staged).await?;
    Ok(if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    })
}

/// A request body as a byte stream, refused (413) before a byte is read when its declared
/// `Content-Length` is over `limit` (the stores also stop reading at `limit`).
pub(crate) fn body_within(
    headers: &HeaderMap,
    body: Body,
    limit: u64,
) -> Result<cairn_store::ByteStream, ApiError> {
    if declared_length(headers).is_some_and(|n| n > limit) {
        return Err(Error::TooLarge { limit }.into());
    }
    Ok(body
        .into_data_stream()
        .map_err(std::io::Error::other)
        .boxed())
}

/// Whether the project holds a blob, with its size.
#[utoipa::path(head, path = "/api/v1/projects/{entity}/{project}/blobs/{digest}", params(BlobParams),
    responses((status = 200, description = "held; Content-Length is its size"), (status = 404)))]
pub(crate) async fn head(
    State(state): State<AppState>,
    _: Allowed<READ>,
    ApiPath(p): ApiPath<BlobParams>,
) -> ApiResult<impl IntoResponse> {
    let key = p.key();
    let size = state
        .meta
        .blob_size(&key, &p.digest)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!("blob {} is not stored in this project", p.digest))
        })?;
    Ok((StatusCode::OK, [(header::CONTENT_LENGTH, size.to_string())]))
}
