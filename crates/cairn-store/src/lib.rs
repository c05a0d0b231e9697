//! # cairn-store
//!
//! Storage behind two small traits: [`BlobStore`] (content-addressed bytes on `object_store`,
//! verified before they are published) and [`MetadataStore`] (tokens, project blob holdings,
//! collections, versions, aliases, pending distributed versions) on SQLite or PostgreSQL;
//! [`hold`], how an upload comes to be held by a project, and [`collect_garbage`], which
//! together cannot lose bytes an acknowledged version needs. `tests/conformance/` holds the suites every backend runs.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> cairn_store::Result<()> {
//! use cairn_core::Digest;
//! use cairn_store::{BlobStore, ObjectBlobStore, PutOutcome};
//! use futures::StreamExt;
//!
//! let blobs = ObjectBlobStore::memory();
//! let digest = Digest::of(b"hello");
//! let body = futures::stream::iter([Ok(bytes::Bytes::from_static(b"hello"))]).boxed();
//! assert_eq!(blobs.put(&digest, body, 1 << 20).await?, PutOutcome::Created);
//! assert_eq!(blobs.size(&digest).await?, Some(5));
//! # Ok(()) }
//! ```

pub mod assembly;
pub mod blob;
pub mod content;
pub mod error;
pub mod gc;
pub mod holding;
pub mod meta;
pub mod recipe;
mod repack;
pub mod seam;
pub mod stream;
mod whole;

pub use blob::{BlobStore, ByteStream, ObjectBlobStore, PutOutcome, Staged, StoredPack};
pub use error::{Error, Result};
pub use gc::{GcOptions, GcReport, collect, collect_garbage, finish_interrupted};
pub use holding::hold;
pub use meta::{
    BlobMd5, GcLock, GcMark, GcMarks, ManifestPages, Md5, MetadataStore, PAGE_ENTRIES, PoolUse,
    ProjectKey, Recorded, Role, SqlStore, TokenRecord, WholeBlob,
};
pub use seam::{Seam, Step};
pub use stream::Streams;
