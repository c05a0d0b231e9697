//! One error type for the layer, answered as a GraphQL error (`{"errors": [...]}`) on
//! `/graphql` and as a plain status with a message on the file routes.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cairn_server::ApiError;

/// What went wrong answering the W&B SDK.
#[derive(Debug, thiserror::Error)]
pub enum WandbError {
    /// No key, or one Cairn does not know.
    #[error("{0}")]
    Unauthorized(String),
    /// The key's role does not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// Something named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request is malformed or breaks a rule.
    #[error("{0}")]
    Invalid(String),
    /// An operation this layer does not implement (named, never answered wrongly).
    #[error("Cairn does not implement the W&B operation {0:?}")]
    Unsupported(String),
    /// A signed URL that is malformed, forged or expired.
    #[error("{0}")]
    Ticket(String),
    /// The native API's refusal (its status and wording kept).
    #[error("{0}")]
    Api(#[from] ApiError),
}

impl From<cairn_store::Error> for WandbError {
    fn from(e: cairn_store::Error) -> Self {
        Self::Api(e.into())
    }
}

impl From<cairn_core::Error> for WandbError {
    fn from(e: cairn_core::Error) -> Self {
        Self::Invalid(e.to_string())
    }
}

impl WandbError {
    /// The HTTP status and the message: the client retries 5xx and 429, gives up on other 4xx.
    fn parts(self) -> (StatusCode, String) {
        let message = self.to_string();
        let status = match self {
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::Ticket(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Invalid(_) | Self::Unsupported(_) => StatusCode::BAD_REQUEST,
            Self::Api(e) => e.into_response().status(),
        };
        (status, message)
    }

    /// As a GraphQL answer: a refusal the client should not retry is sent with 200 (as GraphQL
    /// servers do) unless it is about the key; server trouble keeps its 5xx (and 429 its
    /// status) so the client retries.
    pub fn graphql(self) -> Response {
        let (status, message) = self.parts();
        let status = match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => status,
            s if s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS => s,
            _ => StatusCode::OK,
        };
        let body = serde_json::json!({ "data": null, "errors": [{ "message": message }] });
        (status, Json(body)).into_response()
    }
}

impl IntoResponse for WandbError {
    fn into_response(self) -> Response {
        match self {
            Self::Api(e) => e.into_response(),
            other => other.parts().into_response(),
        }
    }
}

/// Results of this crate.
pub type Result<T, E = WandbError> = std::result::Result<T, E>;
