//! The metadata store contract: semantics §5–§7 at the storage level.

use std::sync::Arc;

use cairn_core::wire::{CommitRequest, ListQuery, UpsertRequest, VersionIndex, VersionUpdate};
use cairn_core::{
    Alias, ArtifactName, Digest, DistributedId, Entry, EntryPath, Manifest, Patch, TypeName,
    VersionRef,
};
use cairn_store::{Error, MetadataStore, ProjectKey, Recorded, Role, TokenRecord};

fn project(name: &str) -> ProjectKey {
    ProjectKey {
        entity: "ent".parse().unwrap(),
        project: name.parse().unwrap(),
    }
}

fn name(s: &str) -> ArtifactName {
    s.parse().unwrap()
}

fn alias(s: &str) -> Alias {
    s.parse().unwrap()
}

fn manifest(files: &[(&str, &str)]) -> Manifest {
    let mut m = Manifest::new();
    for (p, c) in files {
        m.insert(
            EntryPath::new(*p).unwrap(),
            Entry::blob(Digest::of(c.as_bytes()), c.len() as u64),
        )
        .unwrap();
    }
    m
}

async fn hold(store: &dyn MetadataStore, p: &ProjectKey, contents: &[&str]) {
    for c in contents {
        super::record(store, p, &Digest::of(c.as_bytes()), c.len() as u64).await;
    }
}

fn commit_of(m: Manifest) -> CommitRequest {
    CommitRequest {
        type_: Some("dataset".parse().unwrap()),
        manifest: Some(m),
        ..CommitRequest::default()
    }
}

pub async fn run(store: Arc<dyn MetadataStore>) {
    tokens(&*store).await;
    blobs(&*store).await;
    quotas(&*store).await;
    commits_dedup_and_latest(&*store).await;
    projects(&*store).await;
    commit_failures_change_nothing(&*store).await;
    patches(&*store).await;
    super::large::run(&*store).await;
    super::paged::run(&*store).await;
    super::compat::run(&*store).await;
    aliases_and_deletes(&*store).await;
    paging(&*store).await;
    distributed(&*store).await;
    runs_and_lineage(&*store).await;
    concurrent_commits_are_contiguous(store.clone()).await;
    // last: it collects every unreferenced holding the others left
    super::gc::run(&*store).await;
}

async fn tokens(store: &dyn MetadataStore) {
    let hash = Digest::of(b"secret");
    let record = TokenRecord::new("ci", Some("ent".parse().unwrap()), Role::Write);
    store.create_token(&hash, &record).await.unwrap();
    assert_eq!(store.token(&hash).await.unwrap(), Some(record));
    let scoped = TokenRecord {
        project: Some("proj".parse().unwrap()),
        expires_at: Some(1_900_000_000),
        ..TokenRecord::new("dash", Some("ent".parse().unwrap()), Role::Read)
    };
    store
        .create_token(&Digest::of(b"scoped"), &scoped)
        .await
        .unwrap();
    assert_eq!(
        store.token(&Digest::of(b"scoped")).await.unwrap(),
        Some(scoped)
    );
    assert_eq!(store.token(&Digest::of(b"other")).await.unwrap(), None);
    assert!(!store.has_admin_token().await.unwrap());
    let admin = TokenRecord::new("admin", None, Role::Admin);
    store
        .create_token(&Digest::of(b"admin"), &admin)
        .await
        .unwrap();
    assert!(store.has_admin_token().await.unwrap());
}

async fn blobs(store: &dyn MetadataStore) {
    let p = project("blobs");
    hold(store, &p, &["a", "b"]).await;
    assert_eq!(
        super::record(store, &p, &Digest::of(b"a"), 1).await,
        Recorded::Refreshed,
        "idempotent"
    );
    let asked = [
        Digest::of(b"c"),
        Digest::of(b"a"),
        Digest::of(b"d"),
        Digest::of(b"b"),
    ];
    assert_eq!(
        store.missing_blobs(&p, &asked).await.unwrap(),
        [asked[0], asked[2]]
    );
    // holdings are per project: another project has to upload its own copy
    assert_eq!(
        store
            .missing_blobs(&project("other"), &asked[1..2])
            .await
            .unwrap(),
        [asked[1]]
    );
    assert_eq!(store.blob_size(&p, &asked[1]).await.unwrap(), Some(1));
    let many: Vec<Digest> = (0..2500u32).map(|i| Digest::of(&i.to_le_bytes())).collect();
    assert_eq!(store.missing_blobs(&p, &many).await.unwrap().len(), 2500);
}

async fn quotas(store: &dyn MetadataStore) {
    let p = project("quotas");
    let empty = store.usage(&p).await.unwrap();
    assert_eq!(empty, cairn_core::wire::Usage::default());
    hold(store, &p, &["one", "three", "one"]).await;
    // each blob once, however often recorded; other projects' holdings are not counted
    hold(store, &project("quotas-other"), &["elsewhere"]).await;
    let held = store.usage(&p).await.unwrap();
    assert_eq!((held.bytes, held.blobs, held.quota), (8, 2, None));
    assert_eq!(store.quota(&p).await.unwrap(), None);
    store.set_quota(&p, Some(5 << 40)).await.unwrap();
    store.set_quota(&p, Some(100)).await.unwrap();
    assert_eq!(store.quota(&p).await.unwrap(), Some(100));
    assert_eq!(store.usage(&p).await.unwrap().quota, Some(100));
    assert_eq!(store.quota(&project("quotas-other")).await.unwrap(), None);
    store.set_quota(&p, None).await.unwrap();
    assert_eq!(store.quota(&p).await.unwrap(), None);
    assert!(store.set_quota(&p, Some(u64::MAX)).await.is_err());
}

async fn commits_dedup_and_latest(store: &dyn MetadataStore) {
    let p = project("commits");
    let n = name("data");
    hold(store, &p, &["1", "2"]).await;
    let v0 = store
        .commit(&p, &n, commit_of(manifest(&[("a", "1")])))
        .await
        .unwrap();
    assert_eq!((v0.index, v0.created), (0, true));
    assert_eq!(v0.aliases, [alias("latest")]);
    assert_eq!(v0.digest, manifest(&[("a", "1")]).digest());
    let mut req = commit_of(manifest(&[("a", "1"), ("b", "2")]));
    req.aliases = vec![alias("best")];
    req.description = Some("second".into());
    let v1 = store.commit(&p, &n, req).await.unwrap();
    assert_eq!((v1.index, v1.created), (1, true));
    assert_eq!(v1.aliases, [alias("best"), alias("latest")]);
    // the same content as v0 again: no new version; latest and the new alias move onto v0
    let mut again = commit_of(manifest(&[("a", "1")]));
    again.aliases = vec![alias("prod")];
    again.description = Some("ignored".into());
    let dup = store.commit(&p, &n, again).await.unwrap();
    assert_eq!((dup.index, dup.created), (0, false));
    assert_eq!(dup.aliases, [alias("latest"), alias("prod")]);
    let latest = store.version(&p, &n, &VersionRef::latest()).await.unwrap();
    assert_eq!(latest.index, 0);
    assert_eq!(latest.description, None);
    let v1 = store
        .version(&p, &n, &"best".parse().unwrap())
        .await
        .unwrap();
    assert_eq!((v1.index, v1.file_count, v1.size), (1, 2, 2));
    assert_eq!(v1.description.as_deref(), Some("second"));
    let (_, m) = store.manifest(&p, &n, &VersionRef::Index(1)).await.unwrap();
    assert_eq!(m, manifest(&[("a", "1"), ("b", "2")]));
    // type clash
    let mut model = commit_of(manifest(&[]));
    model.type_ = Some("model".parse().unwrap());
    let err = store.commit(&p, &n, model).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "artifact data already exists with type dataset; cannot create another with type model"
    );
    // the empty artifact is a legal version
    let empty = store
        .commit(&p, &name("empty"), commit_of(Manifest::new()))
        .await
        .unwrap();
    assert_eq!(empty.index, 0);
    let info = store.artifact(&p, &n).await.unwrap();
    assert_eq!(info.versions, 2);
    assert_eq!(info.aliases.get(&alias("best")), Some(&VersionIndex(1)));
}

async fn projects(store: &dyn MetadataStore) {
    let p = project("listing");
    hold(store, &p, &["1", "2"]).await;
    for (n, content) in [("one", "1"), ("one", "2"), ("two", "1")] {
        store
            .commit(&p, &name(n), commit_of(manifest(&[("a", content)])))
            .await
            .unwrap();
    }
    let listed = store
        .list_projects(Some(&p.entity), Some(&p.project))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!((listed[0].artifacts, listed[0].versions), (2, 3));
    assert!(listed[0].updated_at.is_some());
    let all = store.list_projects(None, None).await.unwrap();
    assert!(all.iter().any(|l| l.project == p.project));
    assert!(
        all.windows(2)
            .all(|w| (&w[0].entity, &w[0].project) < (&w[1].entity, &w[1].project))
    );
    let other: cairn_core::Entity = "nobody".parse().unwrap();
    assert!(
        store
            .list_projects(Some(&other), None)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn commit_failures_change_nothing(store: &dyn MetadataStore) {
    let p = project("failures");
    let n = name("data");
    hold(store, &p, &["1"]).await;
    let err = store
        .commit(
            &p,
            &n,
            commit_of(manifest(&[("a", "1"), ("b", "unstored")])),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::MissingBlobs(m) if *m == [Digest::of(b"unstored")]),
        "{err}"
    );
    assert!(
        matches!(store.artifact(&p, &n).await, Err(Error::NotFound(_))),
        "no collection left behind"
    );
    let mut bad_size = manifest(&[("a", "1")]);
    let mut e = bad_size.get("a").unwrap().clone();
    e.size = 5;
    bad_size.insert(EntryPath::new("a").unwrap(), e).unwrap();
    let err = store.commit(&p, &n, commit_of(bad_size)).await.unwrap_err();
    assert!(err.to_string().contains("declares size 5"), "{err}");
    let mut no_type = commit_of(Manifest::new());
    no_type.type_ = None;
    assert!(
        store
            .commit(&p, &n, no_type)
            .await
            .unwrap_err()
            .to_string()
            .contains("type is required")
    );

    store
        .commit(&p, &n, commit_of(manifest(&[("a", "1")])))
        .await
        .unwrap();
    let mut stale = commit_of(Manifest::new());
    stale.expect_latest = Some(VersionIndex(7));
    assert!(matches!(
        store.commit(&p, &n, stale).await,
        Err(Error::LatestMoved { .. })
    ));
    let mut fresh = commit_of(Manifest::new());
    fresh.expect_latest = Some(VersionIndex(0));
    assert_eq!(store.commit(&p, &n, fresh).await.unwrap().index, 1);
    let mut many = commit_of(Manifest::new());
    many.metadata = Some(
        (0..101)
            .map(|i| (format!("k{i}"), serde_json::Value::Null))
            .collect(),
    );
    assert!(matches!(
        store.commit(&p, &n, many).await,
        Err(Error::Invalid(_))
    ));
    assert_eq!(store.artifact(&p, &n).await.unwrap().versions, 2);
}

async fn patches(store: &dyn MetadataStore) {
    let p = project("patches");
    let n = name("data");
    hold(store, &p, &["1", "2", "3", "4"]).await;
    store
        .commit(
            &p,
            &n,
            commit_of(manifest(&[("keep", "1"), ("dir/a", "2"), ("dir/b", "3")])),
        )
        .await
        .unwrap();
    let patch = |put: &[(&str, &str)], remove: &[&str]| CommitRequest {
        base: Some(VersionRef::Index(0)),
        patch: Some(Patch {
            put: manifest(put).entries().clone(),
            remove: remove.iter().map(|s| s.to_string()).collect(),
        }),
        ..CommitRequest::default()
    };
    let v1 = store
        .commit(&p, &n, patch(&[("new", "4")], &["dir"]))
        .await
        .unwrap();
    assert_eq!(v1.index, 1);
    let (version, m) = store.manifest(&p, &n, &VersionRef::Index(1)).await.unwrap();
    assert_eq!(m, manifest(&[("keep", "1"), ("new", "4")]));
    assert_eq!(version.base, Some(VersionIndex(0)));
    let err = store.commit(&p, &n, patch(&[], &["a"])).await.unwrap_err();
    assert_eq!(err.to_string(), "no such file or directory: a");
    assert!(matches!(
        store.commit(&p, &n, patch(&[("x", "missing")], &[])).await,
        Err(Error::MissingBlobs(_))
    ));
    let mut no_base = patch(&[], &["keep"]);
    no_base.base = Some(VersionRef::Index(9));
    assert!(matches!(
        store.commit(&p, &n, no_base).await,
        Err(Error::NotFound(_))
    ));
    // an empty patch is the base's content: dedup onto v0
    let same = store.commit(&p, &n, patch(&[], &[])).await.unwrap();
    assert_eq!((same.index, same.created), (0, false));
}

async fn aliases_and_deletes(store: &dyn MetadataStore) {
    let p = project("aliases");
    let n = name("data");
    hold(store, &p, &["1", "2", "3"]).await;
    for c in ["1", "2", "3"] {
        store
            .commit(&p, &n, commit_of(manifest(&[("f", c)])))
            .await
            .unwrap();
    }
    let v = store
        .set_alias(&p, &n, &alias("best"), VersionIndex(1))
        .await
        .unwrap();
    assert_eq!(v.aliases, [alias("best")]);
    store
        .set_alias(&p, &n, &alias("best"), VersionIndex(0))
        .await
        .unwrap();
    assert!(
        store
            .version(&p, &n, &VersionRef::Index(1))
            .await
            .unwrap()
            .aliases
            .is_empty()
    );
    assert!(matches!(
        store.set_alias(&p, &n, &alias("x"), VersionIndex(9)).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        store.delete_alias(&p, &n, &Alias::latest()).await,
        Err(Error::Unprocessable(_))
    ));
    assert!(matches!(
        store.delete_alias(&p, &n, &alias("nope")).await,
        Err(Error::NotFound(_))
    ));

    // a version with custom aliases is only deleted when asked to drop them
    let err = store
        .delete_version(&p, &n, &VersionRef::Index(0), false)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::HasAliases { .. }), "{err}");
    store
        .delete_version(&p, &n, &VersionRef::Index(0), true)
        .await
        .unwrap();
    assert!(matches!(
        store.version(&p, &n, &"best".parse().unwrap()).await,
        Err(Error::NotFound(_))
    ));
    // latest never blocks a delete and moves to the highest remaining version
    store
        .delete_version(&p, &n, &VersionRef::latest(), false)
        .await
        .unwrap();
    assert_eq!(
        store
            .version(&p, &n, &VersionRef::latest())
            .await
            .unwrap()
            .index,
        1
    );
    // numbers are never reused; re-committing deleted content makes a new version
    let again = store
        .commit(&p, &n, commit_of(manifest(&[("f", "3")])))
        .await
        .unwrap();
    assert_eq!((again.index, again.created), (3, true));
    let updated = store
        .update_version(
            &p,
            &n,
            &VersionRef::Index(3),
            VersionUpdate {
                description: Some("d".into()),
                metadata: Some(serde_json::from_str(r#"{"k":1}"#).unwrap()),
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.description.as_deref(), Some("d"));
    assert_eq!(updated.metadata["k"], 1);
    store
        .delete_version(&p, &n, &VersionRef::Index(1), false)
        .await
        .unwrap();
    store
        .delete_version(&p, &n, &VersionRef::Index(3), false)
        .await
        .unwrap();
    assert!(matches!(
        store.version(&p, &n, &VersionRef::latest()).await,
        Err(Error::NotFound(_))
    ));
    assert_eq!(
        store
            .commit(&p, &n, commit_of(Manifest::new()))
            .await
            .unwrap()
            .index,
        4
    );
}

async fn paging(store: &dyn MetadataStore) {
    let p = project("paging");
    for i in 0..5 {
        let mut req = commit_of(Manifest::new());
        req.type_ = Some(
            if i % 2 == 0 { "dataset" } else { "model" }
                .parse::<TypeName>()
                .unwrap(),
        );
        store
            .commit(&p, &name(&format!("a{i}")), req)
            .await
            .unwrap();
    }
    let q = |limit, after: Option<&str>| ListQuery {
        limit: Some(limit),
        after: after.map(str::to_owned),
        ..ListQuery::default()
    };
    let page = store.list_artifacts(&p, &q(2, None)).await.unwrap();
    assert_eq!(
        page.artifacts
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>(),
        ["a0", "a1"]
    );
    assert_eq!(page.next.as_deref(), Some("a1"));
    let page = store.list_artifacts(&p, &q(10, Some("a1"))).await.unwrap();
    assert_eq!(page.artifacts.len(), 3);
    assert_eq!(page.next, None);
    let models = ListQuery {
        type_: Some("model".into()),
        ..ListQuery::default()
    };
    assert_eq!(
        store
            .list_artifacts(&p, &models)
            .await
            .unwrap()
            .artifacts
            .len(),
        2
    );
    assert!(matches!(
        store.list_artifacts(&p, &q(0, None)).await,
        Err(Error::Unprocessable(_))
    ));
    assert!(matches!(
        store.list_artifacts(&p, &q(10_001, None)).await,
        Err(Error::Unprocessable(_))
    ));

    let n = name("versions");
    hold(store, &p, &["1", "2", "3"]).await;
    for c in ["1", "2", "3"] {
        store
            .commit(&p, &n, commit_of(manifest(&[("f", c)])))
            .await
            .unwrap();
    }
    let page = store.list_versions(&p, &n, &q(2, None)).await.unwrap();
    assert_eq!(
        page.versions.iter().map(|v| v.index).collect::<Vec<_>>(),
        [0, 1]
    );
    let rest = store
        .list_versions(&p, &n, &q(2, page.next.as_deref()))
        .await
        .unwrap();
    assert_eq!(
        rest.versions.iter().map(|v| v.index).collect::<Vec<_>>(),
        [2]
    );
    let desc = ListQuery {
        order: Some("desc".into()),
        ..ListQuery::default()
    };
    let page = store.list_versions(&p, &n, &desc).await.unwrap();
    assert_eq!(
        page.versions.iter().map(|v| v.index).collect::<Vec<_>>(),
        [2, 1, 0]
    );
    assert_eq!(page.versions[0].aliases, [Alias::latest()]);
}

async fn distributed(store: &dyn MetadataStore) {
    let p = project("distributed");
    let n = name("images");
    let id: DistributedId = "my_dist_artifact".parse().unwrap();
    hold(store, &p, &["1", "2", "3", "x"]).await;
    let up = |files: &[(&str, &str)]| UpsertRequest {
        type_: Some("dataset".parse().unwrap()),
        manifest: Some(manifest(files)),
        ..UpsertRequest::default()
    };
    assert_eq!(
        store
            .upsert(&p, &n, &id, up(&[("image1.png", "1")]))
            .await
            .unwrap()
            .file_count,
        1
    );
    assert_eq!(
        store
            .upsert(&p, &n, &id, up(&[("image2.png", "2")]))
            .await
            .unwrap()
            .file_count,
        2
    );
    assert_eq!(
        store
            .upsert(&p, &n, &id, up(&[("image2.png", "2")]))
            .await
            .unwrap()
            .file_count,
        2,
        "idempotent"
    );
    let err = store
        .upsert(&p, &n, &id, up(&[("image1.png", "x"), ("image9.png", "3")]))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Conflicts(paths) if paths.len() == 1 && paths[0].as_str() == "image1.png"),
        "{err}"
    );
    assert!(matches!(
        store.upsert(&p, &n, &id, up(&[("z", "unstored")])).await,
        Err(Error::MissingBlobs(_))
    ));
    let pending = store.pending(&p, &n, &id).await.unwrap();
    assert_eq!(pending.file_count, 2, "failed upserts changed nothing");
    // pending is invisible to resolution
    assert!(matches!(
        store.version(&p, &n, &VersionRef::latest()).await,
        Err(Error::NotFound(_))
    ));
    let mut fin = up(&[("image3.png", "3")]);
    fin.aliases = vec![alias("best")];
    let done = store.finish(&p, &n, &id, fin).await.unwrap();
    assert_eq!((done.index, done.created), (0, true));
    let (_, m) = store.manifest(&p, &n, &VersionRef::latest()).await.unwrap();
    assert_eq!(
        m,
        manifest(&[
            ("image1.png", "1"),
            ("image2.png", "2"),
            ("image3.png", "3")
        ])
    );
    assert!(matches!(
        store.pending(&p, &n, &id).await,
        Err(Error::NotFound(_))
    ));
    // an upsert after finish opens a new, empty pending version
    assert_eq!(
        store
            .upsert(&p, &n, &id, up(&[("image1.png", "x")]))
            .await
            .unwrap()
            .file_count,
        1
    );
    store.abort(&p, &n, &id).await.unwrap();
    assert!(matches!(
        store.abort(&p, &n, &id).await,
        Err(Error::NotFound(_))
    ));
    // finish with no upsert commits what it carries; same content → dedup
    let again = store
        .finish(
            &p,
            &n,
            &id,
            up(&[
                ("image1.png", "1"),
                ("image2.png", "2"),
                ("image3.png", "3"),
            ]),
        )
        .await
        .unwrap();
    assert_eq!((again.index, again.created), (0, false));
    let mut model = up(&[]);
    model.type_ = Some("model".parse().unwrap());
    assert!(matches!(
        store.upsert(&p, &n, &id, model).await,
        Err(Error::TypeClash { .. })
    ));
}

async fn concurrent_commits_are_contiguous(store: Arc<dyn MetadataStore>) {
    let p = project("concurrent");
    let n = name("data");
    let contents: Vec<String> = (0..24).map(|i| format!("c{i}")).collect();
    for c in &contents {
        super::record(&*store, &p, &Digest::of(c.as_bytes()), c.len() as u64).await;
    }
    let tasks: Vec<_> = contents
        .iter()
        .map(|c| {
            let (store, p, n) = (store.clone(), p.clone(), n.clone());
            let m = manifest(&[("f", c)]);
            tokio::spawn(async move { store.commit(&p, &n, commit_of(m)).await })
        })
        .collect();
    let mut indices = Vec::new();
    for t in tasks {
        let out = t.await.unwrap().expect("no commit fails under concurrency");
        assert!(out.created);
        indices.push(out.index);
    }
    indices.sort_unstable();
    assert_eq!(indices, (0..24).collect::<Vec<u64>>());
}

async fn runs_and_lineage(store: &dyn MetadataStore) {
    use cairn_core::wire::RunRequest;
    let p = project("runs");
    let n = name("data");
    hold(store, &p, &["1", "2"]).await;
    let req = RunRequest {
        name: Some("prep".into()),
        group: Some("g1".parse().unwrap()),
        job_type: Some("preprocess".into()),
    };
    let producer = store.create_run(&p, req).await.unwrap();
    let consumer = store.create_run(&p, RunRequest::default()).await.unwrap();
    assert_ne!(producer.id, consumer.id);
    let mut req = commit_of(manifest(&[("a", "1")]));
    req.run = Some(producer.id.clone());
    store.commit(&p, &n, req).await.unwrap();
    let used = store
        .use_version(&p, &consumer.id, &n, &VersionRef::latest())
        .await
        .unwrap();
    assert_eq!(used.logged_by.as_ref(), Some(&producer.id));
    store
        .use_version(&p, &consumer.id, &n, &VersionRef::Index(0))
        .await
        .unwrap(); // once is enough
    let lineage = store.lineage(&p, &n, &VersionRef::Index(0)).await.unwrap();
    assert_eq!(lineage.logged_by, Some(producer.id.clone()));
    assert_eq!(lineage.used_by, std::slice::from_ref(&consumer.id));
    let run = store.run(&p, &producer.id).await.unwrap();
    assert_eq!(
        (run.name.as_deref(), run.job_type.as_deref()),
        (Some("prep"), Some("preprocess"))
    );
    assert_eq!(run.logged.len(), 1);
    assert_eq!(store.run(&p, &consumer.id).await.unwrap().used.len(), 1);
    // unknown runs are refused and change nothing
    let ghost: cairn_core::RunId = "ghost".parse().unwrap();
    let mut req = commit_of(manifest(&[("a", "2")]));
    req.run = Some(ghost.clone());
    assert!(matches!(
        store.commit(&p, &n, req).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        store
            .use_version(&p, &ghost, &n, &VersionRef::latest())
            .await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        store.run(&project("elsewhere"), &producer.id).await,
        Err(Error::NotFound(_))
    ));
    assert_eq!(store.artifact(&p, &n).await.unwrap().versions, 1);
}
