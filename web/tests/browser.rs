//! In a real browser (headless Chromium): hashing and chunking a `File` slice by slice gives the
//! digests and chunks cairn-core gives natively, and drafts behave the same in wasm.
#![cfg(target_arch = "wasm32")]

use cairn_core::{Digest, Draft, Entry, EntryPath, Manifest, apply};
use js_sys::{Array, Uint8Array};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn file(name: &str, bytes: &[u8]) -> web_sys::File {
    let parts = Array::of1(&Uint8Array::from(bytes));
    web_sys::File::new_with_u8_array_sequence(&parts, name).unwrap()
}

#[wasm_bindgen_test]
async fn hashing_a_file_matches_native_digests() {
    // across the slice size, so several slices are read
    let big: Vec<u8> = (0..(cairn_web::files::SLICE as usize * 2 + 12_345))
        .map(|i| (i % 251) as u8)
        .collect();
    for bytes in [&b""[..], b"abc", &big] {
        let mut seen = 0;
        let hashed = cairn_web::files::hash(&file("f", bytes), |d| seen = d, || false)
            .await
            .unwrap();
        assert_eq!(hashed.digest, Digest::of(bytes));
        // the same chunks as the one-buffer native path, whatever the slices were
        assert_eq!(hashed.chunks, cairn_core::chunk::chunk_all(bytes).1);
        assert_eq!(seen, bytes.len() as u64);
        // and through the bytes a worker hands the page
        let back = cairn_web::files::Hashed::from_parts(hashed.digest, &hashed.chunk_list());
        assert_eq!(back, Ok(hashed));
    }
    let known = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    assert_eq!(
        cairn_web::files::hash(&file("abc", b"abc"), |_| {}, || false)
            .await
            .unwrap()
            .digest
            .to_string(),
        known
    );
    // cancel stops between slices
    assert!(
        cairn_web::files::hash(&file("f", &big), |_| {}, || true)
            .await
            .is_err()
    );
}

#[wasm_bindgen_test]
fn drafts_patch_the_same_in_wasm() {
    let mut base = Manifest::new();
    for (p, c) in [("a", "1"), ("dir/b", "2"), ("dir/c", "3")] {
        base.insert(
            EntryPath::new(p).unwrap(),
            Entry::blob(Digest::of(c.as_bytes()), 1),
        )
        .unwrap();
    }
    let mut d = Draft::from_base(base.clone());
    d.remove("dir").unwrap();
    d.put(
        EntryPath::new("a").unwrap(),
        Entry::blob(Digest::of(b"new"), 3),
    )
    .unwrap();
    assert_eq!(&apply(&base, &d.patch()).unwrap(), d.manifest());
    assert_eq!(d.summary().removed, 2);
    assert_eq!(
        Manifest::new().digest().to_string(),
        Digest::of(b"cairn-artifact-manifest-v1\n").hex()
    );
}

#[wasm_bindgen_test]
async fn a_pool_whose_workers_cannot_start_hashes_on_the_page() {
    // the script 404s: each worker fails, leaves the pool, and the file is hashed on the page
    let pool =
        cairn_web::pool::Pool::start_with(Some(2), "/no-such-worker.js".into()).expect("a pool");
    let hashed = pool.hash(file("f", b"abc"), |_| {}).await.unwrap();
    assert_eq!(hashed.digest, Digest::of(b"abc"));
    assert_eq!(pool.alive(), 0);
    // and later files too, many to a job, each with its own result and progress over all
    let seen = std::rc::Rc::new(std::cell::Cell::new(0));
    let counted = seen.clone();
    let batch = pool
        .hash_many(vec![file("g", b"later"), file("h", b"")], move |d| {
            counted.set(d)
        })
        .await
        .unwrap();
    let digests: Vec<Digest> = batch.into_iter().map(|r| r.unwrap().digest).collect();
    assert_eq!(digests, [Digest::of(b"later"), Digest::of(b"")]);
    assert_eq!(seen.get(), 5);
}

#[wasm_bindgen_test]
fn the_chunker_matches_its_golden_vectors_in_wasm() {
    // the same frozen file cairn-core's native tests check: same boundaries, same hashes
    let json = include_str!("../../crates/cairn-core/tests/chunker-v1.json");
    assert_eq!(cairn_core::chunk::golden::check(json), Ok(7));
}
