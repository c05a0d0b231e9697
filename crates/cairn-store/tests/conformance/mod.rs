//! Conformance suites every backend runs: `blob::run` and `upload::run` for blob stores,
//! `meta::run` (which includes `large::run`, `paged::run` and `gc::run`) for metadata stores;
//! `chunked::run` for the two together (chunked uploads, reads and pack collection; first
//! `whole::run`, blobs stored whole packed by collections, then `checkpoint::run`, SHA-256
//! checkpoints, and last `stream::run`, packs hashed as they arrive).

pub mod blob;
pub mod checkpoint;
pub mod chunked;
pub mod compat;
pub mod gc;
pub mod large;
pub mod meta;
pub mod pack;
pub mod paged;
pub mod stream;
pub mod upload;
pub mod whole;

use cairn_core::Digest;
use cairn_store::{MetadataStore, ProjectKey, Recorded};

/// Record a holding the way an upload does: read the mark, then record against it.
pub async fn record(
    store: &dyn MetadataStore,
    p: &ProjectKey,
    digest: &Digest,
    size: u64,
) -> Recorded {
    let mark = store.gc_mark(digest).await.unwrap();
    store.record_blob(p, digest, size, mark).await.unwrap()
}
