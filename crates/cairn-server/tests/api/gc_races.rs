//! Garbage collection racing uploads, on SQLite + disk and on PostgreSQL + S3: each dangerous
//! interleaving is made to happen on purpose (a seam holds GC between its metadata step and its
//! byte deletion, or an upload between publishing its bytes and recording its holding), then a
//! randomised race of several clients re-uploading and committing the blobs GC is freeing.
//! After each, every acknowledged version must download and hash right.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cairn_core::Digest;
use cairn_server::Config;
use cairn_store::{GcOptions, GcReport, Seam, Step};
use cairn_testkit::{TestServer, expect, services};
use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::sync::{Semaphore, mpsc};

use crate::{manifest, p};

/// Holds the first arrival at `step` once armed, until [`Gate::open`].
pub(crate) struct Gate {
    step: Step,
    pub(crate) armed: AtomicBool,
    arrived: mpsc::UnboundedSender<()>,
    go: Semaphore,
}

impl Gate {
    pub(crate) fn new(step: Step, armed: bool) -> (Arc<Self>, mpsc::UnboundedReceiver<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let gate = Arc::new(Self {
            step,
            armed: AtomicBool::new(armed),
            arrived: tx,
            go: Semaphore::new(0),
        });
        (gate, rx)
    }

    pub(crate) fn seam(self: &Arc<Self>) -> Seam {
        let gate = self.clone();
        Seam::new(move |step| {
            let gate = gate.clone();
            Box::pin(async move {
                if step == gate.step && gate.armed.swap(false, Ordering::SeqCst) {
                    let _ = gate.arrived.send(());
                    gate.go.acquire().await.expect("gate").forget();
                }
            })
        })
    }

    pub(crate) fn open(&self) {
        self.go.add_permits(1);
    }
}

/// A registry on SQLite + disk, or on PostgreSQL + S3 when the services are there (`None`
/// otherwise).
pub(crate) async fn registry(postgres: bool, config: Config) -> Option<TestServer> {
    if !postgres {
        return Some(TestServer::with_config(config).await);
    }
    let (db, blobs) = (
        services::postgres_database().await?,
        services::s3_location()?,
    );
    Some(TestServer::replica_with_config(&db, &blobs, config).await)
}

pub(crate) fn collect(s: &TestServer, seam: Seam) -> tokio::task::JoinHandle<GcReport> {
    let state = s.state.clone();
    tokio::spawn(async move {
        let options = GcOptions {
            grace: Duration::ZERO,
            dry_run: false,
            pack_whole: cairn_store::gc::DEFAULT_PACK_WHOLE,
            seam,
        };
        cairn_store::collect(state.meta.as_ref(), state.blobs.as_ref(), &options)
            .await
            .expect("gc")
    })
}

fn put(s: &TestServer, content: &'static str) -> tokio::task::JoinHandle<StatusCode> {
    let req = s
        .req(
            Method::PUT,
            &p(&format!("/blobs/{}", Digest::of(content.as_bytes()))),
        )
        .body(content);
    tokio::spawn(async move { req.send().await.unwrap().status() })
}

pub(crate) async fn commit(s: &TestServer, name: &str, files: &[(&str, &str)]) -> StatusCode {
    let body = json!({"type": "dataset", "manifest": manifest(files)});
    crate::commit(s, name, body).await.status()
}

/// The file downloads and is exactly `content`.
pub(crate) async fn serves(s: &TestServer, name: &str, path: &str, content: &str) {
    let res = s
        .req(
            Method::GET,
            &p(&format!("/artifacts/{name}/versions/latest/files/{path}")),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{name}/{path}");
    assert_eq!(
        res.bytes().await.unwrap(),
        content.as_bytes(),
        "{name}/{path}"
    );
}

/// An unreferenced blob, old enough for a collection with no grace.
async fn orphan(s: &TestServer, content: &str) {
    s.put_blob(crate::P, content.as_bytes()).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
}

/// Still running after a while: waiting on the collection.
pub(crate) async fn still_waiting<T>(task: &tokio::task::JoinHandle<T>) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!task.is_finished(), "did not wait for the collection");
}

/// GC held after its metadata step: a PUT of the doomed bytes waits, a commit that relied on
/// the forgotten holding gets 409; once GC has deleted the bytes, the PUT stores them afresh
/// and the commit goes through.
async fn put_and_commit_during_deletion(postgres: bool) {
    let Some(s) = registry(postgres, Config::default()).await else {
        return;
    };
    orphan(&s, "doomed X").await;
    let (gate, mut arrived) = Gate::new(Step::Forgotten, true);
    let gc = collect(&s, gate.seam());
    arrived.recv().await.unwrap();
    let again = put(&s, "doomed X");
    assert_eq!(
        commit(&s, "x", &[("x", "doomed X")]).await,
        StatusCode::CONFLICT
    );
    still_waiting(&again).await;
    gate.open();
    assert_eq!(gc.await.unwrap().blobs, 1);
    assert_eq!(again.await.unwrap(), StatusCode::CREATED);
    assert_eq!(
        commit(&s, "x", &[("x", "doomed X")]).await,
        StatusCode::CREATED
    );
    serves(&s, "x", "x", "doomed X").await;
}

/// An upload held between publishing its bytes (already there) and recording its holding,
/// while a whole collection forgets the old holding and deletes the bytes: the holding must not
/// be recorded on bytes that are gone.
async fn put_published_then_collected(postgres: bool) {
    let (gate, mut arrived) = Gate::new(Step::Published, false);
    let config = Config {
        seam: gate.seam(),
        ..Config::default()
    };
    let Some(s) = registry(postgres, config).await else {
        return;
    };
    orphan(&s, "raced Y").await;
    gate.armed.store(true, Ordering::SeqCst);
    let again = put(&s, "raced Y");
    arrived.recv().await.unwrap();
    let report = collect(&s, Seam::default()).await.unwrap();
    assert_eq!(report.blobs, 1);
    let d = Digest::of(b"raced Y");
    assert_eq!(
        s.state.blobs.size(&d).await.unwrap(),
        None,
        "GC kept the bytes"
    );
    gate.open();
    assert!(again.await.unwrap().is_success());
    assert_eq!(
        s.state.blobs.size(&d).await.unwrap(),
        Some(7),
        "not published again"
    );
    assert_eq!(
        commit(&s, "y", &[("y", "raced Y")]).await,
        StatusCode::CREATED
    );
    serves(&s, "y", "y", "raced Y").await;
}

/// The same bytes completed through an upload session while GC deletes them.
async fn session_completed_during_deletion(postgres: bool) {
    let Some(s) = registry(postgres, Config::default()).await else {
        return;
    };
    let content = "session Z";
    let d = Digest::of(content.as_bytes());
    orphan(&s, content).await;
    let id = crate::uploads::open(&s, d, content.len()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = crate::uploads::put_part(&s, &id, 0, content.as_bytes().to_vec()).await;
    expect(res, StatusCode::OK).await;
    let (gate, mut arrived) = Gate::new(Step::Forgotten, true);
    let gc = collect(&s, gate.seam());
    arrived.recv().await.unwrap();
    let req = s.req(Method::POST, &p(&format!("/uploads/{id}/complete")));
    let complete = tokio::spawn(async move { req.send().await.unwrap().status() });
    still_waiting(&complete).await;
    gate.open();
    gc.await.unwrap();
    assert_eq!(complete.await.unwrap(), StatusCode::CREATED);
    assert_eq!(
        commit(&s, "z", &[("z", content)]).await,
        StatusCode::CREATED
    );
    serves(&s, "z", "z", content).await;
}

/// Distributed: an upsert that relied on a forgotten holding gets 409; after re-uploading
/// (which waits for the deletion), upsert and finish commit a version that serves its bytes.
async fn upsert_and_finish_during_deletion(postgres: bool) {
    let Some(s) = registry(postgres, Config::default()).await else {
        return;
    };
    orphan(&s, "part one").await;
    s.put_blob(crate::P, b"part two").await;
    let upsert = |files: &[(&str, &str)]| {
        s.req(Method::POST, &p("/artifacts/d/distributed/g/upsert"))
            .json(&json!({"type": "dataset", "manifest": manifest(files)}))
            .send()
    };
    // part two is pending before the collection: pending versions keep their blobs
    assert_eq!(
        upsert(&[("2", "part two")]).await.unwrap().status(),
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(5)).await;
    let (gate, mut arrived) = Gate::new(Step::Forgotten, true);
    let gc = collect(&s, gate.seam());
    arrived.recv().await.unwrap();
    let res = upsert(&[("1", "part one")]).await.unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let again = put(&s, "part one");
    still_waiting(&again).await;
    gate.open();
    assert_eq!(gc.await.unwrap().blobs, 1);
    assert_eq!(again.await.unwrap(), StatusCode::CREATED);
    assert_eq!(
        upsert(&[("1", "part one")]).await.unwrap().status(),
        StatusCode::OK
    );
    let res = s
        .req(Method::POST, &p("/artifacts/d/distributed/g/finish"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::CREATED).await;
    serves(&s, "d", "1", "part one").await;
    serves(&s, "d", "2", "part two").await;
}

/// A collection killed after its metadata step leaves its digests doomed: uploads of them get
/// 503 with Retry-After (never a holding without bytes) until the next collection, or a
/// registry's sweep, finishes the deletion.
async fn interrupted_collection_is_finished(postgres: bool) {
    let config = Config {
        collect_wait: Duration::from_millis(300),
        ..Config::default()
    };
    let Some(s) = registry(postgres, config).await else {
        return;
    };
    orphan(&s, "left doomed").await;
    let (gate, mut arrived) = Gate::new(Step::Forgotten, true);
    let gc = collect(&s, gate.seam());
    arrived.recv().await.unwrap();
    gc.abort(); // killed: the lock goes with it, the doomed digest stays
    assert!(gc.await.unwrap_err().is_cancelled());
    let d = Digest::of(b"left doomed");
    let res = s
        .req(Method::PUT, &p(&format!("/blobs/{d}")))
        .body("left doomed")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["retry-after"], "2");
    let problem = expect(res, StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("garbage collection"),
        "{problem}"
    );
    let (meta, blobs) = (s.state.meta.as_ref(), s.state.blobs.as_ref());
    let finished = loop {
        // the killed collection's lock is released once its connection is gone
        match cairn_store::finish_interrupted(meta, blobs).await.unwrap() {
            Some(n) => break n,
            None => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    };
    assert_eq!(finished, 1);
    assert_eq!(blobs.size(&d).await.unwrap(), None);
    assert_eq!(put(&s, "left doomed").await.unwrap(), StatusCode::CREATED);
    assert_eq!(
        commit(&s, "l", &[("l", "left doomed")]).await,
        StatusCode::CREATED
    );
    serves(&s, "l", "l", "left doomed").await;
}

async fn interleavings(postgres: bool) {
    put_and_commit_during_deletion(postgres).await;
    put_published_then_collected(postgres).await;
    session_completed_during_deletion(postgres).await;
    upsert_and_finish_during_deletion(postgres).await;
    interrupted_collection_is_finished(postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_interleavings_on_sqlite_and_disk() {
    interleavings(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_interleavings_on_postgres_and_s3() {
    interleavings(true).await;
}
