//! Streamed commits (`commit_pages`): a manifest given in page-sized pieces commits exactly the
//! version its whole form would; pieces out of order, missing blobs and a failing stream
//! commit nothing.

use cairn_core::wire::CommitRequest;
use cairn_core::{Digest, Entry, EntryPath, Manifest, VersionRef};
use cairn_store::{Error, ManifestPages, MetadataStore, PAGE_ENTRIES, ProjectKey};
use futures::{StreamExt, TryStreamExt};

fn entry(i: usize) -> Entry {
    Entry::blob(Digest::of(format!("paged {}", i % 7).as_bytes()), 7)
}

fn manifest(n: usize, prefix: &str) -> Manifest {
    let mut m = Manifest::new();
    for i in 0..n {
        let path = EntryPath::new(format!("{prefix}{:03}/f{i:05}", i / 100)).unwrap();
        m.insert(path, entry(i)).unwrap();
    }
    m
}

/// `m` cut into pieces of `size` entries, in order.
fn pieces(m: &Manifest, size: usize) -> Vec<Manifest> {
    let all: Vec<(EntryPath, Entry)> = m.iter().map(|(p, e)| (p.clone(), e.clone())).collect();
    all.chunks(size)
        .map(|c| Manifest::from_entries(c.iter().cloned().collect()).unwrap())
        .collect()
}

fn stream(pieces: Vec<Manifest>) -> ManifestPages {
    futures::stream::iter(pieces.into_iter().map(Ok)).boxed()
}

fn request() -> CommitRequest {
    CommitRequest {
        type_: Some("dataset".parse().unwrap()),
        ..CommitRequest::default()
    }
}

pub async fn run(store: &dyn MetadataStore) {
    let p = ProjectKey {
        entity: "ent".parse().unwrap(),
        project: "paged".parse().unwrap(),
    };
    let name = "streamed".parse().unwrap();
    for i in 0..7 {
        super::record(store, &p, &Digest::of(format!("paged {i}").as_bytes()), 7).await;
    }
    let m = manifest(10_000, "d");
    let out = store
        .commit_pages(&p, &name, request(), stream(pieces(&m, PAGE_ENTRIES)))
        .await
        .unwrap();
    assert!(out.created);
    assert_eq!(out.digest, m.digest());
    let v0 = VersionRef::Index(out.index);
    let (version, got) = store.manifest(&p, &name, &v0).await.unwrap();
    assert_eq!(got, m);
    assert_eq!(version.file_count, 10_000);
    assert_eq!(version.size, m.total_size());
    let (_, json) = store.manifest_json(&p, &name, &v0).await.unwrap();
    let json: Vec<bytes::Bytes> = json.try_collect().await.unwrap();
    assert_eq!(json.concat(), m.canonical_bytes());
    let (_, e) = store.entry(&p, &name, &v0, "d050/f05000").await.unwrap();
    assert_eq!(e.as_ref(), m.get("d050/f05000"));

    // the same content committed whole is the same version
    let whole = CommitRequest {
        manifest: Some(m.clone()),
        ..request()
    };
    let again = store.commit(&p, &name, whole).await.unwrap();
    assert!(!again.created);
    assert_eq!(again.index, out.index);

    let versions = || async { store.artifact(&p, &name).await.unwrap().versions };
    let before = versions().await;
    // pieces out of order
    let mut shuffled = pieces(&manifest(9000, "e"), PAGE_ENTRIES);
    shuffled.swap(0, 1);
    let err = store
        .commit_pages(&p, &name, request(), stream(shuffled))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Unprocessable(m) if m.contains("out of order")),
        "{err:?}"
    );
    // a piece over the page size
    let err = store
        .commit_pages(&p, &name, request(), stream(pieces(&m, PAGE_ENTRIES + 1)))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unprocessable(_)), "{err:?}");
    // blobs missing in the first and the last piece are reported together
    let (a, b) = (Digest::of(b"paged absent a"), Digest::of(b"paged absent b"));
    let mut gaps = manifest(9000, "g");
    gaps.insert(EntryPath::new("g000/aaa").unwrap(), Entry::blob(a, 1))
        .unwrap();
    gaps.insert(EntryPath::new("g089/zzz").unwrap(), Entry::blob(b, 1))
        .unwrap();
    let err = store
        .commit_pages(&p, &name, request(), stream(pieces(&gaps, PAGE_ENTRIES)))
        .await
        .unwrap_err();
    match err {
        Error::MissingBlobs(missing) => {
            let mut want = vec![a, b];
            want.sort();
            let mut got = missing.clone();
            got.sort();
            assert_eq!(got, want);
        }
        other => panic!("expected missing blobs, got {other:?}"),
    }
    // a stream that fails half-way (a client gone, a spool unreadable)
    let mut failing: Vec<cairn_store::Result<Manifest>> = pieces(&manifest(9000, "h"), 4096)
        .into_iter()
        .map(Ok)
        .collect();
    failing.insert(1, Err(Error::Unprocessable("the body ended early".into())));
    let err = store
        .commit_pages(&p, &name, request(), futures::stream::iter(failing).boxed())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Unprocessable(m) if m.contains("ended early")),
        "{err:?}"
    );
    // a request that also carries a manifest is refused
    let both = CommitRequest {
        manifest: Some(m.clone()),
        ..request()
    };
    assert!(
        store
            .commit_pages(&p, &name, both, stream(Vec::new()))
            .await
            .is_err()
    );
    assert_eq!(
        versions().await,
        before,
        "a failed streamed commit added a version"
    );

    // no pieces: the empty manifest
    let empty = store
        .commit_pages(&p, &"empty".parse().unwrap(), request(), stream(Vec::new()))
        .await
        .unwrap();
    assert_eq!(empty.digest, Manifest::new().digest());
}
