//! Manifests larger than a store page: commits, patches (that touch pages at the edges, across
//! page boundaries and that split pages), entry lookups and digests must equal what
//! `cairn_core::apply` gives on the whole manifest.

use cairn_core::wire::CommitRequest;
use cairn_core::{
    Digest, Entry, EntryPath, Error as CoreError, Manifest, Patch, VersionRef, apply,
};
use cairn_store::{Error, MetadataStore, ProjectKey};
use futures::TryStreamExt;

fn entry(i: usize) -> Entry {
    Entry::blob(Digest::of(format!("blob {}", i % 10).as_bytes()), 6)
}

fn path(s: &str) -> EntryPath {
    EntryPath::new(s).unwrap()
}

fn put(paths: &[&str], salt: usize) -> Patch {
    Patch {
        put: paths.iter().map(|p| (path(p), entry(salt))).collect(),
        remove: Vec::new(),
    }
}

fn remove(targets: &[&str]) -> Patch {
    Patch {
        put: Default::default(),
        remove: targets.iter().map(|t| (*t).to_owned()).collect(),
    }
}

pub async fn run(store: &dyn MetadataStore) {
    let p = ProjectKey {
        entity: "ent".parse().unwrap(),
        project: "large".parse().unwrap(),
    };
    let name = "big".parse().unwrap();
    for i in 0..10 {
        super::record(store, &p, &Digest::of(format!("blob {i}").as_bytes()), 6).await;
    }
    // 10,000 entries: three pages of at most 4,096; "d040/" straddles the first boundary
    let mut expected = Manifest::new();
    for i in 0..10_000 {
        expected
            .insert(path(&format!("d{:03}/f{i:05}", i / 100)), entry(i))
            .unwrap();
    }
    let first = CommitRequest {
        type_: Some("dataset".parse().unwrap()),
        manifest: Some(expected.clone()),
        ..CommitRequest::default()
    };
    let v0 = store.commit(&p, &name, first).await.unwrap();
    assert_eq!(v0.digest, expected.digest());

    let many: Vec<String> = (0..5000).map(|i| format!("d050/new{i:05}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let patches = [
        put(&["d045/f04500"], 3),          // modify one entry mid-page
        put(&["0first", "zzz/last"], 1),   // before the first page, after the last
        remove(&["d040"]),                 // a directory across a page boundary
        remove(&["d010/f01000", "d099/"]), // an exact path and a directory-only target
        put(&many, 7),                     // 5,000 new entries in one page: it splits
        Patch {
            put: [(path("d040/back"), entry(2))].into(),
            remove: vec!["d050".into()],
        },
    ];
    let mut base = v0.index;
    for (step, patch) in patches.into_iter().enumerate() {
        expected = apply(&expected, &patch).unwrap();
        let request = CommitRequest {
            base: Some(VersionRef::Index(base)),
            patch: Some(patch),
            ..CommitRequest::default()
        };
        let out = store.commit(&p, &name, request).await.unwrap();
        assert!(out.created, "step {step}");
        assert_eq!(out.digest, expected.digest(), "digest after step {step}");
        let (version, got) = store
            .manifest(&p, &name, &VersionRef::Index(out.index))
            .await
            .unwrap();
        assert_eq!(got, expected, "manifest after step {step}");
        // the streamed JSON is the canonical form, byte for byte
        let (_, stream) = store
            .manifest_json(&p, &name, &VersionRef::Index(out.index))
            .await
            .unwrap();
        let chunks: Vec<bytes::Bytes> = stream.try_collect().await.unwrap();
        assert_eq!(
            chunks.concat(),
            expected.canonical_bytes(),
            "JSON after step {step}"
        );
        assert_eq!(version.file_count, expected.len() as u64, "step {step}");
        assert_eq!(version.size, expected.total_size(), "step {step}");
        for probe in [
            "0first",
            "d045/f04500",
            "d040/f04001",
            "d050/new04999",
            "zzz/last",
            "d099/f09999",
        ] {
            let (_, e) = store
                .entry(&p, &name, &VersionRef::Index(out.index), probe)
                .await
                .unwrap();
            assert_eq!(
                e.as_ref(),
                expected.get(probe),
                "entry {probe} after step {step}"
            );
        }
        base = out.index;
    }
    // a patch back to an earlier content is a dedup, not a new version
    let back = CommitRequest {
        base: Some(VersionRef::Index(base)),
        patch: Some(remove(&["0first", "zzz/last"])),
        ..CommitRequest::default()
    };
    let again = apply(&expected, back.patch.as_ref().unwrap()).unwrap();
    let out = store.commit(&p, &name, back).await.unwrap();
    assert_eq!(out.digest, again.digest());
    // a remove that matches nothing fails as on a whole manifest, and commits nothing
    let bad = CommitRequest {
        base: Some(VersionRef::Index(base)),
        patch: Some(remove(&["d040/f04001"])),
        ..CommitRequest::default()
    };
    let before = store.artifact(&p, &name).await.unwrap().versions;
    assert!(matches!(
        store.commit(&p, &name, bad).await,
        Err(Error::Invalid(CoreError::NoSuchPath(_)))
    ));
    assert_eq!(store.artifact(&p, &name).await.unwrap().versions, before);
}
