//! `GET /api/v1/reference`: the API reference as one HTML page, rendered from the OpenAPI
//! document the registry serves (no script, nothing fetched from elsewhere): every route with
//! its parameters, body and answers, then every schema.

use axum::response::Html;
use serde_json::Value;

/// The API reference as HTML; needs no token.
#[utoipa::path(get, path = "/api/v1/reference", security(()),
    responses((status = 200, description = "the API reference (HTML), rendered from the OpenAPI document")))]
pub(crate) async fn reference() -> Html<String> {
    static PAGE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    Html(
        PAGE.get_or_init(|| render(&serde_json::to_value(crate::openapi()).unwrap_or_default()))
            .clone(),
    )
}

/// Text made safe inside HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The name a `$ref` points at (`#/components/schemas/CommitRequest` → `CommitRequest`).
fn schema_name(schema: &Value) -> String {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        return format!("<a href=\"#schema-{0}\">{0}</a>", esc(name));
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("array") => format!("array of {}", schema_name(&schema["items"])),
        Some(t) => esc(t),
        None => "JSON".into(),
    }
}

fn operation(out: &mut String, method: &str, path: &str, op: &Value) {
    let id = format!("{method}-{path}").replace(['/', '{', '}', '.'], "-");
    out.push_str(&format!(
        "<section id=\"{}\"><h2><code>{} {}</code></h2>\n",
        esc(&id),
        method.to_uppercase(),
        esc(path)
    ));
    for key in ["summary", "description"] {
        if let Some(text) = op.get(key).and_then(Value::as_str) {
            out.push_str(&format!("<p>{}</p>\n", esc(text)));
        }
    }
    if let Some(params) = op.get("parameters").and_then(Value::as_array) {
        out.push_str("<h3>Parameters</h3><ul>\n");
        for p in params {
            out.push_str(&format!(
                "<li><code>{}</code> ({}): {}</li>\n",
                esc(p["name"].as_str().unwrap_or("")),
                esc(p["in"].as_str().unwrap_or("")),
                esc(p["description"].as_str().unwrap_or(""))
            ));
        }
        out.push_str("</ul>\n");
    }
    if let Some(content) = op
        .pointer("/requestBody/content")
        .and_then(Value::as_object)
    {
        out.push_str("<h3>Body</h3><ul>\n");
        for (media, c) in content {
            out.push_str(&format!(
                "<li>{}: {}</li>\n",
                esc(media),
                schema_name(&c["schema"])
            ));
        }
        out.push_str("</ul>\n");
    }
    if let Some(responses) = op.get("responses").and_then(Value::as_object) {
        out.push_str("<h3>Answers</h3><ul>\n");
        for (status, r) in responses {
            let body = r
                .get("content")
                .and_then(Value::as_object)
                .and_then(|c| c.values().next())
                .map(|c| format!(" — {}", schema_name(&c["schema"])))
                .unwrap_or_default();
            out.push_str(&format!(
                "<li><b>{}</b> {}{}</li>\n",
                esc(status),
                esc(r["description"].as_str().unwrap_or("")),
                body
            ));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</section>\n");
}

/// The whole page for an OpenAPI document (as JSON).
pub(crate) fn render(doc: &Value) -> String {
    let mut out = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Cairn registry API</title><style>body{font:15px/1.5 system-ui,sans-serif;\
         max-width:60rem;margin:2rem auto;padding:0 1rem}code,pre{font-size:13px}\
         pre{background:#f4f4f4;padding:.5rem;overflow:auto}section{border-top:1px solid #ddd}\
         @media (prefers-color-scheme:dark){body{background:#161616;color:#ddd}\
         pre{background:#222}a{color:#8ab4f8}}</style></head><body>\n\
         <h1>Cairn registry API</h1>\n<p>Rendered from <a href=\"/api/v1/openapi.json\">the \
         OpenAPI document</a> this registry serves. Send <code>Authorization: Bearer \
         &lt;token&gt;</code> (or Basic with the token as password) on every route but \
         health, readiness and these two documents.</p>\n<nav><ul>\n",
    );
    let paths = doc["paths"].as_object().cloned().unwrap_or_default();
    let methods = ["get", "head", "post", "put", "patch", "delete"];
    let mut ops = Vec::new();
    for (path, item) in &paths {
        for m in methods {
            if let Some(op) = item.get(m) {
                ops.push((m, path.as_str(), op));
            }
        }
    }
    for (m, path, _) in &ops {
        let id = format!("{m}-{path}").replace(['/', '{', '}', '.'], "-");
        out.push_str(&format!(
            "<li><a href=\"#{}\"><code>{} {}</code></a></li>\n",
            esc(&id),
            m.to_uppercase(),
            esc(path)
        ));
    }
    out.push_str("</ul></nav>\n");
    for (m, path, op) in &ops {
        operation(&mut out, m, path, op);
    }
    out.push_str("<h2>Schemas</h2>\n");
    if let Some(schemas) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        for (name, schema) in schemas {
            let pretty = serde_json::to_string_pretty(schema).unwrap_or_default();
            out.push_str(&format!(
                "<section id=\"schema-{0}\"><h3>{0}</h3><pre>{1}</pre></section>\n",
                esc(name),
                esc(&pretty)
            ));
        }
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_and_schema_is_on_the_page_and_text_is_escaped() {
        let doc = serde_json::to_value(crate::openapi()).unwrap();
        let page = render(&doc);
        for path in doc["paths"].as_object().unwrap().keys() {
            assert!(page.contains(&esc(path)), "{path} is not on the page");
        }
        assert!(page.contains("id=\"schema-CommitRequest\""));
        assert!(!page.contains("<script"));
        let odd = serde_json::json!({"paths": {"/x": {"get": {"description": "<b>&</b>",
            "responses": {"200": {"description": "ok"}}}}}});
        let page = render(&odd);
        assert!(page.contains("&lt;b&gt;&amp;&lt;/b&gt;"));
    }
}
