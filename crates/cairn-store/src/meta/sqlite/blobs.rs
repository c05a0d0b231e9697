//! Which verified blobs each project holds.

use std::collections::HashMap;

use cairn_core::{Digest, Manifest};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqlitePool};

use super::now;
use crate::error::{Error, Result};
use crate::meta::ProjectKey;

pub(super) async fn record(
    pool: &SqlitePool,
    p: &ProjectKey,
    digest: &Digest,
    size: u64,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO project_blobs (entity, project, digest, size, created_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT DO NOTHING",
    )
    .bind(p.entity.as_str())
    .bind(p.project.as_str())
    .bind(digest.as_bytes().as_slice())
    .bind(size as i64)
    .bind(now())
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The sizes of those of `digests` the project holds.
pub(super) async fn held(
    conn: &mut SqliteConnection,
    p: &ProjectKey,
    digests: &[Digest],
) -> Result<HashMap<Digest, u64>> {
    let mut out = HashMap::with_capacity(digests.len());
    for batch in digests.chunks(500) {
        let mut q =
            QueryBuilder::<Sqlite>::new("SELECT digest, size FROM project_blobs WHERE entity = ");
        q.push_bind(p.entity.as_str())
            .push(" AND project = ")
            .push_bind(p.project.as_str())
            .push(" AND digest IN (");
        let mut list = q.separated(", ");
        for d in batch {
            list.push_bind(d.as_bytes().to_vec());
        }
        q.push(")");
        let rows: Vec<(Vec<u8>, i64)> = q.build_query_as().fetch_all(&mut *conn).await?;
        for (bytes, size) in rows {
            let bytes: [u8; 32] = bytes
                .try_into()
                .map_err(|_| Error::Corrupt("a stored blob digest is not 32 bytes".into()))?;
            out.insert(Digest::from_bytes(bytes), size as u64);
        }
    }
    Ok(out)
}

/// Check that the project holds every blob the stored entries of `entries` name, with the
/// sizes they declare: 409 `missing` otherwise, 422 for a size that does not match.
pub(super) async fn check(
    conn: &mut SqliteConnection,
    p: &ProjectKey,
    entries: &Manifest,
) -> Result<()> {
    let wanted: Vec<Digest> = entries.stored_blobs().into_iter().collect();
    let held = held(conn, p, &wanted).await?;
    let missing: Vec<Digest> = wanted
        .iter()
        .filter(|d| !held.contains_key(d))
        .copied()
        .collect();
    if !missing.is_empty() {
        return Err(Error::MissingBlobs(missing));
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
