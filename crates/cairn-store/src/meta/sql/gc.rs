//! Garbage collection of blobs: forget, for every project, the blobs that no committed or
//! pending version references and that no upload recorded since the grace cutoff.

use std::collections::HashSet;

use cairn_core::{Digest, Manifest};
use sqlx::AnyConnection;

use super::pages::Pages;
use super::{Dialect, GC_LOCK, placeholders, stored_digest};
use crate::error::{Error, Result};

fn corrupt(e: impl std::fmt::Display) -> Error {
    Error::Corrupt(e.to_string())
}

/// The blobs every committed and pending version references; also deletes the manifest pages
/// no version lists any more (unless `dry_run`).
async fn referenced(conn: &mut AnyConnection, dry_run: bool) -> Result<HashSet<Digest>> {
    let mut live = HashSet::new();
    let mut live_pages = HashSet::new();
    let rows: Vec<(Vec<u8>, Option<String>)> =
        sqlx::query_as("SELECT manifest, pages FROM versions")
            .fetch_all(&mut *conn)
            .await?;
    for (manifest, paged) in rows {
        match paged {
            Some(p) => live_pages.extend(Pages::from_json(&p)?.digests().map(str::to_owned)),
            None => live.extend(
                Manifest::from_json(&manifest)
                    .map_err(corrupt)?
                    .stored_blobs(),
            ),
        }
    }
    let pending: Vec<Vec<u8>> = sqlx::query_scalar("SELECT manifest FROM pending")
        .fetch_all(&mut *conn)
        .await?;
    for manifest in pending {
        live.extend(
            Manifest::from_json(&manifest)
                .map_err(corrupt)?
                .stored_blobs(),
        );
    }
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT digest FROM manifest_pages")
        .fetch_all(&mut *conn)
        .await?;
    let mut dead_pages = Vec::new();
    let mut pages = Vec::new();
    for key in stored {
        if live_pages.contains(&stored_digest(key.clone())?.hex()) {
            pages.push(key)
        } else {
            dead_pages.push(key)
        }
    }
    for batch in pages.chunks(200) {
        let sql = format!(
            "SELECT body FROM manifest_pages WHERE digest IN ({})",
            placeholders(1, batch.len())
        );
        let mut q = sqlx::query_scalar::<_, Vec<u8>>(&sql);
        for key in batch {
            q = q.bind(key.clone());
        }
        for body in q.fetch_all(&mut *conn).await? {
            live.extend(Manifest::from_json(&body).map_err(corrupt)?.stored_blobs());
        }
    }
    if !dry_run {
        delete_keys(conn, "manifest_pages", &dead_pages).await?;
    }
    Ok(live)
}

/// Delete the rows of `table` whose `digest` column is one of `keys` (stored digests), 500 to a
/// statement.
pub(super) async fn delete_keys(
    conn: &mut AnyConnection,
    table: &str,
    keys: &[Vec<u8>],
) -> Result<()> {
    for batch in keys.chunks(500) {
        let sql = format!(
            "DELETE FROM {table} WHERE digest IN ({})",
            placeholders(1, batch.len())
        );
        let mut q = sqlx::query(&sql);
        for key in batch {
            q = q.bind(key.clone());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Inside the caller's write transaction: forget unreferenced blobs recorded before `cutoff`
/// (RFC 3339), and doom and answer those no project holds any more (their bytes may go). On PostgreSQL
/// this waits for the commits in flight and holds new ones back until it is done (they take
/// [`GC_LOCK`] shared), so no commit can rely on a blob this forgets.
pub(super) async fn forget(
    conn: &mut AnyConnection,
    cutoff: &str,
    dry_run: bool,
) -> Result<Vec<Digest>> {
    if Dialect::of(conn) == Dialect::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(GC_LOCK)
            .execute(&mut *conn)
            .await?;
    }
    let live = referenced(conn, dry_run).await?;
    let old: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT DISTINCT digest FROM project_blobs WHERE created_at < $1")
            .bind(cutoff)
            .fetch_all(&mut *conn)
            .await?;
    let mut dead = Vec::new();
    for bytes in old {
        let d = stored_digest(bytes)?;
        if !live.contains(&d) {
            dead.push(d);
        }
    }
    if dry_run {
        return Ok(dead);
    }
    let mut freed = Vec::new();
    for batch in dead.chunks(500) {
        let list = placeholders(2, batch.len());
        let sql = format!("DELETE FROM project_blobs WHERE created_at < $1 AND digest IN ({list})");
        let mut q = sqlx::query(&sql).bind(cutoff);
        for d in batch {
            q = q.bind(d.as_bytes().to_vec());
        }
        q.execute(&mut *conn).await?;
        // a project that uploaded the same bytes after the cutoff still holds them
        let sql = format!(
            "SELECT DISTINCT digest FROM project_blobs WHERE digest IN ({})",
            placeholders(1, batch.len())
        );
        let mut q = sqlx::query_scalar::<_, Vec<u8>>(&sql);
        for d in batch {
            q = q.bind(d.as_bytes().to_vec());
        }
        let kept: HashSet<Digest> = q
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(stored_digest)
            .collect::<Result<_>>()?;
        freed.extend(batch.iter().filter(|d| !kept.contains(d)).copied());
    }
    doom(conn, &freed).await?;
    // no project holds them: their recipes go now, so their packs can follow
    let keys: Vec<Vec<u8>> = freed.iter().map(|d| d.as_bytes().to_vec()).collect();
    delete_keys(conn, "recipes", &keys).await?;
    delete_keys(conn, "recipe_packs", &keys).await?;
    Ok(freed)
}

/// Doom `digests` (none is held by any project now) and advance the epoch, so that an upload
/// that published their bytes before this and records its holding after it publishes again.
async fn doom(conn: &mut AnyConnection, digests: &[Digest]) -> Result<()> {
    if digests.is_empty() {
        return Ok(());
    }
    let at = super::now();
    for batch in digests.chunks(400) {
        let rows = (0..batch.len())
            .map(|i| format!("(${}, $1)", i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO gc_doomed (digest, doomed_at) VALUES {rows} ON CONFLICT DO NOTHING"
        );
        let mut q = sqlx::query(&sql).bind(at.clone());
        for d in batch {
            q = q.bind(d.as_bytes().to_vec());
        }
        q.execute(&mut *conn).await?;
    }
    sqlx::query("UPDATE gc_state SET epoch = epoch + 1 WHERE id = 1")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The doomed digests.
pub(super) async fn doomed(conn: &mut AnyConnection) -> Result<Vec<Digest>> {
    let rows: Vec<Vec<u8>> = sqlx::query_scalar("SELECT digest FROM gc_doomed")
        .fetch_all(&mut *conn)
        .await?;
    rows.into_iter().map(stored_digest).collect()
}

/// Forget that `digests` are doomed: their bytes are gone.
pub(super) async fn release(conn: &mut AnyConnection, digests: &[Digest]) -> Result<()> {
    let keys: Vec<Vec<u8>> = digests.iter().map(|d| d.as_bytes().to_vec()).collect();
    delete_keys(conn, "gc_doomed", &keys).await
}
