//! [`MetadataStore`] on SQL, one implementation for both engines (through sqlx's `Any`
//! driver): SQLite, the zero-configuration default, and PostgreSQL for several stateless
//! replicas. On SQLite one writer connection (WAL) serialises every write transaction; on
//! PostgreSQL each write transaction first takes a transaction-scoped advisory lock on the
//! artifact it changes ([`lock`]), so indices, aliases and pending versions stay consistent
//! whichever replica a request reaches. Schemas differ only in types (`migrations/{sqlite,postgres}`).

mod blobs;
mod cache;
mod commit;
mod compat;
mod distributed;
mod gc;
mod lock;
mod pages;
mod quotas;
mod recipes;
mod repack;
mod rows;
mod runs;
mod tokens;
mod versions;
mod whole;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Once;

use async_trait::async_trait;
use cairn_core::chunk::ChunkHash;
use cairn_core::wire::{
    ArtifactInfo, ArtifactList, CommitRequest, CommitResponse, Lineage, ListQuery, PendingVersion,
    Run, RunRequest, UpsertRequest, Version, VersionList, VersionUpdate,
};
use cairn_core::{
    Alias, ArtifactName, Digest, DistributedId, Entry, Manifest, RunId, VersionIndex, VersionRef,
};
use futures::StreamExt;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyConnection, AnyPool, Executor};

pub use lock::GcLock;

use super::{
    GcMark, GcMarks, ManifestPages, MetadataStore, PoolUse, ProjectKey, Recorded, TokenRecord,
    WholeBlob,
};
use crate::error::{Error, Result};
use crate::recipe::{PackKey, Recipe};

/// The SQL metadata store (SQLite or PostgreSQL).
#[derive(Debug, Clone)]
pub struct SqlStore {
    read: AnyPool,
    write: AnyPool,
    dialect: Dialect,
    pages: std::sync::Arc<cache::PageCache>,
    /// SQLite: the file garbage collection locks (beside the database).
    gc_lock: Option<std::path::PathBuf>,
}

/// The advisory lock garbage collection takes exclusively and write transactions shared.
const GC_LOCK: i64 = 0x0063_6169_726e_6763; // "cairngc"

/// The SQL engine behind a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    fn of(conn: &AnyConnection) -> Self {
        if conn.backend_name() == "PostgreSQL" {
            Self::Postgres
        } else {
            Self::Sqlite
        }
    }
}

fn drivers() {
    static ONCE: Once = Once::new();
    ONCE.call_once(sqlx::any::install_default_drivers);
}

impl SqlStore {
    /// Write a consistent copy of an SQLite database to `dest` (one read transaction:
    /// `VACUUM INTO`, writers go on); PostgreSQL is backed up with its own tools.
    pub async fn snapshot_into(&self, dest: &Path) -> Result<()> {
        if self.dialect != Dialect::Sqlite {
            return Err(Error::Unprocessable(
                "a PostgreSQL database is backed up with pg_dump".into(),
            ));
        }
        let dest = dest
            .to_str()
            .ok_or_else(|| Error::Unprocessable(format!("{} is not UTF-8", dest.display())))?;
        sqlx::query("VACUUM INTO $1")
            .bind(dest)
            .execute(&self.read)
            .await?;
        Ok(())
    }

    /// Open (creating and migrating if needed) the SQLite database at `path`.
    pub async fn open(path: &Path) -> Result<Self> {
        drivers();
        let file = path
            .to_str()
            .ok_or_else(|| Error::Unprocessable(format!("database path {path:?} is not UTF-8")))?;
        let write = AnyPoolOptions::new()
            .max_connections(1)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute(
                        // 64 KiB pages (set before the file's first table) and reads through
                        // mmap: manifest pages are blobs of ~400 KB
                        "PRAGMA page_size = 65536; PRAGMA journal_mode = WAL; \
                         PRAGMA synchronous = FULL; PRAGMA busy_timeout = 30000; \
                         PRAGMA foreign_keys = ON; PRAGMA mmap_size = 4294967296;",
                    )
                    .await?;
                    Ok(())
                })
            })
            .connect(&format!("sqlite://{file}?mode=rwc"))
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&write).await?;
        let read = AnyPoolOptions::new()
            .max_connections(8)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA busy_timeout = 30000; PRAGMA mmap_size = 4294967296;")
                        .await?;
                    Ok(())
                })
            })
            .connect(&format!("sqlite://{file}?mode=ro"))
            .await?;
        Ok(Self {
            read,
            write,
            dialect: Dialect::Sqlite,
            pages: Default::default(),
            gc_lock: Some(lock::lock_file(path)),
        })
    }

    /// Connect to the PostgreSQL database at `url` (`postgres://…`) and migrate it. Any number
    /// of stores (replicas) may share one database.
    pub async fn connect(url: &str) -> Result<Self> {
        drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(16)
            .connect(url)
            .await?;
        let mut conn = pool.acquire().await?;
        // replicas starting together: one migrates, the others wait on this lock
        conn.execute("SELECT pg_advisory_lock(7261757)").await?;
        let migrated = sqlx::migrate!("./migrations/postgres")
            .run(&mut *conn)
            .await;
        conn.execute("SELECT pg_advisory_unlock(7261757)").await?;
        migrated?;
        Ok(Self {
            read: pool.clone(),
            write: pool,
            dialect: Dialect::Postgres,
            pages: Default::default(),
            gc_lock: None,
        })
    }

    /// A write transaction; on SQLite it takes the write lock at once (`BEGIN IMMEDIATE`), so
    /// a transaction never has to upgrade a read snapshot another process (`cairn gc`) made stale.
    async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.dialect {
            Dialect::Sqlite => self.write.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres => self.write.begin().await?,
        })
    }
}

/// `$from, $from+1, …`: `n` bind parameters starting at `$from`.
pub(crate) fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A digest as the tables store it: 32 raw bytes.
pub(crate) fn stored_digest(bytes: Vec<u8>) -> Result<Digest> {
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| Error::Corrupt("a stored digest is not 32 bytes".into()))?;
    Ok(Digest::from_bytes(bytes))
}

/// Serialise writes to one artifact across replicas: a transaction-scoped advisory lock on
/// PostgreSQL (released at commit or rollback), after [`GC_LOCK`] shared so garbage collection
/// never runs beside a commit; nothing on SQLite, whose single writer already serialises every
/// write.
pub(crate) async fn lock(
    conn: &mut AnyConnection,
    p: &ProjectKey,
    name: &ArtifactName,
) -> Result<()> {
    if Dialect::of(conn) == Dialect::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock_shared($1)")
            .bind(GC_LOCK)
            .execute(&mut *conn)
            .await?;
        let key = Digest::of(format!("{}/{}/{name}", p.entity, p.project).as_bytes());
        let id = i64::from_be_bytes(key.as_bytes()[..8].try_into().expect("8 bytes"));
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

fn pool_use(name: &'static str, pool: &AnyPool) -> PoolUse {
    PoolUse {
        name,
        size: pool.size(),
        idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
        max: pool.options().get_max_connections(),
    }
}

#[async_trait]
impl MetadataStore for SqlStore {
    fn pools(&self) -> Vec<PoolUse> {
        match self.dialect {
            Dialect::Sqlite => vec![pool_use("read", &self.read), pool_use("write", &self.write)],
            Dialect::Postgres => vec![pool_use("shared", &self.write)],
        }
    }

    async fn list_projects(
        &self,
        entity: Option<&cairn_core::Entity>,
        project: Option<&cairn_core::Project>,
    ) -> Result<Vec<cairn_core::wire::ProjectSummary>> {
        versions::list_projects(&self.read, entity, project).await
    }

    async fn usage(&self, project: &ProjectKey) -> Result<cairn_core::wire::Usage> {
        quotas::usage(&self.read, project).await
    }

    async fn quota(&self, project: &ProjectKey) -> Result<Option<u64>> {
        quotas::quota(&self.read, project).await
    }

    async fn set_quota(&self, project: &ProjectKey, bytes: Option<u64>) -> Result<()> {
        quotas::set(&self.write, project, bytes).await
    }

    async fn record_md5(&self, project: &ProjectKey, blobs: &[super::BlobMd5]) -> Result<()> {
        compat::record_md5(&self.write, project, blobs).await
    }

    async fn md5_blobs(
        &self,
        project: &ProjectKey,
        md5s: &[super::Md5],
    ) -> Result<Vec<super::BlobMd5>> {
        compat::md5_blobs(&self.read, project, md5s).await
    }

    async fn md5s_of(
        &self,
        project: &ProjectKey,
        digests: &[Digest],
    ) -> Result<Vec<super::BlobMd5>> {
        compat::md5s_of(&self.read, project, digests).await
    }

    async fn compat_state(&self, key: &str) -> Result<Option<String>> {
        // committed writes are visible to the readers at once (SQLite's WAL, PostgreSQL)
        compat::get(&self.read, key).await
    }

    async fn set_compat_state(&self, key: &str, value: &str, only_new: bool) -> Result<bool> {
        compat::put(&self.write, key, value, only_new).await
    }

    async fn delete_compat_state(&self, key: &str) -> Result<()> {
        compat::delete(&self.write, key).await
    }

    async fn expire_compat_state(&self, prefix: &str, before: &str) -> Result<u64> {
        compat::expire(&self.write, prefix, before).await
    }

    async fn create_token(&self, secret_hash: &Digest, token: &TokenRecord) -> Result<()> {
        tokens::create(&self.write, secret_hash, token).await
    }

    async fn token(&self, secret_hash: &Digest) -> Result<Option<TokenRecord>> {
        tokens::find(&self.read, secret_hash).await
    }

    async fn has_admin_token(&self) -> Result<bool> {
        tokens::has_admin(&self.read).await
    }

    async fn forget_unreferenced_blobs(&self, cutoff: &str, dry_run: bool) -> Result<Vec<Digest>> {
        let mut tx = self.begin().await?;
        let out = gc::forget(&mut tx, cutoff, dry_run).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn doomed_blobs(&self) -> Result<Vec<Digest>> {
        let mut conn = self.write.acquire().await?;
        gc::doomed(&mut conn).await
    }

    async fn release_doomed(&self, digests: &[Digest]) -> Result<()> {
        let mut tx = self.begin().await?;
        gc::release(&mut tx, digests).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn lock_gc(&self, wait: bool) -> Result<Option<GcLock>> {
        match &self.gc_lock {
            Some(file) => lock::file(file.clone(), wait).await,
            None => lock::postgres(&self.write, wait).await,
        }
    }

    async fn gc_mark(&self, digest: &Digest) -> Result<GcMark> {
        let mut conn = self.read.acquire().await?;
        blobs::mark(&mut conn, digest).await
    }

    async fn record_blob(
        &self,
        project: &ProjectKey,
        digest: &Digest,
        size: u64,
        mark: GcMark,
    ) -> Result<Recorded> {
        if self.dialect == Dialect::Sqlite {
            let mut conn = self.write.acquire().await?;
            return blobs::record(&mut conn, project, digest, size, mark).await;
        }
        let mut tx = self.begin().await?;
        let out = blobs::record(&mut tx, project, digest, size, mark).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn recipe(&self, digest: &Digest) -> Result<Option<Recipe>> {
        let mut conn = self.read.acquire().await?;
        recipes::recipe(&mut conn, digest).await
    }

    async fn has_recipe(&self, digest: &Digest) -> Result<bool> {
        let mut conn = self.read.acquire().await?;
        recipes::has_recipe(&mut conn, digest).await
    }

    async fn gc_marks(&self, digests: &[Digest], packs: &[PackKey]) -> Result<GcMarks> {
        let mut conn = self.read.acquire().await?;
        recipes::marks(&mut conn, digests, packs).await
    }

    async fn record_recipes(
        &self,
        project: &ProjectKey,
        recipes: &[Recipe],
        epoch: i64,
    ) -> Result<Vec<Recorded>> {
        let mut tx = self.begin().await?;
        let out = recipes::record(&mut tx, project, recipes, epoch).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn doom_packs(&self, candidates: &[PackKey]) -> Result<Vec<PackKey>> {
        let mut tx = self.begin().await?;
        let out = recipes::doom(&mut tx, candidates).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn unnamed_packs(
        &self,
        candidates: &[PackKey],
        forgotten: &[Digest],
    ) -> Result<Vec<PackKey>> {
        let mut conn = self.read.acquire().await?;
        recipes::unnamed(&mut conn, candidates, forgotten).await
    }

    async fn recipes_naming(&self, pack: &PackKey) -> Result<Vec<Recipe>> {
        let mut conn = self.read.acquire().await?;
        repack::naming(&mut conn, pack).await
    }

    async fn repoint_recipes(
        &self,
        from: &PackKey,
        to: &PackKey,
        moved: &HashMap<ChunkHash, u64>,
    ) -> Result<usize> {
        let mut tx = self.begin().await?;
        let out = repack::repoint(&mut tx, from, to, moved).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn whole_blobs(&self, after: Option<&WholeBlob>, limit: usize) -> Result<Vec<WholeBlob>> {
        let mut conn = self.read.acquire().await?;
        whole::list(&mut conn, after, limit).await
    }

    async fn record_packed_whole(&self, recipes: &[Recipe], epoch: i64) -> Result<usize> {
        let mut tx = self.begin().await?;
        let out = whole::record(&mut tx, recipes, epoch).await?;
        if out == recipes.len() {
            tx.commit().await?;
            Ok(out)
        } else {
            tx.rollback().await?;
            Ok(0)
        }
    }

    async fn superseded_whole(&self, cutoff: &str) -> Result<Vec<Digest>> {
        let mut conn = self.read.acquire().await?;
        whole::superseded(&mut conn, cutoff).await
    }

    async fn forget_superseded_whole(&self, digests: &[Digest]) -> Result<()> {
        let mut tx = self.begin().await?;
        whole::forget(&mut tx, digests).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn doomed_packs(&self) -> Result<Vec<PackKey>> {
        let mut conn = self.write.acquire().await?;
        recipes::doomed(&mut conn).await
    }

    async fn release_packs(&self, packs: &[PackKey]) -> Result<()> {
        let mut tx = self.begin().await?;
        recipes::release(&mut tx, packs).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn missing_blobs(&self, project: &ProjectKey, digests: &[Digest]) -> Result<Vec<Digest>> {
        let mut conn = self.read.acquire().await?;
        let held = blobs::held(&mut conn, project, digests).await?;
        Ok(digests
            .iter()
            .filter(|d| !held.contains_key(d))
            .copied()
            .collect())
    }

    async fn blob_size(&self, project: &ProjectKey, digest: &Digest) -> Result<Option<u64>> {
        let mut conn = self.read.acquire().await?;
        Ok(blobs::held(&mut conn, project, &[*digest])
            .await?
            .get(digest)
            .copied())
    }

    async fn list_artifacts(
        &self,
        project: &ProjectKey,
        query: &ListQuery,
    ) -> Result<ArtifactList> {
        versions::list_artifacts(&self.read, project, query).await
    }

    async fn artifact(&self, project: &ProjectKey, name: &ArtifactName) -> Result<ArtifactInfo> {
        versions::artifact(&self.read, project, name).await
    }

    async fn commit(
        &self,
        project: &ProjectKey,
        name: &ArtifactName,
        request: CommitRequest,
    ) -> Result<CommitResponse> {
        let mut tx = self.begin().await?;
        lock(&mut tx, project, name).await?;
        let out = commit::commit(&mut tx, project, name, request).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn commit_pages(
        &self,
        project: &ProjectKey,
        name: &ArtifactName,
        request: CommitRequest,
        pages: ManifestPages,
    ) -> Result<CommitResponse> {
        let mut tx = self.begin().await?;
        lock(&mut tx, project, name).await?;
        let out = commit::commit_pages(&mut tx, project, name, request, pages).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn version(
        &self,
        project: &ProjectKey,
        name: &ArtifactName,
        reference: &VersionRef,
    ) -> Result<Version> {
        let mut conn = self.read.acquire().await?;
        let (coll, idx) = rows::resolve(&mut conn, project, name, reference).await?;
        rows::version(&mut conn, &coll, idx).await
    }

    async fn list_versions(
        &self,
        project: &ProjectKey,
        name: &ArtifactName,
        query: &ListQuery,
    ) -> Result<VersionList> {
        versions::list_versions(&self.read, project, name, query).await
    }

    async fn manifest(
        &self,
        project: &ProjectKey,
        name: &ArtifactName,
        reference: &VersionRef,
    ) -> Result<(Version, Manifest)> {
        let mut conn = self.read.acquire().await?;
        let (coll, idx) = rows::resolve(&mut conn, project, name, reference).await?;
        let version = rows::version(&mut conn, &coll, idx).await?;
        let manifest = rows::manifest(&mut conn, coll.id, idx).await?;
        Ok((version, manifest))
    }

    async fn manifest_json(
        &self,
        project: &ProjectKey,
        name: &ArtifactName,
        reference: &VersionRef,
    ) -> Result<(Version, crate::ByteStream)> {
        let mut conn = self.read.acquire().await?;
        let (coll, idx) = rows::resolve(&mut conn, project, name, reference).await?;
        let version = rows::version(&mut conn, &coll, idx).await?;
        let stream = match rows::stored(&mut conn, coll.id, idx).await? {
            rows::Stored::Whole(m) => {
                let bytes = bytes::Bytes::from(m.canonical_bytes());
                futures::stream::once(async { Ok(bytes) }).boxed()
            }
            rows::Stored::Paged(p) => pages::json_stream(self.read.clone(), &p),
        };
        Ok((version, stream))
    }

    async fn entry(
        &self,
        project: &ProjectKey,
        name: &ArtifactName,
        reference: &VersionRef,
        path: &str,
    ) -> Result<(Version, Option<Entry>)> {
        let mut conn = self.read.acquire().await?;
        let (coll, idx) = rows::resolve(&mut conn, project, name, reference).await?;
        let version = rows::version(&mut conn, &coll, idx).await?;
        let entry = rows::entry(&mut conn, coll.id, idx, path, &self.pages).await?;
        Ok((version, entry))
    }

    async fn update_version(
        &self,
        project: &ProjectKey,
        name: &ArtifactName,
        reference: &VersionRef,
        update: VersionUpdate,
    ) -> Result<Version> {
        let mut tx = self.begin().await?;
        lock(&mut tx, project, name).await?;
        let out = versions::update(&mut tx, project, name, reference, update).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn delete_version(
        &self,
        project: &ProjectKey,
        name: &ArtifactName,
        reference: &VersionRef,
        delete_aliases: bool,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        lock(&mut tx, project, name).await?;
        versions::delete(&mut tx, project, name, reference, delete_aliases).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_alias(
        &self,
        project: &ProjectKey,
        name: &ArtifactName,
        alias: &Alias,
        version: VersionIndex,
    ) -> Result<Version> {
        let mut tx = self.begin().await?;
        lock(&mut tx, project, name).await?;
        let out = versions::set_alias(&mut tx, project, name, alias, version).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn delete_alias(
        &self,
        project: &ProjectKey,
        name: &ArtifactName,
        alias: &Alias,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        lock(&mut tx, project, name).await?;
        versions::delete_alias(&mut tx, project, name, alias).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn upsert(
        &self,
        project: &ProjectKey,
        name: &ArtifactName,
        id: &DistributedId,
        request: UpsertRequest,
    ) -> Result<PendingVersion> {
        let mut tx = self.begin().await?;
        lock(&mut tx, project, name).await?;
        let out = distributed::upsert(&mut tx, project, name, id, request).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn finish(
        &self,
        project: &ProjectKey,
        name: &ArtifactName,
        id: &DistributedId,
        request: UpsertRequest,
    ) -> Result<CommitResponse> {
        let mut tx = self.begin().await?;
        lock(&mut tx, project, name).await?;
        let out = distributed::finish(&mut tx, project, name, id, request).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn pending(
        &self,
        project: &ProjectKey,
        name: &ArtifactName,
        id: &DistributedId,
    ) -> Result<PendingVersion> {
        let mut conn = self.read.acquire().await?;
        distributed::inspect(&mut conn, project, name, id).await
    }

    async fn abort(
        &self,
        project: &ProjectKey,
        name: &ArtifactName,
        id: &DistributedId,
    ) -> Result<()> {
        distributed::abort(&self.write, project, name, id).await
    }

    async fn create_run(&self, project: &ProjectKey, request: RunRequest) -> Result<Run> {
        runs::create(&self.write, project, request).await
    }

    async fn run(&self, project: &ProjectKey, id: &RunId) -> Result<Run> {
        let mut conn = self.read.acquire().await?;
        runs::get(&mut conn, project, id).await
    }

    async fn use_version(
        &self,
        project: &ProjectKey,
        run: &RunId,
        name: &ArtifactName,
        reference: &VersionRef,
    ) -> Result<Version> {
        let mut tx = self.begin().await?;
        let out = runs::use_version(&mut tx, project, run, name, reference).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn lineage(
        &self,
        project: &ProjectKey,
        name: &ArtifactName,
        reference: &VersionRef,
    ) -> Result<Lineage> {
        let mut conn = self.read.acquire().await?;
        runs::lineage(&mut conn, project, name, reference).await
    }
}

/// Now, as stored: RFC 3339 with milliseconds, UTC.
fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
