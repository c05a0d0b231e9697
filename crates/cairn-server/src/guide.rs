//! The guide (mdBook's build of `docs/`, which `scripts/web-tools` puts in `<web-dir>/docs`) at
//! `/docs/`. Its pages carry mdBook's inline scripts (theme, sidebar, search), so they get a
//! Content-Security-Policy of their own: those exact scripts allowed by hash — collected from
//! every page of the build when the registry starts — and nothing else inline, nothing from
//! another origin. Not built: `/docs/` says how to build it rather than falling through to the
//! web app.

use std::path::{Path, PathBuf};

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::web::{inline_scripts, script_hash};

/// Where the guide is served.
pub(crate) const PREFIX: &str = "/docs";

/// The guide's routes: its build under `web_dir/docs` when there is one, else a page saying how
/// to make it. `/docs` itself redirects to `/docs/` so the pages' relative links resolve.
pub(crate) fn routes<S: Clone + Send + Sync + 'static>(web_dir: Option<&Path>) -> Router<S> {
    let dir = web_dir
        .map(|d| d.join("docs"))
        .filter(|d| d.join("index.html").is_file());
    let inner = match &dir {
        Some(dir) => Router::new()
            .fallback_service(
                ServeDir::new(dir)
                    .precompressed_br()
                    .precompressed_gzip()
                    .not_found_service(ServeFile::new(dir.join("404.html"))),
            )
            .layer(SetResponseHeaderLayer::overriding(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_str(&policy(dir))
                    .unwrap_or(HeaderValue::from_static("default-src 'self'")),
            )),
        None => Router::new().fallback(not_built),
    };
    Router::new()
        .nest_service(PREFIX, inner)
        .layer(axum::middleware::from_fn(trailing_slash))
}

/// `/docs` → `/docs/` (mdBook's links are relative to the folder).
async fn trailing_slash(req: Request, next: Next) -> Response {
    if req.uri().path() == PREFIX {
        return Redirect::permanent(&format!("{PREFIX}/")).into_response();
    }
    next.run(req).await
}

async fn not_built() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(
            "<!doctype html><title>Cairn guide</title><h1>The guide is not built</h1>\
             <p>Build it with <code>mdbook build docs -d $PWD/dist/docs</code> (or run \
             <code>scripts/run</code>, which does), then restart <code>cairn serve</code>. \
             The same pages are the Markdown under <code>docs/</code> in the repository; \
             the API reference is at <a href=\"/api/v1/reference\">/api/v1/reference</a>.</p>",
        ),
    )
        .into_response()
}

/// The guide's Content-Security-Policy: the inline scripts of its pages by hash.
fn policy(dir: &Path) -> String {
    let mut hashes: Vec<String> = pages(dir)
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .flat_map(|html| inline_scripts(&html).map(script_hash).collect::<Vec<_>>())
        .collect();
    hashes.sort();
    hashes.dedup();
    let hashes: String = hashes.iter().map(|h| format!(" {h}")).collect();
    format!(
        "default-src 'self'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
    )
}

/// Every `.html` file under `dir`.
fn pages(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x == "html") {
                out.push(p);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::policy;

    #[test]
    fn the_policy_allows_each_inline_script_of_every_page_and_nothing_else_inline() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("guide")).unwrap();
        std::fs::write(
            dir.path().join("index.html"),
            "<script>var a = 1;</script><script src=\"x.js\"></script>",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("guide/page.html"),
            "<script>var a = 1;</script><script>var root = \"../\";</script>",
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "<script>evil()</script>").unwrap();
        let csp = policy(dir.path());
        assert_eq!(csp.matches("'sha256-").count(), 2, "{csp}");
        let scripts = csp.split(';').find(|d| d.trim().starts_with("script-src"));
        assert!(!scripts.unwrap().contains("unsafe"), "{csp}");
    }
}
