//! Download links: a URL for one file that needs no token, signed and expiring, so a browser's
//! download manager fetches it (streaming to disk, with its own progress and resume) instead of
//! the page holding the file.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use cairn_core::Digest;
use cairn_core::wire::{Link, LinkRequest, Problem};
use serde::{Deserialize, Serialize};

use super::params::VersionParams;
use crate::AppState;
use crate::auth::{Allowed, READ, now_secs, rfc3339};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath};
use crate::signed::Signer;

/// How long a link works.
pub const LINK_TTL_SECS: i64 = 3600;

/// The registry secret links are signed under.
const SECRET: &str = "cairn:link-secret";

/// What a link grants: the bytes of one blob (of a version the asker could read), under a
/// file name.
#[derive(Serialize, Deserialize)]
struct Grant {
    d: Digest,
    s: u64,
    /// The file's name (its last path component), for `Content-Disposition`.
    f: String,
}

/// A link to one file of a version, valid for an hour, that needs no token.
#[utoipa::path(post, path = "/api/v1/projects/{entity}/{project}/artifacts/{name}/versions/{ref}/links",
    params(VersionParams), request_body = LinkRequest,
    responses((status = 201, body = Link), (status = 404, body = Problem),
        (status = 409, description = "a reference entry", body = Problem)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    _: Allowed<READ>,
    ApiPath(p): ApiPath<VersionParams>,
    ApiJson(req): ApiJson<LinkRequest>,
) -> ApiResult<(StatusCode, Json<Link>)> {
    let key = p.key();
    let (digest, size) =
        super::files::stored_file(&state, &key, &p.name, &p.reference, &req.path).await?;
    let expiry = now_secs() + LINK_TTL_SECS;
    let grant = Grant {
        d: digest,
        s: size,
        f: req.path.rsplit('/').next().unwrap_or(&req.path).to_owned(),
    };
    let ticket = Signer::load(&state, SECRET).await?.sign(&grant, expiry);
    Ok((
        StatusCode::CREATED,
        Json(Link {
            url: format!("/api/v1/links/{ticket}"),
            expires_at: rfc3339(expiry),
            digest,
            size,
        }),
    ))
}

/// A link's file (no token: the link is the permission; `Range` supported), as an attachment.
#[utoipa::path(get, path = "/api/v1/links/{ticket}",
    params(("ticket" = String, Path, description = "from the link")),
    responses((status = 200, description = "the file's bytes"), (status = 206, description = "the requested range"),
        (status = 403, description = "a link altered, or expired", body = Problem),
        (status = 404, description = "the file is no longer held", body = Problem), (status = 416, body = Problem)))]
pub(crate) async fn follow(
    State(state): State<AppState>,
    Path(ticket): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let grant: Grant = Signer::load(&state, SECRET)
        .await?
        .verify(&ticket)
        .map_err(|why| ApiError::Forbidden(why.to_owned()))?;
    let mut res = crate::range::respond(&state, &grant.d, grant.s, &headers).await?;
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&disposition(&grant.f)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(res)
}

/// `attachment; filename="…"` (ASCII, quotes and controls replaced) with the exact name in
/// `filename*` (RFC 6266, RFC 8187).
fn disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::disposition;

    #[test]
    fn the_file_name_is_safe_in_the_header_and_exact_in_filename_star() {
        assert_eq!(
            disposition("train.csv"),
            "attachment; filename=\"train.csv\"; filename*=UTF-8''train.csv"
        );
        assert_eq!(
            disposition("a \"b\"\nc é.txt"),
            "attachment; filename=\"a _b__c _.txt\"; filename*=UTF-8''a%20%22b%22%0Ac%20%C3%A9.txt"
        );
    }
}
