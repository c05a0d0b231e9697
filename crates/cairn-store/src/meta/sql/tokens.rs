//! Tokens, stored by the SHA-256 of their secret.

use cairn_core::{Digest, Entity, Project};
use sqlx::AnyPool;

use super::now;
use crate::error::{Error, Result};
use crate::meta::TokenRecord;

pub(super) async fn create(pool: &AnyPool, hash: &Digest, token: &TokenRecord) -> Result<()> {
    sqlx::query("INSERT INTO tokens (hash, name, entity, role, created_at, project, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING")
        .bind(hash.as_bytes().as_slice())
        .bind(&token.name)
        .bind(token.entity.as_ref().map(Entity::as_str))
        .bind(token.role.as_str())
        .bind(now())
        .bind(token.project.as_ref().map(Project::as_str))
        .bind(token.expires_at)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn find(pool: &AnyPool, hash: &Digest) -> Result<Option<TokenRecord>> {
    type Row = (String, Option<String>, String, Option<String>, Option<i64>);
    let row: Option<Row> = sqlx::query_as(
        "SELECT name, entity, role, project, expires_at FROM tokens WHERE hash = $1",
    )
    .bind(hash.as_bytes().as_slice())
    .fetch_optional(pool)
    .await?;
    let corrupt = |e: cairn_core::Error| Error::Corrupt(e.to_string());
    row.map(|(name, entity, role, project, expires_at)| {
        Ok(TokenRecord {
            name,
            entity: entity.map(Entity::new).transpose().map_err(corrupt)?,
            role: role.parse()?,
            project: project.map(Project::new).transpose().map_err(corrupt)?,
            expires_at,
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
