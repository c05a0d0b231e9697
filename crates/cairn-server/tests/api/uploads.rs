//! Resumable upload sessions over HTTP: parallel out-of-order parts, resume, verification,
//! and what a blob published this way is good for (a commit).

use cairn_core::Digest;
use cairn_server::Config;
use cairn_testkit::{TestServer, expect};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::p;

const PART: usize = 1 << 20;

async fn server() -> TestServer {
    TestServer::with_config(Config {
        upload_part_size: PART as u64,
        ..Default::default()
    })
    .await
}

fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(7) ^ seed).collect()
}

pub(crate) async fn open(s: &TestServer, digest: Digest, size: usize) -> Value {
    let res = s
        .req(Method::POST, &p("/uploads"))
        .json(&json!({"digest": digest, "size": size}))
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::OK).await
}

pub(crate) async fn put_part(
    s: &TestServer,
    id: &str,
    n: usize,
    bytes: Vec<u8>,
) -> reqwest::Response {
    s.req(Method::PUT, &p(&format!("/uploads/{id}/parts/{n}")))
        .body(bytes)
        .send()
        .await
        .unwrap()
}

/// `method` on the session `id` (`rest`: "" or "/complete").
async fn on_session(s: &TestServer, method: Method, id: &str, rest: &str) -> reqwest::Response {
    s.req(method, &p(&format!("/uploads/{id}{rest}")))
        .send()
        .await
        .unwrap()
}

fn part(bytes: &[u8], n: usize) -> Vec<u8> {
    bytes[n * PART..((n + 1) * PART).min(bytes.len())].to_vec()
}

#[tokio::test]
async fn parts_in_parallel_and_any_order_resume_and_publish_a_verified_blob() {
    let s = server().await;
    let bytes = data(5 * PART + 123, 1);
    let digest = Digest::of(&bytes);
    let session = open(&s, digest, bytes.len()).await;
    assert_eq!(session["part_count"], 6);
    assert_eq!(session["part_size"], PART);
    let id = session["id"].as_str().unwrap().to_owned();
    let first = [5, 2, 0];
    let sent =
        futures::future::join_all(first.iter().map(|&n| put_part(&s, &id, n, part(&bytes, n))))
            .await;
    for res in sent {
        expect(res, StatusCode::OK).await;
    }
    // a client that crashed opens the same blob again: the same session, with what it holds
    let resumed = open(&s, digest, bytes.len()).await;
    assert_eq!(resumed["id"], session["id"]);
    let held: Vec<u64> = resumed["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["number"].as_u64().unwrap())
        .collect();
    assert_eq!(held, vec![0, 2, 5]);
    let status = s
        .get_json(&p(&format!("/uploads/{id}")), StatusCode::OK)
        .await;
    assert_eq!(status["parts"], resumed["parts"]);

    // completing early: 409 naming the missing parts, nothing published
    let res = on_session(&s, Method::POST, &id, "/complete").await;
    let problem = expect(res, StatusCode::CONFLICT).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("1, 3, 4"),
        "{problem}"
    );

    for n in [4, 1, 3] {
        expect(put_part(&s, &id, n, part(&bytes, n)).await, StatusCode::OK).await;
    }
    let res = on_session(&s, Method::POST, &id, "/complete").await;
    let done = expect(res, StatusCode::CREATED).await;
    assert_eq!(done["digest"], json!(digest));
    let res = on_session(&s, Method::GET, &id, "").await;
    expect(res, StatusCode::NOT_FOUND).await;

    // the blob is the project's now: it can be committed and read back
    let res = s
        .req(Method::POST, &p("/artifacts/big/versions"))
        .json(&json!({"type": "dataset", "manifest": {"version": 1, "contents": {"big.bin": {"digest": digest, "size": bytes.len()}}}}))
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::CREATED).await;
    let res = s
        .req(Method::GET, &p("/artifacts/big/versions/v0/files/big.bin"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap().as_ref(), bytes.as_slice());
}

#[tokio::test]
async fn a_corrupted_part_fails_completion_and_publishes_nothing() {
    let s = server().await;
    let bytes = data(2 * PART + 5, 2);
    let digest = Digest::of(&bytes);
    let id = open(&s, digest, bytes.len()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut bad = part(&bytes, 1);
    bad[1000] ^= 1;
    for (n, body) in [(0, part(&bytes, 0)), (1, bad), (2, part(&bytes, 2))] {
        expect(put_part(&s, &id, n, body).await, StatusCode::OK).await;
    }
    let res = on_session(&s, Method::POST, &id, "/complete").await;
    let problem = expect(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains(&digest.to_string()),
        "{problem}"
    );
    let res = s
        .req(Method::HEAD, &p(&format!("/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(s.state.blobs.size(&digest).await.unwrap(), None);
}

#[tokio::test]
async fn bad_parts_and_other_projects_are_refused() {
    let s = server().await;
    let bytes = data(PART + 10, 3);
    let digest = Digest::of(&bytes);
    let id = open(&s, digest, bytes.len()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let problem = expect(
        put_part(&s, &id, 1, vec![0; 11]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("part 1 must be 10 bytes"),
        "{problem}"
    );
    let problem = expect(
        put_part(&s, &id, 2, vec![0; 10]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        problem["detail"].as_str().unwrap().contains("past the end"),
        "{problem}"
    );
    // the same id under another project of the same entity is not found
    let res = s
        .req(
            Method::GET,
            &format!("/api/v1/projects/ent/elsewhere/uploads/{id}"),
        )
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::NOT_FOUND).await;
    let res = on_session(&s, Method::DELETE, &id, "").await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = on_session(&s, Method::GET, &id, "").await;
    expect(res, StatusCode::NOT_FOUND).await;
    // over the size limit
    let small = TestServer::with_config(Config {
        max_upload_size: 100,
        ..Default::default()
    })
    .await;
    let res = small
        .req(Method::POST, &p("/uploads"))
        .json(&json!({"digest": digest, "size": 101}))
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::PAYLOAD_TOO_LARGE).await;
}
