//! Browser security: the web app's Content-Security-Policy (inline bootstrap allowed by hash
//! only, frame-ancestors from the configuration) and CORS for an explicit allow-list.

use base64::Engine;
use cairn_testkit::TestServer;
use reqwest::{Method, StatusCode};

const INDEX: &str = "<html><script type=\"module\">import init from '/app.js'; await init();</script>\
                     <script src=\"/other.js\"></script></html>";

async fn server(cors: &[&str], frames: &[&str]) -> (TestServer, tempfile::TempDir) {
    let dist = tempfile::tempdir().unwrap();
    std::fs::write(dist.path().join("index.html"), INDEX).unwrap();
    (serve(&dist, cors, frames).await, dist)
}

/// A registry serving the web dir `dist` as it is now.
async fn serve(dist: &tempfile::TempDir, cors: &[&str], frames: &[&str]) -> TestServer {
    let config = cairn_server::Config {
        web_dir: Some(dist.path().to_owned()),
        cors_origins: cors.iter().map(|o| (*o).to_owned()).collect(),
        frame_ancestors: frames.iter().map(|o| (*o).to_owned()).collect(),
        ..Default::default()
    };
    TestServer::with_config(config).await
}

async fn get(s: &TestServer, path: &str) -> reqwest::Response {
    s.client
        .get(format!("{}{path}", s.url))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_app_has_a_strict_content_security_policy() {
    let (s, _dist) = server(&[], &[]).await;
    let res = s
        .client
        .get(format!("{}/ent/proj", s.url))
        .send()
        .await
        .unwrap();
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let inline = "import init from '/app.js'; await init();";
    let hash = base64::engine::general_purpose::STANDARD
        .encode(cairn_core::Digest::of(inline.as_bytes()).as_bytes());
    assert!(
        csp.contains(&format!(
            "script-src 'self' 'wasm-unsafe-eval' 'sha256-{hash}';"
        )),
        "{csp}"
    );
    assert!(
        !csp.contains("'unsafe-eval'") && !csp.contains("script-src 'self' 'unsafe-inline'"),
        "{csp}"
    );
    assert!(csp.ends_with("frame-ancestors 'self'"), "{csp}");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");

    let (s, _dist) = server(
        &[],
        &["https://dash.example.com", "https://grafana.example.com"],
    )
    .await;
    let res = s.client.get(format!("{}/", s.url)).send().await.unwrap();
    let csp = res.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.ends_with("frame-ancestors https://dash.example.com https://grafana.example.com"),
        "{csp}"
    );
}

#[tokio::test]
async fn cors_answers_listed_origins_only_and_never_with_credentials() {
    let preflight = |s: &TestServer, origin: &str| {
        s.client
            .request(
                Method::OPTIONS,
                format!("{}/api/v1/projects/ent/proj/artifacts", s.url),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    let (s, _dist) = server(&["https://dash.example.com"], &[]).await;
    let ok = preflight(&s, "https://dash.example.com").await.unwrap();
    assert!(ok.status().is_success());
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://dash.example.com"
    );
    assert!(
        ok.headers()
            .get("access-control-allow-credentials")
            .is_none()
    );
    let allowed = ok.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(allowed.contains("authorization"), "{allowed}");

    let evil = preflight(&s, "https://evil.example.com").await.unwrap();
    assert!(evil.headers().get("access-control-allow-origin").is_none());
    // an actual cross-origin request from an unlisted origin gets no CORS grant either
    let res = s
        .req(Method::GET, "/api/v1/whoami")
        .header("origin", "https://evil.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get("access-control-allow-origin").is_none());

    // no list: no CORS at all
    let (s, _dist) = server(&[], &[]).await;
    let res = preflight(&s, "https://dash.example.com").await.unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
}

/// The guide at /docs (mdBook's build in `<web-dir>/docs`): its own policy with its pages'
/// inline scripts by hash, `/docs` → `/docs/`, its 404 page; not built, a page saying how.
#[tokio::test]
async fn the_guide_is_served_at_docs_with_its_own_script_hashes() {
    let (s, dist) = server(&[], &[]).await;
    // not built yet: a 404 that says how, never the web app
    let res = get(&s, "/docs/").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.text().await.unwrap().contains("mdbook build docs"));

    let docs = dist.path().join("docs");
    std::fs::create_dir_all(docs.join("guide")).unwrap();
    std::fs::write(
        docs.join("index.html"),
        "<script>var root = \"\";</script>guide home",
    )
    .unwrap();
    std::fs::write(
        docs.join("guide/create.html"),
        "<script>var root = \"../\";</script><script src=\"../book.js\"></script>create",
    )
    .unwrap();
    std::fs::write(docs.join("404.html"), "no such page").unwrap();
    let s = serve(&dist, &[], &[]).await;

    let res = get(&s, "/docs").await;
    assert_eq!(res.url().path(), "/docs/", "redirected to the folder");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("guide home"));

    let res = get(&s, "/docs/guide/create.html").await;
    assert_eq!(res.status(), StatusCode::OK);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let hash = |body: &str| {
        base64::engine::general_purpose::STANDARD
            .encode(cairn_core::Digest::of(body.as_bytes()).as_bytes())
    };
    for inline in ["var root = \"\";", "var root = \"../\";"] {
        assert!(csp.contains(&format!("'sha256-{}'", hash(inline))), "{csp}");
    }
    let scripts = csp
        .split(';')
        .find(|d| d.trim().starts_with("script-src"))
        .unwrap();
    assert!(
        !scripts.contains("unsafe") && !scripts.contains("wasm"),
        "{csp}"
    );
    assert!(res.text().await.unwrap().contains("create"));

    let res = get(&s, "/docs/nope.html").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.text().await.unwrap(), "no such page");

    // the web app keeps its own policy
    let res = get(&s, "/ent/proj").await;
    let csp = res.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("'wasm-unsafe-eval'"), "{csp}");
}
