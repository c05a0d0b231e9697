use cairn_store::Role;
use cairn_testkit::{ADMIN_TOKEN, TestServer, expect};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::p;

#[tokio::test]
async fn health_needs_no_token_and_everything_else_does() {
    let s = TestServer::start().await;
    let res = s
        .client
        .get(format!("{}/api/v1/health", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        expect(res, StatusCode::OK).await,
        json!({
            "status": "ok",
            "max_blob_size": cairn_server::DEFAULT_MAX_BLOB_SIZE,
            "max_upload_size": cairn_server::DEFAULT_MAX_UPLOAD_SIZE
        })
    );
    for (path, token) in [
        ("/api/v1/whoami", None),
        ("/api/v1/whoami", Some("nope")),
        (&p("/artifacts") as &str, None),
    ] {
        let mut req = s.client.get(format!("{}{path}", s.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        assert_eq!(res.headers()["www-authenticate"], "Bearer");
        let body = expect(res, StatusCode::UNAUTHORIZED).await;
        assert_eq!(body["status"], 401);
        assert!(body["detail"].as_str().unwrap().contains("token"), "{body}");
    }
    let who = s.get_json("/api/v1/whoami", StatusCode::OK).await;
    assert_eq!(
        who,
        json!({"user": "admin", "entities": ["*"], "role": "admin"})
    );
}

#[tokio::test]
async fn roles_and_entities_are_enforced() {
    let s = TestServer::start().await;
    s.commit_files("ent/proj", "data", &[("a", "1")]).await;
    let reader = s.token("ent", Role::Read).await;
    let writer = s.token("ent", Role::Write).await;
    let stranger = s.token("other", Role::Admin).await;
    let url = |path: &str| format!("{}{}", s.url, p(path));
    let get = |t: &str, path: &str| s.client.get(url(path)).bearer_auth(t.to_owned()).send();

    expect(
        get(&reader, "/artifacts/data/versions/latest")
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let body = expect(
        get(&stranger, "/artifacts/data").await.unwrap(),
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("entity 'ent'"),
        "{body}"
    );
    // a reader cannot upload or commit
    let d = cairn_core::Digest::of(b"x");
    let res = s
        .client
        .put(url(&format!("/blobs/{d}")))
        .bearer_auth(&reader)
        .body("x")
        .send()
        .await
        .unwrap();
    let body = expect(res, StatusCode::FORBIDDEN).await;
    assert!(
        body["detail"].as_str().unwrap().contains("needs write"),
        "{body}"
    );
    let res = s
        .client
        .put(url(&format!("/blobs/{d}")))
        .bearer_auth(&writer)
        .body("x")
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::CREATED).await;
    // deleting a version needs admin
    let res = s
        .client
        .delete(url("/artifacts/data/versions/v0"))
        .bearer_auth(&writer)
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::FORBIDDEN).await;
    // only a global admin makes tokens that never expire (others: scoped_tokens_… below), and
    // they work at once
    let res = s
        .client
        .post(format!("{}/api/v1/tokens", s.url))
        .bearer_auth(&writer)
        .json(&json!({"role": "read"}))
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    let res = s
        .req(Method::POST, "/api/v1/tokens")
        .json(&json!({"entity": "ent", "role": "read", "name": "bot"}))
        .send()
        .await
        .unwrap();
    let token = expect(res, StatusCode::CREATED).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(token.starts_with("cairn_"));
    let who = expect(
        s.client
            .get(format!("{}/api/v1/whoami", s.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        who,
        json!({"user": "bot", "entities": ["ent"], "role": "read"})
    );
    let res = s
        .req(Method::POST, "/api/v1/tokens")
        .json(&json!({"role": "superuser"}))
        .send()
        .await
        .unwrap();
    let body = expect(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(
        body["detail"].as_str().unwrap().contains("'superuser'"),
        "{body}"
    );
}

#[tokio::test]
async fn tokens_are_stored_hashed() {
    let s = TestServer::start().await;
    let token = s.token("ent", Role::Read).await;
    let db = std::fs::read(s.data_dir().join("cairn.db")).unwrap();
    let wal = std::fs::read(s.data_dir().join("cairn.db-wal")).unwrap_or_default();
    for bytes in [db, wal] {
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "the secret is stored in clear"
        );
    }
}

#[tokio::test]
async fn failed_authentications_are_throttled_per_address() {
    let s = TestServer::with_config(cairn_server::Config {
        auth_failures_per_minute: 5,
        ..Default::default()
    })
    .await;
    let whoami = |token: &str| {
        s.client
            .get(format!("{}/api/v1/whoami", s.url))
            .bearer_auth(token)
            .send()
    };
    for _ in 0..5 {
        assert_eq!(
            whoami("cairn_guess").await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // further guesses from the address are refused for the rest of the minute
    let res = whoami("cairn_guess").await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(
        expect(res, StatusCode::TOO_MANY_REQUESTS).await["detail"]
            .as_str()
            .unwrap()
            .contains("too many failed authentications")
    );
    // a valid token from the same address (another user behind the same proxy) still works
    let res = whoami(cairn_testkit::ADMIN_TOKEN).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // requests with no token at all are not counted and stay a plain 401
    let res = s
        .client
        .get(format!("{}/api/v1/whoami", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

/// `GET path` with `token`.
async fn get_as(s: &TestServer, token: &str, path: &str) -> reqwest::Response {
    s.client
        .get(format!("{}{path}", s.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// Mint a token with `by`; answer the status and the body.
async fn mint(
    s: &TestServer,
    by: &str,
    body: serde_json::Value,
) -> (StatusCode, serde_json::Value) {
    let res = s
        .client
        .post(format!("{}/api/v1/tokens", s.url))
        .bearer_auth(by)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap())
}

#[tokio::test]
async fn scoped_tokens_reach_one_project_and_expire() {
    let s = TestServer::start().await;
    s.commit_files("ent/proj", "data", &[("f", "x")]).await;
    s.commit_files("ent/other", "data", &[("f", "x")]).await;
    // the admin mints a short-lived write token for ent/proj
    let (status, body) = mint(
        &s,
        ADMIN_TOKEN,
        json!({"name": "dash", "entity": "ent", "project": "proj", "role": "write", "expires_in": 600}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(
        body["expires_at"].as_str().unwrap().ends_with('Z'),
        "{body}"
    );
    let scoped = body["token"].as_str().unwrap().to_owned();
    let who = expect(get_as(&s, &scoped, "/api/v1/whoami").await, StatusCode::OK).await;
    assert_eq!(
        (who["project"].as_str(), who["role"].as_str()),
        (Some("proj"), Some("write"))
    );
    let versions = |p: &str| format!("/api/v1/projects/{p}/artifacts/data/versions");
    let res = get_as(&s, &scoped, &versions("ent/proj")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = get_as(&s, &scoped, &versions("ent/other")).await;
    let body = expect(res, StatusCode::FORBIDDEN).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("only project 'ent/proj'"),
        "{body}"
    );

    // what a scoped token may mint: narrower or equal, and never longer-lived
    for (ask, why) in [
        (json!({"role": "admin", "expires_in": 60}), "stronger role"),
        (
            json!({"project": "other", "role": "read", "expires_in": 60}),
            "another project",
        ),
        (
            json!({"entity": "else", "role": "read", "expires_in": 60}),
            "another entity",
        ),
    ] {
        let (status, body) = mint(&s, &scoped, ask).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{why}: {body}");
    }
    for (ask, says) in [
        (json!({"role": "read"}), "never expire"),
        (json!({"role": "read", "expires_in": 86_400}), "outlive"),
        (json!({"role": "read", "expires_in": 8 * 86_400}), "at most"),
        (json!({"role": "read", "expires_in": 0}), "at least"),
    ] {
        let (status, body) = mint(&s, &scoped, ask).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(
            body["detail"].as_str().unwrap().contains(says),
            "{says}: {body}"
        );
    }
    let (status, body) = mint(&s, &scoped, json!({"role": "read", "expires_in": 1})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let short = body["token"].as_str().unwrap().to_owned();
    // (the narrower token inherited ent/proj)
    let artifacts = "/api/v1/projects/ent/proj/artifacts";
    assert_eq!(get_as(&s, &short, artifacts).await.status(), StatusCode::OK);
    // once expired it is refused, saying so
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let res = get_as(&s, &short, artifacts).await;
    let body = expect(res, StatusCode::UNAUTHORIZED).await;
    assert!(
        body["detail"].as_str().unwrap().contains("expired"),
        "{body}"
    );
}

#[tokio::test]
async fn ready_answers_503_once_draining() {
    let s = TestServer::start().await;
    let ready = s.get_public("/api/v1/ready", &[]).await;
    assert_eq!(ready.status(), StatusCode::OK);
    s.state
        .draining
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let ready = s.get_public("/api/v1/ready", &[]).await;
    let problem = expect(ready, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(problem["detail"], "not ready: shutting down");
    // liveness stays cheap and up
    let health = s.get_public("/api/v1/health", &[]).await;
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_is_throttled_alone() {
    let guess = |s: &TestServer, from: &str| {
        s.client
            .get(format!("{}/api/v1/whoami", s.url))
            .bearer_auth("cairn_guess")
            .header("x-forwarded-for", format!("{from}, 127.0.0.1"))
            .send()
    };
    for (trusted, other_client) in [
        (true, StatusCode::UNAUTHORIZED),
        (false, StatusCode::TOO_MANY_REQUESTS),
    ] {
        let s = TestServer::with_config(cairn_server::Config {
            auth_failures_per_minute: 3,
            // the tests connect from loopback: the "load balancer" here
            trusted_proxies: if trusted {
                vec!["127.0.0.0/8".parse().unwrap()]
            } else {
                vec![]
            },
            ..Default::default()
        })
        .await;
        for _ in 0..3 {
            assert_eq!(
                guess(&s, "203.0.113.1").await.unwrap().status(),
                StatusCode::UNAUTHORIZED
            );
        }
        assert_eq!(
            guess(&s, "203.0.113.1").await.unwrap().status(),
            StatusCode::TOO_MANY_REQUESTS
        );
        // another client behind the same proxy: on its own only when the proxy is trusted
        assert_eq!(
            guess(&s, "203.0.113.2").await.unwrap().status(),
            other_client,
            "trusted: {trusted}"
        );
    }
}

#[tokio::test]
async fn every_response_carries_its_request_id() {
    let s = TestServer::start().await;
    let res = s
        .get_public("/api/v1/health", &[("x-request-id", "lb-7f3a")])
        .await;
    assert_eq!(res.headers()["x-request-id"], "lb-7f3a");
    let res = s.get_public("/api/v1/health", &[]).await;
    let fresh = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(fresh.len(), 36, "a UUID: {fresh}");
    // errors too
    let res = s.get_public("/api/v1/nope", &[]).await;
    assert!(res.headers().contains_key("x-request-id"));
}

#[tokio::test]
async fn projects_lists_what_the_token_reaches() {
    let s = TestServer::start().await;
    s.commit_files("ent/a", "data", &[("x", "1")]).await;
    s.commit_files("ent/a", "data", &[("x", "2")]).await;
    s.commit_files("ent/a", "model", &[("y", "3")]).await;
    s.commit_files("ent/b", "data", &[("x", "1")]).await;
    s.commit_files("other/c", "data", &[("x", "1")]).await;
    let names = |v: &serde_json::Value| -> Vec<String> {
        v["projects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                format!(
                    "{}/{}",
                    p["entity"].as_str().unwrap(),
                    p["project"].as_str().unwrap()
                )
            })
            .collect()
    };
    let all = s.get_json("/api/v1/projects", StatusCode::OK).await;
    assert_eq!(names(&all), ["ent/a", "ent/b", "other/c"]);
    assert_eq!(all["projects"][0]["artifacts"], 2);
    assert_eq!(all["projects"][0]["versions"], 3);
    assert!(all["projects"][0]["updated_at"].is_string(), "{all}");
    let get = |token: String| {
        let s = &s;
        async move {
            let res = s
                .client
                .get(format!("{}/api/v1/projects", s.url))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            expect(res, StatusCode::OK).await
        }
    };
    let ent = get(s.token("ent", Role::Read).await).await;
    assert_eq!(names(&ent), ["ent/a", "ent/b"]);
    let scoped = s
        .req(reqwest::Method::POST, "/api/v1/tokens")
        .json(&serde_json::json!({"entity": "ent", "project": "b", "role": "read", "expires_in": 600}))
        .send()
        .await
        .unwrap();
    let scoped = expect(scoped, StatusCode::CREATED).await;
    let one = get(scoped["token"].as_str().unwrap().to_owned()).await;
    assert_eq!(names(&one), ["ent/b"]);
    let anonymous = s.get_public("/api/v1/projects", &[]).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}
