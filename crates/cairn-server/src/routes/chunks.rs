//! Chunked uploads (`docs/chunking.md`): which chunks the registry can reuse, packs of chunks
//! verified on arrival, and blobs assembled from chunks and verified whole.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use cairn_core::pack::{MAX_PACK_CHUNKS, MAX_PACK_DATA, PackHeader, StreamId};
use cairn_core::segment::{SegmentEntry, encode_segment_list, segments};
use cairn_core::wire::{
    AssembleOutcome, AssembleRequest, KnownChunks, KnownRequest, PackReceipt, Problem,
};
use futures::{StreamExt, TryStreamExt};

use super::params::{BlobParams, ProjectParams};
use crate::AppState;
use crate::auth::{Allowed, READ, WRITE};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};

/// The largest pack body: a full header and the most data.
fn pack_limit() -> u64 {
    PackHeader::encoded_len(MAX_PACK_CHUNKS) + MAX_PACK_DATA
}

/// Which segments and chunks need not be sent: those of blobs the project holds (`bases`).
#[utoipa::path(post, path = "/api/v1/projects/{entity}/{project}/chunks/known", params(ProjectParams),
    request_body = KnownRequest, responses((status = 200, body = KnownChunks), (status = 422, body = Problem)))]
pub(crate) async fn known(
    State(state): State<AppState>,
    _: Allowed<WRITE>,
    ApiPath(p): ApiPath<ProjectParams>,
    ApiJson(req): ApiJson<KnownRequest>,
) -> ApiResult<Json<KnownChunks>> {
    let known =
        cairn_store::assembly::known(state.meta.as_ref(), state.blobs.as_ref(), &p.key(), &req)
            .await?;
    Ok(Json(known))
}

/// Which part of a chunk list to answer.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ChunkListQuery {
    /// Answer the blob's segments (hash, chunk count, bytes) instead of its chunks.
    #[serde(default)]
    segments: bool,
    /// The first chunk to list (default 0).
    from: Option<usize>,
    /// How many chunks to list (default: to the end).
    count: Option<usize>,
}

/// A held blob's chunks (hash and length, in order; `docs/chunking.md`), or its segments, so a
/// client with an earlier copy of the file fetches only what it lacks. 404 for a blob stored
/// whole.
#[utoipa::path(get, path = "/api/v1/projects/{entity}/{project}/blobs/{digest}/chunks", params(BlobParams, ChunkListQuery),
    responses((status = 200, content_type = "application/vnd.cairn.chunk-list", description = "CAIRNCL1, a u64 count, then (BLAKE3 32 bytes, length u32) per chunk; with segments=true, CAIRNSL1, a u64 count, then (hash 32 bytes, chunks u32, bytes u64) per segment"),
        (status = 404, body = Problem)))]
pub(crate) async fn chunk_list(
    State(state): State<AppState>,
    _: Allowed<READ>,
    ApiPath(p): ApiPath<BlobParams>,
    ApiQuery(q): ApiQuery<ChunkListQuery>,
) -> ApiResult<([(header::HeaderName, &'static str); 1], Vec<u8>)> {
    let not_here = || {
        ApiError::NotFound(format!(
            "no chunk list for blob {} in this project",
            p.digest
        ))
    };
    state
        .meta
        .blob_size(&p.key(), &p.digest)
        .await?
        .ok_or_else(not_here)?;
    let recipe = state.meta.recipe(&p.digest).await?.ok_or_else(not_here)?;
    let list: Vec<_> = recipe.chunks.iter().map(|c| (c.hash, c.len)).collect();
    let body = if q.segments {
        let segments: Vec<SegmentEntry> = segments(list.iter().copied())
            .into_iter()
            .map(|s| SegmentEntry {
                hash: s.hash,
                chunks: s.count as u32,
                bytes: list[s.first..s.first + s.count]
                    .iter()
                    .map(|(_, l)| *l as u64)
                    .sum(),
            })
            .collect();
        encode_segment_list(&segments)
    } else {
        let from = q.from.unwrap_or(0).min(list.len());
        let to = q
            .count
            .map_or(list.len(), |n| from.saturating_add(n).min(list.len()));
        cairn_core::chunk::encode_chunk_list(&list[from..to])
    };
    Ok((
        [(header::CONTENT_TYPE, "application/vnd.cairn.chunk-list")],
        body,
    ))
}

/// Which stream a pack continues (`docs/chunking.md`, "Hashing while packs arrive").
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PackQuery {
    /// A random id (64 hex digits) naming the stream: one large file's chunks, sent in order.
    stream: Option<StreamId>,
    /// Bytes of the stream's chunks in the packs before this one (with `stream`).
    at: Option<u64>,
}

/// Upload a pack of chunks (`application/vnd.cairn.pack`): every chunk is checked against its
/// BLAKE3 hash as it streams, and the pack is stored only if all match. With `stream` and
/// `at`, the registry then hashes the chunks' bytes into the stream, so assembling the file
/// they come from re-reads almost nothing.
#[utoipa::path(post, path = "/api/v1/projects/{entity}/{project}/packs", params(ProjectParams, PackQuery),
    request_body(content = Vec<u8>, content_type = "application/vnd.cairn.pack"),
    responses((status = 201, body = PackReceipt), (status = 413, body = Problem),
        (status = 422, body = Problem, description = "a chunk does not hash to its header's hash, or the body breaks the pack format"),
        (status = 507, body = Problem, description = "the registry is out of space; nothing was stored")))]
pub(crate) async fn put_pack(
    State(state): State<AppState>,
    _: Allowed<WRITE>,
    ApiPath(p): ApiPath<ProjectParams>,
    ApiQuery(q): ApiQuery<PackQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<PackReceipt>)> {
    let limit = pack_limit();
    let mut stream = super::blobs::body_within(&headers, body, limit)?;
    let key = p.key();
    // a pack's chunks become held bytes once assembled; refused early if they cannot fit
    if let Some(len) = crate::extract::declared_length(&headers) {
        crate::quota::room_for_pack(&state, &key, len).await?;
    }
    let owner = key.to_string();
    let arrival = match (q.stream, q.at) {
        (Some(id), Some(at)) => {
            let arrival = Arc::new(Mutex::new(state.streams.arriving(&owner, id, at)));
            let keep = arrival.clone();
            stream = stream
                .inspect_ok(move |piece| keep.lock().expect("not poisoned").keep(piece))
                .boxed();
            Some(arrival)
        }
        (None, None) => None,
        _ => {
            return Err(ApiError::BadRequest(
                "a pack of a stream names both `stream` and `at`".into(),
            ));
        }
    };
    let (pack, header) = state.blobs.put_pack(&owner, stream, limit).await?;
    // the body stream is gone with the upload: the arrival is ours alone again
    if let Some(arrival) = arrival.and_then(Arc::into_inner) {
        let arrival = arrival.into_inner().expect("not poisoned");
        state.streams.feed(arrival, pack.id, &header).await;
    }
    Ok((
        StatusCode::CREATED,
        Json(PackReceipt {
            pack: pack.id,
            chunks: header.entries.len() as u32,
            bytes: header.data_len(),
        }),
    ))
}

/// Assemble blobs from chunks of `bases` and `packs`; each is verified (size and SHA-256)
/// before the project holds it. Blobs with chunks the registry lacks are answered with them.
#[utoipa::path(post, path = "/api/v1/projects/{entity}/{project}/blobs/assemble", params(ProjectParams),
    request_body = AssembleRequest,
    responses((status = 200, body = Vec<AssembleOutcome>),
        (status = 413, body = Problem, description = "a blob is larger than the registry's largest upload"),
        (status = 422, body = Problem, description = "a blob's chunks do not produce its size or digest (nothing is held for it)"),
        (status = 503, body = Problem, description = "garbage collection is deleting these bytes right now; retry after Retry-After seconds"),
        (status = 507, body = Problem, description = "the registry is out of space; nothing was stored")))]
pub(crate) async fn assemble(
    State(state): State<AppState>,
    _: Allowed<WRITE>,
    ApiPath(p): ApiPath<ProjectParams>,
    ApiJson(req): ApiJson<AssembleRequest>,
) -> ApiResult<Json<Vec<AssembleOutcome>>> {
    let config = &state.config;
    // the largest blob any upload may make (a plain PUT's limit, or an upload session's)
    let limit = config.max_blob_size.max(config.max_upload_size);
    if req.blobs.iter().any(|b| b.size > limit) {
        return Err(cairn_store::Error::TooLarge { limit }.into());
    }
    let blobs: Vec<_> = req.blobs.iter().map(|b| (b.digest, b.size)).collect();
    crate::quota::admit_blobs(&state, &p.key(), &blobs).await?;
    let out = cairn_store::assembly::assemble(
        state.meta.as_ref(),
        &state.blobs,
        &state.streams,
        &p.key(),
        &req,
        config.collect_wait,
        &config.seam,
    )
    .await?;
    crate::monitoring::blob_verified(out.iter().filter(|o| o.held).count() as u64);
    Ok(Json(out))
}
