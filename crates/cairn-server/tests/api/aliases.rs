use cairn_testkit::{TestServer, expect};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::p;

async fn three_versions() -> TestServer {
    let s = TestServer::start().await;
    for c in ["1", "2", "3"] {
        s.commit_files("ent/proj", "data", &[("f", c)]).await;
    }
    s
}

#[tokio::test]
async fn aliases_move_and_go() {
    let s = three_versions().await;
    let set = |alias: &str, v: &str| {
        s.req(Method::PUT, &p(&format!("/artifacts/data/aliases/{alias}")))
            .json(&json!({"version": v}))
            .send()
    };
    let v = expect(set("best", "v1").await.unwrap(), StatusCode::OK).await;
    assert_eq!(
        (v["version"].clone(), v["aliases"].clone()),
        (json!("v1"), json!(["best"]))
    );
    expect(set("best", "v0").await.unwrap(), StatusCode::OK).await;
    assert_eq!(
        s.get_json(&p("/artifacts/data/versions/v1"), StatusCode::OK)
            .await["aliases"],
        json!([])
    );
    assert_eq!(
        s.get_json(&p("/artifacts/data/versions/best"), StatusCode::OK)
            .await["version"],
        "v0"
    );
    // latest can be moved but not deleted
    expect(set("latest", "v0").await.unwrap(), StatusCode::OK).await;
    assert_eq!(
        s.get_json(&p("/artifacts/data/versions/latest"), StatusCode::OK)
            .await["version"],
        "v0"
    );
    let res = s
        .req(Method::DELETE, &p("/artifacts/data/aliases/latest"))
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    expect(
        set("v2", "v0").await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    expect(set("x", "v9").await.unwrap(), StatusCode::NOT_FOUND).await;
    expect(
        set("x", "best").await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let res = s
        .req(Method::DELETE, &p("/artifacts/data/aliases/best"))
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::NO_CONTENT).await;
    s.get_json(&p("/artifacts/data/versions/best"), StatusCode::NOT_FOUND)
        .await;
    let res = s
        .req(Method::DELETE, &p("/artifacts/data/aliases/best"))
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn version_edits() {
    let s = three_versions().await;
    let edit = |body: serde_json::Value| {
        s.req(Method::PATCH, &p("/artifacts/data/versions/v1"))
            .json(&body)
            .send()
    };
    let v = expect(
        edit(json!({"description": "fixed labels", "metadata": {"acc": 0.9}}))
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (v["description"].clone(), v["metadata"].clone()),
        (json!("fixed labels"), json!({"acc": 0.9}))
    );
    let v = expect(
        edit(json!({"description": "only this"})).await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (v["description"].clone(), v["metadata"].clone()),
        (json!("only this"), json!({"acc": 0.9}))
    );
    expect(
        edit(json!({"metadata": [1, 2]})).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    expect(
        edit(json!({"manifest": {}})).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let many: serde_json::Map<_, _> = (0..101).map(|i| (format!("k{i}"), json!(i))).collect();
    expect(
        edit(json!({"metadata": many})).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        s.get_json(&p("/artifacts/data/versions/v1"), StatusCode::OK)
            .await["description"],
        "only this"
    );
}

#[tokio::test]
async fn delete_rules() {
    let s = three_versions().await;
    let del = |r: &str| {
        s.req(Method::DELETE, &p(&format!("/artifacts/data/versions/{r}")))
            .send()
    };
    s.req(Method::PUT, &p("/artifacts/data/aliases/best"))
        .json(&json!({"version": "v0"}))
        .send()
        .await
        .unwrap();
    // custom aliases block a delete unless they go too
    let problem = expect(del("v0").await.unwrap(), StatusCode::CONFLICT).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("best"),
        "{problem}"
    );
    expect(
        del("v0?delete_aliases=true").await.unwrap(),
        StatusCode::NO_CONTENT,
    )
    .await;
    s.get_json(&p("/artifacts/data/versions/best"), StatusCode::NOT_FOUND)
        .await;
    s.get_json(&p("/artifacts/data/versions/v0"), StatusCode::NOT_FOUND)
        .await;
    // latest never blocks a delete, and moves to the highest remaining version
    expect(del("latest").await.unwrap(), StatusCode::NO_CONTENT).await;
    assert_eq!(
        s.get_json(&p("/artifacts/data/versions/latest"), StatusCode::OK)
            .await["version"],
        "v1"
    );
    // numbers are not reused, even for content that was deleted
    let again = s.commit_files("ent/proj", "data", &[("f", "3")]).await;
    assert_eq!((again.index, again.created), (3, true));
    expect(del("v9").await.unwrap(), StatusCode::NOT_FOUND).await;
    let info = s.get_json(&p("/artifacts/data"), StatusCode::OK).await;
    assert_eq!(info["versions"], 2);
    // the blobs of deleted versions are still there for the versions that share them
    let file = s
        .req(Method::GET, &p("/artifacts/data/versions/v3/files/f"))
        .send()
        .await
        .unwrap();
    assert_eq!(file.text().await.unwrap(), "3");
}
