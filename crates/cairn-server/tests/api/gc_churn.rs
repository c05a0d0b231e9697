//! The reproduction of the garbage-collection race, as a test: blobs uploaded and left
//! unreferenced, then collections with no grace run back to back while several clients upload
//! those same blobs again and commit them (re-uploading on 409 and 503, as clients do). Every
//! version the registry acknowledged must then download and hash right, on SQLite + disk and
//! on PostgreSQL + S3.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use cairn_core::Digest;
use cairn_store::collect_garbage;
use cairn_testkit::{TestServer, services};
use futures::StreamExt;
use rand::{Rng, SeedableRng};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{manifest, p};

/// PUT until the registry holds it (503: a collection is deleting these bytes; wait).
async fn put(s: &TestServer, content: &str) {
    let d = Digest::of(content.as_bytes());
    loop {
        let res = s
            .req(Method::PUT, &p(&format!("/blobs/{d}")))
            .body(content.to_owned())
            .send()
            .await
            .unwrap();
        match res.status() {
            StatusCode::OK | StatusCode::CREATED => return,
            StatusCode::SERVICE_UNAVAILABLE => tokio::time::sleep(Duration::from_millis(50)).await,
            other => panic!("PUT {d}: {other}: {}", res.text().await.unwrap()),
        }
    }
}

/// Upload and commit `content` as the one file of `name`, until acknowledged; the version.
async fn commit_one(s: &TestServer, name: &str, content: &str) -> String {
    loop {
        put(s, content).await;
        let body = json!({"type": "dataset", "manifest": manifest(&[("f", content)])});
        let res = crate::commit(s, name, body).await;
        match res.status() {
            StatusCode::OK | StatusCode::CREATED => {
                let v: serde_json::Value = res.json().await.unwrap();
                return v["version"].as_str().unwrap().to_owned();
            }
            // a collection forgot the holding between the upload and the commit
            StatusCode::CONFLICT => continue,
            other => panic!("commit {name}: {other}: {}", res.text().await.unwrap()),
        }
    }
}

async fn churn(s: TestServer, blobs: usize, clients: usize, commits: usize) {
    let s = Arc::new(s);
    let seed: u64 = rand::random();
    let contents: Arc<Vec<String>> = Arc::new(
        (0..blobs)
            .map(|i| format!("churn {seed} blob {i}"))
            .collect(),
    );
    futures::stream::iter(contents.iter())
        .for_each_concurrent(8, |c| put(&s, c))
        .await;
    let stop = Arc::new(AtomicBool::new(false));
    let runs = Arc::new(AtomicUsize::new(0));
    let freed = Arc::new(AtomicUsize::new(0));
    let gc = {
        let (s, stop, runs, freed) = (s.clone(), stop.clone(), runs.clone(), freed.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let (meta, blobs) = (s.state.meta.as_ref(), s.state.blobs.as_ref());
                let report = collect_garbage(meta, blobs, Duration::ZERO, false)
                    .await
                    .expect("gc");
                runs.fetch_add(1, Ordering::SeqCst);
                freed.fetch_add(report.blobs, Ordering::SeqCst);
            }
        })
    };
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (s, contents) = (s.clone(), contents.clone());
            tokio::spawn(async move {
                let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ c as u64);
                let mut acked = Vec::new();
                for _ in 0..commits {
                    let content = &contents[rng.random_range(0..contents.len())];
                    let name = format!("churn-{c}");
                    let version = commit_one(&s, &name, content).await;
                    acked.push((name, version, content.clone()));
                }
                acked
            })
        })
        .collect();
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    stop.store(true, Ordering::SeqCst);
    gc.await.unwrap();
    let check = |acked: Vec<(String, String, String)>| {
        let s = s.clone();
        async move {
            let broken: Vec<String> = futures::stream::iter(acked)
                .map(|(name, version, content)| {
                    let s = s.clone();
                    async move {
                        let path = p(&format!("/artifacts/{name}/versions/{version}/files/f"));
                        let res = s.req(Method::GET, &path).send().await.unwrap();
                        let ok = res.status() == StatusCode::OK
                            && res.bytes().await.unwrap() == content.as_bytes();
                        (!ok).then(|| format!("{name}:{version}"))
                    }
                })
                .buffer_unordered(8)
                .filter_map(futures::future::ready)
                .collect()
                .await;
            broken
        }
    };
    let broken = check(acked.clone()).await;
    eprintln!(
        "gc churn (seed {seed}): {} acknowledged versions, {} collections freed {} blobs",
        acked.len(),
        runs.load(Ordering::SeqCst),
        freed.load(Ordering::SeqCst)
    );
    assert!(runs.load(Ordering::SeqCst) > 1 && freed.load(Ordering::SeqCst) > 0);
    assert!(
        broken.is_empty(),
        "acknowledged versions lost bytes: {broken:?}"
    );
    // and a collection afterwards keeps every byte a version needs
    let (meta, blobs) = (s.state.meta.as_ref(), s.state.blobs.as_ref());
    collect_garbage(meta, blobs, Duration::ZERO, false)
        .await
        .unwrap();
    let broken = check(acked).await;
    assert!(
        broken.is_empty(),
        "lost after a final collection: {broken:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_churn_on_sqlite_and_disk() {
    churn(TestServer::start().await, 400, 4, 60).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_churn_on_postgres_and_s3() {
    let (Some(db), Some(blobs)) = (services::postgres_database().await, services::s3_location())
    else {
        return;
    };
    churn(TestServer::replica(&db, &blobs).await, 150, 4, 25).await;
}
