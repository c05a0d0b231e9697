//! [`BlobStore`] on `object_store`: a local directory, or S3-compatible storage.
//! Uploads stream into `staging/<random>`; only verified bytes are copied (on a local disk: hard
//! linked) to `blobs/<aa>/<hex>`, atomically and without replacing an existing blob.

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use cairn_core::{Digest, Hasher};
use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{GetOptions, GetRange, ObjectStore, WriteMultipart};

use super::{BlobStore, ByteStream, PutOutcome, Staged, StoredPack};
use crate::error::{Error, Result};
use crate::recipe::PackKey;
use cairn_core::pack::PackHeader;
use cairn_core::wire::{UploadPart, UploadSession};

/// Part size for multipart writes (S3 needs at least 5 MiB).
const CHUNK: usize = 8 * 1024 * 1024;
/// Bytes gathered before one write (see `write_checked`).
const WRITE: usize = 1024 * 1024;

/// A blob store on any `object_store` backend.
#[derive(Debug, Clone)]
pub struct ObjectBlobStore {
    pub(super) store: Arc<dyn ObjectStore>,
    /// The directory of a local store: its staging area is cleaned on disk, since
    /// `object_store` hides its own half-written part files (`name#1`) from listings.
    pub(super) root: Option<std::path::PathBuf>,
}

impl ObjectBlobStore {
    /// Blobs under a local directory (created if missing).
    pub fn local(dir: &std::path::Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(local_error)?;
        let mut store = Self::new(Arc::new(LocalFileSystem::new_with_prefix(dir)?));
        store.root = Some(dir.to_owned());
        Ok(store)
    }

    /// Blobs in an S3-compatible bucket, `s3://bucket` or `s3://bucket/prefix`. Endpoint,
    /// region and credentials come from the usual `AWS_*` variables (`AWS_ENDPOINT` and
    /// `AWS_ALLOW_HTTP=true` for a local server such as MinIO or moto).
    pub fn s3(url: &str) -> Result<Self> {
        let rest = url.strip_prefix("s3://").ok_or_else(|| {
            Error::Unprocessable(format!("blob store URL '{url}' does not start with s3://"))
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(Error::Unprocessable(format!(
                "blob store URL '{url}' names no bucket"
            )));
        }
        let s3 = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .build()?;
        let prefix = prefix.trim_matches('/');
        Ok(Self::new(if prefix.is_empty() {
            Arc::new(s3)
        } else {
            Arc::new(PrefixStore::new(s3, prefix))
        }))
    }

    /// A local directory, or `s3://…` (see [`Self::s3`]).
    pub fn open(location: &str) -> Result<Self> {
        if location.starts_with("s3://") {
            Self::s3(location)
        } else {
            Self::local(std::path::Path::new(location))
        }
    }

    /// Blobs in memory (tests).
    pub fn memory() -> Self {
        Self::new(Arc::new(InMemory::new()))
    }

    /// Blobs in any object store.
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self { store, root: None }
    }

    fn location(digest: &Digest) -> Path {
        let hex = digest.hex();
        Path::from(format!("blobs/{}/{hex}", &hex[..2]))
    }

    /// Stream `body` into a new object at `path`. `step` sees every chunk (with `state`) and
    /// `end` the state once the body is over; either may refuse it. The object appears only
    /// when the write completes (S3: CompleteMultipartUpload; local: a rename), so a refused,
    /// broken or failed stream leaves nothing: the write is aborted and the error returned.
    pub(super) async fn write_checked<S>(
        &self,
        path: &Path,
        mut body: ByteStream,
        mut state: S,
        mut step: impl FnMut(&mut S, &[u8]) -> Option<Error>,
        end: impl FnOnce(S) -> Option<Error>,
    ) -> Result<()> {
        let upload = self.store.put_multipart(path).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, CHUNK);
        // the body's pieces (often 16 KiB) gathered into writes of WRITE bytes: a local disk
        // spends several times longer on many small writes than on few large ones
        let mut pending: Vec<u8> = Vec::with_capacity(WRITE);
        let failure = loop {
            match body.next().await {
                None => break end(state),
                Some(Err(e)) => break Some(Error::Body(e)),
                Some(Ok(chunk)) => {
                    if let Some(e) = step(&mut state, &chunk) {
                        break Some(e);
                    }
                    pending.extend_from_slice(&chunk);
                    if pending.len() < WRITE {
                        continue;
                    }
                    if let Err(e) = writer.wait_for_capacity(2).await {
                        break Some(e.into());
                    }
                    let full = std::mem::replace(&mut pending, Vec::with_capacity(WRITE));
                    writer.put(full.into());
                }
            }
        };
        if failure.is_none() && !pending.is_empty() {
            writer.put(pending.into());
        }
        if let Some(e) = failure {
            let _ = writer.abort().await;
            return Err(e);
        }
        writer.finish().await?;
        Ok(())
    }

    /// Copy `staging` to `target` unless a blob is there already; `staging` stays.
    pub(super) async fn publish_copy(&self, staging: &Path, target: &Path) -> Result<PutOutcome> {
        match self.store.copy_if_not_exists(staging, target).await {
            Ok(()) => Ok(PutOutcome::Created),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(PutOutcome::AlreadyPresent),
            Err(object_store::Error::NotSupported { .. } | object_store::Error::NotImplemented) => {
                // stores without an atomic create-if-absent (S3 unless configured): the content
                // is identical either way
                if self.store.head(target).await.is_ok() {
                    return Ok(PutOutcome::AlreadyPresent);
                }
                self.store.copy(staging, target).await?;
                Ok(PutOutcome::Created)
            }
            Err(object_store::Error::NotFound { .. }) => Err(Error::Unprocessable(
                "the staged upload is gone (cleaned up by garbage collection?); upload again"
                    .into(),
            )),
            Err(e) => Err(e.into()),
        }
    }
}

#[async_trait]
impl BlobStore for ObjectBlobStore {
    async fn size(&self, digest: &Digest) -> Result<Option<u64>> {
        match self.store.head(&Self::location(digest)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn stage(&self, expected: &Digest, body: ByteStream, limit: u64) -> Result<Staged> {
        let location = format!("staging/{}", hex_id());
        let staging = Path::from(location.as_str());
        let hashed = |hasher: &mut Hasher, chunk: &[u8]| {
            hasher.update(chunk);
            (hasher.len() > limit).then_some(Error::TooLarge { limit })
        };
        let mut size = 0;
        let verified = |hasher: Hasher| {
            size = hasher.len();
            let actual = hasher.finish();
            (actual != *expected).then_some(Error::DigestMismatch {
                expected: *expected,
                actual,
            })
        };
        self.write_checked(&staging, body, Hasher::new(), hashed, verified)
            .await?;
        Ok(Staged {
            digest: *expected,
            size,
            location,
        })
    }

    async fn publish(&self, staged: &Staged) -> Result<PutOutcome> {
        let staging = Path::from(staged.location.as_str());
        self.publish_copy(&staging, &Self::location(&staged.digest))
            .await
    }

    async fn discard(&self, staged: Staged) -> Result<()> {
        match self.store.delete(&Path::from(staged.location)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn get(&self, digest: &Digest, range: Option<Range<u64>>) -> Result<ByteStream> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let result = match self.store.get_opts(&Self::location(digest), options).await {
            Ok(r) => r,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(Error::NotFound(format!("blob {digest}")));
            }
            Err(e) => return Err(e.into()),
        };
        Ok(result.into_stream().map_err(std::io::Error::other).boxed())
    }

    async fn delete(&self, digest: &Digest) -> Result<()> {
        match self.store.delete(&Self::location(digest)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn put_pack(
        &self,
        owner: &str,
        body: ByteStream,
        limit: u64,
    ) -> Result<(PackKey, PackHeader)> {
        self.put_pack_impl(owner, body, limit).await
    }

    async fn pack_header(&self, key: &PackKey) -> Result<Option<PackHeader>> {
        self.pack_header_impl(key).await
    }

    async fn pack_bytes(&self, key: &PackKey, range: Range<u64>) -> Result<bytes::Bytes> {
        self.pack_bytes_impl(key, range).await
    }

    async fn list_packs(&self) -> Result<Vec<StoredPack>> {
        self.list_packs_impl().await
    }

    async fn delete_pack(&self, key: &PackKey) -> Result<()> {
        self.delete_pack_impl(key).await
    }

    async fn clean_staging(&self, age: Duration) -> Result<usize> {
        if let Some(root) = &self.root {
            let dir = root.join("staging");
            return tokio::task::spawn_blocking(move || clean_dir(&dir, age))
                .await
                .map_err(local_error)?;
        }
        let cutoff = chrono::Utc::now() - age;
        let stale: Vec<Path> = self
            .store
            .list(Some(&Path::from("staging")))
            .try_filter(|m| futures::future::ready(m.last_modified < cutoff))
            .map_ok(|m| m.location)
            .try_collect()
            .await?;
        for path in &stale {
            self.store.delete(path).await?;
        }
        Ok(stale.len())
    }

    async fn open_upload(
        &self,
        owner: &str,
        digest: &Digest,
        size: u64,
        part_size: u64,
        ttl: Duration,
    ) -> Result<UploadSession> {
        self.open_upload_impl(owner, digest, size, part_size, ttl)
            .await
    }

    async fn upload(&self, owner: &str, id: &str) -> Result<UploadSession> {
        self.upload_impl(owner, id).await
    }

    async fn put_part(
        &self,
        owner: &str,
        id: &str,
        number: u32,
        body: ByteStream,
    ) -> Result<UploadPart> {
        self.put_part_impl(owner, id, number, body).await
    }

    async fn complete_upload(&self, owner: &str, id: &str) -> Result<(UploadSession, Staged)> {
        self.complete_upload_impl(owner, id).await
    }

    async fn abort_upload(&self, owner: &str, id: &str) -> Result<()> {
        self.abort_upload_impl(owner, id).await
    }

    async fn clean_uploads(&self) -> Result<usize> {
        self.clean_uploads_impl().await
    }
}

/// A failure of the local file system, as a blob-store error.
pub(super) fn local_error(e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::Blob(object_store::Error::Generic {
        store: "local",
        source: Box::new(e),
    })
}

/// Delete the files of `dir` last modified more than `age` ago (all of them for zero).
fn clean_dir(dir: &std::path::Path, age: Duration) -> Result<usize> {
    let io = local_error;
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(io(e)),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry.map_err(io)?;
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .map(|t| t.elapsed().unwrap_or_default() >= age)
            .unwrap_or(false);
        if stale && entry.file_type().is_ok_and(|t| t.is_file()) {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(e)),
            }
        }
    }
    Ok(removed)
}

/// A random 128-bit id in hex, for staging names.
pub(crate) fn hex_id() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
