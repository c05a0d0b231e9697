//! Golden vectors: inputs anyone can regenerate, and a check of the chunker against the frozen
//! answers (`tests/chunker-v1.json`), run natively by cairn-core's tests and in wasm32 by the
//! web app's browser tests, so the two can never drift apart.

use serde::{Deserialize, Serialize};

use super::{Chunk, chunk_all};

/// `len` bytes of SplitMix64 seeded with `seed`: each step's 64-bit output, little-endian.
pub fn input(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// How a case's input is made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Input {
    /// [`input`]`(seed, len)`.
    Random {
        /// The seed.
        seed: u64,
        /// The length.
        len: usize,
    },
    /// `len` copies of `byte`.
    Repeat {
        /// The byte.
        byte: u8,
        /// The length.
        len: usize,
    },
    /// [`input`]`(seed, len)` with `edit_len` bytes at `edit_at` replaced by
    /// [`input`]`(edit_seed, edit_len)`.
    Edited {
        /// The seed.
        seed: u64,
        /// The length.
        len: usize,
        /// Where the edit starts.
        edit_at: usize,
        /// The edit's length.
        edit_len: usize,
        /// The seed of the edit's bytes.
        edit_seed: u64,
    },
}

impl Input {
    /// The bytes.
    pub fn bytes(&self) -> Vec<u8> {
        match *self {
            Self::Random { seed, len } => input(seed, len),
            Self::Repeat { byte, len } => vec![byte; len],
            Self::Edited {
                seed,
                len,
                edit_at,
                edit_len,
                edit_seed,
            } => {
                let mut data = input(seed, len);
                data[edit_at..edit_at + edit_len].copy_from_slice(&input(edit_seed, edit_len));
                data
            }
        }
    }
}

/// One golden case: an input, its SHA-256 and its chunks as `[offset, len, blake3 hex]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    /// What it shows.
    pub name: String,
    /// The input.
    pub input: Input,
    /// The whole input's SHA-256 (`sha256:<hex>`).
    pub sha256: String,
    /// The chunks.
    pub chunks: Vec<(u64, u32, String)>,
}

/// A file of golden vectors.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vectors {
    /// The chunker version they freeze.
    pub chunker: u32,
    /// The cases.
    pub cases: Vec<Case>,
}

/// What the chunker answers for `input` now, as a case named `name`.
pub fn case(name: &str, input: Input) -> Case {
    let (digest, chunks) = chunk_all(&input.bytes());
    Case {
        name: name.to_owned(),
        input,
        sha256: digest.to_string(),
        chunks: chunks
            .iter()
            .map(|c: &Chunk| (c.offset, c.len, c.hash.hex()))
            .collect(),
    }
}

/// Check the chunker against golden vectors (JSON): `Err` names the first case that differs
/// and where.
pub fn check(json: &str) -> Result<usize, String> {
    let vectors: Vectors = serde_json::from_str(json).map_err(|e| e.to_string())?;
    if vectors.chunker != super::CHUNKER_VERSION {
        return Err(format!("vectors for chunker {}", vectors.chunker));
    }
    for want in &vectors.cases {
        let got = case(&want.name, want.input.clone());
        if got.sha256 != want.sha256 {
            return Err(format!(
                "{}: sha256 {} != {}",
                want.name, got.sha256, want.sha256
            ));
        }
        if let Some(i) = (0..want.chunks.len().max(got.chunks.len()))
            .find(|&i| got.chunks.get(i) != want.chunks.get(i))
        {
            return Err(format!(
                "{}: chunk {i} is {:?}, the vectors say {:?}",
                want.name,
                got.chunks.get(i),
                want.chunks.get(i)
            ));
        }
    }
    Ok(vectors.cases.len())
}
