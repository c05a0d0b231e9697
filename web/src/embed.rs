//! The app inside another page's iframe (`/embed/…`): no chrome, the token handed over by the
//! host page with `postMessage` and kept in memory only, progress and new versions reported
//! back, the frame's height announced so the host can size it, theming by `--cairn-*` CSS
//! variables. The host's origin comes from `?host=`; messages are sent only to that origin and
//! taken only from it (and the registry's `frame-ancestors` decides who may frame the app at
//! all). `embed.js` (served next to the app) is the host side: `<cairn-uploader>` and
//! `<cairn-browser>`.

use std::cell::{Cell, RefCell};

use gloo_events::EventListener;
use gloo_timers::callback::Interval;
use leptos::prelude::*;
use serde::Serialize;
use serde_json::{Value, json};
use wasm_bindgen::JsCast;

/// Prefix of the embed routes.
pub const BASE: &str = "/embed";

fn window() -> web_sys::Window {
    web_sys::window().expect("a browser window")
}

/// Whether the app runs as an embed (its path starts with `/embed/`).
pub fn active() -> bool {
    window()
        .location()
        .pathname()
        .is_ok_and(|p| p == BASE || p.starts_with("/embed/"))
}

/// A query parameter of the address the app was loaded with (navigating inside the frame
/// drops the query, the configuration stays).
pub fn query(name: &str) -> Option<String> {
    let search = SEARCH.with(|s| {
        s.get_or_init(|| window().location().search().unwrap_or_default())
            .clone()
    });
    web_sys::UrlSearchParams::new_with_str(&search)
        .ok()?
        .get(name)
        .filter(|v| !v.is_empty())
}

/// `?readonly=1`: browse only (no new versions, no drafts).
pub fn read_only() -> bool {
    active() && query("readonly").is_some_and(|v| v != "0" && v != "false")
}

/// `?accept=.csv,.parquet`: the file types the uploader takes (as in `<input accept>`).
pub fn accept() -> Option<String> {
    query("accept").filter(|_| active())
}

/// Whether `name` is one of the `accept` types (extensions, case-insensitive; MIME types are
/// left to the file picker).
pub fn accepts(accept: &str, name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    accept
        .split(',')
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .any(|t| !t.starts_with('.') || name.ends_with(&t))
}

thread_local! {
    static SEARCH: std::cell::OnceCell<String> = const { std::cell::OnceCell::new() };
    static TOKEN: RefCell<Option<String>> = const { RefCell::new(None) };
    static HEIGHT: Cell<i32> = const { Cell::new(0) };
}

/// The token the host handed over.
pub fn token() -> Option<String> {
    TOKEN.with(|t| t.borrow().clone())
}

/// The host page's origin (`?host=`), if the app is embedded.
fn host() -> Option<String> {
    query("host").filter(|_| active())
}

/// Send `{type: "cairn:<kind>", …detail}` to the host page.
pub fn post(kind: &str, detail: Value) {
    let Some(host) = host() else { return };
    let Ok(Some(parent)) = window().parent() else {
        return;
    };
    let mut message = json!({ "type": format!("cairn:{kind}") });
    if let (Some(m), Value::Object(d)) = (message.as_object_mut(), detail) {
        m.extend(d);
    }
    // plain objects, not Maps: what a host's `event.data.type` reads
    let plain = serde_wasm_bindgen::Serializer::json_compatible();
    if let Ok(value) = message.serialize(&plain) {
        let _ = parent.post_message(&value, &host);
    }
}

/// Apply `--cairn-*` variables from the host (names and values checked: no way to inject
/// other CSS).
fn theme(vars: &serde_json::Map<String, Value>) {
    let Some(root) = window()
        .document()
        .and_then(|d| d.document_element())
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    else {
        return;
    };
    for (name, value) in vars {
        let ok_name = name.starts_with("--cairn-")
            && name[2..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        let Some(value) = value.as_str() else {
            continue;
        };
        let ok_value = value.len() <= 200
            && !value.contains([';', '{', '}', '<', '>', '\\'])
            && !value.to_ascii_lowercase().contains("url(");
        if ok_name && ok_value {
            let _ = root.style().set_property(name, value);
        }
    }
}

/// Start talking to the host: take its messages (token, theme), announce readiness, and keep
/// it told of the content's height. `signed_in` turns true once a token arrives.
pub fn start(signed_in: RwSignal<bool>) {
    let Some(host) = host() else { return };
    let on_message = EventListener::new(&window(), "message", move |ev| {
        let Some(ev) = ev.dyn_ref::<web_sys::MessageEvent>() else {
            return;
        };
        if ev.origin() != host {
            return;
        }
        let Ok(message) = serde_wasm_bindgen::from_value::<Value>(ev.data()) else {
            return;
        };
        match message["type"].as_str() {
            Some("cairn:token") => {
                let token = message["token"]
                    .as_str()
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned);
                TOKEN.with(|t| *t.borrow_mut() = token.clone());
                signed_in.set(token.is_some());
            }
            Some("cairn:theme") => {
                if let Some(vars) = message["vars"].as_object() {
                    theme(vars);
                }
            }
            _ => {}
        }
    });
    // both live as long as the page
    on_message.forget();
    Interval::new(250, || {
        let Some(body) = window().document().and_then(|d| d.body()) else {
            return;
        };
        let height = body.scroll_height();
        if HEIGHT.with(|h| h.replace(height)) != height {
            post("resize", json!({ "height": height }));
        }
    })
    .forget();
    post("ready", json!({}));
}

#[cfg(test)]
mod tests {
    use super::accepts;

    #[test]
    fn accept_lists_match_extensions_case_insensitively() {
        assert!(accepts(".txt, .CSV", "data/a.csv"));
        assert!(accepts(".parquet", "x/PART-1.PARQUET"));
        assert!(!accepts(".txt", "a.txt.gz"));
        assert!(!accepts(".txt", "txt"));
        // MIME types are the picker's business: not filtered here
        assert!(accepts("image/*", "photo.jpg"));
    }
}
