//! Tokens, stored by the SHA-256 of their secret.

use cairn_core::{Digest, Entity};
use sqlx::AnyPool;

use super::now;
use crate::error::{Error, Result};
use crate::meta::TokenRecord;

pub(super) async fn create(pool: &AnyPool, hash: &Digest, token: &TokenRecord) -> Result<()> {
    sqlx::query("INSERT INTO tokens (hash, name, entity, role, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING")
        .bind(hash.as_bytes().as_slice())
        .bind(&token.name)
        .bind(token.entity.as_ref().map(Entity::as_str))
        .bind(token.role.as_str())
        .bind(now())
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn find(pool: &AnyPool, hash: &Digest) -> Result<Option<TokenRecord>> {
    let row: Option<(String, Option<String>, String)> =
        sqlx::query_as("SELECT name, entity, role FROM tokens WHERE hash = $1")
            .bind(hash.as_bytes().as_slice())
            .fetch_optional(pool)
            .await?;
    row.map(|(name, entity, role)| {
        Ok(TokenRecord {
            name,
            entity: entity
                .map(Entity::new)
                .transpose()
                .map_err(|e| Error::Corrupt(e.to_string()))?,
            role: role.parse()?,
        })
    })
    .transpose()
}

pub(super) async fn has_admin(pool: &AnyPool) -> Result<bool> {
    let n: i64 =
        sqlx::query_scalar("SELECT count(*) FROM tokens WHERE entity IS NULL AND role = 'admin'")
            .fetch_one(pool)
            .await?;
    Ok(n > 0)
}
