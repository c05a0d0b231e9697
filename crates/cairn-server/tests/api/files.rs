use cairn_core::Digest;
use cairn_testkit::{TestServer, expect};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{commit, p};

#[tokio::test]
async fn downloads_with_ranges() {
    let s = TestServer::start().await;
    let content = "0123456789abcdefghij";
    s.commit_files(
        "ent/proj",
        "data",
        &[("deep/dir/file name #1.txt", content), ("empty", "")],
    )
    .await;
    let url = p("/artifacts/data/versions/latest/files/deep/dir/file%20name%20%231.txt");
    let get = |range: Option<&str>| {
        let mut r = s.req(Method::GET, &url);
        if let Some(range) = range {
            r = r.header("range", range);
        }
        r.send()
    };
    let res = get(None).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["accept-ranges"], "bytes");
    assert_eq!(
        res.headers()["etag"],
        format!("\"{}\"", Digest::of(content.as_bytes()))
    );
    assert_eq!(res.text().await.unwrap(), content);

    for (range, want, content_range) in [
        ("bytes=2-5", "2345", "bytes 2-5/20"),
        ("bytes=15-", "fghij", "bytes 15-19/20"),
        ("bytes=-3", "hij", "bytes 17-19/20"),
        ("bytes=18-100", "ij", "bytes 18-19/20"),
    ] {
        let res = get(Some(range)).await.unwrap();
        assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(res.headers()["content-range"], content_range);
        assert_eq!(res.text().await.unwrap(), want);
    }
    let res = get(Some("bytes=20-")).await.unwrap();
    assert_eq!(res.headers()["content-range"], "bytes */20");
    expect(res, StatusCode::RANGE_NOT_SATISFIABLE).await;
    let empty = s
        .req(Method::GET, &p("/artifacts/data/versions/v0/files/empty"))
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), StatusCode::OK);
    assert_eq!(empty.bytes().await.unwrap().len(), 0);

    let problem = s
        .get_json(
            &p("/artifacts/data/versions/v0/files/deep/dir"),
            StatusCode::NOT_FOUND,
        )
        .await;
    assert!(
        problem["detail"].as_str().unwrap().contains("'deep/dir'"),
        "{problem}"
    );
    s.get_json(
        &p("/artifacts/data/versions/v5/files/empty"),
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn reference_entries_are_not_served() {
    let s = TestServer::start().await;
    let body = json!({"type": "dataset", "manifest": {"version": 1, "contents": {
        "ext/b.bin": {"digest": "\"etag-1\"", "ref": "s3://bucket/b.bin", "size": 9, "extra": {"etag": "etag-1", "custom": {"k": [1]}}},
        "local.csv": {"digest": Digest::of(b"never uploaded"), "ref": "file:///data/local.csv", "size": 14}
    }}});
    // references need no stored blobs
    let v = expect(commit(&s, "refs", body).await, StatusCode::CREATED).await;
    assert_eq!(v["version"], "v0");
    let problem = s
        .get_json(
            &p("/artifacts/refs/versions/v0/files/ext/b.bin"),
            StatusCode::CONFLICT,
        )
        .await;
    assert_eq!(problem["ref"], "s3://bucket/b.bin");
    assert_eq!(problem["path"], "ext/b.bin");
    // unknown keys of extra are kept
    let m = s
        .get_json(&p("/artifacts/refs/versions/v0/manifest"), StatusCode::OK)
        .await;
    assert_eq!(
        m["contents"]["ext/b.bin"]["extra"]["custom"],
        json!({"k": [1]})
    );
}

#[tokio::test]
async fn a_link_downloads_a_file_without_a_token_until_altered() {
    let s = TestServer::start().await;
    let content = "id,label\n1,cat\n2,dog\n";
    s.commit_files("ent/proj", "data", &[("deep/résumé 1.csv", content)])
        .await;
    let ask = |path: &str| {
        s.req(Method::POST, &p("/artifacts/data/versions/latest/links"))
            .json(&json!({ "path": path }))
            .send()
    };
    let link = expect(ask("deep/résumé 1.csv").await.unwrap(), StatusCode::CREATED).await;
    let url = link["url"].as_str().unwrap();
    assert!(url.starts_with("/api/v1/links/"), "{link}");
    assert_eq!(link["size"], content.len());
    assert_eq!(link["digest"], Digest::of(content.as_bytes()).to_string());
    assert!(
        link["expires_at"].as_str().unwrap().ends_with('Z'),
        "{link}"
    );

    // no token: the link is the permission, the file an attachment under its own name
    let res = s.get_public(url, &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["content-disposition"],
        "attachment; filename=\"r_sum_ 1.csv\"; filename*=UTF-8''r%C3%A9sum%C3%A9%201.csv"
    );
    assert_eq!(res.headers()["cache-control"], "private, no-store");
    assert_eq!(res.text().await.unwrap(), content);
    let part = s.get_public(url, &[("range", "bytes=3-7")]).await;
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.text().await.unwrap(), "label");

    // one character changed anywhere: refused
    let mut altered = url.to_owned().into_bytes();
    let at = "/api/v1/links/".len() + 5;
    altered[at] = if altered[at] == b'A' { b'B' } else { b'A' };
    let res = s
        .get_public(&String::from_utf8(altered).unwrap(), &[])
        .await;
    let problem = expect(res, StatusCode::FORBIDDEN).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("signature does not match"),
        "{problem}"
    );
    // asking needs a token that reads the project; a path the version lacks is a 404
    let anonymous = reqwest::Client::new()
        .post(format!(
            "{}{}",
            s.url,
            p("/artifacts/data/versions/latest/links")
        ))
        .json(&json!({ "path": "deep/résumé 1.csv" }))
        .send()
        .await
        .unwrap();
    expect(anonymous, StatusCode::UNAUTHORIZED).await;
    let missing = expect(ask("deep/nope.csv").await.unwrap(), StatusCode::NOT_FOUND).await;
    assert!(
        missing["detail"]
            .as_str()
            .unwrap()
            .contains("'deep/nope.csv'"),
        "{missing}"
    );
}
