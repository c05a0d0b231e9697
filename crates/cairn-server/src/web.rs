//! The web app's built files at `/`, with the single-page-app fallback to `index.html`, and the
//! browser-security headers: a Content-Security-Policy (the inline bootstrap script of Trunk's
//! `index.html` allowed by its hash, nothing else inline; `frame-ancestors` from the
//! configuration, for embedding) and CORS for an explicit allow-list of origins only.

use std::path::Path;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::response::Html;
use base64::Engine;
use cairn_core::Digest;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::Config;

/// Serve the configured web dir (Trunk's `dist/`) if it holds an `index.html`, else a page
/// that says how to build it; then the security headers and CORS around everything.
pub(crate) fn service(router: Router, config: &Config) -> Router {
    let router = router.merge(crate::guide::routes(config.web_dir.as_deref()));
    let index = config
        .web_dir
        .as_deref()
        .map(|d| d.join("index.html"))
        .filter(|i| i.is_file());
    let router = match (&index, config.web_dir.as_deref()) {
        (Some(index), Some(dir)) => router
            .fallback_service(
                ServeDir::new(dir)
                    .precompressed_br()
                    .precompressed_gzip()
                    .fallback(ServeFile::new(index)),
            )
            .layer(axum::middleware::from_fn(caching)),
        _ => router.fallback(|| async {
            Html(
                "<!doctype html><title>Cairn</title><h1>Cairn registry</h1>\
                 <p>The API is at <a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a>. \
                 The web app is not built: run <code>trunk build --release</code> and start \
                 <code>cairn serve --web-dir dist</code>.</p>",
            )
        }),
    };
    let csp = policy(index.as_deref(), &config.frame_ancestors);
    // the guide at /docs sets a policy of its own first
    let router = router
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&csp).unwrap_or(HeaderValue::from_static("default-src 'self'")),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ));
    match cors(&config.cors_origins) {
        Some(layer) => router.layer(layer),
        None => router,
    }
}

/// `Cache-Control` for a path of the web app: files whose names carry Trunk's content hash
/// (`cairn-web-0123456789abcdef_bg.wasm`) never change, so browsers keep them; everything else
/// (`index.html`, the worker's unhashed files, the app's routes) is revalidated each time. API
/// answers are left alone.
pub(crate) fn cache_control(path: &str) -> Option<&'static str> {
    if path.starts_with("/api/") || path == "/metrics" {
        return None;
    }
    let name = path.rsplit('/').next().unwrap_or_default();
    let stem = name.split('.').next().unwrap_or_default();
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    let hashed = stem
        .rsplit_once('-')
        .is_some_and(|(_, h)| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    Some(if hashed {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    })
}

async fn caching(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let policy = cache_control(req.uri().path());
    let mut res = next.run(req).await;
    if let Some(p) = policy
        && res.status().is_success()
    {
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(p));
    }
    res
}

/// The Content-Security-Policy for the app in `index` (its inline scripts allowed by hash).
fn policy(index: Option<&Path>, frame_ancestors: &[String]) -> String {
    let html = index
        .and_then(|i| std::fs::read_to_string(i).ok())
        .unwrap_or_default();
    let hashes: String = inline_scripts(&html)
        .map(|s| format!(" {}", script_hash(s)))
        .collect();
    let ancestors = if frame_ancestors.is_empty() {
        "'self'".to_owned()
    } else {
        frame_ancestors.join(" ")
    };
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}; worker-src 'self' blob:; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors {ancestors}"
    )
}

/// A CSP source allowing exactly the inline script `body`: `'sha256-<base64>'`.
pub(crate) fn script_hash(body: &str) -> String {
    let digest = Digest::of(body.as_bytes());
    let b64 = base64::engine::general_purpose::STANDARD.encode(digest.as_bytes());
    format!("'sha256-{b64}'")
}

/// The bodies of the `<script>` elements without `src`.
pub(crate) fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    let mut rest = html;
    std::iter::from_fn(move || {
        loop {
            let start = rest.find("<script")?;
            let open_end = start + rest[start..].find('>')?;
            let body_start = open_end + 1;
            let body_end = body_start + rest[body_start..].find("</script>")?;
            let tag = &rest[start..open_end];
            let body = &rest[body_start..body_end];
            rest = &rest[body_end..];
            if !tag.contains("src=") {
                return Some(body);
            }
        }
    })
}

/// CORS for exactly `origins` (none: same-origin only, no CORS headers at all). Tokens travel
/// in the `Authorization` header, never in cookies, so credentials are never allowed.
fn cors(origins: &[String]) -> Option<CorsLayer> {
    let list: Vec<HeaderValue> = origins.iter().filter_map(|o| o.parse().ok()).collect();
    if list.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(list))
            .allow_methods([
                Method::GET,
                Method::HEAD,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::RANGE])
            .expose_headers([
                header::CONTENT_LENGTH,
                header::CONTENT_RANGE,
                header::ETAG,
                HeaderName::from_static("location"),
            ])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

#[cfg(test)]
mod tests {
    use super::{cache_control, inline_scripts};

    #[test]
    fn hashed_assets_are_immutable_and_the_rest_revalidated() {
        let immutable = Some("public, max-age=31536000, immutable");
        assert_eq!(
            cache_control("/cairn-web-39435fc4438b7f8a_bg.wasm"),
            immutable
        );
        assert_eq!(cache_control("/cairn-web-39435fc4438b7f8a.js"), immutable);
        assert_eq!(cache_control("/style-2e5f5ead2bdd3b35.css"), immutable);
        assert_eq!(
            cache_control("/cairn-hash-worker_bg.wasm"),
            Some("no-cache")
        );
        assert_eq!(cache_control("/index.html"), Some("no-cache"));
        assert_eq!(
            cache_control("/ent/proj/data-0123456789abcdeg"),
            Some("no-cache")
        );
        assert_eq!(cache_control("/api/v1/projects/e/p/blobs/x"), None);
        assert_eq!(cache_control("/metrics"), None);
    }

    #[test]
    fn finds_inline_scripts_only() {
        let html = "<script src=\"/a.js\"></script><script type=\"module\">import x;</script><p>\
                    <script>\nlet y = 1;\n</script>";
        assert_eq!(
            inline_scripts(html).collect::<Vec<_>>(),
            ["import x;", "\nlet y = 1;\n"]
        );
    }
}
