//! Health, identity and tokens.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use cairn_core::wire::{Health, Problem, TokenRequest, TokenResponse, Whoami};
use cairn_store::{Role, TokenRecord};

use crate::AppState;
use crate::auth::{Caller, create_token as new_token, now_secs, rfc3339};
use crate::error::ApiError;
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
        max_upload_size: state.config.max_upload_size,
    })
}

/// Readiness (needs no token): 200 while the metadata store and the blob store answer and the process is not
/// shutting down; 503 (naming which) otherwise. `/api/v1/health` is the cheap liveness check.
#[utoipa::path(get, path = "/api/v1/ready", security(()), responses((status = 200, body = Health), (status = 503, body = Problem)))]
pub(crate) async fn ready(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    if state.draining.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(ApiError::NotReady("shutting down".into()));
    }
    // a lookup of a digest no one stores, in each store
    let probe = cairn_core::Digest::of(b"cairn readiness probe");
    if let Err(e) = state.meta.has_recipe(&probe).await {
        return Err(ApiError::NotReady(format!(
            "the metadata store does not answer: {e}"
        )));
    }
    if let Err(e) = state.blobs.size(&probe).await {
        return Err(ApiError::NotReady(format!(
            "the blob store does not answer: {e}"
        )));
    }
    Ok(health(State(state)).await)
}

/// The projects the token reaches that hold artifacts, with their artifact and version
/// counts and last activity.
#[utoipa::path(get, path = "/api/v1/projects", responses((status = 200, body = cairn_core::wire::ProjectList), (status = 401, body = Problem)))]
pub(crate) async fn projects(
    State(state): State<AppState>,
    Caller(token): Caller,
) -> crate::error::ApiResult<Json<cairn_core::wire::ProjectList>> {
    let projects = state
        .meta
        .list_projects(token.entity.as_ref(), token.project.as_ref())
        .await?;
    Ok(Json(cairn_core::wire::ProjectList { projects }))
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
        project: token.project.map(|p| p.to_string()),
        expires_at: token.expires_at.map(rfc3339),
    })
}

/// Longest life of a token made by anyone but an admin of every entity.
pub const MAX_SCOPED_LIFETIME: u64 = 7 * 86_400;

/// Make a token no stronger than the caller's (see `TokenRequest`); the secret is shown only
/// here. Dashboards mint short-lived project tokens this way for embedded uploaders.
#[utoipa::path(post, path = "/api/v1/tokens", request_body = TokenRequest,
    responses((status = 201, body = TokenResponse), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<TokenRequest>,
) -> ApiResult<(StatusCode, Json<TokenResponse>)> {
    let role: Role = req.role.parse()?;
    let unprocessable = |m: &str| Err(cairn_store::Error::Unprocessable(m.to_owned()).into());
    let global = caller.is_global_admin();
    let entity = req.entity.or_else(|| caller.0.entity.clone());
    let project = req.project.or_else(|| caller.0.project.clone());
    if project.is_some() && entity.is_none() {
        return unprocessable("a token for one project needs its entity: set entity");
    }
    if entity.is_none() && role != Role::Admin {
        return unprocessable("a token for every entity must be an admin token: set entity");
    }
    let expires_at = match req.expires_in {
        Some(0) => return unprocessable("expires_in must be at least 1 second"),
        Some(s) if !global && s > MAX_SCOPED_LIFETIME => {
            return unprocessable(&format!(
                "expires_in is at most {MAX_SCOPED_LIFETIME} seconds (7 days) unless an admin token for every entity asks"
            ));
        }
        Some(s) => Some(now_secs().saturating_add(i64::try_from(s).unwrap_or(i64::MAX))),
        None if !global => {
            return unprocessable(&format!(
                "only an admin token for every entity makes tokens that never expire: set expires_in (at most {MAX_SCOPED_LIFETIME} seconds)"
            ));
        }
        None => None,
    };
    if !global {
        let Some(e) = &entity else {
            return Err(ApiError::Forbidden(
                "only an admin token for every entity makes tokens for every entity".into(),
            ));
        };
        caller.require_entity(e, project.as_ref(), role)?;
        if let (Some(mine), Some(new)) = (caller.0.expires_at, expires_at)
            && new > mine
        {
            return unprocessable(&format!(
                "the new token would outlive this one (it expires at {}): ask for a shorter expires_in",
                rfc3339(mine)
            ));
        }
    }
    let record = TokenRecord {
        project,
        expires_at,
        ..TokenRecord::new(req.name.unwrap_or_else(|| "token".into()), entity, role)
    };
    let token = new_token(state.meta.as_ref(), &record).await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenResponse {
            token,
            expires_at: expires_at.map(rfc3339),
        }),
    ))
}
