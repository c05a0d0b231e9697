use std::collections::BTreeSet;

use cairn_testkit::{TestServer, expect};
use reqwest::StatusCode;

/// The `/api/v1` routes of the contract, docs/api.md: every table row whose first cell is
/// `` `METHOD path` `` (`{P}` expanded, `{*path}` written `{path}` as OpenAPI does).
fn documented_routes() -> BTreeSet<(String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/api.md");
    let text = std::fs::read_to_string(path).expect("docs/api.md");
    text.lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`').map(|(route, _)| route))
        .filter_map(|route| route.split_once(' '))
        .map(|(method, path)| {
            let path = path
                .replace("{P}", "/api/v1/projects/{entity}/{project}")
                .replace("{*", "{");
            (method.to_lowercase(), path)
        })
        .filter(|(_, path)| path.starts_with("/api/v1/"))
        .collect()
}

#[tokio::test]
async fn the_openapi_document_and_docs_api_md_list_the_same_routes() {
    let s = TestServer::start().await;
    let res = s
        .client
        .get(format!("{}/api/v1/openapi.json", s.url))
        .send()
        .await
        .unwrap();
    let doc = expect(res, StatusCode::OK).await;
    let paths = doc["paths"].as_object().unwrap();
    let served: BTreeSet<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|k| *k != "parameters")
                .map(|m| (m.clone(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    let documented = documented_routes();
    assert!(
        documented.len() >= 30,
        "docs/api.md lists only {documented:?}"
    );
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "in the OpenAPI document, not in docs/api.md: {undocumented:?}"
    );
    assert!(
        unserved.is_empty(),
        "in docs/api.md, not in the OpenAPI document: {unserved:?}"
    );
    // path parameters are documented with their rules
    let put_blob = &paths["/api/v1/projects/{entity}/{project}/blobs/{digest}"]["put"];
    let names: Vec<&str> = put_blob["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["entity", "project", "digest"]);
    assert!(doc["components"]["schemas"]["CommitRequest"].is_object());
    // every route that needs a token lists the answers any of them can give
    for (method, path) in &served {
        let responses = doc["paths"][path][method]["responses"].as_object().unwrap();
        let public = [
            "/api/v1/health",
            "/api/v1/ready",
            "/api/v1/openapi.json",
            "/api/v1/reference",
            "/api/v1/links/{ticket}",
        ];
        if public.contains(&path.as_str()) {
            // no token asked, so none refused (a link's own 403 is for the link)
            assert!(!responses.contains_key("401"), "{method} {path}: 401");
        } else {
            for status in ["401", "403", "429"] {
                assert!(responses.contains_key(status), "{method} {path}: {status}");
            }
        }
    }
}

#[tokio::test]
async fn unknown_api_routes_are_problems() {
    let s = TestServer::start().await;
    let res = s
        .client
        .get(format!("{}/api/v1/nope", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    expect(res, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn serves_the_web_app_with_spa_fallback() {
    let dist = tempfile::tempdir().unwrap();
    std::fs::write(dist.path().join("index.html"), "<html>cairn app</html>").unwrap();
    std::fs::write(dist.path().join("app.js"), "console.log(1)").unwrap();
    // a hashed asset and its brotli and gzip siblings (scripts/compress-dist.mjs precompresses
    // the build)
    let wasm = "cairn-web-0123456789abcdef_bg.wasm";
    std::fs::write(dist.path().join(wasm), vec![0u8; 4096]).unwrap();
    std::fs::write(dist.path().join(format!("{wasm}.gz")), b"gzipped").unwrap();
    std::fs::write(dist.path().join(format!("{wasm}.br")), b"brotli").unwrap();
    let config = cairn_server::Config {
        web_dir: Some(dist.path().to_owned()),
        ..Default::default()
    };
    let s = TestServer::with_config(config).await;
    let get = |path: &str| s.client.get(format!("{}{path}", s.url)).send();
    assert_eq!(
        get("/").await.unwrap().text().await.unwrap(),
        "<html>cairn app</html>"
    );
    assert_eq!(
        get("/app.js").await.unwrap().text().await.unwrap(),
        "console.log(1)"
    );
    let zipped = s
        .client
        .get(format!("{}/{wasm}", s.url))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    assert_eq!(
        zipped.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(zipped.bytes().await.unwrap().as_ref(), b"gzipped");
    let br = s
        .client
        .get(format!("{}/{wasm}", s.url))
        .header("accept-encoding", "gzip, deflate, br, zstd")
        .send()
        .await
        .unwrap();
    assert_eq!(br.headers()["content-encoding"], "br");
    assert_eq!(br.bytes().await.unwrap().as_ref(), b"brotli");
    let plain = get(&format!("/{wasm}")).await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    assert_eq!(plain.bytes().await.unwrap().len(), 4096);
    let index = get("/").await.unwrap();
    assert_eq!(index.headers()["cache-control"], "no-cache");
    let deep = get("/ent/proj/data/v3").await.unwrap();
    assert_eq!(deep.status(), StatusCode::OK);
    assert_eq!(deep.text().await.unwrap(), "<html>cairn app</html>");
    // without a built app, / says how to build it
    let bare = TestServer::start().await;
    let page = bare
        .client
        .get(format!("{}/", bare.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("trunk build"), "{page}");
}

#[tokio::test]
async fn metrics_are_scraped_in_the_prometheus_format() {
    let s = cairn_testkit::TestServer::start().await;
    s.commit_files("ent/proj", "data", &[("a.txt", "alpha")])
        .await;
    s.commit_files("ent/proj", "data", &[("a.txt", "alpha")])
        .await;
    // the same bytes uploaded again: a dedup hit
    s.put_blob("ent/proj", b"alpha").await;
    let res = s.get_public("/metrics", &[]).await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = res.text().await.unwrap();
    for line in [
        r#"cairn_http_requests_total{route="/api/v1/projects/{entity}/{project}/artifacts/{name}/versions",method="POST",status="201"} 1"#,
        r#"cairn_http_requests_total{route="/api/v1/projects/{entity}/{project}/artifacts/{name}/versions",method="POST",status="200"} 1"#,
        r#"cairn_commits_total{created="true"} 1"#,
        r#"cairn_commits_total{created="false"} 1"#,
    ] {
        assert!(text.lines().any(|l| l == line), "{line}\n{text}");
    }
    assert!(text.contains("cairn_blobs_verified_total "), "{text}");
    assert!(text.contains("cairn_blobs_deduplicated_total "), "{text}");
    // SQLite: a write pool of one connection and a read pool
    assert!(
        text.lines()
            .any(|l| l == r#"cairn_db_connections_max{pool="write"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"cairn_db_connections{pool="read",state="idle"} "#),
        "{text}"
    );
    assert!(
        text.contains("cairn_http_request_duration_seconds_bucket{"),
        "{text}"
    );
    assert!(text.contains("cairn_http_received_bytes_total{"), "{text}");
}

#[tokio::test]
async fn the_api_reference_is_one_page_without_a_token() {
    let s = TestServer::start().await;
    let res = reqwest::get(format!("{}/api/v1/reference", s.url))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = res.text().await.unwrap();
    assert!(page.contains(
        "<code>POST /api/v1/projects/{entity}/{project}/artifacts/{name}/versions</code>"
    ));
    assert!(page.contains("id=\"schema-CommitRequest\""));
}
