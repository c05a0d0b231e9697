//! A full disk, for real: the blob store, then the database, on a small tmpfs (mounting needs
//! root, which CI has; elsewhere the test says so and stops). Uploads and commits that do not
//! fit get 507 saying the registry is out of space, leave nothing half-stored, and reads go on.

use cairn_core::Digest;
use cairn_testkit::{TestServer, expect, noise};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::p;

/// A tmpfs of `mib` MiB mounted on a fresh directory, unmounted on drop.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(mib: u32) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok && std::env::var_os("CAIRN_REQUIRE_SERVICES").is_some() {
            panic!("cannot mount a tmpfs (root needed) and CAIRN_REQUIRE_SERVICES is set");
        }
        ok.then_some(Self(dir))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.0.path())
            .status();
    }
}

async fn put(s: &TestServer, bytes: Vec<u8>) -> reqwest::Response {
    let d = Digest::of(&bytes);
    s.req(Method::PUT, &p(&format!("/blobs/{d}")))
        .body(bytes)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_full_blob_store_answers_507_and_keeps_serving() {
    let Some(fs) = Tmpfs::mount(8) else {
        eprintln!("skipped: cannot mount a tmpfs here");
        return;
    };
    let db = tempfile::tempdir().unwrap();
    let s = TestServer::on_paths(&db.path().join("cairn.db"), &fs.0.path().join("blobs")).await;
    s.commit_files(crate::P, "kept", &[("a.txt", "still here")])
        .await;
    let mut full = None;
    for i in 0..20 {
        let bytes = noise(1 << 20, 2 * i + 1);
        let res = put(&s, bytes.clone()).await;
        if res.status() != StatusCode::CREATED {
            full = Some((bytes, res));
            break;
        }
    }
    let (bytes, res) = full.expect("an 8 MiB file system never filled");
    let problem = expect(res, StatusCode::INSUFFICIENT_STORAGE).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("out of space"),
        "{problem}"
    );
    // nothing half-stored: the project does not hold it, and the pack route fails alike
    let head = s
        .req(Method::HEAD, &p(&format!("/blobs/{}", Digest::of(&bytes))))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::NOT_FOUND);
    let mut pack = cairn_core::pack::PackBuilder::new();
    for piece in noise(3 << 20, 99).chunks(100_000) {
        pack.push(piece);
    }
    let res = s
        .req(Method::POST, &p("/packs"))
        .body(pack.finish())
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::INSUFFICIENT_STORAGE).await;
    // reads go on
    let res = s
        .req(
            Method::GET,
            &p("/artifacts/kept/versions/latest/files/a.txt"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().await.unwrap(), "still here");
}

#[tokio::test]
async fn a_full_database_answers_507_and_keeps_serving() {
    let Some(fs) = Tmpfs::mount(8) else {
        eprintln!("skipped: cannot mount a tmpfs here");
        return;
    };
    let blobs = tempfile::tempdir().unwrap();
    let s = TestServer::on_paths(&fs.0.path().join("cairn.db"), blobs.path()).await;
    s.commit_files(crate::P, "kept", &[("a.txt", "still here")])
        .await;
    s.put_blob(crate::P, b"x").await;
    // commits of large manifests until the database's file system is full
    let mut status = StatusCode::CREATED;
    let mut body = serde_json::Value::Null;
    for round in 0..200 {
        let contents: serde_json::Map<String, serde_json::Value> = (0..2000)
            .map(|i| {
                (
                    format!("r{round}/dir-with-a-long-name/file-{i:05}.bin"),
                    json!({"digest": Digest::of(b"x"), "size": 1}),
                )
            })
            .collect();
        let res = s
            .req(Method::POST, &p(&format!("/artifacts/big{round}/versions")))
            .json(&json!({"type": "dataset", "manifest": {"version": 1, "contents": contents}}))
            .send()
            .await
            .unwrap();
        status = res.status();
        if status != StatusCode::CREATED {
            body = res.json().await.unwrap();
            break;
        }
    }
    assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("out of space"),
        "{body}"
    );
    let res = s
        .req(
            Method::GET,
            &p("/artifacts/kept/versions/latest/files/a.txt"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().await.unwrap(), "still here");
}
