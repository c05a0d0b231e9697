//! Storage quotas per project, and what a project holds.

use cairn_core::wire::Usage;
use sqlx::AnyPool;

use crate::error::{Error, Result};
use crate::meta::ProjectKey;

fn bytes(n: u64) -> Result<i64> {
    i64::try_from(n).map_err(|_| Error::Unprocessable(format!("a quota of {n} bytes is too large")))
}

/// Set (`Some`) or lift (`None`) the quota of `p`.
pub(super) async fn set(pool: &AnyPool, p: &ProjectKey, quota: Option<u64>) -> Result<()> {
    match quota {
        Some(n) => {
            sqlx::query(
                "INSERT INTO quotas (entity, project, bytes) VALUES ($1, $2, $3)
                 ON CONFLICT (entity, project) DO UPDATE SET bytes = excluded.bytes",
            )
            .bind(p.entity.as_str())
            .bind(p.project.as_str())
            .bind(bytes(n)?)
            .execute(pool)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM quotas WHERE entity = $1 AND project = $2")
                .bind(p.entity.as_str())
                .bind(p.project.as_str())
                .execute(pool)
                .await?;
        }
    }
    Ok(())
}

/// The bytes and blobs `p` holds, and its quota.
pub(super) async fn usage(pool: &AnyPool, p: &ProjectKey) -> Result<Usage> {
    let (bytes, blobs, quota): (i64, i64, Option<i64>) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT), COUNT(*),
                (SELECT bytes FROM quotas WHERE entity = $1 AND project = $2)
         FROM project_blobs WHERE entity = $1 AND project = $2",
    )
    .bind(p.entity.as_str())
    .bind(p.project.as_str())
    .fetch_one(pool)
    .await?;
    Ok(Usage {
        bytes: bytes.max(0) as u64,
        blobs: blobs.max(0) as u64,
        quota: quota.map(|q| q.max(0) as u64),
    })
}

/// The quota of `p`, if it has one (one key lookup: asked before every upload).
pub(super) async fn quota(pool: &AnyPool, p: &ProjectKey) -> Result<Option<u64>> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT bytes FROM quotas WHERE entity = $1 AND project = $2")
            .bind(p.entity.as_str())
            .bind(p.project.as_str())
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(q,)| q.max(0) as u64))
}
