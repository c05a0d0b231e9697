//! Hostile input: malformed, oversized and deeply nested JSON, invalid UTF-8, traversal in
//! paths, odd Range headers, wrong digests, bodies shorter or longer than their
//! Content-Length. Each gets a clear 4xx (never a 5xx, never a crash) and changes nothing.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use cairn_core::Digest;
use cairn_testkit::{ADMIN_TOKEN, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{P, p};

/// Send raw bytes on a fresh connection and answer the first response's status line.
fn raw(addr: SocketAddr, request: &[u8], close_write: bool) -> String {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request).unwrap();
    if close_write {
        let _ = stream.shutdown(std::net::Shutdown::Write);
    }
    let mut buf = vec![0u8; 8192];
    let n = stream.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n])
        .lines()
        .next()
        .unwrap_or("")
        .to_owned()
}

async fn nothing_changed(s: &TestServer) {
    let list = s.get_json(&p("/artifacts"), StatusCode::OK).await;
    assert_eq!(list["artifacts"].as_array().unwrap().len(), 1, "{list}");
    let versions = s
        .get_json(&p("/artifacts/data/versions"), StatusCode::OK)
        .await;
    assert_eq!(
        versions["versions"].as_array().unwrap().len(),
        1,
        "{versions}"
    );
}

async fn status_of(
    s: &TestServer,
    method: Method,
    path: &str,
    body: Vec<u8>,
) -> (StatusCode, String) {
    let res = s
        .req(method, path)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_bodies_get_clear_4xx_and_change_nothing() {
    let s = TestServer::start().await;
    s.commit_files(P, "data", &[("f", "content")]).await;
    let commit = p("/artifacts/data/versions");
    let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("malformed JSON", b"{\"type\": \"dataset\", \"manifest\": ".to_vec()),
        ("not an object", b"[1, 2, 3]".to_vec()),
        ("invalid UTF-8", b"{\"type\": \"data\xff\xfeset\"}".to_vec()),
        ("deep nesting in metadata", format!("{{\"type\":\"dataset\",\"manifest\":{{\"version\":1,\"contents\":{{}}}},\"metadata\":{{\"a\":{deep}}}}}").into_bytes()),
        ("deep nesting in an entry", format!("{{\"type\":\"dataset\",\"manifest\":{{\"version\":1,\"contents\":{{\"a\":{{\"digest\":\"sha256:{}\",\"size\":1,\"extra\":{deep}}}}}}}}}", "0".repeat(64)).into_bytes()),
        ("unknown manifest version", json!({"type": "dataset", "manifest": {"version": 99, "contents": {}}}).to_string().into_bytes()),
        ("negative size", json!({"type": "dataset", "manifest": {"version": 1, "contents": {"a": {"digest": Digest::of(b"content"), "size": -1}}}}).to_string().into_bytes()),
        ("malformed digest", json!({"type": "dataset", "manifest": {"version": 1, "contents": {"a": {"digest": "sha256:xyz", "size": 1}}}}).to_string().into_bytes()),
    ];
    for (what, body) in cases {
        let (status, text) = status_of(&s, Method::POST, &commit, body).await;
        assert!(status.is_client_error(), "{what}: {status} {text}");
        assert!(
            text.contains("\"detail\""),
            "{what}: no problem document: {text}"
        );
    }
    // entry paths that escape, are absolute or are not normal
    for path in [
        "../etc/passwd",
        "/abs",
        "a/../b",
        "a//b",
        ".",
        "a/./b",
        "dir/",
        "nul\u{0}byte",
        "new\nline",
    ] {
        let body = json!({"type": "dataset", "manifest": {"version": 1, "contents": {path: {"digest": Digest::of(b"content"), "size": 7}}}});
        let (status, text) =
            status_of(&s, Method::POST, &commit, body.to_string().into_bytes()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path:?}: {text}");
    }
    // names and digests in the URL
    for path in [
        p("/artifacts/%FF%FE/versions"),
        p("/artifacts/..%2F..%2Fetc/versions"),
        p("/blobs/sha256:xyz"),
        p("/blobs/md5:d41d8cd98f00b204e9800998ecf8427e"),
        "/api/v1/projects/%2e%2e/proj/artifacts".to_owned(),
    ] {
        let (status, text) = status_of(&s, Method::GET, &path, Vec::new()).await;
        assert!(status.is_client_error(), "{path}: {status} {text}");
    }
    // a file path that tries to climb out of the version
    for path in [
        "files/..%2F..%2Fcairn.db",
        "files/%2e%2e/%2e%2e/cairn.db",
        "files/f%00",
    ] {
        let (status, _) = status_of(
            &s,
            Method::GET,
            &p(&format!("/artifacts/data/versions/v0/{path}")),
            Vec::new(),
        )
        .await;
        assert!(
            status == StatusCode::NOT_FOUND || status == StatusCode::UNPROCESSABLE_ENTITY,
            "{path}: {status}"
        );
    }
    nothing_changed(&s).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn odd_ranges_never_fail_the_server() {
    let s = TestServer::start().await;
    s.commit_files(P, "data", &[("f", "0123456789")]).await;
    let file = p("/artifacts/data/versions/v0/files/f");
    for range in [
        "bytes=5-2",
        "bytes=abc",
        "bytes=0-0,2-3",
        "items=0-1",
        "bytes=-0",
        "bytes=99999999999999999999-",
        "bytes=10-",
        "bytes=",
        "bytes=--1",
    ] {
        let res = s
            .req(Method::GET, &file)
            .header("range", range)
            .send()
            .await
            .unwrap();
        let status = res.status();
        assert!(
            [
                StatusCode::OK,
                StatusCode::PARTIAL_CONTENT,
                StatusCode::RANGE_NOT_SATISFIABLE
            ]
            .contains(&status),
            "{range}: {status}"
        );
        if status == StatusCode::OK {
            assert_eq!(
                res.bytes().await.unwrap(),
                "0123456789".as_bytes(),
                "{range}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_shorter_or_longer_than_their_length_store_nothing() {
    let s = TestServer::start().await;
    s.commit_files(P, "data", &[("f", "content")]).await;
    let addr = s.addr;
    let d = Digest::of(b"hello world");
    let head = |len: usize| {
        format!(
            "PUT /api/v1/projects/{P}/blobs/{d} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\
             Content-Type: application/octet-stream\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
        )
    };
    // shorter: the connection ends after 5 of 11 bytes
    let short = [head(11).as_bytes(), b"hello"].concat();
    let line = tokio::task::spawn_blocking(move || raw(addr, &short, true))
        .await
        .unwrap();
    assert!(!line.starts_with("HTTP/1.1 2"), "{line}");
    // longer: only Content-Length bytes count, and they do not hash to the digest
    let long = [head(5).as_bytes(), b"hello world"].concat();
    let line = tokio::task::spawn_blocking(move || raw(addr, &long, false))
        .await
        .unwrap();
    assert!(line.starts_with("HTTP/1.1 422"), "{line}");
    let res = s
        .req(Method::HEAD, &p(&format!("/blobs/{d}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // and nothing half-written remains in staging
    tokio::time::sleep(Duration::from_millis(200)).await;
    let staging = s.data_dir().join("blobs").join("staging");
    let left: Vec<_> = std::fs::read_dir(&staging)
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "staging holds {left:?}");
    nothing_changed(&s).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_million_entries_on_missing_blobs_and_wrong_digests_change_nothing() {
    let s = TestServer::start().await;
    s.commit_files(P, "data", &[("f", "content")]).await;
    // a 1,000,000-entry manifest (~110 MB of JSON) naming a blob nobody uploaded
    let missing = Digest::of(b"never uploaded");
    let mut body = String::from(r#"{"type":"dataset","manifest":{"version":1,"contents":{"#);
    for i in 0..1_000_000 {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&format!(
            r#""d{}/f{i:07}":{{"digest":"{missing}","size":14}}"#,
            i % 1000
        ));
    }
    body.push_str("}}}");
    let (status, text) = status_of(
        &s,
        Method::POST,
        &p("/artifacts/data/versions"),
        body.into_bytes(),
    )
    .await;
    // 409 (api.md: missing blobs), naming the digest once
    assert_eq!(status, StatusCode::CONFLICT, "{text}");
    assert!(text.contains(&missing.to_string()), "{text}");
    // bytes under a digest they do not hash to
    let wrong = Digest::of(b"something else");
    let res = s
        .req(Method::PUT, &p(&format!("/blobs/{wrong}")))
        .body("the real bytes")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let text = res.text().await.unwrap();
    assert!(
        text.contains(&Digest::of(b"the real bytes").to_string()),
        "{text}"
    );
    let res = s
        .req(Method::HEAD, &p(&format!("/blobs/{wrong}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    nothing_changed(&s).await;
}
