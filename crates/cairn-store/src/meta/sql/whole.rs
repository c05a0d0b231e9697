//! Blobs stored whole, packed by garbage collection: which ones are left, recording their
//! recipes, and the whole objects a later collection deletes.

use cairn_core::Digest;
use sqlx::AnyConnection;

use super::{Dialect, GC_LOCK, now, recipes, stored_digest};
use crate::error::{Error, Result};
use crate::meta::{ProjectKey, WholeBlob};
use crate::recipe::Recipe;

fn corrupt(e: impl std::fmt::Display) -> Error {
    Error::Corrupt(format!("a stored project name: {e}"))
}

/// Up to `limit` held blobs without a recipe, in (project, digest) order after `after`.
pub(super) async fn list(
    conn: &mut AnyConnection,
    after: Option<&WholeBlob>,
    limit: usize,
) -> Result<Vec<WholeBlob>> {
    let base = "SELECT entity, project, digest, size FROM project_blobs pb
                WHERE NOT EXISTS (SELECT 1 FROM recipes r WHERE r.digest = pb.digest)";
    let order = "ORDER BY entity, project, digest";
    let rows: Vec<(String, String, Vec<u8>, i64)> = match after {
        None => {
            sqlx::query_as(&format!("{base} {order} LIMIT $1"))
                .bind(limit as i64)
                .fetch_all(&mut *conn)
                .await?
        }
        Some(a) => {
            sqlx::query_as(&format!(
                "{base} AND (entity, project, digest) > ($1, $2, $3) {order} LIMIT $4"
            ))
            .bind(a.project.entity.as_str())
            .bind(a.project.project.as_str())
            .bind(a.digest.as_bytes().to_vec())
            .bind(limit as i64)
            .fetch_all(&mut *conn)
            .await?
        }
    };
    rows.into_iter()
        .map(|(entity, project, digest, size)| {
            Ok(WholeBlob {
                project: ProjectKey {
                    entity: entity.parse().map_err(corrupt)?,
                    project: project.parse().map_err(corrupt)?,
                },
                digest: stored_digest(digest)?,
                size: size as u64,
            })
        })
        .collect()
}

/// Inside the caller's write transaction: store the recipes of blobs a collection packed
/// (those that have one already keep it) and note that their whole objects are superseded,
/// provided the epoch is still `epoch` and nothing they name is doomed; how many were recorded
/// (none otherwise).
pub(super) async fn record(conn: &mut AnyConnection, list: &[Recipe], epoch: i64) -> Result<usize> {
    if Dialect::of(conn) == Dialect::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock_shared($1)")
            .bind(GC_LOCK)
            .execute(&mut *conn)
            .await?;
    }
    let digests: Vec<Digest> = list.iter().map(|r| r.digest).collect();
    let packs: Vec<_> = list.iter().flat_map(|r| r.packs.iter().cloned()).collect();
    let marks = recipes::marks(conn, &digests, &packs).await?;
    let fresh: Vec<&Recipe> = list
        .iter()
        .filter(|r| {
            marks.epoch == epoch
                && !marks.doomed.contains(&r.digest)
                && !r.packs.iter().any(|p| marks.doomed_packs.contains(p))
        })
        .collect();
    recipes::insert(conn, &fresh).await?;
    let at = now();
    for batch in fresh.chunks(400) {
        let sql = format!(
            "INSERT INTO gc_whole_packed (digest, packed_at) VALUES {} ON CONFLICT DO NOTHING",
            recipes::rows(batch.len(), 2)
        );
        let mut q = sqlx::query(&sql);
        for r in batch {
            q = q.bind(r.digest.as_bytes().to_vec()).bind(at.clone());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(fresh.len())
}

/// The blobs packed before `cutoff` (RFC 3339) whose whole objects may still be stored.
pub(super) async fn superseded(conn: &mut AnyConnection, cutoff: &str) -> Result<Vec<Digest>> {
    let rows: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT digest FROM gc_whole_packed WHERE packed_at < $1 ORDER BY digest",
    )
    .bind(cutoff)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(stored_digest).collect()
}

/// Their whole objects are deleted (or were never there).
pub(super) async fn forget(conn: &mut AnyConnection, digests: &[Digest]) -> Result<()> {
    let keys: Vec<Vec<u8>> = digests.iter().map(|d| d.as_bytes().to_vec()).collect();
    super::gc::delete_keys(conn, "gc_whole_packed", &keys).await
}
