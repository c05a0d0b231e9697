//! Blobs stored as chunks in packs: their recipes, and the collection of packs no recipe names.

use std::collections::HashSet;

use cairn_core::Digest;
use sqlx::AnyConnection;

use super::{Dialect, GC_LOCK, blobs, now, placeholders};
use crate::error::Result;
use crate::meta::{GcMark, ProjectKey, Recorded};
use crate::recipe::{PackKey, Recipe};

/// The recipe of `digest`, if it is stored as chunks.
pub(super) async fn recipe(conn: &mut AnyConnection, digest: &Digest) -> Result<Option<Recipe>> {
    let row: Option<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT size, body FROM recipes WHERE digest = $1")
            .bind(digest.as_bytes().to_vec())
            .fetch_optional(&mut *conn)
            .await?;
    row.map(|(size, body)| Recipe::decode(*digest, size as u64, &body))
        .transpose()
}

/// Those of `packs` that are doomed.
pub(super) async fn doomed_among(
    conn: &mut AnyConnection,
    packs: &[PackKey],
) -> Result<HashSet<PackKey>> {
    let mut out = HashSet::new();
    for batch in packs.chunks(500) {
        let sql = format!(
            "SELECT pack FROM gc_doomed_packs WHERE pack IN ({})",
            placeholders(1, batch.len())
        );
        let mut q = sqlx::query_scalar::<_, String>(&sql);
        for p in batch {
            q = q.bind(p.to_string());
        }
        for key in q.fetch_all(&mut *conn).await? {
            out.insert(key.parse()?);
        }
    }
    Ok(out)
}

/// Inside the caller's write transaction: store `recipe` (unless the blob has one) and record
/// that the project holds the blob, provided no collection doomed anything since `seen` and
/// neither the blob nor any of its packs is doomed; `Collected` (nothing written) otherwise.
pub(super) async fn record(
    conn: &mut AnyConnection,
    p: &ProjectKey,
    recipe: &Recipe,
    seen: GcMark,
) -> Result<Recorded> {
    if seen.doomed {
        return Ok(Recorded::Collected);
    }
    if Dialect::of(conn) == Dialect::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock_shared($1)")
            .bind(GC_LOCK)
            .execute(&mut *conn)
            .await?;
    }
    let key = recipe.digest.as_bytes().to_vec();
    let (epoch, doomed): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT epoch FROM gc_state WHERE id = 1),
                (SELECT COUNT(*) FROM gc_doomed WHERE digest = $1)",
    )
    .bind(key.clone())
    .fetch_one(&mut *conn)
    .await?;
    if epoch != seen.epoch || doomed > 0 || !doomed_among(conn, &recipe.packs).await?.is_empty() {
        return Ok(Recorded::Collected);
    }
    let added = sqlx::query(
        "INSERT INTO recipes (digest, size, body) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(key.clone())
    .bind(recipe.size as i64)
    .bind(recipe.encode())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if added == 1 {
        for pack in &recipe.packs {
            sqlx::query(
                "INSERT INTO recipe_packs (pack, digest) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(pack.to_string())
            .bind(key.clone())
            .execute(&mut *conn)
            .await?;
        }
    }
    blobs::record(conn, p, &recipe.digest, recipe.size, seen).await
}

/// Inside the caller's write transaction: doom those of `candidates` no recipe names and
/// advance the epoch (so an assembly that read its mark before this records nothing); answer
/// the doomed ones. On PostgreSQL it excludes assemblies recording meanwhile ([`GC_LOCK`]).
pub(super) async fn doom(conn: &mut AnyConnection, candidates: &[PackKey]) -> Result<Vec<PackKey>> {
    if Dialect::of(conn) == Dialect::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(GC_LOCK)
            .execute(&mut *conn)
            .await?;
    }
    let mut doomed = Vec::new();
    let at = now();
    for batch in candidates.chunks(400) {
        let sql = format!(
            "SELECT DISTINCT pack FROM recipe_packs WHERE pack IN ({})",
            placeholders(1, batch.len())
        );
        let mut q = sqlx::query_scalar::<_, String>(&sql);
        for p in batch {
            q = q.bind(p.to_string());
        }
        let named: HashSet<String> = q.fetch_all(&mut *conn).await?.into_iter().collect();
        for pack in batch.iter().filter(|p| !named.contains(&p.to_string())) {
            sqlx::query(
                "INSERT INTO gc_doomed_packs (pack, doomed_at) VALUES ($1, $2)
                 ON CONFLICT DO NOTHING",
            )
            .bind(pack.to_string())
            .bind(at.clone())
            .execute(&mut *conn)
            .await?;
            doomed.push(pack.clone());
        }
    }
    if !doomed.is_empty() {
        sqlx::query("UPDATE gc_state SET epoch = epoch + 1 WHERE id = 1")
            .execute(&mut *conn)
            .await?;
    }
    Ok(doomed)
}

/// The doomed packs (an interrupted collection's, when no collection runs).
pub(super) async fn doomed(conn: &mut AnyConnection) -> Result<Vec<PackKey>> {
    let keys: Vec<String> = sqlx::query_scalar("SELECT pack FROM gc_doomed_packs")
        .fetch_all(&mut *conn)
        .await?;
    keys.iter().map(|k| k.parse()).collect()
}

/// Forget that `packs` are doomed: they are deleted.
pub(super) async fn release(conn: &mut AnyConnection, packs: &[PackKey]) -> Result<()> {
    for batch in packs.chunks(500) {
        let sql = format!(
            "DELETE FROM gc_doomed_packs WHERE pack IN ({})",
            placeholders(1, batch.len())
        );
        let mut q = sqlx::query(&sql);
        for p in batch {
            q = q.bind(p.to_string());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}
