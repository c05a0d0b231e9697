//! The metadata store: tokens, which blobs each project holds, collections, versions,
//! aliases and pending distributed versions. Every rule of semantics §5–§7 that needs a
//! transaction is kept here; the pure rules come from cairn-core.

mod md5;
mod paging;
mod sql;

use std::fmt::Debug;

use async_trait::async_trait;
use cairn_core::wire::{
    ArtifactInfo, ArtifactList, CommitRequest, CommitResponse, Lineage, ListQuery, PendingVersion,
    Run, RunRequest, UpsertRequest, Version, VersionList, VersionUpdate,
};
use cairn_core::{
    Alias, ArtifactName, Digest, DistributedId, Entity, Entry, Manifest, Project, RunId,
    VersionIndex, VersionRef,
};

pub use md5::{BlobMd5, Md5};
pub use sql::{GcLock, SqlStore};

/// Entries in one stored manifest page at most; a streamed commit
/// ([`MetadataStore::commit_pages`]) gives its manifest in pieces of this many.
pub const PAGE_ENTRIES: usize = 4096;

/// A full manifest as consecutive pieces in path order, each of at most [`PAGE_ENTRIES`]
/// entries, every path after all those of the pieces before.
pub type ManifestPages = futures::stream::BoxStream<'static, Result<Manifest>>;

use crate::error::Result;
use crate::recipe::{PackKey, Recipe};

/// The project a request is about.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct ProjectKey {
    /// The entity.
    pub entity: Entity,
    /// The project.
    pub project: Project,
}

/// A blob some project holds, stored whole (no recipe).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct WholeBlob {
    /// A project that holds it.
    pub project: ProjectKey,
    /// The blob.
    pub digest: Digest,
    /// Its size.
    pub size: u64,
}

/// `entity/project`: how a project is named to people, and the owner of its uploads and packs
/// in the blob store.
impl std::fmt::Display for ProjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.entity, self.project)
    }
}

/// What a token may do, in increasing order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Role {
    /// Read artifacts and download files.
    Read,
    /// Also upload blobs, commit, upsert, move aliases.
    Write,
    /// Also delete versions and create tokens.
    Admin,
}

impl Role {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "read" => Ok(Self::Read),
            "write" => Ok(Self::Write),
            "admin" => Ok(Self::Admin),
            other => Err(crate::Error::Unprocessable(format!(
                "unknown role '{other}': expected read, write or admin"
            ))),
        }
    }
}

/// A stored token (only its SHA-256 is kept).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TokenRecord {
    /// A name for people (who or what it was made for).
    pub name: String,
    /// The entity it reaches; `None` reaches every entity.
    pub entity: Option<Entity>,
    /// What it may do there.
    pub role: Role,
    /// The one project of `entity` it reaches; `None`: all of the entity's projects.
    pub project: Option<Project>,
    /// When it stops working (Unix seconds); `None`: never.
    pub expires_at: Option<i64>,
}

impl TokenRecord {
    /// A token for `entity` (every entity: `None`) with `role`, every project, no expiry.
    pub fn new(name: impl Into<String>, entity: Option<Entity>, role: Role) -> Self {
        Self {
            name: name.into(),
            entity,
            role,
            project: None,
            expires_at: None,
        }
    }

    /// Whether the token has expired at `now` (Unix seconds).
    pub fn expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|t| now >= t)
    }
}

/// Where garbage collection stands for one digest, read by an upload before it publishes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct GcMark {
    /// How many collections have doomed blobs so far (any blob: it only moves forward).
    pub epoch: i64,
    /// A collection has forgotten this digest and is deleting its bytes.
    pub doomed: bool,
}

/// Where garbage collection stands for an assembly: the epoch, then the doomed among the
/// blobs and packs asked about.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct GcMarks {
    /// How many collections have doomed blobs or packs so far.
    pub epoch: i64,
    /// The doomed blobs among those asked about.
    pub doomed: std::collections::HashSet<Digest>,
    /// The doomed packs among those asked about.
    pub doomed_packs: std::collections::HashSet<PackKey>,
}

/// What [`MetadataStore::record_blob`] did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Recorded {
    /// The project holds the blob now and did not before.
    New,
    /// The project held it already; its upload time starts afresh.
    Refreshed,
    /// Nothing: a collection doomed blobs since the mark was read (or dooms this one now), so
    /// the bytes published after the mark may be gone. Publish again and retry.
    Collected,
}

/// One connection pool of a metadata store, as `/metrics` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolUse {
    /// `read` or `write` (one pool serves both on PostgreSQL: `shared`).
    pub name: &'static str,
    /// Connections open.
    pub size: u32,
    /// Of them, idle.
    pub idle: u32,
    /// The most it opens.
    pub max: u32,
}

/// Metadata storage.
#[async_trait]
pub trait MetadataStore: Send + Sync + Debug + 'static {
    /// Its connection pools right now (none for a store without any).
    fn pools(&self) -> Vec<PoolUse> {
        Vec::new()
    }
    /// The projects that hold collections (within `entity`, and `project`, when given), by
    /// entity and name; at most [`cairn_core::wire::MAX_PROJECTS`].
    async fn list_projects(
        &self,
        entity: Option<&cairn_core::Entity>,
        project: Option<&cairn_core::Project>,
    ) -> Result<Vec<cairn_core::wire::ProjectSummary>>;
    /// The bytes and blobs `project` holds (each blob once), and its quota.
    async fn usage(&self, project: &ProjectKey) -> Result<cairn_core::wire::Usage>;
    /// The quota of `project`, if it has one.
    async fn quota(&self, project: &ProjectKey) -> Result<Option<u64>>;
    /// Set (`Some`) or lift (`None`) the quota of `project`.
    async fn set_quota(&self, project: &ProjectKey, bytes: Option<u64>) -> Result<()>;
    /// Record the MD5s of blobs `project` holds (an MD5 already recorded keeps its blob).
    async fn record_md5(&self, project: &ProjectKey, blobs: &[BlobMd5]) -> Result<()>;
    /// The blobs `project` recorded under these MD5s; MD5s it never recorded are left out.
    async fn md5_blobs(&self, project: &ProjectKey, md5s: &[Md5]) -> Result<Vec<BlobMd5>>;
    /// The MD5s `project` recorded for these blobs; blobs without one are left out.
    async fn md5s_of(&self, project: &ProjectKey, digests: &[Digest]) -> Result<Vec<BlobMd5>>;
    /// What a compatibility layer kept under `key` (JSON of its own).
    async fn compat_state(&self, key: &str) -> Result<Option<String>>;
    /// Keep `value` under `key`, replacing what was there unless `only_new`; false when
    /// `only_new` and the key was taken (the first writer wins).
    async fn set_compat_state(&self, key: &str, value: &str, only_new: bool) -> Result<bool>;
    /// Forget what was kept under `key`.
    async fn delete_compat_state(&self, key: &str) -> Result<()>;
    /// Forget the keys that start with `prefix` (ending in an ASCII character) and were last
    /// written before `before` (RFC 3339, UTC); how many were.
    async fn expire_compat_state(&self, prefix: &str, before: &str) -> Result<u64>;
    /// Store a token under the SHA-256 of its secret.
    async fn create_token(&self, secret_hash: &Digest, token: &TokenRecord) -> Result<()>;
    /// The token whose secret hashes to `secret_hash`.
    async fn token(&self, secret_hash: &Digest) -> Result<Option<TokenRecord>>;
    /// Whether any token that reaches every entity as admin exists.
    async fn has_admin_token(&self) -> Result<bool>;

    /// Garbage collection: forget, for every project, the blobs that no committed or pending
    /// version references and that were last uploaded before `cutoff` (RFC 3339), and answer
    /// those no project holds any more. Those are *doomed* in the same transaction (and the
    /// epoch advances): no project can hold them again until [`release_doomed`] says their bytes
    /// are gone. `dry_run` changes nothing and answers what would be doomed.
    ///
    /// [`release_doomed`]: Self::release_doomed
    async fn forget_unreferenced_blobs(&self, cutoff: &str, dry_run: bool) -> Result<Vec<Digest>>;
    /// The doomed digests whose bytes are not known to be deleted (a collection was interrupted).
    async fn doomed_blobs(&self) -> Result<Vec<Digest>>;
    /// The bytes of these doomed digests are deleted: they may be uploaded and held again.
    async fn release_doomed(&self, digests: &[Digest]) -> Result<()>;
    /// The lock one garbage collection holds while it runs, across processes and replicas (a
    /// file lock beside the SQLite database; a PostgreSQL session lock). `wait`: until it is
    /// free; otherwise `None` when another collection holds it.
    async fn lock_gc(&self, wait: bool) -> Result<Option<GcLock>>;
    /// Read before publishing a blob's bytes: see [`record_blob`](Self::record_blob).
    async fn gc_mark(&self, digest: &Digest) -> Result<GcMark>;

    /// Note that `project` holds a verified blob (refreshing its upload time, which garbage
    /// collection's grace period counts from), provided no collection doomed anything since
    /// `mark` was read and the digest is not doomed: then the bytes published after reading
    /// `mark` are still there and stay until a later collection forgets this holding too.
    async fn record_blob(
        &self,
        project: &ProjectKey,
        digest: &Digest,
        size: u64,
        mark: GcMark,
    ) -> Result<Recorded>;
    /// The recipe of a blob stored as chunks in packs (`None`: stored whole, or absent).
    async fn recipe(&self, digest: &Digest) -> Result<Option<Recipe>>;
    /// Whether the blob is stored as chunks (it has a recipe), without reading the recipe.
    async fn has_recipe(&self, digest: &Digest) -> Result<bool>;
    /// The collection epoch, then which of `digests` and of `packs` are doomed: read before
    /// an assembly verifies (see [`record_recipes`](Self::record_recipes)).
    async fn gc_marks(&self, digests: &[Digest], packs: &[PackKey]) -> Result<GcMarks>;
    /// [`record_blob`](Self::record_blob) for blobs assembled from chunks, in one transaction:
    /// for each recipe, store it (unless the blob has one) and the holding, provided no
    /// collection doomed anything since `epoch` was read and neither the blob nor any pack of
    /// the recipe is doomed.
    async fn record_recipes(
        &self,
        project: &ProjectKey,
        recipes: &[Recipe],
        epoch: i64,
    ) -> Result<Vec<Recorded>>;
    /// Garbage collection: doom those of `candidates` no recipe names, advancing the epoch;
    /// answer them. Their objects may then be deleted, and [`release_packs`] after.
    ///
    /// [`release_packs`]: Self::release_packs
    async fn doom_packs(&self, candidates: &[PackKey]) -> Result<Vec<PackKey>>;
    /// A dry run: those of `candidates` no recipe would name once the recipes of the
    /// `forgotten` blobs are gone (nothing changes).
    async fn unnamed_packs(
        &self,
        candidates: &[PackKey],
        forgotten: &[Digest],
    ) -> Result<Vec<PackKey>>;
    /// The recipes that name `pack`.
    async fn recipes_naming(&self, pack: &PackKey) -> Result<Vec<Recipe>>;
    /// Garbage collection, rewriting a pack: in one transaction, every recipe naming `from`
    /// reads its chunks there from `to` instead, at the offsets `moved` gives (a recipe reading
    /// a chunk `moved` lacks keeps `from`); how many recipes moved.
    async fn repoint_recipes(
        &self,
        from: &PackKey,
        to: &PackKey,
        moved: &std::collections::HashMap<cairn_core::chunk::ChunkHash, u64>,
    ) -> Result<usize>;
    /// Garbage collection, packing blobs stored whole: up to `limit` blobs some project holds
    /// that have no recipe, in (project, digest) order after `after`.
    async fn whole_blobs(&self, after: Option<&WholeBlob>, limit: usize) -> Result<Vec<WholeBlob>>;
    /// Garbage collection: in one transaction, store the recipes of blobs it packed (a blob
    /// with a recipe keeps its own) and note that their whole objects are superseded, provided
    /// no collection doomed anything since `epoch` was read and nothing they name is doomed;
    /// how many were recorded (all or none).
    async fn record_packed_whole(&self, recipes: &[Recipe], epoch: i64) -> Result<usize>;
    /// The blobs packed before `cutoff` (RFC 3339) whose whole objects may still be stored.
    async fn superseded_whole(&self, cutoff: &str) -> Result<Vec<Digest>>;
    /// The whole objects of these packed blobs are deleted.
    async fn forget_superseded_whole(&self, digests: &[Digest]) -> Result<()>;
    /// The doomed packs not known to be deleted.
    async fn doomed_packs(&self) -> Result<Vec<PackKey>>;
    /// These doomed packs are deleted.
    async fn release_packs(&self, packs: &[PackKey]) -> Result<()>;

    /// The subset of `digests` that `project` does not hold, in the order asked.
    async fn missing_blobs(&self, project: &ProjectKey, digests: &[Digest]) -> Result<Vec<Digest>>;
    /// The size of a blob `project` holds.
    async fn blob_size(&self, project: &ProjectKey, digest: &Digest) -> Result<Option<u64>>;

    /// Collections of a project, by name, paged.
    async fn list_artifacts(&self, project: &ProjectKey, query: &ListQuery)
    -> Result<ArtifactList>;
    /// One collection.
    async fn artifact(&self, project: &ProjectKey, name: &ArtifactName) -> Result<ArtifactInfo>;
    /// Commit a version (semantics §5, §6); retries and ordering are the store's business.
    async fn commit(
        &self,
        project: &ProjectKey,
        name: &ArtifactName,
        request: CommitRequest,
    ) -> Result<CommitResponse>;
    /// Commit a version (as [`commit`](Self::commit)) whose full manifest arrives as `pages`
    /// instead of in `request` (which carries neither `manifest` nor `patch`): each page is
    /// checked (its blobs held, their sizes) and stored as it comes, so the store holds one page
    /// at a time whatever the manifest's size. Pieces out of order are refused (422); missing
    /// blobs are reported once every page was seen (at most 10,000 digests).
    async fn commit_pages(
        &self,
        project: &ProjectKey,
        name: &ArtifactName,
        request: CommitRequest,
        pages: ManifestPages,
    ) -> Result<CommitResponse>;
    /// Resolve a reference to a committed version.
    async fn version(
        &self,
        project: &ProjectKey,
        name: &ArtifactName,
        reference: &VersionRef,
    ) -> Result<Version>;
    /// A collection's versions, paged.
    async fn list_versions(
        &self,
        project: &ProjectKey,
        name: &ArtifactName,
        query: &ListQuery,
    ) -> Result<VersionList>;
    /// A committed version and its manifest.
    async fn manifest(
        &self,
        project: &ProjectKey,
        name: &ArtifactName,
        reference: &VersionRef,
    ) -> Result<(Version, Manifest)>;
    /// A committed version and its manifest as canonical JSON (`Manifest::canonical_bytes`),
    /// produced a few pages at a time: a million-entry manifest is never held whole.
    async fn manifest_json(
        &self,
        project: &ProjectKey,
        name: &ArtifactName,
        reference: &VersionRef,
    ) -> Result<(Version, crate::ByteStream)>;
    /// A committed version and the entry at `path` in it (reads one page, not the manifest).
    async fn entry(
        &self,
        project: &ProjectKey,
        name: &ArtifactName,
        reference: &VersionRef,
        path: &str,
    ) -> Result<(Version, Option<Entry>)>;
    /// Edit description and metadata.
    async fn update_version(
        &self,
        project: &ProjectKey,
        name: &ArtifactName,
        reference: &VersionRef,
        update: VersionUpdate,
    ) -> Result<Version>;
    /// Delete a version (its number is never reused).
    async fn delete_version(
        &self,
        project: &ProjectKey,
        name: &ArtifactName,
        reference: &VersionRef,
        delete_aliases: bool,
    ) -> Result<()>;
    /// Point `alias` at `version`, moving it if it named another.
    async fn set_alias(
        &self,
        project: &ProjectKey,
        name: &ArtifactName,
        alias: &Alias,
        version: VersionIndex,
    ) -> Result<Version>;
    /// Remove an alias (`latest` cannot be removed).
    async fn delete_alias(
        &self,
        project: &ProjectKey,
        name: &ArtifactName,
        alias: &Alias,
    ) -> Result<()>;

    /// Add a run's entries to the pending version of `id` (semantics §7).
    async fn upsert(
        &self,
        project: &ProjectKey,
        name: &ArtifactName,
        id: &DistributedId,
        request: UpsertRequest,
    ) -> Result<PendingVersion>;
    /// Commit the union of the pending version of `id` and `request`'s entries.
    async fn finish(
        &self,
        project: &ProjectKey,
        name: &ArtifactName,
        id: &DistributedId,
        request: UpsertRequest,
    ) -> Result<CommitResponse>;
    /// The pending version of `id`.
    async fn pending(
        &self,
        project: &ProjectKey,
        name: &ArtifactName,
        id: &DistributedId,
    ) -> Result<PendingVersion>;
    /// Drop the pending version of `id`.
    async fn abort(
        &self,
        project: &ProjectKey,
        name: &ArtifactName,
        id: &DistributedId,
    ) -> Result<()>;

    /// Start a run; the store assigns its id.
    async fn create_run(&self, project: &ProjectKey, request: RunRequest) -> Result<Run>;
    /// A run, with the versions it logged and used.
    async fn run(&self, project: &ProjectKey, id: &RunId) -> Result<Run>;
    /// Record that `run` uses a version, and resolve it.
    async fn use_version(
        &self,
        project: &ProjectKey,
        run: &RunId,
        name: &ArtifactName,
        reference: &VersionRef,
    ) -> Result<Version>;
    /// Which run logged a version and which runs used it.
    async fn lineage(
        &self,
        project: &ProjectKey,
        name: &ArtifactName,
        reference: &VersionRef,
    ) -> Result<Lineage>;
}
