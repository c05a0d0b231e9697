use cairn_core::Digest;
use cairn_testkit::{TestServer, expect};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{manifest, p, upload};

#[tokio::test]
async fn distributed_runs() {
    let s = TestServer::start().await;
    upload(&s, &["1", "2", "3", "other"]).await;
    let url = |action: &str| {
        p(&format!(
            "/artifacts/images/distributed/my_dist_artifact{action}"
        ))
    };
    let post = |action: &str, body: Value| s.req(Method::POST, &url(action)).json(&body).send();

    let r1 = expect(
        post(
            "/upsert",
            json!({"type": "dataset", "manifest": manifest(&[("image1.png", "1")])}),
        )
        .await
        .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (r1["state"].clone(), r1["file_count"].clone()),
        (json!("pending"), json!(1))
    );
    let r2 = expect(post("/upsert", json!({"type": "dataset", "manifest": manifest(&[("image2.png", "2")]), "aliases": ["best"]})).await.unwrap(), StatusCode::OK).await;
    assert_eq!(r2["file_count"], 2);
    // the same again is idempotent
    expect(
        post(
            "/upsert",
            json!({"type": "dataset", "manifest": manifest(&[("image2.png", "2")])}),
        )
        .await
        .unwrap(),
        StatusCode::OK,
    )
    .await;
    // a different digest at the same path: 409 naming it, nothing changes
    let conflict = post("/upsert", json!({"type": "dataset", "manifest": manifest(&[("image1.png", "other"), ("image4.png", "3")])})).await.unwrap();
    let problem = expect(conflict, StatusCode::CONFLICT).await;
    assert_eq!(problem["conflicts"], json!(["image1.png"]));
    let missing = post(
        "/upsert",
        json!({"type": "dataset", "manifest": manifest(&[("x", "unstored")])}),
    )
    .await
    .unwrap();
    assert_eq!(
        expect(missing, StatusCode::CONFLICT).await["missing"],
        json!([Digest::of(b"unstored")])
    );
    expect(
        post(
            "/upsert",
            json!({"type": "model", "manifest": manifest(&[])}),
        )
        .await
        .unwrap(),
        StatusCode::CONFLICT,
    )
    .await;

    let pending = s.get_json(&url(""), StatusCode::OK).await;
    assert_eq!(pending["file_count"], 2);
    assert_eq!(
        pending["manifest"],
        manifest(&[("image1.png", "1"), ("image2.png", "2")])
    );
    // pending versions are invisible to resolution
    s.get_json(
        &p("/artifacts/images/versions/latest"),
        StatusCode::NOT_FOUND,
    )
    .await;

    let done = expect(
        post(
            "/finish",
            json!({"type": "dataset", "manifest": manifest(&[("image3.png", "3")])}),
        )
        .await
        .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(done["version"], "v0");
    assert_eq!(done["aliases"], json!(["best", "latest"]));
    let m = s
        .get_json(
            &p("/artifacts/images/versions/latest/manifest"),
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        m,
        manifest(&[
            ("image1.png", "1"),
            ("image2.png", "2"),
            ("image3.png", "3")
        ])
    );
    s.get_json(&url(""), StatusCode::NOT_FOUND).await;

    // an upsert after finish opens a new, empty pending version
    let fresh = expect(
        post(
            "/upsert",
            json!({"manifest": manifest(&[("image1.png", "other")])}),
        )
        .await
        .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(fresh["file_count"], 1);
    expect(
        s.req(Method::DELETE, &url("")).send().await.unwrap(),
        StatusCode::NO_CONTENT,
    )
    .await;
    expect(
        s.req(Method::DELETE, &url("")).send().await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    // finish with no prior upsert commits what it carries (here: the same content, so dedup)
    let again = post("/finish", json!({"manifest": manifest(&[("image1.png", "1"), ("image2.png", "2"), ("image3.png", "3")])})).await.unwrap();
    assert_eq!(expect(again, StatusCode::OK).await["created"], false);
    let bad_id = s
        .req(
            Method::POST,
            &p("/artifacts/images/distributed/bad%20id/upsert"),
        )
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    expect(bad_id, StatusCode::UNPROCESSABLE_ENTITY).await;
}
