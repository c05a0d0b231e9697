//! The HTTP contract (docs/api.md) and the rules of docs/semantics.md, against a
//! real registry on a loopback port.

mod aliases;
mod auth;
mod blobs;
mod browser;
mod budget;
mod chunks;
mod commits;
mod disk_full;
mod distributed;
mod fairness;
mod files;
mod gc;
mod gc_churn;
mod gc_packs;
mod gc_races;
mod hostile;
mod openapi;
mod patches;
mod permissions;
mod quotas;
mod replicas;
mod runs;
mod streamed;
mod uploads;

use cairn_testkit::TestServer;
use reqwest::Method;
use serde_json::{Value, json};

/// The project every test uses unless it says otherwise.
pub const P: &str = "ent/proj";

/// `/api/v1/projects/ent/proj` + `rest`.
pub fn p(rest: &str) -> String {
    format!("/api/v1/projects/{P}{rest}")
}

/// A manifest body of `(path, content)` pairs (the blobs are not uploaded).
pub fn manifest(files: &[(&str, &str)]) -> Value {
    let contents: serde_json::Map<String, Value> = files
        .iter()
        .map(|(path, c)| {
            (
                (*path).to_owned(),
                json!({"digest": cairn_core::Digest::of(c.as_bytes()), "size": c.len()}),
            )
        })
        .collect();
    json!({"version": 1, "contents": contents})
}

/// A `POST` of a JSON commit body to `name`, the body still to give.
pub fn post_commit(s: &TestServer, name: &str) -> reqwest::RequestBuilder {
    s.req(Method::POST, &p(&format!("/artifacts/{name}/versions")))
        .header("content-type", "application/json")
}

/// POST a commit body to `name`.
pub async fn commit(s: &TestServer, name: &str, body: Value) -> reqwest::Response {
    s.req(Method::POST, &p(&format!("/artifacts/{name}/versions")))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Upload the contents.
pub async fn upload(s: &TestServer, contents: &[&str]) {
    for c in contents {
        s.put_blob(P, c.as_bytes()).await;
    }
}
