//! The metadata side of garbage collection that cannot lose bytes: dooming, the epoch, holdings
//! refused while a digest is doomed or after a collection ran, and the one-collection lock.

use cairn_core::Digest;
use cairn_store::{MetadataStore, ProjectKey, Recorded};

fn project(name: &str) -> ProjectKey {
    ProjectKey {
        entity: "ent".parse().unwrap(),
        project: name.parse().unwrap(),
    }
}

fn now() -> String {
    // a cutoff a moment in the future: every holding recorded so far is old enough
    (chrono::Utc::now() + chrono::Duration::seconds(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub async fn run(store: &dyn MetadataStore) {
    dooming_refuses_holdings_until_released(store).await;
    a_collection_between_mark_and_record_refuses_it(store).await;
    one_collection_at_a_time(store).await;
}

async fn dooming_refuses_holdings_until_released(store: &dyn MetadataStore) {
    let p = project("gc-doom");
    let d = Digest::of(b"gc doomed");
    assert_eq!(super::record(store, &p, &d, 9).await, Recorded::New);
    let before = store.gc_mark(&d).await.unwrap();
    assert!(!before.doomed);
    // the collection forgets the unreferenced holding and dooms the digest (among others)
    let doomed = store
        .forget_unreferenced_blobs(&now(), false)
        .await
        .unwrap();
    assert!(doomed.contains(&d), "{d} not doomed: {doomed:?}");
    assert!(store.doomed_blobs().await.unwrap().contains(&d));
    let during = store.gc_mark(&d).await.unwrap();
    assert!(during.doomed && during.epoch > before.epoch);
    assert_eq!(store.missing_blobs(&p, &[d]).await.unwrap(), vec![d]);
    // while doomed, no holding: neither with the old mark nor with the current one
    for mark in [before, during] {
        assert_eq!(
            store.record_blob(&p, &d, 9, mark).await.unwrap(),
            Recorded::Collected
        );
    }
    assert_eq!(store.missing_blobs(&p, &[d]).await.unwrap(), vec![d]);
    // a second metadata step leaves it doomed and dooms nothing new for it
    store
        .forget_unreferenced_blobs(&now(), false)
        .await
        .unwrap();
    store.release_doomed(&[d]).await.unwrap();
    assert!(!store.doomed_blobs().await.unwrap().contains(&d));
    // a mark read before the release still refuses (the epoch moved); a fresh one holds
    assert_eq!(
        store.record_blob(&p, &d, 9, during).await.unwrap(),
        Recorded::Collected
    );
    assert_eq!(super::record(store, &p, &d, 9).await, Recorded::New);
    assert!(store.missing_blobs(&p, &[d]).await.unwrap().is_empty());
    // a dry run dooms nothing and keeps the epoch
    let mark = store.gc_mark(&d).await.unwrap();
    let would = store.forget_unreferenced_blobs(&now(), true).await.unwrap();
    assert!(would.contains(&d));
    assert_eq!(store.gc_mark(&d).await.unwrap(), mark);
    assert!(store.missing_blobs(&p, &[d]).await.unwrap().is_empty());
}

async fn a_collection_between_mark_and_record_refuses_it(store: &dyn MetadataStore) {
    let (p, q) = (project("gc-race-p"), project("gc-race-q"));
    let old = Digest::of(b"gc race old");
    let fresh = Digest::of(b"gc race fresh");
    assert_eq!(super::record(store, &q, &old, 11).await, Recorded::New);
    // p reads its mark for another digest, then a collection dooms `old`: p's record is
    // refused too (the epoch moved), although its own digest was never doomed
    let mark = store.gc_mark(&fresh).await.unwrap();
    let doomed = store
        .forget_unreferenced_blobs(&now(), false)
        .await
        .unwrap();
    assert!(doomed.contains(&old));
    assert_eq!(
        store.record_blob(&p, &fresh, 13, mark).await.unwrap(),
        Recorded::Collected
    );
    store.release_doomed(&doomed).await.unwrap();
    assert_eq!(super::record(store, &p, &fresh, 13).await, Recorded::New);
    // a collection that dooms nothing leaves marks valid
    let mark = store.gc_mark(&old).await.unwrap();
    let cutoff = "1970-01-01T00:00:00.000Z";
    assert!(
        store
            .forget_unreferenced_blobs(cutoff, false)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.record_blob(&q, &old, 11, mark).await.unwrap(),
        Recorded::New
    );
}

async fn one_collection_at_a_time(store: &dyn MetadataStore) {
    let first = store.lock_gc(false).await.unwrap().expect("free");
    assert!(store.lock_gc(false).await.unwrap().is_none(), "taken twice");
    first.release().await;
    let again = store.lock_gc(false).await.unwrap().expect("released");
    // dropping it releases it too (a killed collection never keeps the next one out)
    drop(again);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(lock) = store.lock_gc(false).await.unwrap() {
            lock.release().await;
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "a dropped lock stayed held"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    store.lock_gc(true).await.unwrap().unwrap().release().await;
}
