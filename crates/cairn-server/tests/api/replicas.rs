//! Several stateless replicas on one PostgreSQL and one S3 bucket (`scripts/services`): writes
//! through different replicas at once stay correct — contiguous indices, no duplicate version,
//! no lost alias, a distributed version that is the union of every run's part.

use std::sync::Arc;

use cairn_testkit::{TestServer, expect, services};
use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{manifest, p};

async fn replicas(n: usize) -> Option<Vec<Arc<TestServer>>> {
    let db = services::postgres_database().await?;
    let blobs = services::s3_location()?;
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(Arc::new(TestServer::replica(&db, &blobs).await));
    }
    Some(out)
}

async fn send(s: &TestServer, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
    let res = s.req(method, path).json(&body).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_share_one_registry() {
    let Some(rs) = replicas(3).await else { return };
    let at = |i: usize| rs[i % rs.len()].clone();

    // a blob uploaded through one replica is held for commits through the others
    let contents: Vec<String> = (0..24).map(|i| format!("content {i}")).collect();
    join_all(contents.iter().enumerate().map(|(i, c)| {
        let s = at(i);
        async move { s.put_blob(crate::P, c.as_bytes()).await }
    }))
    .await;

    // 24 different commits at once, spread over the replicas: indices 0..24, each once
    let results = join_all(contents.iter().enumerate().map(|(i, c)| {
        let s = at(i + 1);
        let body = json!({"type": "dataset", "manifest": manifest(&[("f", c)])});
        async move { send(&s, Method::POST, &p("/artifacts/race/versions"), body).await }
    }))
    .await;
    let mut indices: Vec<u64> = results
        .iter()
        .map(|(status, v)| {
            assert_eq!(*status, StatusCode::CREATED, "{v}");
            v["index"].as_u64().unwrap()
        })
        .collect();
    indices.sort_unstable();
    assert_eq!(indices, (0..24).collect::<Vec<_>>());
    let results_of_race: Vec<String> = results
        .iter()
        .map(|(_, v)| v["version"].as_str().unwrap().to_owned())
        .collect();

    // the same content committed at once through every replica: one new version, the rest dedup
    let body = json!({"type": "dataset", "manifest": manifest(&[("same", "content 0"), ("g", "content 1")])});
    let results = join_all((0..9).map(|i| {
        let (s, body) = (at(i), body.clone());
        async move { send(&s, Method::POST, &p("/artifacts/race/versions"), body).await }
    }))
    .await;
    let created: Vec<&Value> = results
        .iter()
        .filter(|(status, _)| *status == StatusCode::CREATED)
        .map(|(_, v)| v)
        .collect();
    assert_eq!(created.len(), 1, "{results:?}");
    assert!(
        results.iter().all(|(_, v)| v["version"] == "v24"),
        "{results:?}"
    );

    // links asked of every replica at once (the first use makes the secret: one wins), each
    // followed through another replica
    let links = join_all((0..3).map(|i| {
        let s = at(i);
        async move {
            let body = json!({"path": "same"});
            send(
                &s,
                Method::POST,
                &p("/artifacts/race/versions/v24/links"),
                body,
            )
            .await
        }
    }))
    .await;
    for (i, (status, link)) in links.iter().enumerate() {
        assert_eq!(*status, StatusCode::CREATED, "{link}");
        let res = at(i + 1)
            .get_public(link["url"].as_str().unwrap(), &[])
            .await;
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "link {i} through replica {}",
            (i + 1) % 3
        );
        assert_eq!(res.text().await.unwrap(), "content 0");
    }

    // aliases set at once through different replicas: none is lost
    let aliases: Vec<String> = (0..12).map(|i| format!("tag{i}")).collect();
    let results = join_all(aliases.iter().enumerate().map(|(i, a)| {
        let s = at(i);
        let path = p(&format!("/artifacts/race/aliases/{a}"));
        async move {
            send(
                &s,
                Method::PUT,
                &path,
                json!({"version": format!("v{}", i % 5)}),
            )
            .await
        }
    }))
    .await;
    assert!(
        results.iter().all(|(s, _)| *s == StatusCode::OK),
        "{results:?}"
    );
    let info = rs[0].get_json(&p("/artifacts/race"), StatusCode::OK).await;
    for (i, a) in aliases.iter().enumerate() {
        assert_eq!(info["aliases"][a], json!(format!("v{}", i % 5)), "{info}");
    }
    assert_eq!(info["aliases"]["latest"], json!("v24"));

    // three runs upsert through three replicas at once, a fourth request finishes
    let parts: Vec<(String, String)> = (0..3)
        .map(|i| (format!("part{i}.bin"), format!("content {}", i + 10)))
        .collect();
    let results = join_all(parts.iter().enumerate().map(|(i, (path, c))| {
        let s = at(i);
        let body = json!({"type": "dataset", "manifest": manifest(&[(path, c)])});
        async move {
            send(
                &s,
                Method::POST,
                &p("/artifacts/dist/distributed/group/upsert"),
                body,
            )
            .await
        }
    }))
    .await;
    assert!(
        results.iter().all(|(s, _)| *s == StatusCode::OK),
        "{results:?}"
    );
    let (status, done) = send(
        &at(1),
        Method::POST,
        &p("/artifacts/dist/distributed/group/finish"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{done}");
    let m = expect(
        at(2)
            .req(Method::GET, &p("/artifacts/dist/versions/v0/manifest"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let mut paths: Vec<&String> = m["contents"].as_object().unwrap().keys().collect();
    paths.sort();
    assert_eq!(paths, ["part0.bin", "part1.bin", "part2.bin"]);

    // and every replica serves every version's files (from the shared bucket)
    for (i, v) in results_of_race.iter().enumerate().take(6) {
        let res = at(i)
            .req(
                Method::GET,
                &p(&format!("/artifacts/race/versions/{v}/files/f")),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let body = res.bytes().await.unwrap();
        assert!(
            contents.iter().any(|c| c.as_bytes() == body),
            "unexpected bytes"
        );
    }
}
