//! Health, identity and tokens.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use cairn_core::wire::{Health, Problem, TokenRequest, TokenResponse, Whoami};
use cairn_store::TokenRecord;

use crate::AppState;
use crate::auth::{Caller, GlobalAdmin, create_token as new_token};
use crate::error::ApiResult;
use crate::extract::ApiJson;

/// This document; needs no token.
#[utoipa::path(get, path = "/api/v1/openapi.json", security(()), responses((status = 200, description = "the OpenAPI document")))]
pub(crate) async fn openapi_json() -> Json<serde_json::Value> {
    static DOC: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    Json(
        DOC.get_or_init(|| serde_json::to_value(crate::openapi()).unwrap_or_default())
            .clone(),
    )
}

/// Liveness; needs no token.
#[utoipa::path(get, path = "/api/v1/health", security(()), responses((status = 200, body = Health)))]
pub(crate) async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        max_blob_size: state.config.max_blob_size,
    })
}

/// Who the token belongs to and what it reaches.
#[utoipa::path(get, path = "/api/v1/whoami", responses((status = 200, body = Whoami), (status = 401, body = Problem)))]
pub(crate) async fn whoami(Caller(token): Caller) -> Json<Whoami> {
    Json(Whoami {
        user: token.name,
        entities: vec![
            token
                .entity
                .map_or_else(|| "*".to_owned(), |e| e.to_string()),
        ],
        role: token.role.as_str().into(),
    })
}

/// Make a token (needs an admin token for every entity); the secret is shown only here.
#[utoipa::path(post, path = "/api/v1/tokens", request_body = TokenRequest,
    responses((status = 201, body = TokenResponse), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn create_token(
    State(state): State<AppState>,
    _: GlobalAdmin,
    ApiJson(req): ApiJson<TokenRequest>,
) -> ApiResult<(StatusCode, Json<TokenResponse>)> {
    let record = TokenRecord {
        name: req.name.unwrap_or_else(|| "token".into()),
        entity: req.entity,
        role: req.role.parse()?,
    };
    let token = new_token(state.meta.as_ref(), &record).await?;
    Ok((StatusCode::CREATED, Json(TokenResponse { token })))
}
