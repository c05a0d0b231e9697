//! The upload-session contract: parts in any order and in parallel, resume by digest, exact
//! part sizes, verification on completion, expiry.

use std::time::Duration;

use bytes::Bytes;
use cairn_core::Digest;
use cairn_store::{BlobStore, ByteStream, Error, PutOutcome};
use futures::StreamExt;

use super::blob::read;

const DAY: Duration = Duration::from_secs(86_400);
const OWNER: &str = "acme/vision";

fn body(bytes: &[u8]) -> ByteStream {
    // two chunks, so parts arrive the way a network delivers them
    let (a, b) = bytes.split_at(bytes.len() / 2);
    futures::stream::iter([Ok(Bytes::copy_from_slice(a)), Ok(Bytes::copy_from_slice(b))]).boxed()
}

fn blob(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

pub async fn run(store: &dyn BlobStore) {
    parallel_out_of_order_parts_resume_and_verify(store).await;
    parts_must_have_their_size(store).await;
    incomplete_and_corrupt_uploads_publish_nothing(store).await;
    sessions_are_private_and_expire(store).await;
}

async fn parallel_out_of_order_parts_resume_and_verify(store: &dyn BlobStore) {
    let data = blob(1, 10 * 1000 + 7); // 11 parts of 1,000 bytes, the last 7
    let d = Digest::of(&data);
    let s = store
        .open_upload(OWNER, &d, data.len() as u64, 1000, DAY)
        .await
        .unwrap();
    assert_eq!((s.part_count, s.parts.len()), (11, 0));
    // half the parts, last first, all at once
    let first: Vec<u32> = vec![10, 3, 7, 0, 5];
    futures::future::try_join_all(first.iter().map(|&n| {
        let part = data[n as usize * 1000..((n as usize + 1) * 1000).min(data.len())].to_vec();
        let id = s.id.clone();
        async move { store.put_part(OWNER, &id, n, body(&part)).await }
    }))
    .await
    .unwrap();
    // opening the same blob again resumes the session and says what it holds
    let again = store
        .open_upload(OWNER, &d, data.len() as u64, 1000, DAY)
        .await
        .unwrap();
    assert_eq!(again.id, s.id);
    let mut held: Vec<u32> = again.parts.iter().map(|p| p.number).collect();
    held.sort();
    assert_eq!(held, vec![0, 3, 5, 7, 10]);
    assert_eq!(again.parts.iter().find(|p| p.number == 10).unwrap().size, 7);
    assert_eq!(again.missing(), vec![1, 2, 4, 6, 8, 9]);
    futures::future::try_join_all(again.missing().into_iter().map(|n| {
        let part = data[n as usize * 1000..(n as usize + 1) * 1000].to_vec();
        let id = s.id.clone();
        async move { store.put_part(OWNER, &id, n, body(&part)).await }
    }))
    .await
    .unwrap();
    let (done, staged) = store.complete_upload(OWNER, &s.id).await.unwrap();
    assert_eq!((staged.digest, staged.size), (d, data.len() as u64));
    assert_eq!(store.size(&d).await.unwrap(), None, "staged, not published");
    let outcome = store.publish(&staged).await.unwrap();
    store.discard(staged).await.unwrap();
    assert_eq!((done.parts.len(), outcome), (11, PutOutcome::Created));
    assert_eq!(read(store, &d, None).await, data);
    assert!(matches!(
        store.upload(OWNER, &s.id).await,
        Err(Error::NotFound(_))
    ));
    // the same blob again through a session: already present
    let s = store
        .open_upload(OWNER, &d, data.len() as u64, 4096, DAY)
        .await
        .unwrap();
    assert_ne!(s.id, done.id);
    for n in 0..s.part_count {
        let part = &data[n as usize * 4096..((n as usize + 1) * 4096).min(data.len())];
        store.put_part(OWNER, &s.id, n, body(part)).await.unwrap();
    }
    let (_, staged) = store.complete_upload(OWNER, &s.id).await.unwrap();
    assert_eq!(
        store.publish(&staged).await.unwrap(),
        PutOutcome::AlreadyPresent
    );
    store.discard(staged).await.unwrap();
}

async fn parts_must_have_their_size(store: &dyn BlobStore) {
    let data = blob(2, 2500);
    let d = Digest::of(&data);
    let s = store.open_upload(OWNER, &d, 2500, 1000, DAY).await.unwrap();
    for (n, len, why) in [
        (0, 999, "got 999"),
        (0, 1001, "got 1001 or more"),
        (2, 1000, "must be 500"),
    ] {
        match store.put_part(OWNER, &s.id, n, body(&vec![0; len])).await {
            Err(Error::Unprocessable(m)) => assert!(m.contains(why), "{m}"),
            other => panic!("part {n} of {len} bytes: {other:?}"),
        }
    }
    match store.put_part(OWNER, &s.id, 3, body(&[0; 10])).await {
        Err(Error::Unprocessable(m)) => assert!(m.contains("past the end"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(store.upload(OWNER, &s.id).await.unwrap().parts.is_empty());
    store.abort_upload(OWNER, &s.id).await.unwrap();
    assert!(matches!(
        store.upload(OWNER, &s.id).await,
        Err(Error::NotFound(_))
    ));
}

async fn incomplete_and_corrupt_uploads_publish_nothing(store: &dyn BlobStore) {
    let data = blob(3, 3000);
    let d = Digest::of(&data);
    let s = store.open_upload(OWNER, &d, 3000, 1000, DAY).await.unwrap();
    store
        .put_part(OWNER, &s.id, 0, body(&data[..1000]))
        .await
        .unwrap();
    match store.complete_upload(OWNER, &s.id).await {
        Err(Error::IncompleteUpload(missing)) => assert_eq!(missing, vec![1, 2]),
        other => panic!("{other:?}"),
    }
    assert_eq!(store.size(&d).await.unwrap(), None);
    // a corrupted part: every size right, the bytes wrong
    let mut bad = data[1000..2000].to_vec();
    bad[17] ^= 0xff;
    store.put_part(OWNER, &s.id, 1, body(&bad)).await.unwrap();
    store
        .put_part(OWNER, &s.id, 2, body(&data[2000..]))
        .await
        .unwrap();
    match store.complete_upload(OWNER, &s.id).await {
        Err(Error::DigestMismatch { expected, actual }) => {
            assert_eq!(expected, d);
            assert_ne!(actual, d);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(store.size(&d).await.unwrap(), None);
    assert!(matches!(
        store.upload(OWNER, &s.id).await,
        Err(Error::NotFound(_))
    ));
}

async fn sessions_are_private_and_expire(store: &dyn BlobStore) {
    let data = blob(4, 1500);
    let d = Digest::of(&data);
    let s = store.open_upload(OWNER, &d, 1500, 1000, DAY).await.unwrap();
    assert!(matches!(
        store.upload("acme/other", &s.id).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        store
            .put_part("acme/other", &s.id, 0, body(&data[..1000]))
            .await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        store.upload(OWNER, "../../blobs").await,
        Err(Error::NotFound(_))
    ));
    store.abort_upload(OWNER, &s.id).await.unwrap();

    let short = store
        .open_upload(OWNER, &d, 1500, 1000, Duration::from_secs(1))
        .await
        .unwrap();
    store
        .put_part(OWNER, &short.id, 0, body(&data[..1000]))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert!(store.clean_uploads().await.unwrap() >= 1);
    assert!(matches!(
        store.upload(OWNER, &short.id).await,
        Err(Error::NotFound(_))
    ));
    // a new open starts afresh: the expired parts are gone
    let fresh = store.open_upload(OWNER, &d, 1500, 1000, DAY).await.unwrap();
    assert_ne!(fresh.id, short.id);
    assert!(fresh.parts.is_empty());
    store.abort_upload(OWNER, &fresh.id).await.unwrap();
    assert_eq!(store.clean_uploads().await.unwrap(), 0);
}
