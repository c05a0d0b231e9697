//! The content-defined chunker, version 1 (`chunker: 1` on the wire): one streaming pass over a
//! file yields its whole-file SHA-256 (the blob's identity), the chunk boundaries, and a BLAKE3
//! hash per chunk, in constant memory. Boundaries depend only on the 64 bytes before each
//! candidate position, so an edit moves at most the boundaries next to it: the chunks before
//! and after it are found again, which is what lets a client send only the bytes that changed.
//!
//! The rules are frozen (`docs/chunking.md` states them for other implementations; golden
//! vectors in `tests/chunker-v1.json` are checked natively and in wasm32). A change to any of
//! them is a new chunker version, never an edit of this one.
//!
//! ```
//! use cairn_core::chunk::{Chunker, MAX_CHUNK};
//!
//! let data: Vec<u8> = (0..1_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
//! let mut chunker = Chunker::new();
//! let mut chunks = Vec::new();
//! for piece in data.chunks(4096) {
//!     chunker.update(piece, &mut chunks);
//! }
//! let digest = chunker.finish(&mut chunks);
//! assert_eq!(digest, cairn_core::Digest::of(&data));
//! assert_eq!(chunks.iter().map(|c| c.len as usize).sum::<usize>(), data.len());
//! assert!(chunks.iter().all(|c| c.len as usize <= MAX_CHUNK));
//! ```

use crate::digest::{Digest, Hasher};

/// The chunker version these rules are.
pub const CHUNKER_VERSION: u32 = 1;
/// No chunk but a file's last is shorter (8 KiB).
pub const MIN_CHUNK: usize = 8 * 1024;
/// No chunk is longer (128 KiB).
pub const MAX_CHUNK: usize = 128 * 1024;
/// A boundary is a position whose rolling hash has these bits all zero: the top 16, so past
/// the minimum one position in 65,536 qualifies (chunks average about 72 KiB).
pub const MASK: u64 = 0xffff_0000_0000_0000;
/// The rolling hash sees this many bytes: positions before `MIN_CHUNK - WINDOW` in a chunk
/// cannot affect a boundary test, so they are not hashed.
const WINDOW: usize = 64;

/// The Gear table: 256 values of SplitMix64 seeded with `GEAR_SEED`, in order.
pub const GEAR: [u64; 256] = gear_table();
/// The seed of the Gear table ("cairncdc").
pub const GEAR_SEED: u64 = 0x6361_6972_6e63_6463;

const fn gear_table() -> [u64; 256] {
    let mut table = [0u64; 256];
    let mut state = GEAR_SEED;
    let mut i = 0;
    while i < 256 {
        // SplitMix64 (Steele, Lea, Flood 2014)
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        table[i] = z ^ (z >> 31);
        i += 1;
    }
    table
}

/// A 32-byte hash shown as 64 lowercase hex characters (in JSON too): chunks, segments, packs.
macro_rules! hex_hash {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            /// Lowercase hex.
            pub fn hex(&self) -> String {
                hex::encode(self.0)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.hex())
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.hex())
            }
        }

        impl std::str::FromStr for $name {
            type Err = crate::Error;
            fn from_str(s: &str) -> crate::Result<Self> {
                let mut out = [0u8; 32];
                if s.len() != 64 || s.bytes().any(|b| b.is_ascii_uppercase()) {
                    return Err(crate::Error::InvalidHash { what: $what, value: s.to_owned() });
                }
                hex::decode_to_slice(s, &mut out)
                    .map_err(|_| crate::Error::InvalidHash { what: $what, value: s.to_owned() })?;
                Ok(Self(out))
            }
        }

        crate::digest::serde_via_str!($name);
    };
}
pub(crate) use hex_hash;

hex_hash!(
    /// A chunk's identity: the BLAKE3 hash of its bytes.
    ChunkHash,
    "chunk hash"
);

impl ChunkHash {
    /// The hash of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(*blake3::hash(bytes).as_bytes())
    }
}

/// One chunk of a file: where it is and what it hashes to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Chunk {
    /// Its first byte's position in the file.
    pub offset: u64,
    /// Its length in bytes (1 ..= [`MAX_CHUNK`]).
    pub len: u32,
    /// The BLAKE3 hash of its bytes.
    pub hash: ChunkHash,
}

/// Splits a stream into chunks while hashing it whole: feed it with [`update`](Self::update)
/// in pieces of any size (the result does not depend on how the stream is cut), then
/// [`finish`](Self::finish). It is a [`Splitter`] and a SHA-256 [`Hasher`] fed the same bytes;
/// a client with two cores may run the two on separate threads instead (the SHA-256 alone is
/// about as fast as the splitter alone).
#[derive(Clone, Debug, Default)]
pub struct Chunker {
    file: Hasher,
    split: Splitter,
}

impl Chunker {
    /// A chunker at the start of a file.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes fed so far.
    pub fn position(&self) -> u64 {
        self.split.position()
    }

    /// Feed the next bytes; the chunks they complete are appended to `out`.
    pub fn update(&mut self, data: &[u8], out: &mut Vec<Chunk>) {
        self.file.update(data);
        self.split.update(data, out);
    }

    /// [`update`](Self::update), also noting the file's SHA-256
    /// [checkpoints](crate::checkpoint) at every multiple of `every` bytes it reaches.
    pub fn update_noting(
        &mut self,
        data: &[u8],
        out: &mut Vec<Chunk>,
        every: u64,
        noted: &mut Vec<crate::checkpoint::Checkpoint>,
    ) {
        self.file.update_noting(data, every, noted);
        self.split.update(data, out);
    }

    /// The end of the file: its last chunk (if any bytes are left) is appended to `out`; the
    /// answer is the whole file's SHA-256.
    pub fn finish(self, out: &mut Vec<Chunk>) -> Digest {
        self.split.finish(out);
        self.file.finish()
    }
}

/// The chunk boundaries and the BLAKE3 hash of each chunk, without the whole-file SHA-256.
#[derive(Clone)]
pub struct Splitter {
    chunk: blake3::Hasher,
    /// Bytes in the current chunk so far.
    len: usize,
    /// Where the current chunk starts.
    offset: u64,
    /// The rolling hash.
    roll: u64,
}

impl Default for Splitter {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Splitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Splitter")
            .field("offset", &self.offset)
            .field("len", &self.len)
            .finish()
    }
}

impl Splitter {
    /// A splitter at the start of a file.
    pub fn new() -> Self {
        Self {
            chunk: blake3::Hasher::new(),
            len: 0,
            offset: 0,
            roll: 0,
        }
    }

    /// Bytes fed so far.
    pub fn position(&self) -> u64 {
        self.offset + self.len as u64
    }

    /// Feed the next bytes; the chunks they complete are appended to `out`.
    pub fn update(&mut self, mut data: &[u8], out: &mut Vec<Chunk>) {
        while !data.is_empty() {
            let skip = MIN_CHUNK - WINDOW;
            if self.len < skip {
                // too early in the chunk for any boundary: hash without rolling
                let n = (skip - self.len).min(data.len());
                self.take(&data[..n]);
                data = &data[n..];
                continue;
            }
            let room = (MAX_CHUNK - self.len).min(data.len());
            let mut roll = self.roll;
            // up to the minimum the hash rolls untested; from there each position is a candidate
            let untested = (MIN_CHUNK - 1).saturating_sub(self.len).min(room);
            for &b in &data[..untested] {
                roll = (roll << 1).wrapping_add(GEAR[b as usize]);
            }
            let mut cut = None;
            let mut i = untested;
            let d = &data[..room];
            // two bytes a step: both candidates follow from `roll` alone, so the dependency
            // chain is one shift and one add per two bytes, not per byte
            while i + 1 < d.len() {
                let g0 = GEAR[d[i] as usize];
                let g1 = GEAR[d[i + 1] as usize];
                let first = (roll << 1).wrapping_add(g0);
                let second = (roll << 2).wrapping_add((g0 << 1).wrapping_add(g1));
                if first & MASK == 0 {
                    roll = first;
                    cut = Some(i + 1);
                    break;
                }
                roll = second;
                i += 2;
                if second & MASK == 0 {
                    cut = Some(i);
                    break;
                }
            }
            if cut.is_none() && i < d.len() {
                roll = (roll << 1).wrapping_add(GEAR[d[i] as usize]);
                i += 1;
                if roll & MASK == 0 {
                    cut = Some(i);
                }
            }
            self.roll = roll;
            let n = cut.unwrap_or(room);
            self.take(&data[..n]);
            data = &data[n..];
            if cut.is_some() || self.len == MAX_CHUNK {
                out.push(self.cut());
            }
        }
    }

    /// The end of the file: its last chunk (if any bytes are left) is appended to `out`.
    pub fn finish(mut self, out: &mut Vec<Chunk>) {
        if self.len > 0 {
            out.push(self.cut());
        }
    }

    fn take(&mut self, bytes: &[u8]) {
        self.chunk.update(bytes);
        self.len += bytes.len();
    }

    fn cut(&mut self) -> Chunk {
        let chunk = Chunk {
            offset: self.offset,
            len: self.len as u32,
            hash: ChunkHash(*self.chunk.finalize().as_bytes()),
        };
        self.offset += self.len as u64;
        self.len = 0;
        self.roll = 0;
        self.chunk.reset();
        chunk
    }
}

/// The first bytes of a chunk list (`GET {P}/blobs/{digest}/chunks`).
pub const CHUNK_LIST_MAGIC: &[u8; 8] = b"CAIRNCL1";

/// Encode a blob's chunk list: `CAIRNCL1`, a u64 count, then each chunk's BLAKE3 hash (32
/// bytes) and length (u32), little endian: 36 bytes a chunk, about 1 MiB for 2 GiB.
pub fn encode_chunk_list(chunks: &[(ChunkHash, u32)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + chunks.len() * 36);
    out.extend_from_slice(CHUNK_LIST_MAGIC);
    out.extend_from_slice(&(chunks.len() as u64).to_le_bytes());
    for (hash, len) in chunks {
        out.extend_from_slice(&hash.0);
        out.extend_from_slice(&len.to_le_bytes());
    }
    out
}

/// Decode a chunk list; offsets follow from the lengths.
pub fn decode_chunk_list(bytes: &[u8]) -> crate::Result<Vec<Chunk>> {
    let bad = |why: &str| crate::Error::InvalidPack(format!("chunk list: {why}"));
    let rest = bytes
        .strip_prefix(CHUNK_LIST_MAGIC)
        .ok_or_else(|| bad("no CAIRNCL1"))?;
    let (count, entries) = rest.split_at_checked(8).ok_or_else(|| bad("too short"))?;
    let count = u64::from_le_bytes(count.try_into().expect("8 bytes"));
    if entries.len() as u64 != count.saturating_mul(36) {
        return Err(bad("its length does not match its count"));
    }
    let mut offset = 0;
    Ok(entries
        .chunks_exact(36)
        .map(|e| {
            let len = u32::from_le_bytes(e[32..].try_into().expect("4 bytes"));
            let chunk = Chunk {
                offset,
                len,
                hash: ChunkHash(e[..32].try_into().expect("32 bytes")),
            };
            offset += len as u64;
            chunk
        })
        .collect())
}

/// Chunk a whole in-memory file: (its SHA-256, its chunks).
pub fn chunk_all(data: &[u8]) -> (Digest, Vec<Chunk>) {
    let mut chunker = Chunker::new();
    let mut chunks = Vec::new();
    chunker.update(data, &mut chunks);
    let digest = chunker.finish(&mut chunks);
    (digest, chunks)
}

pub mod golden;
#[cfg(test)]
mod tests;
