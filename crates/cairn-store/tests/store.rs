//! Every backend runs the conformance suites: in-memory and local-disk blob stores, and the
//! SQLite metadata store.

mod conformance;

use std::sync::Arc;

use cairn_store::{ObjectBlobStore, SqliteStore};

#[tokio::test]
async fn memory_blob_store() {
    conformance::blob::run(&ObjectBlobStore::memory()).await;
}

#[tokio::test]
async fn local_blob_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = ObjectBlobStore::local(dir.path()).unwrap();
    conformance::blob::run(&store).await;
    // nothing is left in staging by successful, failed or aborted uploads
    let staging = dir.path().join("staging");
    let left: Vec<_> = std::fs::read_dir(&staging)
        .map(|d| d.collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "staging holds {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_metadata_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("cairn.db"))
        .await
        .unwrap();
    conformance::meta::run(Arc::new(store)).await;
}
