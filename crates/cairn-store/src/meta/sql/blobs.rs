//! Which verified blobs each project holds.

use std::collections::{BTreeSet, HashMap};

use cairn_core::{Digest, Manifest};
use sqlx::AnyConnection;

use super::{Dialect, GC_LOCK, now, stored_digest};
use crate::error::{Error, Result};
use crate::meta::{GcMark, ProjectKey, Recorded};

/// Where collection stands for `digest`: the epoch and whether it is doomed.
pub(super) async fn mark(conn: &mut AnyConnection, digest: &Digest) -> Result<GcMark> {
    let (epoch, doomed): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT epoch FROM gc_state WHERE id = 1),
                (SELECT COUNT(*) FROM gc_doomed WHERE digest = $1)",
    )
    .bind(digest.as_bytes().to_vec())
    .fetch_one(&mut *conn)
    .await?;
    Ok(GcMark {
        epoch,
        doomed: doomed > 0,
    })
}

/// Record the holding unless a collection doomed anything since `seen` (see
/// [`MetadataStore::record_blob`](crate::MetadataStore::record_blob)). Each statement checks the
/// epoch and the doom itself, so it is atomic against a collection's metadata step: on SQLite
/// as one autocommit statement under the single writer (no transaction: the writer is
/// everyone's bottleneck, and a new blob costs one statement); on PostgreSQL inside the
/// caller's transaction after [`GC_LOCK`] shared.
pub(super) async fn record(
    conn: &mut AnyConnection,
    p: &ProjectKey,
    digest: &Digest,
    size: u64,
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
    let key = digest.as_bytes().to_vec();
    let added = sqlx::query(
        "INSERT INTO project_blobs (entity, project, digest, size, created_at)
         SELECT $1, $2, $3, $4, $5
         WHERE (SELECT epoch FROM gc_state WHERE id = 1) = $6
           AND NOT EXISTS (SELECT 1 FROM gc_doomed WHERE digest = $3)
         ON CONFLICT DO NOTHING",
    )
    .bind(p.entity.as_str())
    .bind(p.project.as_str())
    .bind(key.clone())
    .bind(size as i64)
    .bind(now())
    .bind(seen.epoch)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if added == 1 {
        return Ok(Recorded::New);
    }
    // held already (uploaded again: the grace period of garbage collection starts afresh), or
    // a collection ran
    let refreshed = sqlx::query(
        "UPDATE project_blobs SET created_at = $1
         WHERE entity = $2 AND project = $3 AND digest = $4
           AND (SELECT epoch FROM gc_state WHERE id = 1) = $5
           AND NOT EXISTS (SELECT 1 FROM gc_doomed WHERE digest = $4)",
    )
    .bind(now())
    .bind(p.entity.as_str())
    .bind(p.project.as_str())
    .bind(key)
    .bind(seen.epoch)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(if refreshed == 1 {
        Recorded::Refreshed
    } else {
        Recorded::Collected
    })
}

/// The sizes of those of `digests` the project holds.
pub(super) async fn held(
    conn: &mut AnyConnection,
    p: &ProjectKey,
    digests: &[Digest],
) -> Result<HashMap<Digest, u64>> {
    // the digests travel as one JSON array of hex strings: one statement per batch, whatever
    // its size (a list of bind parameters costs PostgreSQL a parse and plan per length)
    let sql = match Dialect::of(conn) {
        Dialect::Sqlite => {
            "SELECT digest, size FROM project_blobs WHERE entity = $1 AND project = $2
             AND digest IN (SELECT unhex(value) FROM json_each($3))"
        }
        Dialect::Postgres => {
            "SELECT digest, size FROM project_blobs WHERE entity = $1 AND project = $2
             AND digest IN (SELECT decode(x, 'hex') FROM json_array_elements_text($3::json) AS x)"
        }
    };
    let mut out = HashMap::with_capacity(digests.len());
    for batch in digests.chunks(10_000) {
        let hex: Vec<String> = batch.iter().map(Digest::hex).collect();
        let q = sqlx::query_as(sql)
            .bind(p.entity.as_str())
            .bind(p.project.as_str())
            .bind(serde_json::to_string(&hex).map_err(|e| Error::Corrupt(e.to_string()))?);
        let rows: Vec<(Vec<u8>, i64)> = q.fetch_all(&mut *conn).await?;
        for (bytes, size) in rows {
            out.insert(stored_digest(bytes)?, size as u64);
        }
    }
    Ok(out)
}

/// Check that the project holds every blob the stored entries of `entries` name, with the
/// sizes they declare: 409 `missing` otherwise, 422 for a size that does not match.
pub(super) async fn check(
    conn: &mut AnyConnection,
    p: &ProjectKey,
    entries: &Manifest,
) -> Result<()> {
    let mut missing = BTreeSet::new();
    check_into(conn, p, entries, &mut missing).await?;
    if !missing.is_empty() {
        return Err(Error::MissingBlobs(missing.into_iter().collect()));
    }
    Ok(())
}

/// Most missing digests one commit reports (a streamed commit checks page by page).
pub(super) const MAX_MISSING: usize = 10_000;

/// [`check`] for one page of a larger manifest: the blobs it lacks are added to `missing` (up
/// to [`MAX_MISSING`]) for the caller to report once every page was seen; a size that
/// disagrees with the held blob is an error at once.
pub(super) async fn check_into(
    conn: &mut AnyConnection,
    p: &ProjectKey,
    entries: &Manifest,
    missing: &mut BTreeSet<Digest>,
) -> Result<()> {
    let wanted: Vec<Digest> = entries.stored_blobs().into_iter().collect();
    let held = held(conn, p, &wanted).await?;
    for d in wanted.iter().filter(|d| !held.contains_key(d)) {
        if missing.len() < MAX_MISSING {
            missing.insert(*d);
        }
    }
    for (path, entry) in entries.iter() {
        if let Some(size) = entry.stored_blob().and_then(|d| held.get(&d))
            && *size != entry.size
        {
            return Err(Error::Unprocessable(format!(
                "entry '{path}' declares size {} but blob {} holds {size} bytes",
                entry.size, entry.digest
            )));
        }
    }
    Ok(())
}
