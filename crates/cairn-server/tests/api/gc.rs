//! Garbage collection on a live registry, on SQLite + disk and on PostgreSQL + S3: blobs no
//! version or pending version references go once older than the grace period; nothing else does.

use std::time::Duration;

use cairn_core::Digest;
use cairn_store::collect_garbage;
use cairn_testkit::{TestServer, expect, services};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{manifest, p};

/// Whether the bytes of `content` are stored: whole, or as chunks (collections pack blobs
/// stored whole and then delete their whole objects).
async fn present(s: &TestServer, content: &str) -> bool {
    let d = Digest::of(content.as_bytes());
    s.state.blobs.size(&d).await.unwrap().is_some()
        || s.state.meta.recipe(&d).await.unwrap().is_some()
}

async fn missing(s: &TestServer, contents: &[&str]) -> Vec<Digest> {
    let digests: Vec<Digest> = contents.iter().map(|c| Digest::of(c.as_bytes())).collect();
    let res = s
        .req(Method::POST, &p("/blobs/missing"))
        .json(&json!({"digests": digests}))
        .send()
        .await
        .unwrap();
    serde_json::from_value(expect(res, StatusCode::OK).await["missing"].clone()).unwrap()
}

async fn scenario(s: &TestServer) {
    s.commit_files(crate::P, "data", &[("a", "A"), ("b", "B")])
        .await;
    s.commit_files(crate::P, "data", &[("a", "A"), ("b", "B2")])
        .await;
    s.put_blob(crate::P, b"orphan").await;
    s.put_blob(crate::P, b"P").await;
    let res = s
        .req(Method::POST, &p("/artifacts/dist/distributed/g/upsert"))
        .json(&json!({"type": "dataset", "manifest": manifest(&[("p.bin", "P")])}))
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::OK).await;
    let res = s
        .req(Method::DELETE, &p("/artifacts/data/versions/v0"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let (meta, blobs) = (s.state.meta.as_ref(), s.state.blobs.as_ref());

    // within the grace period nothing goes
    let r = collect_garbage(meta, blobs, Duration::from_secs(3600), false)
        .await
        .unwrap();
    assert_eq!((r.blobs, r.bytes), (0, 0));

    // a dry run reports the unreferenced blobs (B, only in the deleted v0, and the orphan)
    let r = collect_garbage(meta, blobs, Duration::ZERO, true)
        .await
        .unwrap();
    assert_eq!((r.blobs, r.bytes, r.dry_run), (2, 7, true));
    assert!(present(s, "B").await && present(s, "orphan").await);

    let r = collect_garbage(meta, blobs, Duration::ZERO, false)
        .await
        .unwrap();
    assert_eq!((r.blobs, r.bytes), (2, 7));
    for gone in ["B", "orphan"] {
        assert!(!present(s, gone).await, "{gone} survived");
    }
    for kept in ["A", "B2", "P"] {
        assert!(present(s, kept).await, "{kept} was deleted");
    }
    // clients see the freed blobs as missing again (so they upload them before using them)
    let want: Vec<Digest> = ["B", "orphan"]
        .iter()
        .map(|c| Digest::of(c.as_bytes()))
        .collect();
    assert_eq!(missing(s, &["B", "orphan", "A", "P"]).await, want);
    // the live version still downloads; a second collection finds nothing
    let res = s
        .req(Method::GET, &p("/artifacts/data/versions/v1/files/b"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.bytes().await.unwrap(), "B2".as_bytes());
    let r = collect_garbage(meta, blobs, Duration::ZERO, false)
        .await
        .unwrap();
    assert_eq!(r.blobs, 0);
    // an upload brings a freed blob back, and a commit can use it
    s.commit_files(crate::P, "data", &[("b", "B")]).await;
    assert!(present(s, "B").await);
}

#[tokio::test]
async fn gc_on_sqlite_and_disk() {
    scenario(&TestServer::start().await).await;
}

#[tokio::test]
async fn gc_on_postgres_and_s3() {
    let (Some(db), Some(blobs)) = (services::postgres_database().await, services::s3_location())
    else {
        return;
    };
    scenario(&TestServer::replica(&db, &blobs).await).await;
}
