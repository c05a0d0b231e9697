//! What compatibility layers keep: MD5s per project (never across projects) and state by key.

use cairn_core::Digest;
use cairn_store::{BlobMd5, Md5, MetadataStore, ProjectKey};

fn project(name: &str) -> ProjectKey {
    ProjectKey {
        entity: "compat".parse().unwrap(),
        project: name.parse().unwrap(),
    }
}

fn md5(byte: u8) -> Md5 {
    Md5([byte; 16])
}

pub async fn run(store: &dyn MetadataStore) {
    let (a, b) = (project("a"), project("b"));
    let first = BlobMd5 {
        md5: md5(1),
        digest: Digest::of(b"one"),
        size: 3,
    };
    let other = BlobMd5 {
        md5: md5(2),
        digest: Digest::of(b"two"),
        size: 3,
    };
    store
        .record_md5(&a, &[first.clone(), other.clone()])
        .await
        .unwrap();
    // an MD5 already recorded keeps its first blob (a collision cannot redirect it)
    let collision = BlobMd5 {
        digest: Digest::of(b"forged"),
        ..first.clone()
    };
    store.record_md5(&a, &[collision]).await.unwrap();
    let mut found = store
        .md5_blobs(&a, &[md5(2), md5(1), md5(3)])
        .await
        .unwrap();
    found.sort_by_key(|b| b.md5);
    assert_eq!(found, vec![first.clone(), other]);
    let by_digest = store
        .md5s_of(&a, &[Digest::of(b"one"), Digest::of(b"forged")])
        .await
        .unwrap();
    assert_eq!(by_digest.len(), 1);
    assert_eq!(by_digest[0].md5, md5(1));
    // never across projects
    assert!(store.md5_blobs(&b, &[md5(1)]).await.unwrap().is_empty());
    // many at once (past one statement's parameters)
    let many: Vec<Md5> = (0..1200u32)
        .map(|i| {
            let mut m = [0u8; 16];
            m[..4].copy_from_slice(&i.to_be_bytes());
            Md5(m)
        })
        .chain([md5(1)])
        .collect();
    assert_eq!(store.md5_blobs(&a, &many).await.unwrap(), vec![first]);

    // state by key: only_new lets the first writer win; a plain put replaces
    let key = "conformance:state";
    assert_eq!(store.compat_state(key).await.unwrap(), None);
    assert!(
        store
            .set_compat_state(key, "{\"n\":1}", true)
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_compat_state(key, "{\"n\":2}", true)
            .await
            .unwrap()
    );
    assert_eq!(
        store.compat_state(key).await.unwrap().as_deref(),
        Some("{\"n\":1}")
    );
    assert!(
        store
            .set_compat_state(key, "{\"n\":3}", false)
            .await
            .unwrap()
    );
    assert_eq!(
        store.compat_state(key).await.unwrap().as_deref(),
        Some("{\"n\":3}")
    );

    // expiry by prefix and age; a key outside the prefix stays
    for k in [
        "conformance:old:a",
        "conformance:old:b",
        "conformance:olden",
    ] {
        store.set_compat_state(k, "{}", false).await.unwrap();
    }
    let future = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let past = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    assert_eq!(
        store
            .expire_compat_state("conformance:old:", &past)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .expire_compat_state("conformance:old:", &future)
            .await
            .unwrap(),
        2
    );
    assert_eq!(store.compat_state("conformance:old:a").await.unwrap(), None);
    assert!(
        store
            .compat_state("conformance:olden")
            .await
            .unwrap()
            .is_some()
    );
    store
        .delete_compat_state("conformance:olden")
        .await
        .unwrap();
    assert_eq!(store.compat_state("conformance:olden").await.unwrap(), None);
}
