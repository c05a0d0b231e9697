use cairn_store::Role;
use cairn_testkit::{TestServer, expect};
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
        json!({"status": "ok", "max_blob_size": cairn_server::DEFAULT_MAX_BLOB_SIZE})
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
    // tokens are made by a global admin only, and they work at once
    let res = s
        .client
        .post(format!("{}/api/v1/tokens", s.url))
        .bearer_auth(&writer)
        .json(&json!({"role": "read"}))
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::FORBIDDEN).await;
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
    // the address is now refused, whatever token it sends, so guessing learns nothing
    for token in ["cairn_guess", cairn_testkit::ADMIN_TOKEN] {
        let res = whoami(token).await.unwrap();
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
    }
    // requests with no token at all are not counted and stay a plain 401
    let res = s
        .client
        .get(format!("{}/api/v1/whoami", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}
