//! Bounded memory for JSON bodies (issue 24): a body over the limit and a commit with too many
//! entries get 413 naming the limit; large bodies share a budget, so while one holds it another
//! waits and then gets 503 with Retry-After, and small requests never queue behind them.

use std::time::Duration;

use cairn_testkit::{TestServer, expect};
use futures::SinkExt;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{manifest, post_commit};

fn server_config() -> cairn_server::Config {
    cairn_server::Config {
        max_json_body: 4 << 20,
        max_manifest_entries: 1000,
        json_memory: 2 << 20,
        json_wait: Duration::from_millis(300),
        ..cairn_server::Config::default()
    }
}

/// A commit of `a.txt` whose description pads its body to about `bytes`.
fn padded_commit(bytes: usize) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "type": "dataset",
        "manifest": manifest(&[("a.txt", "alpha")]),
        "description": "x".repeat(bytes),
    }))
    .unwrap()
}

#[tokio::test]
async fn large_json_bodies_are_limited_and_take_turns() {
    let s = TestServer::with_config(server_config()).await;
    s.put_blob("ent/proj", b"alpha").await;

    // over the byte limit: refused from its Content-Length
    let res = post_commit(&s, "huge")
        .body(padded_commit(5 << 20))
        .send()
        .await
        .unwrap();
    let problem = expect(res, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("--max-json-body"),
        "{problem}"
    );
    // over the entry limit
    let files: Vec<(String, &str)> = (0..1001).map(|i| (format!("f{i}"), "alpha")).collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), *b)).collect();
    let res = post_commit(&s, "many")
        .json(&json!({"type": "dataset", "manifest": manifest(&refs)}))
        .send()
        .await
        .unwrap();
    let problem = expect(res, StatusCode::PAYLOAD_TOO_LARGE).await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("1001 entries") && detail.contains("--max-manifest-entries"),
        "{detail}"
    );

    // a large body that stalls holds the whole budget…
    let body = padded_commit(3 << 19);
    let (mut tx, rx) = futures::channel::mpsc::channel::<std::io::Result<Vec<u8>>>(4);
    tx.send(Ok(body[..1 << 20].to_vec())).await.unwrap();
    let slow = tokio::spawn(
        post_commit(&s, "slow")
            .header(reqwest::header::CONTENT_LENGTH, body.len())
            .body(reqwest::Body::wrap_stream(rx))
            .send(),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    // …so another large one waits, then is told to come back
    let res = post_commit(&s, "second")
        .body(padded_commit(3 << 19))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["retry-after"], "5");
    let problem = expect(res, StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("large JSON bodies"),
        "{problem}"
    );
    // small requests go on meanwhile
    let small = post_commit(&s, "small")
        .json(&json!({"type": "dataset", "manifest": manifest(&[("a.txt", "alpha")])}))
        .send()
        .await
        .unwrap();
    assert_eq!(small.status(), StatusCode::CREATED);
    // the stalled one finishes and gives its share back: the second goes through
    tx.send(Ok(body[1 << 20..].to_vec())).await.unwrap();
    drop(tx);
    let first = slow.await.unwrap().unwrap();
    let first: Value = expect(first, StatusCode::CREATED).await;
    assert_eq!(first["version"], "v0");
    let res = post_commit(&s, "second")
        .body(padded_commit(3 << 19))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
}
