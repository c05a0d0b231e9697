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

/// Hash and chunk `files` (an array of `File`) with `workers` hashing workers (0: on the page,
/// one file after another) and answer `{ms, digests}`; the pool is started and warmed up, and
/// the sizes read, first (as the app does, small files go many to a worker message), so `ms` is
/// hashing and chunking time only.
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
            out.push(hash(f, |_| {}, || false).await?.digest);
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
        // as the app stages: sizes from the workers, then small files many to a message
        let sizes = pool.sizes(&files).await?;
        let batches = crate::stage::batches(&sizes);
        let start = now();
        let jobs = batches.into_iter().map(|(first, n)| {
            let (pool, batch) = (pool.clone(), files[first..first + n].to_vec());
            async move { (first, pool.hash_many(batch, |_| {}).await) }
        });
        let mut out = vec![None; files.len()];
        let mut results = futures::stream::iter(jobs).buffer_unordered(workers as usize * 2);
        while let Some((first, r)) = results.next().await {
            for (k, one) in r?.into_iter().enumerate() {
                out[first + k] = Some(one?.digest);
            }
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

/// The chunker in wasm (issue 17): time, on the page, over `data` already in wasm memory, the
/// SHA-256 alone, the chunker v1 splitter alone (Gear + BLAKE3 per chunk), the whole chunker
/// (both), and BLAKE3 and SHA-256 over the same chunks; answers `{sha, split, chunker, blake3,
/// sha_chunks, chunks}` in milliseconds. `tests/e2e/bench-chunker.mjs` compares them with
/// hash-wasm's SHA-256 of the same bytes.
#[wasm_bindgen]
pub fn bench_chunker(data: Vec<u8>) -> Result<JsValue, JsValue> {
    use cairn_core::chunk::{Chunker, Splitter};
    const PIECE: usize = 1 << 20;
    let timed = |f: &mut dyn FnMut() -> usize| {
        let start = now();
        let n = f();
        (now() - start, n)
    };
    let (sha, _) = timed(&mut || {
        let mut h = cairn_core::Hasher::new();
        data.chunks(PIECE).for_each(|p| h.update(p));
        h.finish();
        0
    });
    let (split, chunks) = timed(&mut || {
        let (mut s, mut out) = (Splitter::new(), Vec::new());
        data.chunks(PIECE).for_each(|p| s.update(p, &mut out));
        s.finish(&mut out);
        out.len()
    });
    let (chunker, _) = timed(&mut || {
        let (mut c, mut out) = (Chunker::new(), Vec::new());
        data.chunks(PIECE).for_each(|p| c.update(p, &mut out));
        c.finish(&mut out);
        out.len()
    });
    // the per-chunk hashes alone, over the same boundaries: BLAKE3 (what the splitter does) and
    // SHA-256 (the alternative); the Gear loop costs `split - blake3`
    let mut c = Vec::new();
    let mut s = Splitter::new();
    data.chunks(PIECE).for_each(|p| s.update(p, &mut c));
    s.finish(&mut c);
    let spans = |f: &dyn Fn(&[u8])| {
        for ch in &c {
            let at = ch.offset as usize;
            f(&data[at..at + ch.len as usize]);
        }
        0
    };
    let (blake3, _) = timed(&mut || {
        spans(&|b| {
            cairn_core::chunk::ChunkHash::of(b);
        })
    });
    let (sha_chunks, _) = timed(&mut || {
        spans(&|b| {
            Digest::of(b);
        })
    });
    let answer = Object::new();
    for (key, value) in [
        ("sha", sha),
        ("split", split),
        ("chunker", chunker),
        ("blake3", blake3),
        ("sha_chunks", sha_chunks),
        ("chunks", chunks as f64),
    ] {
        Reflect::set(&answer, &key.into(), &value.into())?;
    }
    Ok(answer.into())
}
