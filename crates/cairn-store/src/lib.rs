//! # cairn-store
//!
//! Storage behind two small traits: [`BlobStore`] (content-addressed bytes on `object_store`,
//! verified before they are published) and [`MetadataStore`] (tokens, project blob holdings,
//! collections, versions, aliases, pending distributed versions) on SQLite or PostgreSQL, and
//! [`collect_garbage`]. `tests/conformance/` holds the suites every backend runs.
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

pub mod blob;
pub mod error;
pub mod gc;
pub mod meta;

pub use blob::{BlobStore, ByteStream, ObjectBlobStore, PutOutcome};
pub use error::{Error, Result};
pub use gc::{GcReport, collect_garbage};
pub use meta::{MetadataStore, ProjectKey, Role, SqlStore, TokenRecord};
