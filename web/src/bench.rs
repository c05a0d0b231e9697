//! Hooks for the browser benchmark (`scripts/bench-browser`), called from the page through the
//! bindings Trunk puts on `window.wasmBindings`.

use cairn_core::Digest;
use futures::StreamExt;
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::File;

use crate::files::hash;
use crate::pool::Pool;

fn now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// Hash `files` (an array of `File`) with `workers` hashing workers (0: on the page, one file
/// after another) and answer `{ms, digests}`; the pool is started and warmed up first, so `ms`
/// is hashing time only.
#[wasm_bindgen]
pub async fn bench_hash(files: Array, workers: u32) -> Result<JsValue, JsValue> {
    let files: Vec<File> = files
        .iter()
        .map(|f| f.dyn_into::<File>())
        .collect::<Result<_, _>>()?;
    let digests: Vec<Digest>;
    let ms;
    if workers == 0 {
        let start = now();
        let mut out = Vec::with_capacity(files.len());
        for f in &files {
            out.push(hash(f, |_| {}, || false).await?);
        }
        ms = now() - start;
        digests = out;
    } else {
        let pool = Pool::start(Some(workers as usize)).ok_or("no worker pool")?;
        let warm = (0..workers).map(|i| {
            let empty = File::new_with_str_sequence(&Array::new(), &format!("warm{i}"));
            let pool = pool.clone();
            async move { pool.hash(empty?, |_| {}).await.map_err(JsValue::from) }
        });
        for r in futures::future::join_all(warm).await {
            r?;
        }
        let start = now();
        let jobs = files.iter().cloned().enumerate().map(|(i, f)| {
            let pool = pool.clone();
            async move { (i, pool.hash(f, |_| {}).await) }
        });
        let mut out = vec![None; files.len()];
        let mut results = futures::stream::iter(jobs).buffer_unordered(workers as usize * 2);
        while let Some((i, r)) = results.next().await {
            out[i] = Some(r?);
        }
        ms = now() - start;
        pool.close();
        digests = out.into_iter().flatten().collect();
    }
    let answer = Object::new();
    Reflect::set(&answer, &"ms".into(), &ms.into())?;
    let list: Array = digests
        .iter()
        .map(|d| JsValue::from_str(&d.to_string()))
        .collect();
    Reflect::set(&answer, &"digests".into(), &list)?;
    Ok(answer.into())
}
