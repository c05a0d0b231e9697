//! The web app's built files at `/`, with the single-page-app fallback to `index.html`.

use std::path::Path;

use axum::Router;
use axum::response::Html;
use tower_http::services::{ServeDir, ServeFile};

/// Serve `dir` (Trunk's `dist/`) if it holds an `index.html`, else a page that says how to
/// build it.
pub(crate) fn service(router: Router, dir: Option<&Path>) -> Router {
    match dir.filter(|d| d.join("index.html").is_file()) {
        Some(dir) => router
            .fallback_service(ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html")))),
        None => router.fallback(|| async {
            Html(
                "<!doctype html><title>Cairn</title><h1>Cairn registry</h1>\
                 <p>The API is at <a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a>. \
                 The web app is not built: run <code>trunk build --release</code> and start \
                 <code>cairn serve --web-dir dist</code>.</p>",
            )
        }),
    }
}
