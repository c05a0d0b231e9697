//! The `Range: bytes=…` header (RFC 9110 §14): one range is served as 206; several, or a
//! header that does not parse, get the whole file (which the RFC allows).

use std::ops::Range;

/// What a `Range` header asks of a file of `size` bytes.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Requested {
    /// The whole file (no header, several ranges, or one that does not parse).
    Whole,
    /// This part of it.
    Part(Range<u64>),
    /// A range that lies outside the file: 416.
    Unsatisfiable,
}

/// Interpret a `Range` header value for a file of `size` bytes.
pub fn parse(header: Option<&str>, size: u64) -> Requested {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Requested::Whole;
    };
    if spec.contains(',') {
        return Requested::Whole;
    }
    let Some((start, end)) = spec.trim().split_once('-') else {
        return Requested::Whole;
    };
    let parsed = match (start.trim(), end.trim()) {
        ("", "") => return Requested::Whole,
        ("", suffix) => match suffix.parse::<u64>() {
            Ok(0) => return Requested::Unsatisfiable,
            Ok(n) => Some((size.saturating_sub(n), size)),
            Err(_) => None,
        },
        (s, "") => s.parse::<u64>().ok().map(|s| (s, size)),
        (s, e) => match (s.parse::<u64>(), e.parse::<u64>()) {
            (Ok(s), Ok(e)) if s <= e => Some((s, e.saturating_add(1).min(size))),
            _ => None,
        },
    };
    match parsed {
        None => Requested::Whole,
        Some((start, _)) if start >= size => Requested::Unsatisfiable,
        Some((start, end)) => Requested::Part(start..end),
    }
}

/// A blob's bytes as a response: all of them, or the range `headers` ask for (206), with its
/// length, `Accept-Ranges` and its digest as `ETag`.
pub async fn respond(
    state: &crate::AppState,
    digest: &cairn_core::Digest,
    size: u64,
    headers: &axum::http::HeaderMap,
) -> Result<axum::response::Response, crate::ApiError> {
    use axum::body::Body;
    use axum::http::{HeaderValue, StatusCode, header};
    use axum::response::IntoResponse;
    let requested = parse(
        headers.get(header::RANGE).and_then(|v| v.to_str().ok()),
        size,
    );
    let (status, part) = match requested {
        Requested::Whole => (StatusCode::OK, None),
        Requested::Part(r) => (StatusCode::PARTIAL_CONTENT, Some(r)),
        Requested::Unsatisfiable => return Err(crate::ApiError::RangeNotSatisfiable { size }),
    };
    let stream =
        cairn_store::content::read(state.meta.as_ref(), &state.blobs, digest, part.clone()).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_ranges() {
        assert_eq!(parse(Some("bytes=0-9"), 100), Requested::Part(0..10));
        assert_eq!(parse(Some("bytes=90-"), 100), Requested::Part(90..100));
        assert_eq!(parse(Some("bytes=-5"), 100), Requested::Part(95..100));
        assert_eq!(parse(Some("bytes=-500"), 100), Requested::Part(0..100));
        assert_eq!(parse(Some("bytes=50-5000"), 100), Requested::Part(50..100));
    }

    #[test]
    fn unsatisfiable_and_ignored() {
        assert_eq!(parse(Some("bytes=100-"), 100), Requested::Unsatisfiable);
        assert_eq!(parse(Some("bytes=-0"), 100), Requested::Unsatisfiable);
        assert_eq!(parse(Some("bytes=0-0"), 0), Requested::Unsatisfiable);
        assert_eq!(parse(None, 100), Requested::Whole);
        assert_eq!(parse(Some("bytes=0-1,5-6"), 100), Requested::Whole);
        assert_eq!(parse(Some("bytes=9-1"), 100), Requested::Whole);
        assert_eq!(parse(Some("items=0-1"), 100), Requested::Whole);
        assert_eq!(parse(Some("bytes=x-"), 100), Requested::Whole);
    }
}
