//! Storage quotas: set by an admin, counted on the bytes a project holds (each blob once),
//! enforced with 507 before an upload's bytes are read, on every way bytes come in.

use cairn_core::Digest;
use cairn_store::Role;
use cairn_testkit::{TestServer, expect, noise};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::p;

async fn set_quota(s: &TestServer, bytes: Value) -> Value {
    let res = s
        .req(Method::PUT, &p("/quota"))
        .json(&json!({ "bytes": bytes }))
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::OK).await
}

async fn put(s: &TestServer, bytes: &[u8]) -> reqwest::Response {
    s.req(Method::PUT, &p(&format!("/blobs/{}", Digest::of(bytes))))
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap()
}

async fn held(s: &TestServer, bytes: &[u8]) -> bool {
    let res = s
        .req(Method::HEAD, &p(&format!("/blobs/{}", Digest::of(bytes))))
        .send()
        .await
        .unwrap();
    res.status() == StatusCode::OK
}

#[tokio::test]
async fn uploads_over_the_quota_are_refused_before_their_bytes() {
    let s = TestServer::start().await;
    // only an admin sets quotas; anyone who reads the project sees its usage
    let writer = s.token("ent", Role::Write).await;
    let refused = s
        .client
        .put(format!("{}{}", s.url, p("/quota")))
        .bearer_auth(&writer)
        .json(&json!({"bytes": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let usage = set_quota(&s, json!(100)).await;
    assert_eq!(usage, json!({"bytes": 0, "blobs": 0, "quota": 100}));

    let a = noise(60, 1);
    assert_eq!(put(&s, &a).await.status(), StatusCode::CREATED);
    // bytes the project holds already are not charged again
    assert_eq!(put(&s, &a).await.status(), StatusCode::OK);
    let b = noise(60, 2);
    let problem = expect(put(&s, &b).await, StatusCode::INSUFFICIENT_STORAGE).await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("ent/proj holds 60 bytes") && detail.contains("quota is 100 bytes"),
        "{detail}"
    );
    assert!(!held(&s, &b).await, "nothing of a refused upload is held");
    // a body of unknown length is measured, then refused, before it is held
    let stream = futures::stream::iter([Ok::<_, std::io::Error>(b.clone())]);
    let res = s
        .req(Method::PUT, &p(&format!("/blobs/{}", Digest::of(&b))))
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::INSUFFICIENT_STORAGE);
    assert!(!held(&s, &b).await);
    // an upload session is refused at its start, from its declared size
    let session = s
        .req(Method::POST, &p("/uploads"))
        .json(&json!({"digest": Digest::of(&b), "size": 60}))
        .send()
        .await
        .unwrap();
    assert_eq!(session.status(), StatusCode::INSUFFICIENT_STORAGE);
    // so is a pack that could not fit, and an assembly that would take the project over
    let big = noise(200, 3);
    let (_, chunks) = cairn_core::chunk::chunk_all(&big);
    let mut pack = cairn_core::pack::PackBuilder::new();
    for c in &chunks {
        pack.push(&big[c.offset as usize..(c.offset + c.len as u64) as usize]);
    }
    let pack = pack.finish();
    let res = s
        .req(Method::POST, &p("/packs"))
        .body(pack.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::INSUFFICIENT_STORAGE);

    let usage = s.get_json(&p("/usage"), StatusCode::OK).await;
    assert_eq!(usage, json!({"bytes": 60, "blobs": 1, "quota": 100}));
    // raised: the pack fits now, but not once 800 more bytes are held
    set_quota(&s, json!(1000)).await;
    let res = s
        .req(Method::POST, &p("/packs"))
        .body(pack)
        .send()
        .await
        .unwrap();
    let receipt = expect(res, StatusCode::CREATED).await;
    assert_eq!(put(&s, &noise(800, 6)).await.status(), StatusCode::CREATED);
    let parts: Vec<Value> = chunks.iter().map(|c| json!({"chunk": c.hash})).collect();
    let assemble = json!({"chunker": 1, "packs": [receipt["pack"]], "blobs": [
        {"digest": Digest::of(&big), "size": big.len(), "parts": parts}]});
    let res = s
        .req(Method::POST, &p("/blobs/assemble"))
        .json(&assemble)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::INSUFFICIENT_STORAGE);
    assert!(!held(&s, &big).await);
    // the first refused upload fits too
    assert_eq!(put(&s, &b).await.status(), StatusCode::CREATED);
    // lifted: the assembly goes through
    let usage = set_quota(&s, Value::Null).await;
    assert_eq!(usage, json!({"bytes": 920, "blobs": 3}));
    let res = s
        .req(Method::POST, &p("/blobs/assemble"))
        .json(&assemble)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(held(&s, &big).await);
    assert_eq!(put(&s, &noise(5000, 4)).await.status(), StatusCode::CREATED);
    // other projects were never limited
    s.put_blob("ent/other", &noise(5000, 5)).await;
}
