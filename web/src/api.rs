//! The registry's HTTP API from the browser (fetch through `gloo-net`; XMLHttpRequest where
//! upload progress is wanted), with the token kept in local storage.

use std::cell::RefCell;
use std::rc::Rc;

use cairn_core::wire::Problem;
use futures::channel::oneshot;
use gloo_net::http::{Method, RequestBuilder, Response};
use gloo_storage::{LocalStorage, Storage};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{ProgressEvent, XmlHttpRequest};

const TOKEN_KEY: &str = "cairn.token";

fn window() -> web_sys::Window {
    web_sys::window().expect("a browser window")
}

/// The saved token, taking one from `#token=…` first (then removing it from the address bar).
/// Embedded, only the token the host page handed over counts, and it is never saved.
pub fn token() -> Option<String> {
    if crate::embed::active() {
        return crate::embed::token();
    }
    let hash = window().location().hash().unwrap_or_default();
    if let Some(t) = hash.strip_prefix("#token=").filter(|t| !t.is_empty()) {
        // without storage (some private modes) the token lasts as long as the page
        let _ = LocalStorage::set(TOKEN_KEY, t);
        let loc = window().location();
        let clean = format!(
            "{}{}",
            loc.pathname().unwrap_or_default(),
            loc.search().unwrap_or_default()
        );
        if let Ok(history) = window().history() {
            let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&clean));
        }
        return Some(t.to_owned());
    }
    LocalStorage::get::<String>(TOKEN_KEY)
        .ok()
        // saved bare (not as JSON) by earlier builds of the app
        .or_else(|| LocalStorage::raw().get_item(TOKEN_KEY).ok().flatten())
        .filter(|t| !t.is_empty())
}

/// Remember a token (an empty one forgets it).
pub fn set_token(token: &str) {
    if token.is_empty() {
        LocalStorage::delete(TOKEN_KEY);
    } else {
        let _ = LocalStorage::set(TOKEN_KEY, token);
    }
}

/// `/api/v1/projects/{entity}/{project}` + `rest`.
pub fn project_api(entity: &str, project: &str, rest: &str) -> String {
    format!("/api/v1/projects/{entity}/{project}{rest}")
}

/// Percent-encode an entry path for a URL, keeping `/`.
pub fn encode_path(path: &str) -> String {
    path.split('/')
        .map(|s| String::from(js_sys::encode_uri_component(s)))
        .collect::<Vec<_>>()
        .join("/")
}

fn js_err(e: JsValue) -> String {
    e.as_string()
        .or_else(|| js_sys::Error::from(e).message().as_string())
        .unwrap_or_else(|| "network error".into())
}

/// Send a request with the token and `headers`, whatever the answer's status.
async fn fetch(
    method: &str,
    path: &str,
    body: Option<&JsValue>,
    headers: &[(&str, &str)],
) -> Result<Response, String> {
    let method: Method = method
        .parse()
        .map_err(|_| format!("no such method: {method}"))?;
    let mut request = RequestBuilder::new(path).method(method);
    if let Some(t) = token() {
        request = request.header("Authorization", &format!("Bearer {t}"));
    }
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let request = match body {
        Some(b) => request.body(b.clone()),
        None => request.build(),
    };
    request
        .map_err(|e| e.to_string())?
        .send()
        .await
        .map_err(|e| e.to_string())
}

/// Send a request; a non-success answer becomes the problem's detail.
pub async fn send(
    method: &str,
    path: &str,
    body: Option<&JsValue>,
    content_type: Option<&str>,
) -> Result<Response, String> {
    let headers: Vec<(&str, &str)> = content_type
        .map(|ct| ("Content-Type", ct))
        .into_iter()
        .collect();
    let res = fetch(method, path, body, &headers).await?;
    if res.ok() {
        return Ok(res);
    }
    let text = res.text().await.unwrap_or_default();
    Err(problem_message(res.status(), &text))
}

/// The first `len` bytes of a file (a `Range` request: the registry reads only the chunks that
/// cover them), and the file's whole size.
pub async fn get_head(path: &str, len: u64) -> Result<(Vec<u8>, u64), String> {
    get_range(path, &format!("bytes=0-{}", len.max(1) - 1)).await
}

/// The last `len` bytes of a file (all of a shorter one), and the file's whole size.
pub async fn get_tail(path: &str, len: u64) -> Result<(Vec<u8>, u64), String> {
    get_range(path, &format!("bytes=-{}", len.max(1))).await
}

async fn get_range(path: &str, range: &str) -> Result<(Vec<u8>, u64), String> {
    let res = fetch("GET", path, None, &[("Range", range)]).await?;
    let status = res.status();
    // an empty file has no range to satisfy
    if status == 416 {
        return Ok((Vec::new(), 0));
    }
    let total = res
        .headers()
        .get("Content-Range")
        .and_then(|r| r.rsplit('/').next().and_then(|t| t.parse::<u64>().ok()));
    let bytes = res.binary().await.map_err(|e| e.to_string())?;
    if !res.ok() {
        return Err(problem_message(status, &String::from_utf8_lossy(&bytes)));
    }
    let total = total.unwrap_or(bytes.len() as u64);
    Ok((bytes, total))
}

/// What a person reads for a failed answer: the problem's detail, with the status.
fn problem_message(status: u16, body: &str) -> String {
    match serde_json::from_str::<Problem>(body) {
        Ok(p) => format!("{} ({status})", p.detail),
        Err(_) => format!("the registry answered {status}"),
    }
}

async fn body_json<T: DeserializeOwned>(res: Response) -> Result<T, String> {
    res.json()
        .await
        .map_err(|e| format!("unexpected answer: {e}"))
}

/// GET JSON.
pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, String> {
    body_json(send("GET", path, None, None).await?).await
}

/// Send JSON, read JSON.
pub async fn json<T: DeserializeOwned, B: Serialize>(
    method: &str,
    path: &str,
    body: &B,
) -> Result<T, String> {
    let text = serde_json::to_string(body).map_err(|e| e.to_string())?;
    body_json(
        send(
            method,
            path,
            Some(&JsValue::from_str(&text)),
            Some("application/json"),
        )
        .await?,
    )
    .await
}

thread_local! {
    /// Uploads in flight, so cancel can abort them.
    static UPLOADS: RefCell<Vec<XmlHttpRequest>> = const { RefCell::new(Vec::new()) };
}

/// Abort every upload in flight (they fail as cancelled).
pub fn abort_uploads() {
    for xhr in UPLOADS.with(|u| std::mem::take(&mut *u.borrow_mut())) {
        let _ = xhr.abort();
    }
}

/// How long to keep retrying a registry that does not answer, in tries (1 to 5 s apart).
const PATIENCE: u32 = 150;

/// Run `call` again while the registry cannot be reached or answers 429/502/503/504 (waiting
/// 1 s, then up to 5 s, between tries), until it succeeds, fails for good or is cancelled.
pub async fn patient<T, F, Fut>(call: F, cancelled: &dyn Fn() -> bool) -> Result<T, String>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let mut tries = 0;
    loop {
        tries += 1;
        match call().await {
            Ok(v) => return Ok(v),
            Err(_) if cancelled() => return Err("cancelled".into()),
            Err(e) if transient(&e) && tries < PATIENCE => {
                sleep_ms(1000 * tries.min(5)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Whether a failure is worth trying again: no answer at all (the connection dropped, the
/// registry is restarting), or 429/502/503/504.
pub fn transient(error: &str) -> bool {
    let status = error
        .rsplit_once('(')
        .and_then(|(_, s)| s.strip_suffix(')'))
        .and_then(|s| s.parse::<u16>().ok())
        .or_else(|| {
            error
                .strip_prefix("the registry answered ")
                .and_then(|s| s.parse().ok())
        });
    matches!(status, None | Some(429 | 502 | 503 | 504))
}

/// One request with `body` through XMLHttpRequest, the browser API that reports upload
/// progress (`progress` gets the bytes sent so far); answers the response's text.
pub async fn xhr_send(
    method: &str,
    path: &str,
    body: &web_sys::Blob,
    content_type: &str,
    progress: Rc<dyn Fn(f64)>,
) -> Result<String, String> {
    let xhr = XmlHttpRequest::new().map_err(js_err)?;
    xhr.open(method, path).map_err(js_err)?;
    if let Some(t) = token() {
        xhr.set_request_header("Authorization", &format!("Bearer {t}"))
            .map_err(js_err)?;
    }
    xhr.set_request_header("Content-Type", content_type)
        .map_err(js_err)?;
    let (tx, rx) = oneshot::channel::<()>();
    let tx = RefCell::new(Some(tx));
    let on_end = Closure::<dyn Fn()>::new(move || {
        if let Some(tx) = tx.borrow_mut().take() {
            let _ = tx.send(());
        }
    });
    let on_progress =
        Closure::<dyn Fn(ProgressEvent)>::new(move |ev: ProgressEvent| progress(ev.loaded()));
    xhr.set_onloadend(Some(on_end.as_ref().unchecked_ref()));
    xhr.upload()
        .map_err(js_err)?
        .set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    UPLOADS.with(|u| u.borrow_mut().push(xhr.clone()));
    let sent = xhr.send_with_opt_blob(Some(body)).map_err(js_err);
    if sent.is_ok() {
        let _ = rx.await;
    }
    UPLOADS.with(|u| u.borrow_mut().retain(|x| x != &xhr));
    sent?;
    let status = xhr.status().map_err(js_err)?;
    if status == 0 {
        return Err("network error: the upload was interrupted".into());
    }
    let text = xhr.response_text().ok().flatten().unwrap_or_default();
    if (200..300).contains(&status) {
        return Ok(text);
    }
    Err(problem_message(status, &text))
}

/// Wait `ms` milliseconds.
pub async fn sleep_ms(ms: u32) {
    gloo_timers::future::TimeoutFuture::new(ms).await;
}
