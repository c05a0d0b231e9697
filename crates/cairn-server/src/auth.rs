//! Bearer tokens: who is calling, and what they may do where. Tokens are random secrets; the
//! registry keeps only their SHA-256.

use std::borrow::Cow;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, RawPathParams};
use axum::http::header;
use axum::http::request::Parts;
use cairn_core::{Digest, Entity, Project};
use cairn_store::{MetadataStore, ProjectKey, Role, TokenRecord};

use crate::AppState;
use crate::error::ApiError;

/// Prefix of every token Cairn makes.
pub const TOKEN_PREFIX: &str = "cairn_";

/// The authenticated caller.
#[derive(Clone, Debug)]
pub struct Caller(pub TokenRecord);

impl Caller {
    /// Fail with 403 unless the caller may act as `role` on `entity` (in `project`, when the
    /// request names one: a token limited to one project reaches nothing else).
    pub fn require_entity(
        &self,
        entity: &Entity,
        project: Option<&Project>,
        role: Role,
    ) -> Result<(), ApiError> {
        let t = &self.0;
        if t.entity.as_ref().is_some_and(|e| e != entity) {
            return Err(ApiError::Forbidden(format!(
                "this token cannot access entity '{entity}'"
            )));
        }
        if let Some(scope) = &t.project
            && project != Some(scope)
        {
            return Err(ApiError::Forbidden(format!(
                "this token reaches only project '{entity}/{scope}'"
            )));
        }
        if t.role < role {
            return Err(ApiError::Forbidden(format!(
                "this token has the {} role on '{entity}'; this needs {}",
                t.role.as_str(),
                role.as_str()
            )));
        }
        Ok(())
    }

    /// Fail with 403 unless the caller may act as `role` in `project`.
    pub fn require(&self, project: &ProjectKey, role: Role) -> Result<(), ApiError> {
        self.require_entity(&project.entity, Some(&project.project), role)
    }

    /// Fail with 403 unless the caller is an administrator of every entity.
    pub fn require_global_admin(&self) -> Result<(), ApiError> {
        if !self.is_global_admin() {
            return Err(ApiError::Forbidden(
                "this needs an admin token for every entity".into(),
            ));
        }
        Ok(())
    }

    /// An admin token for every entity and project, that never expires.
    pub fn is_global_admin(&self) -> bool {
        let t = &self.0;
        t.entity.is_none() && t.project.is_none() && t.role == Role::Admin && t.expires_at.is_none()
    }
}

/// Now, in Unix seconds (token expiry).
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Unix seconds as RFC 3339 (`2026-12-07T17:00:00Z`): token expiry on the wire.
pub fn rfc3339(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The secret of an `Authorization` header: `Bearer <secret>`, or `Basic` with the secret as
/// the password (what the W&B SDK sends: `api:<key>`; the user name is not looked at).
/// `None` for any other form.
pub fn bearer_secret(value: &axum::http::HeaderValue) -> Option<Cow<'_, str>> {
    use base64::Engine;
    let value = value.to_str().ok()?;
    if let Some(secret) = value.strip_prefix("Bearer ") {
        return Some(Cow::Borrowed(secret.trim()));
    }
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let pair = String::from_utf8(decoded).ok()?;
    let (_, secret) = pair.split_once(':')?;
    Some(Cow::Owned(secret.to_owned()))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(ApiError::Unauthorized(
                "no token: send 'Authorization: Bearer <token>'",
            ));
        };
        let client = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| crate::proxy::client(c.0.ip(), &parts.headers, &state.config.trusted_proxies));
        let limit = state.config.auth_failures_per_minute;
        let secret = bearer_secret(value);
        let secret = secret.as_deref();
        // the secret is looked up by its SHA-256: a timing difference can only reveal a hash
        // prefix, which says nothing about any secret
        let record = match secret {
            Some(s) => state.meta.token(&Digest::of(s.as_bytes())).await?,
            None => None,
        };
        match record {
            // an expired token is not a guess: no throttling, but a message that says why
            Some(r) if r.expired(now_secs()) => {
                Err(ApiError::Unauthorized("this token has expired"))
            }
            // a valid token always passes, throttled address or not: behind a proxy every user
            // shares one address, and a 256-bit secret is not guessed by trying
            Some(r) => Ok(Self(r)),
            None => {
                if let Some(retry_after) = client.and_then(|ip| state.throttle.blocked(ip, limit)) {
                    return Err(ApiError::TooManyAttempts { retry_after });
                }
                if let Some(ip) = client {
                    state.throttle.failed(ip);
                }
                Err(ApiError::Unauthorized(if secret.is_some() {
                    "unknown token"
                } else {
                    "the Authorization header is not 'Bearer <token>' (or Basic with the token as password)"
                }))
            }
        }
    }
}

/// Role levels for [`Allowed`] (const generic parameters cannot be enums).
pub const READ: u8 = 0;
/// See [`READ`].
pub const WRITE: u8 = 1;
/// See [`READ`].
pub const ADMIN: u8 = 2;

/// A caller allowed at least role `R` (see [`READ`]) on the entity named in the request's
/// path. Checked from the headers and the path alone, before any body is read, so a caller
/// without the right never makes the registry parse or store a byte.
#[derive(Clone, Debug)]
pub struct Allowed<const R: u8>(pub TokenRecord);

impl<const R: u8> FromRequestParts<AppState> for Allowed<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        let param = |name: &str| params.iter().find_map(|(k, v)| (k == name).then_some(v));
        let entity: Entity = param("entity")
            .ok_or_else(|| ApiError::BadRequest("the path names no entity".into()))?
            .parse()?;
        let project: Option<Project> = param("project").map(str::parse).transpose()?;
        let role = match R {
            READ => Role::Read,
            WRITE => Role::Write,
            _ => Role::Admin,
        };
        caller.require_entity(&entity, project.as_ref(), role)?;
        Ok(Self(caller.0))
    }
}

/// A caller that administers every entity (checked before any body is read).
#[derive(Clone, Debug)]
pub struct GlobalAdmin(pub TokenRecord);

impl FromRequestParts<AppState> for GlobalAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.require_global_admin()?;
        Ok(Self(caller.0))
    }
}

/// A fresh random token secret.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{TOKEN_PREFIX}{hex}")
}

/// Store a new token and return its secret (shown once; only its hash is kept).
pub async fn create_token(
    meta: &dyn MetadataStore,
    record: &TokenRecord,
) -> cairn_store::Result<String> {
    let secret = new_secret();
    meta.create_token(&Digest::of(secret.as_bytes()), record)
        .await?;
    Ok(secret)
}

/// Make sure an admin token exists. With `configured` (from `CAIRN_ADMIN_TOKEN`), that value
/// becomes an admin token; otherwise, on the first start only, a random one is made and
/// returned so the caller can print it once.
pub async fn bootstrap_admin(
    meta: &dyn MetadataStore,
    configured: Option<&str>,
) -> cairn_store::Result<Option<String>> {
    let admin = TokenRecord::new("admin", None, Role::Admin);
    if let Some(secret) = configured {
        let hash = Digest::of(secret.as_bytes());
        if meta.token(&hash).await?.is_none() {
            meta.create_token(&hash, &admin).await?;
        }
        return Ok(None);
    }
    if meta.has_admin_token().await? {
        return Ok(None);
    }
    create_token(meta, &admin).await.map(Some)
}
