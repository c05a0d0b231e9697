//! The non-GraphQL routes: signed uploads and downloads, run file streams, and the V2
//! artifact file route the Python SDK falls back to.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use cairn_core::VersionRef;
use cairn_server::AppState;
use cairn_server::auth::Caller;
use futures::{StreamExt, TryStreamExt};
use tokio::io::AsyncWriteExt;

use crate::error::{Result, WandbError};
use crate::manifest::WbManifest;
use crate::md5sum::Both;
use crate::ticket::{self, Grant};

/// `POST /files/{entity}/{project}/{run}/file_stream`: a run's history, console and summary.
/// Accepted and discarded: Cairn keeps artifacts and lineage, not run telemetry.
pub async fn file_stream(_: Caller, body: Body) -> Response {
    // drain what was sent so the connection stays usable
    let mut stream = body.into_data_stream();
    while let Some(Ok(_)) = stream.next().await {}
    Json(serde_json::json!({ "exitcode": null, "limits": {} })).into_response()
}

/// `PUT /wandb/v1/put/{ticket}`: the bytes a signed URL allows.
pub async fn upload(
    State(state): State<AppState>,
    Path(ticket): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode> {
    match ticket::verify(&state, &ticket).await? {
        Grant::PutBlob { p, m } => {
            put_blob(&state, &ticket::project_of(&p)?, m.parse()?, &headers, body).await
        }
        Grant::PutManifest { s } => {
            // a W&B manifest is parsed whole (the SDK holds it whole too): at most
            // --max-json-body, refused from its declared length before it is read
            let limit = state.config.max_json_body;
            if declared_length(&headers).is_some_and(|n| n > limit) {
                return Err(cairn_store::Error::TooLarge { limit }.into());
            }
            let limit = usize::try_from(limit).unwrap_or(usize::MAX);
            let bytes = axum::body::to_bytes(body, limit).await.map_err(|e| {
                WandbError::Invalid(format!("the manifest upload could not be read: {e}"))
            })?;
            let manifest = WbManifest::parse(&bytes)?;
            crate::ops::save::manifest_uploaded(&state, &s, manifest).await?;
            Ok(StatusCode::OK)
        }
        Grant::PutRunFile => {
            let mut stream = body.into_data_stream();
            while let Some(Ok(_)) = stream.next().await {}
            Ok(StatusCode::OK)
        }
        _ => Err(WandbError::Ticket("this URL is for downloading".into())),
    }
}

/// A blob uploaded under a signed URL: written to a temporary file while hashed with MD5 and
/// SHA-256, refused if its MD5 is not the one the URL was signed for, then stored through the
/// registry's verified path (staged against its SHA-256, held safely beside GC).
async fn put_blob(
    state: &AppState,
    project: &cairn_store::ProjectKey,
    md5: cairn_store::Md5,
    headers: &HeaderMap,
    body: Body,
) -> Result<StatusCode> {
    let limit = state.config.max_blob_size;
    if declared_length(headers).is_some_and(|n| n > limit) {
        return Err(cairn_store::Error::TooLarge { limit }.into());
    }
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let dir = state
        .config
        .spool_dir
        .clone()
        .unwrap_or_else(std::env::temp_dir);
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| WandbError::Api(cairn_store::Error::Body(e).into()))?;
    let temp = tempfile::NamedTempFile::new_in(&dir)
        .map_err(|e| WandbError::Api(cairn_store::Error::Body(e).into()))?;
    let (file, path) = temp.into_parts();
    let mut out = tokio::fs::File::from_std(file);
    let mut both = Both::default();
    let mut stream = std::pin::pin!(stream);
    let io = |e: std::io::Error| WandbError::Api(cairn_store::Error::Body(e).into());
    while let Some(piece) = stream.try_next().await.map_err(io)? {
        if both.len() + piece.len() as u64 > limit {
            return Err(cairn_store::Error::TooLarge { limit }.into());
        }
        both.update(&piece);
        out.write_all(&piece).await.map_err(io)?;
    }
    out.flush().await.map_err(io)?;
    drop(out);
    let blob = both.finish();
    if blob.md5 != md5 {
        return Err(WandbError::Invalid(format!(
            "the uploaded bytes have MD5 {} but this URL is for MD5 {md5}; nothing was stored",
            blob.md5
        )));
    }
    cairn_server::quota::admit_blobs(state, project, &[(blob.digest, blob.size)]).await?;
    let file = tokio::fs::File::open(&path).await.map_err(io)?;
    let bytes = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024).boxed();
    let staged = state.blobs.stage(&blob.digest, bytes, limit).await?;
    let new = cairn_server::holding(state, project, staged).await?;
    state.meta.record_md5(project, &[blob]).await?;
    drop(path);
    Ok(if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    })
}

/// The request's `Content-Length`, if it states one.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse().ok())
}

/// `GET /wandb/v1/get/{ticket}`: a blob (with `Range`) or a version's W&B manifest.
pub async fn download(
    State(state): State<AppState>,
    Path(ticket): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    match ticket::verify(&state, &ticket).await? {
        Grant::GetBlob { p, d } => {
            let project = ticket::project_of(&p)?;
            let digest = d.parse()?;
            let size = state
                .meta
                .blob_size(&project, &digest)
                .await?
                .ok_or_else(|| {
                    WandbError::NotFound(format!("blob {digest} is not stored in {project}"))
                })?;
            Ok(cairn_server::range::respond(&state, &digest, size, &headers).await?)
        }
        Grant::GetManifest { p, n, i } => {
            let project = ticket::project_of(&p)?;
            let name = n.parse()?;
            let (_, m) = state
                .meta
                .manifest(&project, &name, &VersionRef::Index(i))
                .await?;
            let wb = crate::manifest::from_cairn(&state, &project, &m).await?;
            Ok(Json(wb).into_response())
        }
        _ => Err(WandbError::Ticket("this URL is for uploading".into())),
    }
}

/// `GET /artifactsV2/{region}/{entity}/{project}/{collection}/…/{md5 hex}/{file name}`: a file
/// by its MD5, for callers with the key (the SDK's fallback when it has no signed URL).
pub async fn artifact_file(
    State(state): State<AppState>,
    caller: Caller,
    Path((_region, entity, project, _collection, rest)): Path<(
        String,
        String,
        String,
        String,
        String,
    )>,
    headers: HeaderMap,
) -> Result<Response> {
    let project = cairn_store::ProjectKey {
        entity: entity.parse()?,
        project: project.parse()?,
    };
    caller.require(&project, cairn_store::Role::Read)?;
    let mut parts: Vec<&str> = rest.split('/').collect();
    parts.pop(); // the file's name
    let hex = parts
        .pop()
        .ok_or_else(|| WandbError::NotFound(format!("no file at {rest:?}")))?;
    let md5: cairn_store::Md5 = hex.parse()?;
    let blob = state
        .meta
        .md5_blobs(&project, &[md5])
        .await?
        .pop()
        .ok_or_else(|| WandbError::NotFound(format!("no file with MD5 {md5} in {project}")))?;
    Ok(cairn_server::range::respond(&state, &blob.digest, blob.size, &headers).await?)
}
