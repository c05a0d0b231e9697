//! The lock that lets one garbage collection run at a time, across processes and replicas: an
//! exclusive file lock beside the SQLite database, a session-level advisory lock on PostgreSQL.
//! Both die with their holder: a killed collection never keeps the next one out.

use std::path::{Path, PathBuf};

use sqlx::{AnyConnection, AnyPool, Connection};

use super::GC_LOCK;
use crate::error::{Error, Result};

/// Held while one collection runs; [`release`](Self::release) it (dropping it releases it too,
/// as soon as the file is closed or the database notices the connection is gone).
#[derive(Debug)]
pub struct GcLock(Held);

#[derive(Debug)]
enum Held {
    File(std::fs::File),
    Postgres(AnyConnection),
}

/// The session lock's key: another than the transaction-scoped [`GC_LOCK`], derived from it.
const RUN_LOCK: i64 = GC_LOCK ^ 0x72;

impl GcLock {
    /// Let the next collection run.
    pub async fn release(self) {
        match self.0 {
            Held::File(file) => drop(file),
            Held::Postgres(mut conn) => {
                let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
                    .bind(RUN_LOCK)
                    .execute(&mut conn)
                    .await;
                let _ = conn.close().await;
            }
        }
    }
}

/// The lock file of the SQLite database at `db`.
pub(super) fn lock_file(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".gc-lock");
    PathBuf::from(name)
}

/// Take the file lock at `path`.
pub(super) async fn file(path: PathBuf, wait: bool) -> Result<Option<GcLock>> {
    tokio::task::spawn_blocking(move || {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(Error::Lock)?;
        if wait {
            file.lock().map_err(Error::Lock)?;
            return Ok(Some(GcLock(Held::File(file))));
        }
        match file.try_lock() {
            Ok(()) => Ok(Some(GcLock(Held::File(file)))),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::Lock(e)),
        }
    })
    .await
    .map_err(|e| Error::Lock(std::io::Error::other(e)))?
}

/// Take the session lock on a connection of its own, taken out of `pool`.
pub(super) async fn postgres(pool: &AnyPool, wait: bool) -> Result<Option<GcLock>> {
    let mut conn = pool.acquire().await?.detach();
    if wait {
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(RUN_LOCK)
            .execute(&mut conn)
            .await?;
        return Ok(Some(GcLock(Held::Postgres(conn))));
    }
    let (got,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1)")
        .bind(RUN_LOCK)
        .fetch_one(&mut conn)
        .await?;
    if got {
        Ok(Some(GcLock(Held::Postgres(conn))))
    } else {
        let _ = conn.close().await;
        Ok(None)
    }
}
