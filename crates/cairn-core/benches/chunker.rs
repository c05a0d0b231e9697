//! The chunker's cost, native: one pass of chunker v1 (SHA-256 of the file + Gear boundaries +
//! BLAKE3 per chunk) against the baseline every push pays today (SHA-256 of the file alone),
//! and against the alternative chunk hash (SHA-256 per chunk). `cargo bench -p cairn-core
//! --bench chunker [MiB]`; the browser's numbers come from tests/e2e/bench.mjs.

use std::time::Instant;

use cairn_core::chunk::{Chunker, GEAR, MASK, MAX_CHUNK, MIN_CHUNK, Splitter, golden};
use cairn_core::{Digest, Hasher};

/// Best of three, in MB/s.
fn rate(bytes: usize, mut f: impl FnMut() -> usize) -> (f64, usize) {
    let mut best = f64::MAX;
    let mut out = 0;
    for _ in 0..3 {
        let t = Instant::now();
        out = f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    (bytes as f64 / best / 1e6, out)
}

/// Chunker v1's boundaries with SHA-256 per chunk instead of BLAKE3 (the alternative).
fn sha_chunks(data: &[u8]) -> (Digest, usize) {
    let file = Digest::of(data);
    let (mut start, mut n, mut roll) = (0, 0, 0u64);
    let mut i = 0;
    while i < data.len() {
        let len = i - start + 1;
        if len > MIN_CHUNK - 64 {
            roll = (roll << 1).wrapping_add(GEAR[data[i] as usize]);
        }
        if (len >= MIN_CHUNK && roll & MASK == 0) || len == MAX_CHUNK || i + 1 == data.len() {
            std::hint::black_box(Digest::of(&data[start..=i]));
            n += 1;
            start = i + 1;
            roll = 0;
        }
        i += 1;
    }
    (file, n)
}

fn main() {
    let mib: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(512);
    let data = golden::input(7, mib << 20);
    println!("{mib} MiB in memory, one core, best of 3\n");
    println!("| pass | MB/s | vs SHA-256 alone |");
    println!("|---|---|---|");
    let (base, _) = rate(data.len(), || {
        let mut h = Hasher::new();
        h.update(&data);
        std::hint::black_box(h.finish());
        0
    });
    let row = |name: &str, r: f64| println!("| {name} | {r:.0} | {:.2}× |", r / base);
    row("baseline: SHA-256 of the file", base);
    let (b3, _) = rate(data.len(), || {
        std::hint::black_box(blake3::hash(&data));
        0
    });
    row("BLAKE3 of the file (reference)", b3);
    let (gear, _) = rate(data.len(), || {
        let mut roll = 0u64;
        let mut cuts = 0;
        for &b in &data {
            roll = (roll << 1).wrapping_add(GEAR[b as usize]);
            if roll & MASK == 0 {
                cuts += 1;
            }
        }
        std::hint::black_box(cuts)
    });
    row("Gear rolling hash alone (reference)", gear);
    let (v1, chunks) = rate(data.len(), || {
        let mut c = Chunker::new();
        let mut out = Vec::new();
        for piece in data.chunks(1 << 20) {
            c.update(piece, &mut out);
        }
        std::hint::black_box(c.finish(&mut out));
        out.len()
    });
    row(
        &format!("chunker v1: SHA-256 + Gear + BLAKE3 per chunk ({chunks} chunks)"),
        v1,
    );
    // what a client with two cores does with one large file: each 1 MiB piece read once, the
    // SHA-256 on one thread and the splitter on the other
    let (two, _) = rate(data.len(), || {
        std::thread::scope(|scope| {
            let sha = scope.spawn(|| {
                let mut h = Hasher::new();
                for piece in data.chunks(1 << 20) {
                    h.update(piece);
                }
                h.finish()
            });
            let mut split = Splitter::new();
            let mut out = Vec::new();
            for piece in data.chunks(1 << 20) {
                split.update(piece, &mut out);
            }
            split.finish(&mut out);
            std::hint::black_box(sha.join().expect("sha thread"));
            out.len()
        })
    });
    row("chunker v1 on two threads: SHA-256 ‖ Gear + BLAKE3", two);
    let (alt, _) = rate(data.len(), || sha_chunks(&data).1);
    row("alternative: SHA-256 + Gear + SHA-256 per chunk", alt);
    let small: Vec<&[u8]> = data.chunks(1 << 20).collect();
    let (files, _) = rate(data.len(), || {
        small
            .iter()
            .map(|f| {
                let mut c = Chunker::new();
                let mut out = Vec::new();
                c.update(f, &mut out);
                std::hint::black_box(c.finish(&mut out));
                out.len()
            })
            .sum()
    });
    row(
        &format!("chunker v1 over {} files of 1 MiB", small.len()),
        files,
    );
}
