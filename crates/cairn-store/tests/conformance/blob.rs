//! The blob store contract.

use bytes::Bytes;
use cairn_core::Digest;
use cairn_store::{BlobStore, ByteStream, Error, PutOutcome};
use futures::{StreamExt, TryStreamExt};

fn body(chunks: &[&[u8]]) -> ByteStream {
    let chunks: Vec<_> = chunks
        .iter()
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    futures::stream::iter(chunks).boxed()
}

pub async fn read(
    store: &dyn BlobStore,
    d: &Digest,
    range: Option<std::ops::Range<u64>>,
) -> Vec<u8> {
    let chunks: Vec<Bytes> = store
        .get(d, range)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    chunks.concat()
}

pub async fn run(store: &dyn BlobStore) {
    put_verifies_and_dedups(store).await;
    mismatch_stores_nothing(store).await;
    limit_is_enforced_while_streaming(store).await;
    broken_body_stores_nothing(store).await;
    ranges_and_delete(store).await;
    staged_bytes_publish_again_after_a_delete(store).await;
    large_multi_chunk_blob(store).await;
    super::upload::run(store).await;
    super::pack::run(store).await;
}

async fn put_verifies_and_dedups(store: &dyn BlobStore) {
    let d = Digest::of(b"hello world");
    assert_eq!(store.size(&d).await.unwrap(), None);
    assert_eq!(
        store
            .put(&d, body(&[b"hello", b" ", b"world"]), 100)
            .await
            .unwrap(),
        PutOutcome::Created
    );
    assert_eq!(store.size(&d).await.unwrap(), Some(11));
    assert_eq!(
        store.put(&d, body(&[b"hello world"]), 100).await.unwrap(),
        PutOutcome::AlreadyPresent
    );
    assert_eq!(read(store, &d, None).await, b"hello world");
    let empty = Digest::of(b"");
    assert_eq!(
        store.put(&empty, body(&[]), 0).await.unwrap(),
        PutOutcome::Created
    );
    assert_eq!(store.size(&empty).await.unwrap(), Some(0));
}

/// What an upload racing garbage collection relies on: staged bytes are invisible until
/// published, stay staged after publishing, and can be published again once the blob is deleted.
async fn staged_bytes_publish_again_after_a_delete(store: &dyn BlobStore) {
    let d = Digest::of(b"staged bytes");
    let staged = store
        .stage(&d, body(&[b"staged", b" bytes"]), 100)
        .await
        .unwrap();
    assert_eq!((staged.digest, staged.size), (d, 12));
    assert_eq!(
        store.size(&d).await.unwrap(),
        None,
        "visible before publish"
    );
    assert_eq!(store.publish(&staged).await.unwrap(), PutOutcome::Created);
    assert_eq!(
        store.publish(&staged).await.unwrap(),
        PutOutcome::AlreadyPresent
    );
    store.delete(&d).await.unwrap();
    assert_eq!(store.size(&d).await.unwrap(), None);
    assert_eq!(store.publish(&staged).await.unwrap(), PutOutcome::Created);
    assert_eq!(read(store, &d, None).await, b"staged bytes");
    store.discard(staged).await.unwrap();
    assert_eq!(
        read(store, &d, None).await,
        b"staged bytes",
        "discard kept the blob"
    );
    store.delete(&d).await.unwrap();
    // a refused stage leaves nothing to publish
    assert!(matches!(
        store.stage(&d, body(&[b"other bytes!"]), 100).await,
        Err(Error::DigestMismatch { .. })
    ));
    assert_eq!(store.size(&d).await.unwrap(), None);
}

async fn mismatch_stores_nothing(store: &dyn BlobStore) {
    let claimed = Digest::of(b"claimed");
    match store.put(&claimed, body(&[b"other bytes"]), 100).await {
        Err(Error::DigestMismatch { expected, actual }) => {
            assert_eq!(expected, claimed);
            assert_eq!(actual, Digest::of(b"other bytes"));
        }
        other => panic!("expected a digest mismatch, got {other:?}"),
    }
    assert_eq!(store.size(&claimed).await.unwrap(), None);
    assert_eq!(store.size(&Digest::of(b"other bytes")).await.unwrap(), None);
}

async fn limit_is_enforced_while_streaming(store: &dyn BlobStore) {
    let data = vec![7u8; 1000];
    let d = Digest::of(&data);
    match store
        .put(&d, body(&[&data[..600], &data[600..]]), 999)
        .await
    {
        Err(Error::TooLarge { limit: 999 }) => {}
        other => panic!("expected too large, got {other:?}"),
    }
    assert_eq!(store.size(&d).await.unwrap(), None);
    assert_eq!(
        store.put(&d, body(&[&data]), 1000).await.unwrap(),
        PutOutcome::Created
    );
}

async fn broken_body_stores_nothing(store: &dyn BlobStore) {
    let d = Digest::of(b"never finished");
    let broken = futures::stream::iter([
        Ok(Bytes::from_static(b"never ")),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "client went away",
        )),
    ])
    .boxed();
    assert!(matches!(
        store.put(&d, broken, 100).await,
        Err(Error::Body(_))
    ));
    assert_eq!(store.size(&d).await.unwrap(), None);
}

async fn ranges_and_delete(store: &dyn BlobStore) {
    let data: Vec<u8> = (0..=255u8).collect();
    let d = Digest::of(&data);
    store.put(&d, body(&[&data]), 1 << 20).await.unwrap();
    assert_eq!(read(store, &d, Some(10..20)).await, &data[10..20]);
    assert_eq!(read(store, &d, Some(250..256)).await, &data[250..]);
    store.delete(&d).await.unwrap();
    assert_eq!(store.size(&d).await.unwrap(), None);
    store.delete(&d).await.unwrap();
    assert!(matches!(store.get(&d, None).await, Err(Error::NotFound(_))));
}

async fn large_multi_chunk_blob(store: &dyn BlobStore) {
    // larger than the multipart chunk, so several parts are written
    let data: Vec<u8> = (0..20 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let d = Digest::of(&data);
    let chunks: Vec<&[u8]> = data.chunks(1 << 20).collect();
    assert_eq!(
        store.put(&d, body(&chunks), u64::MAX).await.unwrap(),
        PutOutcome::Created
    );
    assert_eq!(store.size(&d).await.unwrap(), Some(data.len() as u64));
    assert_eq!(Digest::of(&read(store, &d, None).await), d);
}
