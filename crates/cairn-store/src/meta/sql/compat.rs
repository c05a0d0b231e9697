//! What compatibility layers keep: MD5s of held blobs, and small JSON state by key.

use cairn_core::Digest;
use sqlx::AnyPool;

use crate::error::{Error, Result};
use crate::meta::{BlobMd5, Md5, ProjectKey};

/// Record MD5s of blobs `p` holds, in one transaction; an MD5 already recorded keeps its first
/// blob.
pub(super) async fn record_md5(pool: &AnyPool, p: &ProjectKey, blobs: &[BlobMd5]) -> Result<()> {
    let mut tx = pool.begin().await?;
    for b in blobs {
        let size = i64::try_from(b.size)
            .map_err(|_| Error::Unprocessable(format!("a size of {} bytes", b.size)))?;
        sqlx::query(
            "INSERT INTO blob_md5 (entity, project, md5, digest, size) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (entity, project, md5) DO NOTHING",
        )
        .bind(p.entity.as_str())
        .bind(p.project.as_str())
        .bind(b.md5.to_string())
        .bind(b.digest.to_string())
        .bind(size)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The blobs `p` recorded under these MD5s (those it did not are left out).
pub(super) async fn md5_blobs(
    pool: &AnyPool,
    p: &ProjectKey,
    md5s: &[Md5],
) -> Result<Vec<BlobMd5>> {
    let keys: Vec<String> = md5s.iter().map(Md5::to_string).collect();
    rows(pool, p, "md5", &keys).await
}

/// The MD5s `p` recorded for these blobs (those it did not are left out).
pub(super) async fn md5s_of(
    pool: &AnyPool,
    p: &ProjectKey,
    digests: &[Digest],
) -> Result<Vec<BlobMd5>> {
    let keys: Vec<String> = digests.iter().map(Digest::to_string).collect();
    rows(pool, p, "digest", &keys).await
}

async fn rows(
    pool: &AnyPool,
    p: &ProjectKey,
    column: &str,
    keys: &[String],
) -> Result<Vec<BlobMd5>> {
    let mut out = Vec::new();
    for chunk in keys.chunks(500) {
        let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 3)).collect();
        let sql = format!(
            "SELECT md5, digest, size FROM blob_md5 WHERE entity = $1 AND project = $2 AND {column} IN ({})",
            marks.join(", ")
        );
        let mut q = sqlx::query_as::<_, (String, String, i64)>(&sql)
            .bind(p.entity.as_str())
            .bind(p.project.as_str());
        for k in chunk {
            q = q.bind(k.as_str());
        }
        for (md5, digest, size) in q.fetch_all(pool).await? {
            out.push(BlobMd5 {
                md5: md5.parse()?,
                digest: digest
                    .parse::<Digest>()
                    .map_err(|e| Error::Corrupt(format!("blob_md5 digest {digest}: {e}")))?,
                size: size.max(0) as u64,
            });
        }
    }
    Ok(out)
}

/// The state kept under `key`.
pub(super) async fn get(pool: &AnyPool, key: &str) -> Result<Option<String>> {
    let row: Option<(String,)> = sqlx::query_as("SELECT value FROM compat_state WHERE key = $1")
        .bind(key)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|(v,)| v))
}

/// Keep `value` under `key` (replacing what was there unless `only_new`); false if `only_new`
/// and the key was taken.
pub(super) async fn put(pool: &AnyPool, key: &str, value: &str, only_new: bool) -> Result<bool> {
    let now = chrono::Utc::now().to_rfc3339();
    let sql = if only_new {
        "INSERT INTO compat_state (key, value, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (key) DO NOTHING"
    } else {
        "INSERT INTO compat_state (key, value, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
    };
    let done = sqlx::query(sql)
        .bind(key)
        .bind(value)
        .bind(now)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Forget `key`.
pub(super) async fn delete(pool: &AnyPool, key: &str) -> Result<()> {
    sqlx::query("DELETE FROM compat_state WHERE key = $1")
        .bind(key)
        .execute(pool)
        .await?;
    Ok(())
}

/// Forget the keys starting with `prefix` last written before `before` (RFC 3339); how many.
pub(super) async fn expire(pool: &AnyPool, prefix: &str, before: &str) -> Result<u64> {
    // keys from `prefix` up to (not including) the same prefix with its last byte bumped:
    // a range the primary key serves, with no LIKE escaping to get wrong
    let mut end = prefix.as_bytes().to_vec();
    match end.last_mut() {
        Some(b) if *b < 0x7f => *b += 1,
        _ => {
            return Err(Error::Unprocessable(format!(
                "a state prefix must end in an ASCII character: {prefix:?}"
            )));
        }
    }
    let end = String::from_utf8(end).expect("ASCII bumped stays UTF-8");
    let done =
        sqlx::query("DELETE FROM compat_state WHERE key >= $1 AND key < $2 AND updated_at < $3")
            .bind(prefix)
            .bind(end)
            .bind(before)
            .execute(pool)
            .await?;
    Ok(done.rows_affected())
}
