//! The blob store: content-addressed bytes, verified before they are published.
//! It maps digest → bytes and never parses a manifest.

mod object;
mod upload;

use std::fmt::Debug;
use std::ops::Range;

use async_trait::async_trait;
use bytes::Bytes;
use cairn_core::Digest;
use cairn_core::wire::{UploadPart, UploadSession};
use futures::stream::BoxStream;

pub use object::ObjectBlobStore;
pub(crate) use object::hex_id;

use crate::error::Result;

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

/// Content-addressed blob storage.
#[async_trait]
pub trait BlobStore: Send + Sync + Debug + 'static {
    /// The size of a stored blob, or `None`.
    async fn size(&self, digest: &Digest) -> Result<Option<u64>>;

    /// Stream `body` in, hashing as it goes, and publish it under `expected` only if the
    /// bytes hash to it and number at most `limit`; otherwise nothing is stored and the
    /// error says why (`DigestMismatch`, `TooLarge`, `Body`).
    async fn put(&self, expected: &Digest, body: ByteStream, limit: u64) -> Result<PutOutcome>;

    /// The blob's bytes, or the `range` of them (already checked against its size).
    async fn get(&self, digest: &Digest, range: Option<Range<u64>>) -> Result<ByteStream>;

    /// Remove a blob (garbage collection); removing an absent blob is not an error.
    async fn delete(&self, digest: &Digest) -> Result<()>;

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

    /// Verify the whole blob and publish it like [`put`](Self::put); the session is gone
    /// afterwards either way. `IncompleteUpload` (nothing changes) while parts are missing;
    /// `DigestMismatch` when the parts do not hash to the digest (nothing published).
    async fn complete_upload(&self, owner: &str, id: &str) -> Result<(UploadSession, PutOutcome)>;

    /// Drop the session and its parts.
    async fn abort_upload(&self, owner: &str, id: &str) -> Result<()>;

    /// Delete expired sessions and their parts; returns how many.
    async fn clean_uploads(&self) -> Result<usize>;
}
