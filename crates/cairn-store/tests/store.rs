//! Every backend runs the conformance suites: in-memory, local-disk and S3 blob stores, and the
//! SQLite and PostgreSQL metadata stores (the S3 and PostgreSQL runs need `scripts/services`).

mod conformance;

use std::sync::Arc;

use cairn_store::{ObjectBlobStore, SqlStore};

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
    let store = SqlStore::open(&dir.path().join("cairn.db")).await.unwrap();
    conformance::meta::run(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_metadata_store() {
    let Some(url) = cairn_testkit::services::postgres_database().await else {
        return;
    };
    let store = SqlStore::connect(&url).await.unwrap();
    // migrating an up-to-date database again is a no-op (every replica does it at start)
    SqlStore::connect(&url).await.unwrap();
    conformance::meta::run(Arc::new(store)).await;
}

#[tokio::test]
async fn s3_blob_store() {
    let Some(location) = cairn_testkit::services::s3_location() else {
        return;
    };
    conformance::blob::run(&ObjectBlobStore::open(&location).unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_on_sqlite_and_local_disk() {
    let dir = tempfile::tempdir().unwrap();
    let meta = SqlStore::open(&dir.path().join("cairn.db")).await.unwrap();
    let blobs = ObjectBlobStore::local(&dir.path().join("blobs")).unwrap();
    conformance::chunked::run(Arc::new(meta), Arc::new(blobs)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_on_postgres_and_s3() {
    let (Some(url), Some(location)) = (
        cairn_testkit::services::postgres_database().await,
        cairn_testkit::services::s3_location(),
    ) else {
        return;
    };
    let meta = SqlStore::connect(&url).await.unwrap();
    let blobs = ObjectBlobStore::open(&location).unwrap();
    conformance::chunked::run(Arc::new(meta), Arc::new(blobs)).await;
}
