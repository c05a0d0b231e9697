//! Packs: many chunks in one upload body and one stored object (`docs/chunking.md`).
//!
//! ```text
//! magic    "CAIRNPK1"                       8 bytes
//! count    u32, little endian               1 ..= MAX_PACK_CHUNKS
//! entries  count × (BLAKE3 hash 32 bytes, length u32 LE 1 ..= MAX_CHUNK)
//! data     the chunks' bytes, in entry order, nothing after
//! ```
//!
//! The body a client uploads is the object the registry stores, byte for byte, once
//! [`PackVerifier`] has checked every chunk against its hash.
//!
//! ```
//! use cairn_core::pack::{PackBuilder, PackVerifier};
//!
//! let mut pack = PackBuilder::new();
//! pack.push(b"first chunk");
//! pack.push(b"second");
//! let body = pack.finish();
//! let mut verifier = PackVerifier::new();
//! for piece in body.chunks(7) {
//!     verifier.update(piece).unwrap();
//! }
//! let header = verifier.finish().unwrap();
//! assert_eq!(header.entries.len(), 2);
//! assert_eq!(header.data_len(), 17);
//! ```

use crate::chunk::{ChunkHash, MAX_CHUNK, hex_hash};
use crate::error::{Error, Result};

/// The first bytes of every pack.
pub const PACK_MAGIC: &[u8; 8] = b"CAIRNPK1";
/// Most chunks one pack may hold.
pub const MAX_PACK_CHUNKS: usize = 16_384;
/// Most data bytes one pack may hold (clients fill packs up to about this).
pub const MAX_PACK_DATA: u64 = 64 * 1024 * 1024;
/// Bytes of one entry in the header.
const ENTRY: usize = 36;
/// Bytes before the entries.
const PREFIX: usize = 12;

hex_hash!(
    /// A pack's name in its project: BLAKE3 of the project and the pack's header, so sending
    /// the same pack again names the same object.
    PackId,
    "pack id"
);

hex_hash!(
    /// A client's name for one stream of packs: the chunks of one large file, sent in order, which
    /// the registry hashes as they arrive (`POST {P}/packs?stream=…&at=…`, `docs/chunking.md`).
    /// Random; it carries no meaning but "these packs follow one another".
    StreamId,
    "stream id"
);

impl PackId {
    /// The id of a pack with this `header` (its encoded bytes) uploaded to `owner`
    /// (`entity/project`).
    pub fn of(owner: &str, header: &[u8]) -> Self {
        let mut h = blake3::Hasher::new();
        h.update(owner.as_bytes());
        h.update(&[0]);
        h.update(header);
        Self(*h.finalize().as_bytes())
    }
}

/// One chunk in a pack's header.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PackEntry {
    /// What its bytes hash to.
    pub hash: ChunkHash,
    /// How many bytes it has.
    pub len: u32,
}

/// What a pack holds, in order.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct PackHeader {
    /// The chunks.
    pub entries: Vec<PackEntry>,
}

impl PackHeader {
    /// The header's encoded length for `count` chunks (where the data starts).
    pub fn encoded_len(count: usize) -> u64 {
        (PREFIX + ENTRY * count) as u64
    }

    /// The encoded header.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::encoded_len(self.entries.len()) as usize);
        out.extend_from_slice(PACK_MAGIC);
        out.extend_from_slice(&(self.entries.len() as u32).to_le_bytes());
        for e in &self.entries {
            out.extend_from_slice(&e.hash.0);
            out.extend_from_slice(&e.len.to_le_bytes());
        }
        out
    }

    /// How many chunks an encoded header holds, from its first 12 bytes.
    pub fn count(prefix: &[u8]) -> Result<usize> {
        if prefix.len() < PREFIX || &prefix[..8] != PACK_MAGIC {
            return Err(Error::InvalidPack(
                "it does not start with CAIRNPK1 and a chunk count".into(),
            ));
        }
        let count = u32::from_le_bytes(prefix[8..12].try_into().expect("4 bytes")) as usize;
        if count == 0 || count > MAX_PACK_CHUNKS {
            return Err(Error::InvalidPack(format!(
                "{count} chunks; a pack holds 1 to {MAX_PACK_CHUNKS}"
            )));
        }
        Ok(count)
    }

    /// Decode a whole encoded header.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let count = Self::count(bytes)?;
        if bytes.len() as u64 != Self::encoded_len(count) {
            return Err(Error::InvalidPack(format!(
                "a header of {count} chunks is {} bytes, not {}",
                Self::encoded_len(count),
                bytes.len()
            )));
        }
        let mut entries = Vec::with_capacity(count);
        for raw in bytes[PREFIX..].chunks_exact(ENTRY) {
            let len = u32::from_le_bytes(raw[32..].try_into().expect("4 bytes"));
            let hash = ChunkHash(raw[..32].try_into().expect("32 bytes"));
            if len == 0 || len as usize > MAX_CHUNK {
                return Err(Error::InvalidPack(format!(
                    "chunk {hash} has {len} bytes; a chunk has 1 to {MAX_CHUNK}"
                )));
            }
            entries.push(PackEntry { hash, len });
        }
        Ok(Self { entries })
    }

    /// The total length of the chunks' bytes.
    pub fn data_len(&self) -> u64 {
        self.entries.iter().map(|e| e.len as u64).sum()
    }

    /// Each chunk with its offset in the pack object (header included).
    pub fn locations(&self) -> impl Iterator<Item = (PackEntry, u64)> + '_ {
        let mut at = Self::encoded_len(self.entries.len());
        self.entries.iter().map(move |e| {
            let here = at;
            at += e.len as u64;
            (*e, here)
        })
    }
}

/// Builds a pack body in memory.
#[derive(Debug, Default)]
pub struct PackBuilder {
    header: PackHeader,
    data: Vec<u8>,
}

impl PackBuilder {
    /// An empty pack.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a chunk (1 to `MAX_CHUNK` bytes), hashing it.
    pub fn push(&mut self, bytes: &[u8]) {
        self.push_hashed(ChunkHash::of(bytes), bytes);
    }

    /// Add a chunk whose hash is known.
    pub fn push_hashed(&mut self, hash: ChunkHash, bytes: &[u8]) {
        self.header.entries.push(PackEntry {
            hash,
            len: bytes.len() as u32,
        });
        self.data.extend_from_slice(bytes);
    }

    /// Chunks so far.
    pub fn len(&self) -> usize {
        self.header.entries.len()
    }

    /// No chunk yet.
    pub fn is_empty(&self) -> bool {
        self.header.entries.is_empty()
    }

    /// Data bytes so far.
    pub fn data_len(&self) -> u64 {
        self.data.len() as u64
    }

    /// Whether a chunk of `len` more bytes would overflow the pack.
    pub fn would_overflow(&self, len: usize) -> bool {
        self.len() >= MAX_PACK_CHUNKS || self.data.len() + len > MAX_PACK_DATA as usize
    }

    /// An empty pack with room for `data` bytes of chunks.
    pub fn with_capacity(data: usize) -> Self {
        Self {
            header: PackHeader::default(),
            data: Vec::with_capacity(data),
        }
    }

    /// The body.
    pub fn finish(self) -> Vec<u8> {
        let (mut out, data) = self.into_parts();
        out.extend_from_slice(&data);
        out
    }

    /// The body in two parts, the encoded header and the data, to send one after the other
    /// without copying the data.
    pub fn into_parts(self) -> (Vec<u8>, Vec<u8>) {
        (self.header.encode(), self.data)
    }
}

/// Checks a pack body fed in pieces of any size: the header's shape, and every chunk's bytes
/// against its hash; [`finish`](Self::finish) checks that nothing is missing or left over.
#[derive(Debug, Default)]
pub struct PackVerifier {
    raw: Vec<u8>,
    header: Option<PackHeader>,
    entry: usize,
    filled: u32,
    hasher: blake3::Hasher,
    total: u64,
}

impl PackVerifier {
    /// Nothing seen yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes seen so far.
    pub fn position(&self) -> u64 {
        self.total
    }

    /// The next piece of the body.
    pub fn update(&mut self, mut data: &[u8]) -> Result<()> {
        self.total += data.len() as u64;
        while !data.is_empty() {
            let Some(header) = &self.header else {
                let want = if self.raw.len() < PREFIX {
                    PREFIX
                } else {
                    PackHeader::encoded_len(PackHeader::count(&self.raw)?) as usize
                };
                let take = (want - self.raw.len()).min(data.len());
                self.raw.extend_from_slice(&data[..take]);
                data = &data[take..];
                if self.raw.len() == want && want > PREFIX {
                    self.header = Some(PackHeader::decode(&self.raw)?);
                } else if self.raw.len() == PREFIX {
                    PackHeader::count(&self.raw)?;
                }
                continue;
            };
            let Some(entry) = header.entries.get(self.entry) else {
                return Err(Error::InvalidPack(format!(
                    "bytes after the last of its {} chunks",
                    header.entries.len()
                )));
            };
            let take = ((entry.len - self.filled) as usize).min(data.len());
            self.hasher.update(&data[..take]);
            self.filled += take as u32;
            data = &data[take..];
            if self.filled == entry.len {
                let actual = ChunkHash(*self.hasher.finalize().as_bytes());
                if actual != entry.hash {
                    return Err(Error::InvalidPack(format!(
                        "chunk {} (number {}) hashes to {actual}",
                        entry.hash, self.entry
                    )));
                }
                self.hasher.reset();
                self.filled = 0;
                self.entry += 1;
            }
        }
        Ok(())
    }

    /// The header, once every chunk has arrived whole and verified.
    pub fn finish(self) -> Result<PackHeader> {
        match self.header {
            Some(h) if self.entry == h.entries.len() => Ok(h),
            Some(h) => Err(Error::InvalidPack(format!(
                "it ends in chunk {} of {}",
                self.entry,
                h.entries.len()
            ))),
            None => Err(Error::InvalidPack("it ends inside its header".into())),
        }
    }

    /// The header's encoded bytes (once the header has been seen).
    pub fn header_bytes(&self) -> Option<&[u8]> {
        self.header.as_ref().map(|_| self.raw.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(chunks: &[&[u8]]) -> Vec<u8> {
        let mut b = PackBuilder::new();
        for c in chunks {
            b.push(c);
        }
        b.finish()
    }

    fn verify(body: &[u8], piece: usize) -> Result<PackHeader> {
        let mut v = PackVerifier::new();
        for p in body.chunks(piece) {
            v.update(p)?;
        }
        v.finish()
    }

    #[test]
    fn round_trips_in_any_pieces() {
        let b = body(&[b"a", b"bcd", &[7u8; 5000]]);
        for piece in [1, 2, 11, 12, 13, 47, 4096, b.len()] {
            let h = verify(&b, piece).unwrap();
            let locs: Vec<_> = h.locations().map(|(e, at)| (e.len, at)).collect();
            assert_eq!(locs, vec![(1, 120), (3, 121), (5000, 124)]);
        }
    }

    #[test]
    fn names_the_chunk_whose_bytes_are_wrong() {
        let mut b = body(&[b"hello", b"world"]);
        let last = b.len() - 1;
        b[last] ^= 1;
        let err = verify(&b, 3).unwrap_err().to_string();
        assert!(err.contains(&ChunkHash::of(b"world").hex()), "{err}");
        assert!(err.contains("number 1"), "{err}");
    }

    #[test]
    fn refuses_truncated_extended_and_malformed_bodies() {
        let b = body(&[b"hello", b"world"]);
        assert!(verify(&b[..b.len() - 1], 4).is_err());
        assert!(verify(&b[..5], 4).is_err());
        let mut longer = b.clone();
        longer.push(0);
        assert!(verify(&longer, 4).is_err());
        let mut magic = b.clone();
        magic[0] = b'X';
        assert!(verify(&magic, 4).is_err());
        assert!(verify(&PackHeader::default().encode(), 4).is_err());
        let mut zero = PackHeader::default();
        zero.entries.push(PackEntry {
            hash: ChunkHash::of(b""),
            len: 0,
        });
        assert!(verify(&zero.encode(), 4).is_err());
    }

    #[test]
    fn ids_depend_on_the_project() {
        let h = PackHeader::decode(&body(&[b"x"])[..48]).unwrap().encode();
        assert_eq!(PackId::of("a/b", &h), PackId::of("a/b", &h));
        assert_ne!(PackId::of("a/b", &h), PackId::of("a/c", &h));
        let shown = PackId::of("a/b", &h).to_string();
        assert_eq!(shown.parse::<PackId>().unwrap(), PackId::of("a/b", &h));
        assert!(shown.to_uppercase().parse::<PackId>().is_err());
    }
}
