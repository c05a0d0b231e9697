use std::io::{Read, Write};
use std::time::Duration;

use cairn_core::Digest;
use cairn_server::Config;
use cairn_testkit::{ADMIN_TOKEN, TestServer, expect};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{P, p};

#[tokio::test]
async fn upload_verify_and_missing_check() {
    let s = TestServer::start().await;
    let (a, b) = (Digest::of(b"a"), Digest::of(b"b"));
    let missing = |digests: serde_json::Value| {
        s.req(Method::POST, &p("/blobs/missing"))
            .json(&json!({"digests": digests}))
            .send()
    };
    let body = expect(missing(json!([a, b])).await.unwrap(), StatusCode::OK).await;
    assert_eq!(body, json!({"missing": [a, b]}));

    let put = |d: Digest, bytes: &'static [u8]| {
        s.req(Method::PUT, &p(&format!("/blobs/{d}")))
            .body(bytes)
            .send()
    };
    expect(put(a, b"a").await.unwrap(), StatusCode::CREATED).await;
    expect(put(a, b"a").await.unwrap(), StatusCode::OK).await;
    let body = expect(missing(json!([a, b])).await.unwrap(), StatusCode::OK).await;
    assert_eq!(body, json!({"missing": [b]}));

    // bytes that do not hash to the digest: 422, nothing stored
    let body = expect(
        put(b, b"not b").await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains(&b.to_string()),
        "{body}"
    );
    let res = s
        .req(Method::HEAD, &p(&format!("/blobs/{b}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(s.state.blobs.size(&b).await.unwrap(), None);

    let res = s
        .req(Method::HEAD, &p(&format!("/blobs/{a}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-length"], "1");

    // malformed digests are named
    let body = expect(
        s.req(Method::PUT, &p("/blobs/sha256:XYZ"))
            .body("x")
            .send()
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("sha256:XYZ"),
        "{body}"
    );
    let body = expect(
        missing(json!(["md5:abc"])).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("md5:abc"),
        "{body}"
    );
    let too_many: Vec<Digest> = (0..10_001u32)
        .map(|i| Digest::of(&i.to_le_bytes()))
        .collect();
    expect(
        missing(json!(too_many)).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let ten_k = &too_many[..10_000];
    let body = expect(missing(json!(ten_k)).await.unwrap(), StatusCode::OK).await;
    assert_eq!(body["missing"].as_array().unwrap().len(), 10_000);
}

#[tokio::test]
async fn blobs_are_held_per_project() {
    let s = TestServer::start().await;
    let d = s.put_blob(P, b"shared").await;
    // another project must prove it has the bytes: the missing-check does not leak them
    let res = s
        .req(Method::POST, "/api/v1/projects/ent/other/blobs/missing")
        .json(&json!({"digests": [d]}))
        .send()
        .await
        .unwrap();
    assert_eq!(expect(res, StatusCode::OK).await, json!({"missing": [d]}));
    let res = s
        .req(
            Method::PUT,
            &format!("/api/v1/projects/ent/other/blobs/{d}"),
        )
        .body("shared")
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::CREATED).await;
}

/// Send only the request head of a PUT claiming `length` bytes, and read the answer.
fn head_only_put(addr: std::net::SocketAddr, digest: &Digest, length: u64) -> String {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "PUT /api/v1/projects/{P}/blobs/{digest} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\
         Content-Length: {length}\r\nExpect: 100-continue\r\n\r\n"
    )
    .unwrap();
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_upload_is_refused_before_the_body() {
    let s = TestServer::start().await;
    let d = Digest::of(b"whatever");
    let addr = s.addr;
    // 5 GiB + 1 is over the default limit; no body byte is ever sent
    let answer = tokio::task::spawn_blocking(move || head_only_put(addr, &d, (5 << 30) + 1))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer.contains("larger than the limit of 5368709120 bytes"),
        "{answer}"
    );
}

#[tokio::test]
async fn chunked_upload_over_the_limit_is_cut_off() {
    let s = TestServer::with_config(Config {
        max_blob_size: 1000,
        ..Config::default()
    })
    .await;
    let data = vec![1u8; 5000];
    let d = Digest::of(&data);
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        data.chunks(100).map(|c| Ok(c.to_vec())).collect();
    let body = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
    let res = s
        .req(Method::PUT, &p(&format!("/blobs/{d}")))
        .body(body)
        .send()
        .await
        .unwrap();
    let body = expect(res, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert!(body["detail"].as_str().unwrap().contains("1000"), "{body}");
    assert_eq!(s.state.blobs.size(&d).await.unwrap(), None);
    // at the limit is fine
    let ok = vec![2u8; 1000];
    let res = s
        .req(Method::PUT, &p(&format!("/blobs/{}", Digest::of(&ok))))
        .body(ok)
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::CREATED).await;
}

#[tokio::test]
async fn a_body_that_stalls_is_dropped_and_nothing_is_kept() {
    let s = TestServer::with_config(Config {
        body_timeout: Duration::from_millis(500),
        ..Config::default()
    })
    .await;
    let data = vec![5u8; 100_000];
    let d = Digest::of(&data);
    let (mut tx, rx) = futures::channel::mpsc::channel::<std::io::Result<Vec<u8>>>(1);
    futures::SinkExt::send(&mut tx, Ok(data[..1000].to_vec()))
        .await
        .unwrap();
    let put = s
        .req(Method::PUT, &p(&format!("/blobs/{d}")))
        .header(reqwest::header::CONTENT_LENGTH, data.len())
        .body(reqwest::Body::wrap_stream(rx))
        .send();
    // the client keeps the connection open and sends nothing more
    let answer = tokio::time::timeout(Duration::from_secs(10), put)
        .await
        .expect("the registry gives up on the stalled body");
    match answer {
        Ok(res) => assert!(res.status().is_client_error(), "{}", res.status()),
        Err(e) => assert!(e.is_request() || e.is_body(), "{e}"),
    }
    drop(tx);
    assert_eq!(s.state.blobs.size(&d).await.unwrap(), None);
    let res = s
        .req(Method::POST, &p("/blobs/missing"))
        .json(&json!({"digests": [d]}))
        .send()
        .await
        .unwrap();
    assert_eq!(expect(res, StatusCode::OK).await["missing"], json!([d]));
}

#[tokio::test]
async fn a_connection_that_trickles_its_headers_is_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = TestServer::with_config(Config {
        header_timeout: Duration::from_millis(500),
        ..Config::default()
    })
    .await;
    let mut tcp = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    // half a request line, then nothing: the registry hangs up instead of waiting for ever
    tcp.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut buf))
        .await
        .expect("the registry closes the connection");
    assert!(read.is_ok() || buf.is_empty(), "{read:?}");
    // a client that sends its headers in time is served as ever
    let res = s
        .client
        .get(format!("{}/api/v1/health", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}
