use cairn_core::Digest;
use cairn_testkit::{TestServer, expect};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{commit, manifest, p, upload};

#[tokio::test]
async fn commit_dedup_and_latest() {
    let s = TestServer::start().await;
    upload(&s, &["1", "2"]).await;
    let v0 = expect(
        commit(
            &s,
            "data",
            json!({"type": "dataset", "manifest": manifest(&[("a.csv", "1")])}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(v0["version"], "v0");
    assert_eq!(v0["created"], true);
    assert_eq!(v0["aliases"], json!(["latest"]));
    let v1 = commit(&s, "data", json!({"type": "dataset", "manifest": manifest(&[("a.csv", "1"), ("b.csv", "2")]), "aliases": ["best"], "description": "two files", "metadata": {"rows": 2}})).await;
    let v1 = expect(v1, StatusCode::CREATED).await;
    assert_eq!(
        (v1["index"].clone(), v1["aliases"].clone()),
        (json!(1), json!(["best", "latest"]))
    );

    let version = s
        .get_json(&p("/artifacts/data/versions/latest"), StatusCode::OK)
        .await;
    assert_eq!(version["version"], "v1");
    assert_eq!(version["type"], "dataset");
    assert_eq!(version["size"], 2);
    assert_eq!(version["file_count"], 2);
    assert_eq!(version["description"], "two files");
    assert_eq!(version["metadata"], json!({"rows": 2}));
    assert_eq!(version["state"], "committed");
    assert_eq!(version["base"], json!(null));
    assert_eq!(version["digest"], v1["digest"]);
    assert!(version["created_at"].as_str().unwrap().ends_with('Z'));

    // identical content to v0: 200, created false, and latest moves back onto v0
    let again = commit(&s, "data", json!({"type": "dataset", "manifest": manifest(&[("a.csv", "1")]), "aliases": ["prod"], "description": "ignored"})).await;
    let again = expect(again, StatusCode::OK).await;
    assert_eq!(
        (again["version"].clone(), again["created"].clone()),
        (json!("v0"), json!(false))
    );
    assert_eq!(again["aliases"], json!(["latest", "prod"]));
    let latest = s
        .get_json(&p("/artifacts/data/versions/latest"), StatusCode::OK)
        .await;
    assert_eq!(
        (latest["version"].clone(), latest["description"].clone()),
        (json!("v0"), json!(null))
    );

    // the manifest comes back as committed
    let m = s
        .get_json(&p("/artifacts/data/versions/best/manifest"), StatusCode::OK)
        .await;
    assert_eq!(m, manifest(&[("a.csv", "1"), ("b.csv", "2")]));

    let info = s.get_json(&p("/artifacts/data"), StatusCode::OK).await;
    assert_eq!(
        info,
        json!({"name": "data", "type": "dataset", "aliases": {"best": "v1", "latest": "v0", "prod": "v0"}, "versions": 2})
    );
    // the empty artifact is a legal version
    let empty = expect(
        commit(
            &s,
            "empty",
            json!({"type": "model", "manifest": {"version": 1, "contents": {}}}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        empty["digest"],
        Digest::of(b"cairn-artifact-manifest-v1\n").hex()
    );
}

#[tokio::test]
async fn bad_commits_are_refused_and_leave_nothing() {
    let s = TestServer::start().await;
    upload(&s, &["1"]).await;
    // blobs not stored: 409 listing them, and no collection appears
    let res = commit(&s, "data", json!({"type": "dataset", "manifest": manifest(&[("a", "1"), ("b", "nope"), ("c", "nope")])})).await;
    let body = expect(res, StatusCode::CONFLICT).await;
    assert_eq!(body["missing"], json!([Digest::of(b"nope")]));
    expect(
        s.req(Method::GET, &p("/artifacts/data"))
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    let list = s.get_json(&p("/artifacts"), StatusCode::OK).await;
    assert_eq!(list["artifacts"], json!([]));

    let cases = [
        (
            json!({"type": "cairn-x", "manifest": manifest(&[])}),
            "type cairn-x is reserved",
        ),
        (
            json!({"type": "dataset", "manifest": manifest(&[]), "aliases": ["v3"]}),
            "'v3'",
        ),
        (
            json!({"type": "dataset", "manifest": manifest(&[]), "aliases": ["a/b"]}),
            "'a/b'",
        ),
        (
            json!({"type": "dataset", "manifest": manifest(&[("../evil", "1")])}),
            "invalid artifact path: '../evil'",
        ),
        (
            json!({"type": "dataset", "manifest": manifest(&[("a", "1")]), "patch": {"put": {}}, "base": "v0"}),
            "exactly one of manifest or patch",
        ),
        (
            json!({"type": "dataset"}),
            "exactly one of manifest or patch",
        ),
        (
            json!({"type": "dataset", "patch": {"remove": ["a"]}}),
            "needs a base",
        ),
        (
            json!({"type": "dataset", "manifest": {"version": 2, "contents": {}}}),
            "unsupported manifest version 2",
        ),
        (
            json!({"type": "dataset", "manifest": manifest(&[]), "surprise": 1}),
            "surprise",
        ),
        (json!({"manifest": manifest(&[])}), "type is required"),
        (
            json!({"type": "dataset", "manifest": {"version": 1, "contents": {"a": {"digest": Digest::of(b"1"), "size": 7}}}}),
            "declares size 7",
        ),
        (
            json!({"type": "dataset", "manifest": manifest(&[]), "metadata": (0..101).map(|i| (format!("k{i}"), json!(i))).collect::<serde_json::Map<_, _>>()}),
            "101 top-level keys",
        ),
    ];
    for (body, needle) in cases {
        let res = commit(&s, "data", body.clone()).await;
        let problem = expect(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert!(
            problem["detail"].as_str().unwrap().contains(needle),
            "{body} → {problem}"
        );
        assert_eq!(problem["status"], 422);
    }
    expect(
        s.req(Method::GET, &p("/artifacts/data"))
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    let bad_name = expect(
        commit(
            &s,
            "bad%20name",
            json!({"type": "dataset", "manifest": manifest(&[])}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        bad_name["detail"].as_str().unwrap().contains("'bad name'"),
        "{bad_name}"
    );
    let res = s
        .req(Method::POST, &p("/artifacts/data/versions"))
        .body("{")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    let res = s
        .req(Method::POST, &p("/artifacts/data/versions"))
        .body("{}")
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
}

#[tokio::test]
async fn type_clash_and_expect_latest() {
    let s = TestServer::start().await;
    s.commit_files("ent/proj", "data", &[("a", "1")]).await;
    let res = commit(
        &s,
        "data",
        json!({"type": "model", "manifest": manifest(&[])}),
    )
    .await;
    let body = expect(res, StatusCode::CONFLICT).await;
    assert_eq!(
        body["detail"],
        "artifact data already exists with type dataset; cannot create another with type model"
    );
    let res = commit(
        &s,
        "data",
        json!({"type": "dataset", "manifest": manifest(&[]), "expect_latest": "v3"}),
    )
    .await;
    let body = expect(res, StatusCode::CONFLICT).await;
    assert_eq!(
        body["detail"],
        "latest is v0, not v3 as the commit expected"
    );
    let res = commit(
        &s,
        "data",
        json!({"manifest": manifest(&[]), "expect_latest": "v0"}),
    )
    .await;
    assert_eq!(expect(res, StatusCode::CREATED).await["version"], "v1");
}

#[tokio::test]
async fn listing_and_paging() {
    let s = TestServer::start().await;
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        let t = if i == 1 { "model" } else { "dataset" };
        expect(
            commit(&s, name, json!({"type": t, "manifest": manifest(&[])})).await,
            StatusCode::CREATED,
        )
        .await;
    }
    let page = s.get_json(&p("/artifacts?limit=2"), StatusCode::OK).await;
    let mut first = page["artifacts"][0].clone();
    let made = first["created_at"].as_str().unwrap().to_owned();
    // made when its first version was committed; updated by its newest one
    assert!(made.starts_with("20"), "{made}");
    assert!(first["updated_at"].as_str().unwrap() >= made.as_str());
    let fields = first.as_object_mut().unwrap();
    fields.remove("created_at");
    fields.remove("updated_at");
    assert_eq!(
        first,
        json!({"name": "a", "type": "dataset", "versions": 1, "latest": "v0"})
    );
    assert_eq!(page["artifacts"].as_array().unwrap().len(), 2);
    assert_eq!(page["next"], "b");
    let rest = s
        .get_json(&p("/artifacts?limit=2&after=b"), StatusCode::OK)
        .await;
    assert_eq!(rest["artifacts"][0]["name"], "c");
    assert!(rest.get("next").is_none());
    let models = s
        .get_json(&p("/artifacts?type=model"), StatusCode::OK)
        .await;
    assert_eq!(models["artifacts"].as_array().unwrap().len(), 1);
    s.get_json(
        &p("/artifacts?limit=10001"),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    s.get_json(&p("/artifacts?limit=x"), StatusCode::UNPROCESSABLE_ENTITY)
        .await;

    upload(&s, &["1", "2", "3"]).await;
    for c in ["1", "2", "3"] {
        expect(
            commit(
                &s,
                "v",
                json!({"type": "dataset", "manifest": manifest(&[("f", c)])}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
    }
    let page = s
        .get_json(&p("/artifacts/v/versions?limit=2"), StatusCode::OK)
        .await;
    let idx = |v: &serde_json::Value| {
        v["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["index"].as_u64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(idx(&page), [0, 1]);
    let next = page["next"].as_str().unwrap();
    assert_eq!(
        idx(&s
            .get_json(
                &p(&format!("/artifacts/v/versions?limit=2&after={next}")),
                StatusCode::OK
            )
            .await),
        [2]
    );
    assert_eq!(
        idx(&s
            .get_json(&p("/artifacts/v/versions?order=desc"), StatusCode::OK)
            .await),
        [2, 1, 0]
    );
    assert_eq!(
        idx(&s
            .get_json(
                &p("/artifacts/v/versions?order=desc&after=v2"),
                StatusCode::OK
            )
            .await),
        [1, 0]
    );
    s.get_json(
        &p("/artifacts/v/versions?order=sideways"),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    s.get_json(&p("/artifacts/nope/versions"), StatusCode::NOT_FOUND)
        .await;
    s.get_json(&p("/artifacts/v/versions/v9"), StatusCode::NOT_FOUND)
        .await;
    s.get_json(
        &p("/artifacts/v/versions/nosuchalias"),
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn concurrent_commits_get_contiguous_indices() {
    let s = std::sync::Arc::new(TestServer::start().await);
    let contents: Vec<String> = (0..16).map(|i| format!("content {i}")).collect();
    for c in &contents {
        s.put_blob(crate::P, c.as_bytes()).await;
    }
    let tasks: Vec<_> = contents
        .iter()
        .map(|c| {
            let s = s.clone();
            let body = json!({"type": "dataset", "manifest": manifest(&[("f", c)])});
            tokio::spawn(async move { commit(&s, "race", body).await })
        })
        .collect();
    let mut indices = Vec::new();
    for t in tasks {
        let res = t.await.unwrap();
        indices.push(
            expect(res, StatusCode::CREATED).await["index"]
                .as_u64()
                .unwrap(),
        );
    }
    indices.sort_unstable();
    assert_eq!(indices, (0..16).collect::<Vec<_>>());
}
