//! Full-manifest commits read as a stream (issue 24): entries in any order, a path given twice
//! keeping its last entry, sorted on disk past one run and committed page by page — the same
//! version a whole-body parse gives; bad bodies refused naming the problem, with nothing
//! committed and nothing left in the spool folder.

use std::collections::BTreeMap;

use cairn_core::{Digest, Entry, EntryPath, Manifest};
use cairn_testkit::{TestServer, expect};
use futures::SinkExt;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{P, p, post_commit};

fn config(spool: &std::path::Path) -> cairn_server::Config {
    cairn_server::Config {
        spool_dir: Some(spool.to_owned()),
        max_json_body: 64 << 20,
        ..cairn_server::Config::default()
    }
}

fn post(s: &TestServer, name: &str, body: impl Into<reqwest::Body>) -> reqwest::RequestBuilder {
    post_commit(s, name).body(body)
}

fn spool_is_empty(dir: &std::path::Path) -> bool {
    std::fs::read_dir(dir).map_or(true, |mut d| d.next().is_none())
}

#[tokio::test]
async fn a_large_manifest_in_any_order_commits_as_its_sorted_form() {
    let spool = tempfile::tempdir().unwrap();
    let s = TestServer::with_config(config(spool.path())).await;
    let blobs: Vec<Digest> = [b"one".as_slice(), b"two", b"three"]
        .iter()
        .map(|b| Digest::of(b))
        .collect();
    for b in [b"one".as_slice(), b"two", b"three"] {
        s.put_blob(P, b).await;
    }
    let sizes = [3u64, 3, 5];
    // 150,000 entries (more than one run of the spool) in a scrambled order, then every
    // 1,000th again with another blob: the last one given wins, as in a JSON object read whole
    let n: u64 = 150_001;
    let mut order: Vec<(String, usize)> = (0..n)
        .map(|k| (k * 7919) % n)
        .map(|i| (format!("d{:03}/f{i:06}", i % 211), (i % 3) as usize))
        .collect();
    order.extend(
        (0..n)
            .step_by(1000)
            .map(|i| (format!("d{:03}/f{i:06}", i % 211), 2)),
    );
    order.push(("D000/x".to_owned(), 0)); // differs from d000 only in case
    let mut body = String::from(r#"{"type":"dataset","manifest":{"contents":{"#);
    let mut expected: BTreeMap<EntryPath, Entry> = BTreeMap::new();
    for (k, (path, b)) in order.iter().enumerate() {
        if k > 0 {
            body.push(',');
        }
        body.push_str(&format!(
            r#""{path}":{{"digest":"{}","size":{}}}"#,
            blobs[*b], sizes[*b]
        ));
        expected.insert(
            EntryPath::new(path).unwrap(),
            Entry::blob(blobs[*b], sizes[*b]),
        );
    }
    // `version` after `contents`, the description after the manifest
    body.push_str(r#"},"version":1},"description":"streamed"}"#);
    let expected = Manifest::from_entries(expected).unwrap();

    let out = expect(
        post(&s, "big", body).send().await.unwrap(),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(out["digest"], expected.digest().to_string());
    let warnings = out["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().starts_with("d000 differs only in case")),
        "{warnings:?}"
    );
    let v0 = s
        .get_json(&p("/artifacts/big/versions/v0"), StatusCode::OK)
        .await;
    assert_eq!(v0["file_count"], expected.len() as u64);
    assert_eq!(v0["description"], "streamed");
    let res = s
        .req(Method::GET, &p("/artifacts/big/versions/v0/manifest"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.bytes().await.unwrap(), expected.canonical_bytes());
    assert!(spool_is_empty(spool.path()), "the spool kept files");

    // the same content sent whole and sorted is the same version
    let again = json!({"type": "dataset", "manifest": expected});
    let res = post(&s, "big", serde_json::to_vec(&again).unwrap())
        .send()
        .await
        .unwrap();
    let again = expect(res, StatusCode::OK).await;
    assert_eq!(again["version"], "v0");
}

#[tokio::test]
async fn bad_streamed_bodies_are_refused_naming_the_problem_and_leave_nothing() {
    let spool = tempfile::tempdir().unwrap();
    let s = TestServer::with_config(cairn_server::Config {
        max_json_body: 2 << 20,
        ..config(spool.path())
    })
    .await;
    let d = s.put_blob(P, b"alpha").await;
    let entries = |n: usize| -> String {
        (0..n)
            .map(|i| format!(r#""f{i:05}":{{"digest":"{d}","size":5}}"#))
            .collect::<Vec<_>>()
            .join(",")
    };
    let absent = Digest::of(b"never uploaded").to_string();
    let cases: Vec<(String, StatusCode, &str)> = vec![
        (
            format!(
                r#"{{"type":"dataset","manifest":{{"version":1,"contents":{{{},"a/../b":{{"digest":"{d}","size":5}}}}}}}}"#,
                entries(5000)
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "a/../b",
        ),
        (
            format!(
                r#"{{"type":"dataset","manifest":{{"version":2,"contents":{{{}}}}}}}"#,
                entries(3)
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "version 2",
        ),
        (
            format!(
                r#"{{"type":"dataset","manifest":{{"contents":{{{}}}}}}}"#,
                entries(3)
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "version",
        ),
        (
            format!(
                r#"{{"type":"dataset","base":"v0","patch":{{}},"manifest":{{"version":1,"contents":{{{}}}}}}}"#,
                entries(3)
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "exactly one of manifest or patch",
        ),
        (
            format!(
                r#"{{"type":"dataset","manifest":{{"version":1,"contents":{{{}"#,
                entries(3000)
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "EOF",
        ),
        (
            format!(
                r#"{{"type":"dataset","colour":"red","manifest":{{"version":1,"contents":{{{}}}}}}}"#,
                entries(3)
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "colour",
        ),
        (
            format!(
                r#"{{"type":"dataset","manifest":{{"version":1,"contents":{{{},"zz":{{"digest":"{}","size":1}}}}}}}}"#,
                entries(3),
                absent
            ),
            StatusCode::CONFLICT,
            &absent,
        ),
    ];
    for (body, status, needle) in cases {
        let res = post(&s, "bad", body).send().await.unwrap();
        let problem = expect(res, status).await;
        // the detail names it (a missing blob: the problem's `missing` list)
        let text = problem.to_string();
        assert!(text.contains(needle), "{needle:?} not in {text}");
    }
    // JSON under another media type
    let res = s
        .req(Method::POST, &p("/artifacts/bad/versions"))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    // a body without a length that runs past the limit is cut off there (a little past it:
    // what the registry does not read must fit the socket's buffers, or the client sees a
    // broken pipe instead of the answer)
    let (mut tx, rx) = futures::channel::mpsc::channel::<std::io::Result<Vec<u8>>>(4);
    let sender = tokio::spawn(async move {
        let head = br#"{"type":"dataset","manifest":{"version":1,"contents":{"#.to_vec();
        if tx.send(Ok(head)).await.is_err() {
            return;
        }
        for i in 0..530 {
            let chunk: String = (0..4)
                .map(|j| {
                    format!(
                        r#""g{i:04}/{j}{}":{{"digest":"{d}","size":5}},"#,
                        "x".repeat(900)
                    )
                })
                .collect();
            if tx.send(Ok(chunk.into_bytes())).await.is_err() {
                return; // the registry stopped reading
            }
        }
    });
    let res = post(&s, "bad", reqwest::Body::wrap_stream(rx))
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
    sender.abort();
    let res = s
        .req(Method::GET, &p("/artifacts/bad"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::NOT_FOUND,
        "a refused commit made a version"
    );
    assert!(spool_is_empty(spool.path()), "the spool kept files");
}
