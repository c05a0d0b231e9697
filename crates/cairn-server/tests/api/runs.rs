use cairn_testkit::{TestServer, expect};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::p;

#[tokio::test]
async fn runs_record_lineage() {
    let s = TestServer::start().await;
    let res = s
        .req(Method::POST, &p("/runs"))
        .json(&json!({"name": "prep", "group": "g", "job_type": "preprocess"}))
        .send()
        .await
        .unwrap();
    let producer = expect(res, StatusCode::CREATED).await;
    let pid = producer["id"].as_str().unwrap().to_owned();
    let consumer = expect(
        s.req(Method::POST, &p("/runs"))
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    let cid = consumer["id"].as_str().unwrap().to_owned();

    let d = s.put_blob(crate::P, b"x").await;
    let body = json!({"type": "dataset", "run": pid, "manifest": {"version": 1, "contents": {"x": {"digest": d, "size": 1}}}});
    expect(
        s.req(Method::POST, &p("/artifacts/data/versions"))
            .json(&body)
            .send()
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    let used = s
        .req(Method::POST, &p(&format!("/runs/{cid}/use")))
        .json(&json!({"name": "data", "version": "latest"}))
        .send()
        .await
        .unwrap();
    let used = expect(used, StatusCode::OK).await;
    assert_eq!(
        (used["version"].clone(), used["logged_by"].clone()),
        (json!("v0"), json!(pid))
    );

    let lineage = s
        .get_json(&p("/artifacts/data/versions/v0/lineage"), StatusCode::OK)
        .await;
    assert_eq!(lineage, json!({"logged_by": pid, "used_by": [cid]}));
    let run = s
        .get_json(&p(&format!("/runs/{pid}")), StatusCode::OK)
        .await;
    assert_eq!(run["logged"], json!([{"name": "data", "version": "v0"}]));
    assert_eq!(run["group"], "g");
    s.get_json(&p("/runs/nosuchrun"), StatusCode::NOT_FOUND)
        .await;
    let res = s
        .req(Method::POST, &p("/runs/nosuchrun/use"))
        .json(&json!({"name": "data", "version": "latest"}))
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::NOT_FOUND).await;
}
