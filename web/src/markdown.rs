//! Markdown (a version's README.md and description) to HTML that is safe to insert: raw HTML in
//! the text is shown as text, and links and images keep only `http(s):`, `mailto:` and
//! relative targets (a `javascript:` link becomes `#`).

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, html};

/// Whether a link target may stay: no scheme (relative, `#…`), or http, https, mailto.
fn allowed(url: &str) -> bool {
    let url = url.trim();
    let scheme_end = url.find(':');
    let path_start = url.find(['/', '?', '#']);
    match scheme_end {
        None => true,
        Some(colon) if path_start.is_some_and(|p| p < colon) => true,
        Some(_) => {
            let lower = url.to_ascii_lowercase();
            ["http:", "https:", "mailto:"]
                .iter()
                .any(|s| lower.starts_with(s))
        }
    }
}

fn safe(url: CowStr<'_>) -> CowStr<'_> {
    if allowed(&url) { url } else { "#".into() }
}

/// The HTML of `text` (CommonMark with tables, strikethrough and task lists).
pub fn to_html(text: &str) -> String {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let events = Parser::new_ext(text, options).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: safe(dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: safe(dest_url),
            title,
            id,
        }),
        other => other,
    });
    let mut out = String::with_capacity(text.len() * 3 / 2);
    html::push_html(&mut out, events);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_renders_and_raw_html_is_text() {
        let html = to_html(
            "# Model card\n\n*fast* | x\n---|---\n1 | 2\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>",
        );
        assert!(html.contains("<h1>Model card</h1>"), "{html}");
        assert!(html.contains("<table>"), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img src=x"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }

    #[test]
    fn only_safe_link_targets_stay() {
        let html = to_html(
            "[a](javascript:alert(1)) [b](https://x.org) [c](docs/a.md) [d](JavaScript:x) ![e](data:image/png;base64,AA) [f](mailto:a@b.c)",
        );
        assert!(!html.to_lowercase().contains("javascript:"), "{html}");
        assert!(!html.contains("data:"), "{html}");
        assert!(html.contains(r#"href="https://x.org""#), "{html}");
        assert!(html.contains(r#"href="docs/a.md""#), "{html}");
        assert!(html.contains(r#"href="mailto:a@b.c""#), "{html}");
    }
}
