//! Garbage collection of blobs: forget, for every project, the blobs that no committed or
//! pending version references and that no upload recorded since the grace cutoff.

use std::collections::HashSet;

use cairn_core::{Digest, Manifest};
use futures::TryStreamExt;
use sqlx::AnyConnection;

use super::{Dialect, GC_LOCK};
use crate::error::{Error, Result};

fn corrupt(e: impl std::fmt::Display) -> Error {
    Error::Corrupt(e.to_string())
}

async fn referenced(
    conn: &mut AnyConnection,
    table: &str,
    live: &mut HashSet<Digest>,
) -> Result<()> {
    let sql = format!("SELECT manifest FROM {table}");
    let mut rows = sqlx::query_scalar::<_, Vec<u8>>(&sql).fetch(&mut *conn);
    while let Some(bytes) = rows.try_next().await? {
        live.extend(Manifest::from_json(&bytes).map_err(corrupt)?.stored_blobs());
    }
    Ok(())
}

fn digest(bytes: Vec<u8>) -> Result<Digest> {
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| corrupt("a stored blob digest is not 32 bytes"))?;
    Ok(Digest::from_bytes(bytes))
}

fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Inside the caller's write transaction: forget unreferenced blobs recorded before `cutoff`
/// (RFC 3339) and answer those no project holds any more (their bytes may go). On PostgreSQL
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
    let mut live = HashSet::new();
    referenced(conn, "versions", &mut live).await?;
    referenced(conn, "pending", &mut live).await?;
    let old: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT DISTINCT digest FROM project_blobs WHERE created_at < $1")
            .bind(cutoff)
            .fetch_all(&mut *conn)
            .await?;
    let mut dead = Vec::new();
    for bytes in old {
        let d = digest(bytes)?;
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
            .map(digest)
            .collect::<Result<_>>()?;
        freed.extend(batch.iter().filter(|d| !kept.contains(d)).copied());
    }
    Ok(freed)
}
