//! Blobs stored whole (a plain `PUT`, an upload session, or a release before chunks) packed
//! by garbage collection: read back the same, their whole objects deleted by a later
//! collection, chunks shared within a project stored once, small blobs sharing packs.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cairn_core::Digest;
use cairn_store::gc::{DEFAULT_PACK_WHOLE, GcReport};
use cairn_store::{BlobStore, GcOptions, MetadataStore, ProjectKey, Seam};
use cairn_testkit::noise;
use futures::TryStreamExt;

use super::pack::body;

fn project(name: &str) -> ProjectKey {
    ProjectKey {
        entity: "whole".parse().unwrap(),
        project: name.parse().unwrap(),
    }
}

/// Upload `data` to `p` as a plain `PUT` does: verified into staging, then held.
async fn put(
    meta: &dyn MetadataStore,
    blobs: &dyn BlobStore,
    p: &ProjectKey,
    data: &[u8],
) -> Digest {
    let digest = Digest::of(data);
    let staged = blobs
        .stage(&digest, body(data, 1 << 16), 1 << 30)
        .await
        .unwrap();
    cairn_store::hold(
        meta,
        blobs,
        p,
        staged,
        Duration::from_secs(5),
        &Seam::default(),
    )
    .await
    .unwrap();
    digest
}

async fn read(
    meta: &dyn MetadataStore,
    blobs: &Arc<dyn BlobStore>,
    d: &Digest,
    range: Option<std::ops::Range<u64>>,
) -> Vec<u8> {
    let s = cairn_store::content::read(meta, blobs, d, range)
        .await
        .unwrap();
    let parts: Vec<Bytes> = s.try_collect().await.unwrap();
    parts.concat()
}

pub async fn run(meta: Arc<dyn MetadataStore>, blobs: Arc<dyn BlobStore>) {
    let (m, b) = (meta.as_ref(), blobs.as_ref());
    let (a, other) = (project("a"), project("b"));
    // a large blob, a copy with 4 KiB overwritten, 50 small ones, an empty one; the large one
    // is held by a second project too
    let big = noise(3 << 20, 31);
    let mut edited = big.clone();
    edited[1 << 20..(1 << 20) + 4096].copy_from_slice(&noise(4096, 32));
    let mut contents = vec![big.clone(), edited.clone(), Vec::new()];
    contents.extend((0..50).map(|i| noise(4096, 1001 + 2 * i)));
    let mut digests = Vec::new();
    for data in &contents {
        digests.push(put(m, b, &a, data).await);
    }
    put(m, b, &other, &big).await;
    let total: u64 = contents.iter().map(|c| c.len() as u64).sum();
    for d in &digests {
        assert!(m.recipe(d).await.unwrap().is_none(), "stored whole");
        assert!(!m.has_recipe(d).await.unwrap());
    }
    let collect = |dry_run, grace| async move {
        let options = GcOptions {
            grace,
            dry_run,
            pack_whole: DEFAULT_PACK_WHOLE,
            ..GcOptions::default()
        };
        cairn_store::collect(m, b, &options).await.unwrap()
    };
    let summary = |r: &GcReport| {
        (
            r.packed_whole,
            r.packed_whole_bytes,
            r.whole_freed,
            r.whole_freed_bytes,
        )
    };
    let hour = Duration::from_secs(3600);

    let dry = collect(true, hour).await;
    assert_eq!(summary(&dry), (contents.len(), total, 0, 0), "{dry:?}");
    assert!(
        m.recipe(&digests[0]).await.unwrap().is_none(),
        "a dry run changes nothing"
    );
    assert!(b.list_packs().await.unwrap().is_empty());

    let first = collect(false, hour).await;
    assert_eq!(summary(&first), (contents.len(), total, 0, 0), "{first:?}");
    for (d, data) in digests.iter().zip(&contents) {
        assert!(m.recipe(d).await.unwrap().is_some(), "packed");
        assert!(m.has_recipe(d).await.unwrap());
        assert_eq!(&read(m, &blobs, d, None).await, data);
        assert!(b.size(d).await.unwrap().is_some(), "the whole object waits");
    }
    assert_eq!(
        read(m, &blobs, &digests[1], Some(1_000_000..1_100_000)).await,
        &edited[1_000_000..1_100_000]
    );
    // one pack of the first project that holds them; the edited copy's shared chunks once
    let packs = b.list_packs().await.unwrap();
    assert_eq!(packs.len(), 1, "{packs:?}");
    assert_eq!(packs[0].key.owner, a.to_string());
    assert!(
        packs[0].size < total - (2 << 20),
        "{} of {total}",
        packs[0].size
    );
    // nothing left whole to pack
    assert_eq!(summary(&collect(false, hour).await), (0, 0, 0, 0));

    // a later collection, past the grace, deletes the whole objects
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for (d, data) in digests.iter().zip(&contents) {
        super::record(m, &a, d, data.len() as u64).await; // still in use: refreshed
    }
    super::record(m, &other, &digests[0], big.len() as u64).await;
    let second = collect(false, Duration::from_secs(1)).await;
    assert_eq!(
        summary(&second),
        (0, 0, contents.len(), total),
        "{second:?}"
    );
    for (d, data) in digests.iter().zip(&contents) {
        assert_eq!(b.size(d).await.unwrap(), None, "the whole object is gone");
        assert_eq!(&read(m, &blobs, d, None).await, data);
    }

    // a plain PUT of a blob stored as chunks stores nothing whole, and is held
    let third = project("c");
    put(m, b, &third, &edited).await;
    assert_eq!(b.size(&digests[1]).await.unwrap(), None);
    assert_eq!(
        m.blob_size(&third, &digests[1]).await.unwrap(),
        Some(edited.len() as u64)
    );

    // unreferenced, all of it goes: blobs, recipes, the pack (and the later suites start clean)
    let last = collect(false, Duration::ZERO).await;
    assert_eq!((last.blobs, last.packs), (contents.len(), 1), "{last:?}");
    assert!(b.list_packs().await.unwrap().is_empty());
    assert!(m.recipe(&digests[0]).await.unwrap().is_none());
}
