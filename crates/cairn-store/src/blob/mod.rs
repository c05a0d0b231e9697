//! The blob store: content-addressed bytes, verified before they are published.
//! It maps digest → bytes and never parses a manifest.

mod object;
mod pack;
mod upload;

use std::fmt::Debug;
use std::ops::Range;

use async_trait::async_trait;
use bytes::Bytes;
use cairn_core::Digest;
use cairn_core::pack::PackHeader;
use cairn_core::wire::{UploadPart, UploadSession};
use futures::stream::BoxStream;

pub use object::ObjectBlobStore;
pub(crate) use object::hex_id;

use crate::error::Result;
use crate::recipe::PackKey;

/// A stream of body bytes, as the server receives or sends them.
pub type ByteStream = BoxStream<'static, std::io::Result<Bytes>>;

/// What a verified put did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PutOutcome {
    /// The blob is new.
    Created,
    /// The same bytes were stored already.
    AlreadyPresent,
}

/// Verified bytes in the staging area, not yet (or not only) visible under their digest. They
/// stay there until [`BlobStore::discard`], so they can be published again if garbage collection
/// deletes the published copy in the meantime (see [`crate::holding`]).
#[derive(Debug)]
pub struct Staged {
    /// What the bytes hash to.
    pub digest: Digest,
    /// How many there are.
    pub size: u64,
    /// Where they wait (`staging/<random>`).
    pub(crate) location: String,
}

/// A pack in the store.
#[derive(Clone, Debug)]
pub struct StoredPack {
    /// Which.
    pub key: PackKey,
    /// Its size in bytes.
    pub size: u64,
    /// When it was written.
    pub written: chrono::DateTime<chrono::Utc>,
}

/// Content-addressed blob storage.
#[async_trait]
pub trait BlobStore: Send + Sync + Debug + 'static {
    /// The size of a stored blob, or `None`.
    async fn size(&self, digest: &Digest) -> Result<Option<u64>>;

    /// Stream `body` into the staging area, hashing as it goes; keep it only if the bytes hash
    /// to `expected` and number at most `limit`; otherwise nothing is kept and the error says
    /// why (`DigestMismatch`, `TooLarge`, `Body`).
    async fn stage(&self, expected: &Digest, body: ByteStream, limit: u64) -> Result<Staged>;

    /// Make staged bytes visible under their digest, atomically and without replacing a blob
    /// already there; the staged copy stays (publishing it again is allowed and cheap on a
    /// local disk, where it is a hard link).
    async fn publish(&self, staged: &Staged) -> Result<PutOutcome>;

    /// Drop a staged copy (removing one already gone is not an error).
    async fn discard(&self, staged: Staged) -> Result<()>;

    /// [`stage`](Self::stage), [`publish`](Self::publish) and [`discard`](Self::discard) in
    /// one: for callers that record no holding (tests, tools). The registry's uploads go
    /// through [`crate::holding::hold`] instead, which is safe beside garbage collection.
    async fn put(&self, expected: &Digest, body: ByteStream, limit: u64) -> Result<PutOutcome> {
        let staged = self.stage(expected, body, limit).await?;
        let outcome = self.publish(&staged).await;
        self.discard(staged).await?;
        outcome
    }

    /// The blob's bytes, or the `range` of them (already checked against its size).
    async fn get(&self, digest: &Digest, range: Option<Range<u64>>) -> Result<ByteStream>;

    /// Remove a blob (garbage collection); removing an absent blob is not an error.
    async fn delete(&self, digest: &Digest) -> Result<()>;

    /// Verify a pack body (`docs/chunking.md`: every chunk against its hash, nothing missing
    /// or left over, at most `limit` bytes) and store it as a pack of `owner`
    /// (`entity/project`). Nothing is stored when it is refused; the same body sent again names
    /// the same pack.
    async fn put_pack(
        &self,
        owner: &str,
        body: ByteStream,
        limit: u64,
    ) -> Result<(PackKey, PackHeader)>;

    /// A stored pack's header, or `None`.
    async fn pack_header(&self, key: &PackKey) -> Result<Option<PackHeader>>;

    /// Bytes `range` of a stored pack (`NotFound` when it is gone).
    async fn pack_bytes(&self, key: &PackKey, range: Range<u64>) -> Result<Bytes>;

    /// Every stored pack.
    async fn list_packs(&self) -> Result<Vec<StoredPack>>;

    /// Remove a pack (garbage collection); removing an absent pack is not an error.
    async fn delete_pack(&self, key: &PackKey) -> Result<()>;

    /// Remove uploads that were interrupted (a crash mid-upload) and are older than `age`.
    /// Returns how many were removed.
    async fn clean_staging(&self, age: std::time::Duration) -> Result<usize>;

    /// Open a resumable upload of `digest` (`size` bytes, parts of `part_size`) for `owner`
    /// (`entity/project`), expiring after `ttl`; the unexpired session `owner` already has for
    /// the same digest and size is returned instead, with the parts it holds.
    async fn open_upload(
        &self,
        owner: &str,
        digest: &Digest,
        size: u64,
        part_size: u64,
        ttl: std::time::Duration,
    ) -> Result<UploadSession>;

    /// The session `id` of `owner` with the parts received (`NotFound` when absent, another
    /// owner's, or expired).
    async fn upload(&self, owner: &str, id: &str) -> Result<UploadSession>;

    /// Store part `number` of session `id`; it must have exactly its size (`Unprocessable`).
    /// Parts may come in any order and in parallel; a part sent again replaces the first.
    async fn put_part(
        &self,
        owner: &str,
        id: &str,
        number: u32,
        body: ByteStream,
    ) -> Result<UploadPart>;

    /// Verify the whole blob and stage it like [`stage`](Self::stage); the session is gone
    /// afterwards either way. `IncompleteUpload` (nothing changes) while parts are missing;
    /// `DigestMismatch` when the parts do not hash to the digest (nothing staged).
    async fn complete_upload(&self, owner: &str, id: &str) -> Result<(UploadSession, Staged)>;

    /// Drop the session and its parts.
    async fn abort_upload(&self, owner: &str, id: &str) -> Result<()>;

    /// Delete expired sessions and their parts; returns how many.
    async fn clean_uploads(&self) -> Result<usize>;
}
