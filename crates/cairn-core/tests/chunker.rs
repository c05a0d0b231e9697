//! The chunker against its frozen golden vectors (the web app's browser tests check the same
//! file in wasm32). `CAIRN_BLESS_CHUNKER=1` writes the file from the current chunker instead:
//! only ever for a new chunker version, never to make this test pass.

use cairn_core::chunk::golden::{self, Input, Vectors};

const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/chunker-v1.json");

fn cases() -> Vec<golden::Case> {
    let random = |seed, len| Input::Random { seed, len };
    vec![
        golden::case("empty", random(1, 0)),
        golden::case("one byte", random(1, 1)),
        golden::case("below the minimum", random(2, 8191)),
        // found by search: the 64 bytes ending at 8,192 roll to a boundary, so the first chunk
        // is exactly the minimum (the first position tested)
        golden::case("a boundary at exactly the minimum", random(277_498, 20_000)),
        golden::case(
            "zeros: every chunk at the maximum",
            Input::Repeat {
                byte: 0,
                len: 300_000,
            },
        ),
        golden::case("2 MiB + 12,345 random bytes", random(3, (2 << 20) + 12_345)),
        golden::case(
            "the same with 100 KiB overwritten at 1 MiB",
            Input::Edited {
                seed: 3,
                len: (2 << 20) + 12_345,
                edit_at: 1 << 20,
                edit_len: 100 << 10,
                edit_seed: 4,
            },
        ),
    ]
}

#[test]
fn golden_vectors() {
    if std::env::var_os("CAIRN_BLESS_CHUNKER").is_some() {
        let vectors = Vectors {
            chunker: cairn_core::chunk::CHUNKER_VERSION,
            cases: cases(),
        };
        std::fs::write(FILE, serde_json::to_string_pretty(&vectors).unwrap() + "\n").unwrap();
    }
    let json = std::fs::read_to_string(FILE).unwrap();
    assert_eq!(golden::check(&json), Ok(7));
    // and the file describes exactly these inputs
    let vectors: Vectors = serde_json::from_str(&json).unwrap();
    let inputs: Vec<Input> = vectors.cases.into_iter().map(|c| c.input).collect();
    let want: Vec<Input> = cases().into_iter().map(|c| c.input).collect();
    assert_eq!(inputs, want);
}
