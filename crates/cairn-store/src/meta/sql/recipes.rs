//! Blobs stored as chunks in packs: their recipes, and the collection of packs no recipe names.

use std::collections::HashSet;

use cairn_core::Digest;
use sqlx::AnyConnection;

use super::{Dialect, GC_LOCK, blobs, now as now_text, placeholders, stored_digest};
use crate::error::Result;
use crate::meta::{GcMarks, ProjectKey, Recorded};
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

/// Whether `digest` is stored as chunks.
pub(super) async fn has_recipe(conn: &mut AnyConnection, digest: &Digest) -> Result<bool> {
    let row: Option<i64> = sqlx::query_scalar("SELECT size FROM recipes WHERE digest = $1")
        .bind(digest.as_bytes().to_vec())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.is_some())
}

/// Those of `packs` that are doomed.
async fn doomed_among(conn: &mut AnyConnection, packs: &[PackKey]) -> Result<HashSet<PackKey>> {
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

/// The collection epoch, then which of `digests` and `packs` are doomed (in that order: a
/// doom after the epoch was read moves the epoch).
pub(super) async fn marks(
    conn: &mut AnyConnection,
    digests: &[Digest],
    packs: &[PackKey],
) -> Result<GcMarks> {
    let epoch: i64 = sqlx::query_scalar("SELECT epoch FROM gc_state WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?;
    Ok(GcMarks {
        epoch,
        doomed: doomed_digests(conn, digests).await?,
        doomed_packs: doomed_among(conn, packs).await?,
    })
}

async fn doomed_digests(conn: &mut AnyConnection, digests: &[Digest]) -> Result<HashSet<Digest>> {
    let mut out = HashSet::new();
    for batch in digests.chunks(500) {
        let sql = format!(
            "SELECT digest FROM gc_doomed WHERE digest IN ({})",
            placeholders(1, batch.len())
        );
        let mut q = sqlx::query_scalar::<_, Vec<u8>>(&sql);
        for d in batch {
            q = q.bind(d.as_bytes().to_vec());
        }
        for key in q.fetch_all(&mut *conn).await? {
            out.insert(stored_digest(key)?);
        }
    }
    Ok(out)
}

/// Inside the caller's write transaction: for each recipe, store it (unless the blob has one)
/// and record that the project holds the blob, provided no collection doomed anything since
/// `epoch` was read and neither the blob nor any of its packs is doomed; `Collected` (nothing
/// written for it) otherwise.
pub(super) async fn record(
    conn: &mut AnyConnection,
    p: &ProjectKey,
    recipes: &[Recipe],
    epoch: i64,
) -> Result<Vec<Recorded>> {
    if Dialect::of(conn) == Dialect::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock_shared($1)")
            .bind(GC_LOCK)
            .execute(&mut *conn)
            .await?;
    }
    let digests: Vec<Digest> = recipes.iter().map(|r| r.digest).collect();
    let packs: Vec<PackKey> = recipes
        .iter()
        .flat_map(|r| r.packs.iter().cloned())
        .collect();
    let now = marks(conn, &digests, &packs).await?;
    let held = blobs::held(conn, p, &digests).await?;
    let mut out = Vec::with_capacity(recipes.len());
    let mut fresh = Vec::new();
    for recipe in recipes {
        let collected = now.epoch != epoch
            || now.doomed.contains(&recipe.digest)
            || recipe.packs.iter().any(|p| now.doomed_packs.contains(p));
        out.push(if collected {
            Recorded::Collected
        } else if held.contains_key(&recipe.digest) {
            fresh.push(recipe);
            Recorded::Refreshed
        } else {
            fresh.push(recipe);
            Recorded::New
        });
    }
    // checked under the transaction (the collection's metadata step excludes it)
    insert(conn, &fresh).await?;
    let at = now_text();
    for batch in fresh.chunks(200) {
        let sql = format!(
            "INSERT INTO project_blobs (entity, project, digest, size, created_at) VALUES {}
             ON CONFLICT (entity, project, digest) DO UPDATE SET created_at = excluded.created_at",
            rows(batch.len(), 5)
        );
        let mut q = sqlx::query(&sql);
        for r in batch {
            q = q
                .bind(p.entity.as_str())
                .bind(p.project.as_str())
                .bind(r.digest.as_bytes().to_vec())
                .bind(r.size as i64)
                .bind(at.clone());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(out)
}

/// Inside the caller's write transaction: store `list` (a blob with a recipe already keeps its
/// own) and which packs each recipe stored reads, many rows to a statement.
pub(super) async fn insert(conn: &mut AnyConnection, fresh: &[&Recipe]) -> Result<()> {
    let mut stored = HashSet::new();
    for batch in fresh.chunks(300) {
        let sql = format!(
            "INSERT INTO recipes (digest, size, body) VALUES {} ON CONFLICT DO NOTHING RETURNING digest",
            rows(batch.len(), 3)
        );
        let mut q = sqlx::query_scalar::<_, Vec<u8>>(&sql);
        for r in batch {
            q = q
                .bind(r.digest.as_bytes().to_vec())
                .bind(r.size as i64)
                .bind(r.encode());
        }
        for key in q.fetch_all(&mut *conn).await? {
            stored.insert(stored_digest(key)?);
        }
    }
    // which packs the recipes stored now read (a recipe already there keeps its own)
    let links: Vec<(String, &Digest)> = fresh
        .iter()
        .filter(|r| stored.contains(&r.digest))
        .flat_map(|r| r.packs.iter().map(move |p| (p.to_string(), &r.digest)))
        .collect();
    for batch in links.chunks(400) {
        let sql = format!(
            "INSERT INTO recipe_packs (pack, digest) VALUES {} ON CONFLICT DO NOTHING",
            rows(batch.len(), 2)
        );
        let mut q = sqlx::query(&sql);
        for (pack, digest) in batch {
            q = q.bind(pack.clone()).bind(digest.as_bytes().to_vec());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// `($1, $2, $3), ($4, $5, $6), …`: `n` rows of `width` bind parameters.
pub(super) fn rows(n: usize, width: usize) -> String {
    (0..n)
        .map(|i| format!("({})", placeholders(i * width + 1, width)))
        .collect::<Vec<_>>()
        .join(", ")
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
    let at = now_text();
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

/// Those of `candidates` no recipe names once the recipes of `forgotten` are gone (a dry run's
/// answer to "which packs would a collection delete").
pub(super) async fn unnamed(
    conn: &mut AnyConnection,
    candidates: &[PackKey],
    forgotten: &[Digest],
) -> Result<Vec<PackKey>> {
    let forgotten: HashSet<&Digest> = forgotten.iter().collect();
    let mut named = HashSet::new();
    for batch in candidates.chunks(400) {
        let sql = format!(
            "SELECT pack, digest FROM recipe_packs WHERE pack IN ({})",
            placeholders(1, batch.len())
        );
        let mut q = sqlx::query_as::<_, (String, Vec<u8>)>(&sql);
        for p in batch {
            q = q.bind(p.to_string());
        }
        for (pack, digest) in q.fetch_all(&mut *conn).await? {
            if !forgotten.contains(&stored_digest(digest)?) {
                named.insert(pack);
            }
        }
    }
    Ok(candidates
        .iter()
        .filter(|p| !named.contains(&p.to_string()))
        .cloned()
        .collect())
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
