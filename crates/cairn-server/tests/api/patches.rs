use cairn_core::Digest;
use cairn_testkit::{TestServer, expect};
use reqwest::StatusCode;
use serde_json::json;

use crate::{commit, manifest, p, upload};

#[tokio::test]
async fn patch_rules() {
    let s = TestServer::start().await;
    upload(&s, &["1", "2", "3", "4", "new"]).await;
    let base = manifest(&[
        ("a.txt", "1"),
        ("x/a.txt", "2"),
        ("dir/1", "3"),
        ("dir/sub/2", "4"),
    ]);
    expect(
        commit(&s, "data", json!({"type": "dataset", "manifest": base})).await,
        StatusCode::CREATED,
    )
    .await;
    let put = |c: &str| json!({"digest": Digest::of(c.as_bytes()), "size": c.len()});

    // remove an exact path (never x/a.txt), a whole directory, and add a file
    let body =
        json!({"base": "v0", "patch": {"put": {"n.txt": put("new")}, "remove": ["a.txt", "dir"]}});
    let v1 = expect(commit(&s, "data", body).await, StatusCode::CREATED).await;
    assert_eq!(v1["version"], "v1");
    let m = s
        .get_json(&p("/artifacts/data/versions/v1/manifest"), StatusCode::OK)
        .await;
    assert_eq!(m, manifest(&[("n.txt", "new"), ("x/a.txt", "2")]));
    assert_eq!(
        s.get_json(&p("/artifacts/data/versions/v1"), StatusCode::OK)
            .await["base"],
        "v0"
    );

    // a put replaces the entry at the same path; base may be an alias
    let body = json!({"base": "latest", "patch": {"put": {"x/a.txt": put("3")}}});
    expect(commit(&s, "data", body).await, StatusCode::CREATED).await;
    let m = s
        .get_json(&p("/artifacts/data/versions/v2/manifest"), StatusCode::OK)
        .await;
    assert_eq!(m, manifest(&[("n.txt", "new"), ("x/a.txt", "3")]));

    // a remove that matches nothing is named, and nothing is committed
    let body = json!({"base": "v2", "patch": {"remove": ["a.txt"]}});
    let problem = expect(
        commit(&s, "data", body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(problem["detail"], "no such file or directory: a.txt");
    let body = json!({"base": "v2", "patch": {"remove": ["x/a"]}});
    expect(
        commit(&s, "data", body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    // a put naming a blob not stored: 409 missing
    let body = json!({"base": "v2", "patch": {"put": {"z": put("unstored")}}});
    let problem = expect(commit(&s, "data", body).await, StatusCode::CONFLICT).await;
    assert_eq!(problem["missing"], json!([Digest::of(b"unstored")]));
    // unknown base: 404
    let body = json!({"base": "v9", "patch": {"remove": ["n.txt"]}});
    expect(commit(&s, "data", body).await, StatusCode::NOT_FOUND).await;
    // an empty patch has the base's content: no version
    let body = json!({"base": "v2", "patch": {}});
    let same = expect(commit(&s, "data", body).await, StatusCode::OK).await;
    assert_eq!(
        (same["version"].clone(), same["created"].clone()),
        (json!("v2"), json!(false))
    );
    assert_eq!(
        s.get_json(&p("/artifacts/data"), StatusCode::OK).await["versions"],
        3
    );
}

#[tokio::test]
async fn paths_that_will_not_download_everywhere_are_warned_about_not_refused() {
    let s = TestServer::start().await;
    upload(&s, &["1", "2"]).await;
    let m = manifest(&[("Data/a.txt", "1"), ("data/A.txt", "2"), ("ok.txt", "1")]);
    let v0 = expect(
        commit(&s, "w", json!({"type": "dataset", "manifest": m})).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        v0["warnings"],
        json!([
            "Data/a.txt and data/A.txt differ only in case (one file on macOS and Windows)",
            "folders Data and data differ only in case (one folder on macOS and Windows)"
        ])
    );
    // a patch: the paths it puts
    let put = json!({"digest": Digest::of(b"1"), "size": 1});
    let long = "n".repeat(256);
    let body = json!({"base": "v0", "patch": {"put": {"aux.txt": put, long.clone(): put}}});
    let v1 = expect(commit(&s, "w", body).await, StatusCode::CREATED).await;
    assert_eq!(
        v1["warnings"],
        json!([
            "aux.txt: 'aux.txt' is reserved on Windows",
            format!("{long}: a name of 256 bytes (most file systems hold 255)")
        ])
    );
    // none: no field at all
    let m = manifest(&[("ok.txt", "1")]);
    let clean = expect(
        commit(&s, "clean", json!({"type": "dataset", "manifest": m})).await,
        StatusCode::CREATED,
    )
    .await;
    assert!(clean.get("warnings").is_none(), "{clean}");
}
