//! [`MetadataStore`] on SQLite: the zero-configuration default. One writer connection (WAL)
//! serialises every write transaction, so version numbers are assigned in order with no race
//! to lose; readers use their own pool.

mod blobs;
mod commit;
mod distributed;
mod rows;
mod runs;
mod tokens;
mod versions;

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use cairn_core::wire::{
    ArtifactInfo, ArtifactList, CommitRequest, CommitResponse, Lineage, ListQuery, PendingVersion,
    Run, RunRequest, UpsertRequest, Version, VersionList, VersionUpdate,
};
use cairn_core::{
    Alias, ArtifactName, Digest, DistributedId, Manifest, RunId, VersionIndex, VersionRef,
};
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::{MetadataStore, ProjectKey, TokenRecord};
use crate::error::Result;

/// The SQLite metadata store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
}

impl SqliteStore {
    /// Open (creating and migrating if needed) the database at `path`.
    pub async fn open(path: &Path) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Self { read, write })
    }
}

#[async_trait]
impl MetadataStore for SqliteStore {
    async fn create_token(&self, secret_hash: &Digest, token: &TokenRecord) -> Result<()> {
        tokens::create(&self.write, secret_hash, token).await
    }

    async fn token(&self, secret_hash: &Digest) -> Result<Option<TokenRecord>> {
        tokens::find(&self.read, secret_hash).await
    }

    async fn has_admin_token(&self) -> Result<bool> {
        tokens::has_admin(&self.read).await
    }

    async fn record_blob(&self, project: &ProjectKey, digest: &Digest, size: u64) -> Result<bool> {
        blobs::record(&self.write, project, digest, size).await
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
        let mut tx = self.write.begin().await?;
        let out = commit::commit(&mut tx, project, name, request).await?;
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

    async fn update_version(
        &self,
        project: &ProjectKey,
        name: &ArtifactName,
        reference: &VersionRef,
        update: VersionUpdate,
    ) -> Result<Version> {
        let mut tx = self.write.begin().await?;
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
        let mut tx = self.write.begin().await?;
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
        let mut tx = self.write.begin().await?;
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
        let mut tx = self.write.begin().await?;
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
        let mut tx = self.write.begin().await?;
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
        let mut tx = self.write.begin().await?;
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
        let mut tx = self.write.begin().await?;
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
