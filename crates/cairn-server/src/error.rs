//! The one application error, and the one place errors become HTTP answers
//! (`application/problem+json`, RFC 9457). Client mistakes are explained; internal failures
//! are logged and answered with a generic 500.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cairn_core::wire::Problem;

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No token, or a token the registry does not know.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// Too many failed authentications from this address.
    #[error("too many failed authentications from this address; retry in {retry_after} s")]
    TooManyAttempts {
        /// seconds until the address may try again
        retry_after: u64,
    },
    /// A token without the right.
    #[error("{0}")]
    Forbidden(String),
    /// Not ready to serve (shutting down, or a store does not answer).
    #[error("not ready: {0}")]
    NotReady(String),
    /// A route or file that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A request body or path that does not parse.
    #[error("{0}")]
    BadRequest(String),
    /// A JSON body sent without `Content-Type: application/json`.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A `Range` outside the file.
    #[error("range not satisfiable for a file of {size} bytes")]
    RangeNotSatisfiable {
        /// the file's size
        size: u64,
    },
    /// The file route asked for a reference entry: the client fetches it itself.
    #[error("'{path}' is a reference to {reference}; fetch it from there")]
    Reference {
        /// the entry's path
        path: String,
        /// its URI
        reference: String,
    },
    /// A request body over a configured limit, with what the limit is.
    #[error("{0}")]
    TooLarge(String),
    /// The registry could not write a commit's manifest to its spool folder.
    #[error("spooling the manifest to disk: {0}")]
    Spool(std::io::Error),
    /// The registry is busy with work of this kind; retry after `retry_after` seconds.
    #[error("{detail}")]
    Busy {
        /// what is busy, and why
        detail: String,
        /// seconds
        retry_after: u64,
    },
    /// A token over its request rate or its uploads in flight.
    #[error("{detail}")]
    TooManyRequests {
        /// which limit
        detail: String,
        /// seconds
        retry_after: u64,
    },
    /// An upload that would take a project over its storage quota.
    #[error(
        "project {project} holds {used} bytes and its quota is {quota} bytes: these {incoming} \
         bytes would exceed it, so nothing was stored. Delete versions and run `cairn gc`, or \
         ask an admin to raise it: `cairn quota set {project} SIZE`"
    )]
    OverQuota {
        /// `entity/project`
        project: String,
        /// its quota in bytes
        quota: u64,
        /// the bytes it holds
        used: u64,
        /// the bytes refused
        incoming: u64,
    },
    /// A storage error (most client errors are found there).
    #[error(transparent)]
    Store(#[from] cairn_store::Error),
}

impl From<cairn_core::Error> for ApiError {
    fn from(e: cairn_core::Error) -> Self {
        Self::Store(e.into())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::MissingJsonContentType(_) => Self::UnsupportedMediaType(r.body_text()),
            _ => Self::BadRequest(r.body_text()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        Self::BadRequest(r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self::BadRequest(r.body_text())
    }
}

fn problem(status: StatusCode, detail: String) -> Problem {
    Problem {
        type_: "about:blank".into(),
        title: status.canonical_reason().unwrap_or("Error").into(),
        status: status.as_u16(),
        detail,
        missing: None,
        conflicts: None,
        path: None,
        reference: None,
    }
}

impl ApiError {
    /// The problem document for this error.
    pub fn problem(&self) -> Problem {
        use cairn_store::Error as S;
        let detail = self.to_string();
        let status = match self {
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotReady(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            Self::OverQuota { .. } => StatusCode::INSUFFICIENT_STORAGE,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Spool(e) => {
                tracing::error!(error = %e, "spooling a manifest");
                let (status, detail) = if cairn_store::error::io_out_of_space(e) {
                    (
                        StatusCode::INSUFFICIENT_STORAGE,
                        "the registry is out of space for this commit's manifest \
                         (--spool-dir): nothing was committed",
                    )
                } else {
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal error; see the registry's log",
                    )
                };
                return problem(status, detail.into());
            }
            Self::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Reference { path, reference } => {
                let mut p = problem(StatusCode::CONFLICT, detail);
                p.path = Some(path.clone());
                p.reference = Some(reference.clone());
                return p;
            }
            Self::Store(e) => match e {
                S::DigestMismatch { .. } => {
                    crate::monitoring::blob_rejected();
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                S::Invalid(_) | S::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
                S::NotFound(_) => StatusCode::NOT_FOUND,
                S::TypeClash { .. }
                | S::LatestMoved { .. }
                | S::HasAliases { .. }
                | S::IncompleteUpload(_) => StatusCode::CONFLICT,
                S::MissingBlobs(missing) => {
                    let mut p = problem(StatusCode::CONFLICT, detail);
                    p.missing = Some(missing.clone());
                    return p;
                }
                S::Conflicts(paths) => {
                    let mut p = problem(StatusCode::CONFLICT, detail);
                    p.conflicts = Some(paths.iter().map(ToString::to_string).collect());
                    return p;
                }
                S::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                S::Body(_) => StatusCode::BAD_REQUEST,
                S::Collecting(_) => StatusCode::SERVICE_UNAVAILABLE,
                _ if e.is_out_of_space() => {
                    tracing::error!(error = %e, "out of space");
                    return problem(
                        StatusCode::INSUFFICIENT_STORAGE,
                        "the registry is out of space: nothing of this request was stored; \
                         try again once space is freed (cairn gc)"
                            .into(),
                    );
                }
                S::Lock(_) | S::Database(_) | S::Migrate(_) | S::Blob(_) | S::Corrupt(_) => {
                    tracing::error!(error = %e, "internal error");
                    return problem(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal error; see the registry's log".into(),
                    );
                }
            },
        };
        problem(status, detail)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let p = self.problem();
        let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = (status, serde_json::to_string(&p).unwrap_or_default()).into_response();
        let headers = res.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        match &self {
            Self::Unauthorized(_) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::TooManyAttempts { retry_after }
            | Self::Busy { retry_after, .. }
            | Self::TooManyRequests { retry_after, .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            Self::Store(cairn_store::Error::Collecting(_)) => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(COLLECTING_RETRY_AFTER),
                );
            }
            Self::RangeNotSatisfiable { size } => {
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    headers.insert(header::CONTENT_RANGE, v);
                }
            }
            _ => {}
        }
        res
    }
}

/// Seconds a client waits before uploading again a blob garbage collection is deleting.
const COLLECTING_RETRY_AFTER: u64 = 2;

/// Handlers' result type.
pub type ApiResult<T> = Result<T, ApiError>;
