//! Walk every route of the OpenAPI document with no token, an unknown token, an admin token of
//! another entity, a token limited to another project of the same entity and a read-only
//! token: each is denied where it should be, before any body is read (the bodies sent here
//! would not even parse).

use cairn_store::Role;
use cairn_testkit::TestServer;
use reqwest::{Method, StatusCode};

fn fill(path: &str) -> String {
    let digest = cairn_core::Digest::of(b"x").to_string();
    path.replace("{entity}", "ent")
        .replace("{project}", "proj")
        .replace("{name}", "data")
        .replace("{ref}", "v0")
        .replace("{digest}", &digest)
        .replace("{alias}", "best")
        .replace("{id}", "run1")
        .replace("{path}", "f")
        .replace("{n}", "0")
}

#[tokio::test]
async fn every_route_denies_whom_it_should() {
    // many wrong tokens follow: no failed-authentication limit here (tested in auth.rs)
    let s = TestServer::with_config(cairn_server::Config {
        auth_failures_per_minute: 0,
        ..Default::default()
    })
    .await;
    s.commit_files("ent/proj", "data", &[("f", "x")]).await;
    let read = s.token("ent", Role::Read).await;
    let stranger = s.token("other", Role::Admin).await;
    let elsewhere = s
        .req(Method::POST, "/api/v1/tokens")
        .json(&serde_json::json!({"entity": "ent", "project": "elsewhere", "role": "admin", "expires_in": 600}))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let doc = s.get_json("/api/v1/openapi.json", StatusCode::OK).await;
    let mut walked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let method: Method = method.to_uppercase().parse().unwrap();
            let url = format!("{}{}", s.url, fill(path));
            let send = |token: Option<&str>| {
                let mut req = s
                    .client
                    .request(method.clone(), &url)
                    .header("content-type", "application/json")
                    .body("not json");
                if let Some(t) = token {
                    req = req.bearer_auth(t);
                }
                req.send()
            };
            let public = path == "/api/v1/health"
                || path == "/api/v1/ready"
                || path == "/api/v1/openapi.json"
                || path == "/api/v1/reference";
            // a download link: its ticket is the only permission, whatever token comes with it
            // (here a ticket that was never signed)
            if path == "/api/v1/links/{ticket}" {
                for token in [
                    None,
                    Some("cairn_not_a_token"),
                    Some(&read),
                    Some(&stranger),
                ] {
                    let got = send(token).await.unwrap().status();
                    assert_eq!(got, StatusCode::FORBIDDEN, "{method} {path} with {token:?}");
                }
                walked += 1;
                continue;
            }
            // asking for a download link reads (a POST all the same)
            let writes = !matches!(method, Method::GET | Method::HEAD) && !path.ends_with("/links");
            let in_project = path.starts_with("/api/v1/projects/");
            let status = |r: reqwest::Response| r.status();
            let what = format!("{method} {path}");

            for token in [None, Some("cairn_not_a_token")] {
                let got = status(send(token).await.unwrap());
                if public {
                    assert!(got.is_success(), "{what} with {token:?}: {got}");
                } else {
                    assert_eq!(got, StatusCode::UNAUTHORIZED, "{what} with {token:?}");
                }
            }
            // (POST /api/v1/tokens is open to every token: what it may mint is checked
            // against the caller's own scope, in auth.rs)
            for (token, whose) in [
                (&stranger, "another entity's admin"),
                (&elsewhere, "another project's admin"),
            ] {
                let got = status(send(Some(token)).await.unwrap());
                if in_project {
                    assert_eq!(got, StatusCode::FORBIDDEN, "{what} by {whose}");
                }
            }
            let got = status(send(Some(&read)).await.unwrap());
            if in_project && writes {
                assert_eq!(got, StatusCode::FORBIDDEN, "{what} with a read-only token");
            } else {
                assert!(
                    got != StatusCode::FORBIDDEN && got != StatusCode::UNAUTHORIZED,
                    "{what} with a read-only token: {got}"
                );
            }
            walked += 1;
        }
    }
    assert!(walked >= 25, "walked only {walked} routes");
}
