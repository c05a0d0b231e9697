//! Every workflow of docs/workflow.md through the SDK, against a real registry.

use std::path::Path;

use cairn_client::{Api, Artifact, Config, Run, RunOptions};
use cairn_testkit::{ADMIN_TOKEN, TestServer};

fn api(s: &TestServer) -> Api {
    Api::new(&Config {
        host: s.url.clone(),
        token: ADMIN_TOKEN.into(),
        entity: Some("ent".parse().unwrap()),
        project: Some("proj".parse().unwrap()),
    })
    .unwrap()
}

fn write(root: &Path, rel: &str, content: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

async fn run(api: &Api, group: Option<&str>) -> Run {
    let options = RunOptions {
        group: group.map(str::to_owned),
        job_type: Some("test".into()),
        ..RunOptions::default()
    };
    Run::init(api, options).await.unwrap()
}

#[tokio::test]
async fn single_run_inside_and_outside() {
    let s = TestServer::start().await;
    let api = api(&s);
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "image1.png", "pixels");
    let r = run(&api, None).await;
    let mut a = Artifact::new("artifact_name", "artifact_type").unwrap();
    a.add_file(dir.path().join("image1.png"), None).unwrap();
    let v0 = r.log_artifact(&a, &[]).await.unwrap();
    assert_eq!((v0.version.to_string(), v0.created), ("v0".into(), true));
    assert_eq!(
        (v0.transfer.uploaded_files, v0.transfer.uploaded_bytes),
        (1, 6)
    );
    // logging the same content again creates no version and uploads nothing
    let again = r.log_artifact(&a, &[]).await.unwrap();
    assert_eq!(
        (
            again.version.to_string(),
            again.created,
            again.transfer.uploaded_files
        ),
        ("v0".into(), false, 0)
    );
    assert_eq!(again.transfer.reused_files, 1);
    // changed content creates v1 — outside a run, with save()
    write(dir.path(), "image1.png", "new pixels");
    let mut b = Artifact::new("artifact_name", "artifact_type").unwrap();
    b.add_file(dir.path().join("image1.png"), None).unwrap();
    let v1 = api.save(&b).await.unwrap();
    assert_eq!((v1.version.to_string(), v1.created), ("v1".into(), true));
    let lineage = s
        .get_json(
            "/api/v1/projects/ent/proj/artifacts/artifact_name/versions/v0/lineage",
            reqwest::StatusCode::OK,
        )
        .await;
    assert_eq!(lineage["logged_by"], r.id().as_str());
    let v1_info = api.artifact("artifact_name:v1").await.unwrap();
    assert_eq!(v1_info.info().logged_by, None);
}

#[tokio::test]
async fn distributed_runs() {
    let s = TestServer::start().await;
    let api = api(&s);
    let dir = tempfile::tempdir().unwrap();
    for i in 1..=3 {
        write(dir.path(), &format!("image{i}.png"), &format!("image {i}"));
    }
    let (r1, r2, r3) = (
        run(&api, Some("g")).await,
        run(&api, Some("g")).await,
        run(&api, Some("g")).await,
    );
    let mut a1 = Artifact::new("artifact_name", "t").unwrap();
    a1.add_file(dir.path().join("image1.png"), None).unwrap();
    let mut a2 = Artifact::new("artifact_name", "t").unwrap();
    a2.add_file(dir.path().join("image2.png"), None).unwrap();
    let (u1, u2) = tokio::join!(
        r1.upsert_artifact(&a1, Some("my_dist_artifact")),
        r2.upsert_artifact(&a2, Some("my_dist_artifact"))
    );
    assert_eq!(
        u1.unwrap().transfer.uploaded_files + u2.unwrap().transfer.uploaded_files,
        2
    );
    let mut a3 = Artifact::new("artifact_name", "t").unwrap();
    a3.add_file(dir.path().join("image3.png"), None).unwrap();
    let done = r3
        .finish_artifact(&a3, Some("my_dist_artifact"))
        .await
        .unwrap();
    assert_eq!(
        (done.version.to_string(), done.created),
        ("v0".into(), true)
    );
    let v = api.artifact("ent/proj/artifact_name:latest").await.unwrap();
    let names: Vec<&str> = v.files().map(|(p, _)| p.as_str()).collect();
    assert_eq!(names, ["image1.png", "image2.png", "image3.png"]);
    // the distributed id defaults to the run's group; with neither it is an error
    r1.upsert_artifact(&a1, None).await.unwrap();
    r3.finish_artifact(&Artifact::new("artifact_name", "t").unwrap(), None)
        .await
        .unwrap();
    let lonely = run(&api, None).await;
    let err = lonely.upsert_artifact(&a1, None).await.unwrap_err();
    assert!(err.to_string().contains("distributed id"), "{err}");
}

#[tokio::test]
async fn incremental_versions_send_only_changes() {
    let s = TestServer::start().await;
    let api = api(&s);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for i in 0..20 {
        write(
            &data,
            &format!("keep/{i}.txt"),
            &format!("keep {i} {}", "x".repeat(1000)),
        );
    }
    write(&data, "dir_to_remove/a", "a");
    write(&data, "dir_to_remove/b", "b");
    write(&data, "modified_file.txt", "old annotation");
    let mut a = Artifact::new("my_artifact", "dataset").unwrap();
    a.add_dir(&data, None).unwrap();
    let v0 = api.save(&a).await.unwrap();
    assert_eq!(v0.transfer.uploaded_files, 23);

    // inside a run: use_artifact, new_draft, add, remove a directory, modify
    write(dir.path(), "file_to_add.txt", "brand new");
    write(dir.path(), "modified_file.txt", "fixed annotation");
    let r = run(&api, None).await;
    let saved = r.use_artifact("my_artifact:latest").await.unwrap();
    let mut draft = saved.new_draft();
    draft
        .add_file(dir.path().join("file_to_add.txt"), None)
        .unwrap();
    draft.remove("dir_to_remove/").unwrap();
    draft.remove("modified_file.txt").unwrap();
    draft
        .add_file(dir.path().join("modified_file.txt"), None)
        .unwrap();
    let v1 = r.log_artifact(&draft, &[]).await.unwrap();
    assert_eq!(v1.version.to_string(), "v1");
    // only the two changed files' bytes travelled
    assert_eq!(
        (v1.transfer.uploaded_files, v1.transfer.uploaded_bytes),
        (2, 9 + 16)
    );
    let fetched = api.artifact("my_artifact:v1").await.unwrap();
    assert_eq!(
        fetched.info().base.map(|b| b.to_string()),
        Some("v0".into())
    );
    assert_eq!(fetched.files().count(), 22);
    assert!(fetched.manifest().get("dir_to_remove/a").is_none());
    assert_eq!(
        fetched.manifest().get("modified_file.txt").unwrap().size,
        16
    );

    // outside a run: Api::artifact, new_draft, save
    let mut draft = api
        .artifact("ent/proj/my_artifact:latest")
        .await
        .unwrap()
        .new_draft();
    draft.remove("keep/0.txt").unwrap();
    let v2 = api.save(&draft).await.unwrap();
    assert_eq!(
        (v2.version.to_string(), v2.transfer.uploaded_bytes),
        ("v2".into(), 0)
    );
    // a draft with no changes has the base's digest: no version
    let same = api
        .save(
            &api.artifact("my_artifact:latest")
                .await
                .unwrap()
                .new_draft(),
        )
        .await
        .unwrap();
    assert_eq!(
        (same.version.to_string(), same.created),
        ("v2".into(), false)
    );
    // adding a different file at an existing path is refused
    let mut clash = api
        .artifact("my_artifact:latest")
        .await
        .unwrap()
        .new_draft();
    let err = clash
        .add_file(dir.path().join("file_to_add.txt"), Some("keep/1.txt"))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot add the same path twice: 'keep/1.txt'"
    );
    let err = clash.remove("nothing/here").unwrap_err();
    assert_eq!(err.to_string(), "no such file or directory: nothing/here");
}

#[tokio::test]
async fn download_and_verify() {
    let s = TestServer::start().await;
    let api = api(&s);
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "a.txt", "alpha");
    write(src.path(), "nested/deep/b.bin", &"b".repeat(3 << 20));
    write(src.path(), "name with spaces #1.txt", "gamma");
    let mut a = Artifact::new("files", "dataset").unwrap();
    a.add_dir(src.path(), None).unwrap();
    api.save(&a).await.unwrap();

    let v = api.artifact("files:latest").await.unwrap();
    let out = tempfile::tempdir().unwrap();
    let report = v.download(out.path()).await.unwrap();
    assert_eq!((report.downloaded_files, report.skipped_files), (3, 0));
    assert_eq!(
        std::fs::read_to_string(out.path().join("name with spaces #1.txt")).unwrap(),
        "gamma"
    );
    assert!(v.verify(out.path()).unwrap().is_ok());

    // corrupt one, delete one, add one
    std::fs::write(out.path().join("a.txt"), "alphX").unwrap();
    std::fs::remove_file(out.path().join("name with spaces #1.txt")).unwrap();
    write(out.path(), "extra/stray.txt", "?");
    let bad = v.verify(out.path()).unwrap();
    assert_eq!(
        bad.mismatched
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>(),
        ["a.txt"]
    );
    assert_eq!(
        bad.missing.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        ["name with spaces #1.txt"]
    );
    assert_eq!(bad.extra, ["extra/stray.txt"]);
    // downloading again repairs what is wrong and skips what is right
    let again = v.download(out.path()).await.unwrap();
    assert_eq!((again.downloaded_files, again.skipped_files), (2, 1));
    let fixed = v.verify(out.path()).unwrap();
    assert!(fixed.missing.is_empty() && fixed.mismatched.is_empty());
    // no partial files are left behind
    assert!(
        !walk_names(out.path())
            .iter()
            .any(|n| n.contains("cairn-partial"))
    );
}

fn walk_names(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(root).unwrap() {
        let e = e.unwrap();
        out.push(e.file_name().to_string_lossy().into_owned());
        if e.file_type().unwrap().is_dir() {
            out.extend(walk_names(&e.path()));
        }
    }
    out
}

#[tokio::test]
async fn references() {
    use axum::http::header;
    let s = TestServer::start().await;
    let api = api(&s);
    // an HTTP server with ETags (a stand-in for any web server or CDN)
    let app = axum::Router::new().route(
        "/data/model.bin",
        axum::routing::get(|| async { ([(header::ETAG, "\"abc123\"")], "0123456789") }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "local.csv", "a,b\n");
    let file_uri = format!("file://{}", dir.path().join("local.csv").display());
    let mut a = Artifact::new("refs", "dataset").unwrap();
    a.add_reference(&file_uri, None, true).await.unwrap();
    a.add_reference(
        &format!("http://{addr}/data/model.bin"),
        Some("models/model.bin"),
        true,
    )
    .await
    .unwrap();
    a.add_reference("gs://bucket/thing", Some("thing"), false)
        .await
        .unwrap();
    let err = a
        .add_reference("gs://bucket/other", None, true)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unknown scheme"), "{err}");
    let v = api.save(&a).await.unwrap();
    assert_eq!(v.transfer.uploaded_files, 0, "references upload nothing");
    let m = api.artifact("refs:latest").await.unwrap();
    let local = m.manifest().get("local.csv").unwrap();
    assert_eq!(
        local.digest.to_string(),
        cairn_core::Digest::of(b"a,b\n").to_string()
    );
    assert_eq!(local.reference.as_deref(), Some(file_uri.as_str()));
    let model = m.manifest().get("models/model.bin").unwrap();
    assert_eq!(
        (model.digest.to_string(), model.size),
        ("abc123".into(), 10)
    );
    assert_eq!(
        m.manifest().get("thing").unwrap().digest.to_string(),
        "gs://bucket/thing"
    );
    let report = m.download(dir.path().join("out")).await.unwrap();
    assert_eq!(report.references.len(), 3);
}
