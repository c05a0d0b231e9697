//! Downloading a version's files, with `Range`.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cairn_core::wire::Problem;

use super::params::FileParams;
use crate::AppState;
use crate::auth::{Allowed, READ};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiPath;
use crate::range::{self, Requested};

/// A file of a version (`Range` supported). A reference entry answers 409 with its `ref`.
#[utoipa::path(get, path = "/api/v1/projects/{entity}/{project}/artifacts/{name}/versions/{ref}/files/{*path}",
    params(FileParams),
    responses((status = 200, description = "the file's bytes"), (status = 206, description = "the requested range"),
        (status = 404, body = Problem), (status = 409, description = "a reference entry", body = Problem),
        (status = 416, body = Problem)))]
pub(crate) async fn get(
    State(state): State<AppState>,
    _: Allowed<READ>,
    ApiPath(p): ApiPath<FileParams>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let key = p.key();
    let (version, entry) = state
        .meta
        .entry(&key, &p.name, &p.reference, &p.path)
        .await?;
    let entry = entry.ok_or_else(|| {
        ApiError::NotFound(format!(
            "no file '{}' in version {} of artifact '{}'",
            p.path, version.version, p.name
        ))
    })?;
    let digest = match (&entry.reference, entry.stored_blob()) {
        (None, Some(d)) => d,
        (reference, _) => {
            return Err(ApiError::Reference {
                path: p.path.clone(),
                reference: reference.clone().unwrap_or_default(),
            });
        }
    };
    let size = entry.size;
    let requested = range::parse(
        headers.get(header::RANGE).and_then(|v| v.to_str().ok()),
        size,
    );
    let (status, part) = match requested {
        Requested::Whole => (StatusCode::OK, None),
        Requested::Part(r) => (StatusCode::PARTIAL_CONTENT, Some(r)),
        Requested::Unsatisfiable => return Err(ApiError::RangeNotSatisfiable { size }),
    };
    let stream =
        cairn_store::content::read(state.meta.as_ref(), &state.blobs, &digest, part.clone())
            .await?;
    let mut res = (status, Body::from_stream(stream)).into_response();
    let h = res.headers_mut();
    let length = part.as_ref().map_or(size, |r| r.end - r.start);
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{digest}\"")) {
        h.insert(header::ETAG, etag);
    }
    if let Some(r) = part
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {}-{}/{size}", r.start, r.end - 1))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    Ok(res)
}
