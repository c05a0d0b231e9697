//! A blob stored as chunks in packs: its recipe, the chunks in order and where each one is.
//!
//! Encoded for the metadata store as
//! `"CAIRNRC2" · packs u32 · (key length u16 · key)* · chunks u32 · (hash 32 · pack u32 · offset u64 · length u32)* · checkpoints u32 · (offset u64 · H0..H7 u32)*`,
//! little endian; pack keys are `entity/project/<pack id>`. Bodies written before SHA-256
//! checkpoints (`"CAIRNRC1"`, no checkpoint list) are read as recipes without checkpoints.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use cairn_core::Digest;
use cairn_core::checkpoint::{self, Checkpoint};
use cairn_core::chunk::ChunkHash;
use cairn_core::pack::PackId;

use crate::error::{Error, Result};

const MAGIC: &[u8; 8] = b"CAIRNRC2";
const MAGIC_V1: &[u8; 8] = b"CAIRNRC1";
const CHUNK_BYTES: usize = 48;

/// A stored pack: the project that uploaded it (`entity/project`) and its id there.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct PackKey {
    /// `entity/project`.
    pub owner: String,
    /// Its id.
    pub id: PackId,
}

impl fmt::Display for PackKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.id)
    }
}

impl FromStr for PackKey {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let (owner, id) = s
            .rsplit_once('/')
            .ok_or_else(|| Error::Corrupt(format!("pack key '{s}' has no owner")))?;
        Ok(Self {
            owner: owner.to_owned(),
            id: id.parse().map_err(Error::Invalid)?,
        })
    }
}

/// Where one chunk of a blob is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RecipeChunk {
    /// What its bytes hash to.
    pub hash: ChunkHash,
    /// Its pack: a position in [`Recipe::packs`].
    pub pack: u32,
    /// Its first byte in the pack object.
    pub offset: u64,
    /// Its length.
    pub len: u32,
}

/// A blob as chunks in packs.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Recipe {
    /// The blob.
    pub digest: Digest,
    /// Its size (the chunks' lengths add up to it).
    pub size: u64,
    /// The packs its chunks are in.
    pub packs: Vec<PackKey>,
    /// Its chunks, in order.
    pub chunks: Vec<RecipeChunk>,
    /// SHA-256 [checkpoints](cairn_core::checkpoint) of its bytes, in increasing offsets, that
    /// the registry computed while it verified the blob (or inherited from a blob with the
    /// same bytes up to there): a blob that begins with the same chunks is verified from the
    /// last one they share. Never taken from a client.
    pub checkpoints: Vec<Checkpoint>,
}

/// One read of a pack: which pack, and the byte range of the pack object.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PackRead {
    /// A position in [`Recipe::packs`].
    pub pack: usize,
    /// The bytes.
    pub range: Range<u64>,
}

impl Recipe {
    /// The encoded body.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.chunks.len() * CHUNK_BYTES);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(self.packs.len() as u32).to_le_bytes());
        for p in &self.packs {
            let key = p.to_string();
            out.extend_from_slice(&(key.len() as u16).to_le_bytes());
            out.extend_from_slice(key.as_bytes());
        }
        out.extend_from_slice(&(self.chunks.len() as u32).to_le_bytes());
        for c in &self.chunks {
            out.extend_from_slice(&c.hash.0);
            out.extend_from_slice(&c.pack.to_le_bytes());
            out.extend_from_slice(&c.offset.to_le_bytes());
            out.extend_from_slice(&c.len.to_le_bytes());
        }
        out.extend_from_slice(&(self.checkpoints.len() as u32).to_le_bytes());
        Checkpoint::encode_all(&self.checkpoints, &mut out);
        out
    }

    /// Decode the body stored for `digest` of `size` bytes.
    pub fn decode(digest: Digest, size: u64, body: &[u8]) -> Result<Self> {
        let bad = |why: &str| Error::Corrupt(format!("the recipe of {digest}: {why}"));
        let mut r = Reader(body);
        let v1 = match r.take(8).ok_or_else(|| bad("too short"))? {
            m if m == MAGIC => false,
            m if m == MAGIC_V1 => true,
            _ => return Err(bad("no CAIRNRC2")),
        };
        let n = r.u32().ok_or_else(|| bad("too short"))?;
        let mut packs = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let len = u16::from_le_bytes(r.array().ok_or_else(|| bad("too short"))?);
            let key = r.take(len as usize).ok_or_else(|| bad("too short"))?;
            let key = std::str::from_utf8(key).map_err(|_| bad("a pack key is not UTF-8"))?;
            packs.push(key.parse()?);
        }
        let n = r.u32().ok_or_else(|| bad("too short"))? as usize;
        let list = r.take(n * CHUNK_BYTES);
        let list = list.ok_or_else(|| bad("the chunk list has the wrong length"))?;
        let checkpoints = if v1 {
            Vec::new()
        } else {
            let k = r.u32().ok_or_else(|| bad("too short"))? as usize;
            let raw = r.take(k * checkpoint::ENCODED);
            let all = raw.and_then(Checkpoint::decode_all);
            all.ok_or_else(|| bad("the checkpoint list is damaged"))?
        };
        if !r.0.is_empty() {
            return Err(bad("the chunk list has the wrong length"));
        }
        if checkpoints.iter().any(|c| c.offset > size) {
            return Err(bad("a checkpoint lies past its end"));
        }
        let mut chunks = Vec::with_capacity(n);
        let mut total = 0u64;
        for raw in list.chunks_exact(CHUNK_BYTES) {
            let c = RecipeChunk {
                hash: ChunkHash(raw[..32].try_into().expect("32 bytes")),
                pack: u32::from_le_bytes(raw[32..36].try_into().expect("4 bytes")),
                offset: u64::from_le_bytes(raw[36..44].try_into().expect("8 bytes")),
                len: u32::from_le_bytes(raw[44..48].try_into().expect("4 bytes")),
            };
            if c.pack as usize >= packs.len() {
                return Err(bad("a chunk names a pack that is not listed"));
            }
            total += c.len as u64;
            chunks.push(c);
        }
        if total != size {
            return Err(bad("the chunks do not add up to its size"));
        }
        Ok(Self {
            digest,
            size,
            packs,
            chunks,
            checkpoints,
        })
    }

    /// The pack reads that produce bytes `range` of the blob, in order: adjacent chunks of one
    /// pack are read at once, and no chunk outside the range is read.
    pub fn reads(&self, range: Range<u64>) -> Vec<PackRead> {
        let mut out: Vec<PackRead> = Vec::new();
        let mut at = 0u64;
        for c in &self.chunks {
            let (start, end) = (at, at + c.len as u64);
            at = end;
            if end <= range.start || c.len == 0 {
                continue;
            }
            if start >= range.end {
                break;
            }
            let from = c.offset + range.start.saturating_sub(start);
            let to = c.offset + c.len as u64 - end.saturating_sub(range.end);
            match out.last_mut() {
                Some(last) if last.pack == c.pack as usize && last.range.end == from => {
                    last.range.end = to
                }
                _ => out.push(PackRead {
                    pack: c.pack as usize,
                    range: from..to,
                }),
            }
        }
        out
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N).map(|b| b.try_into().expect("N bytes"))
    }

    fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipe() -> Recipe {
        let key = |n: u8| PackKey {
            owner: "e/p".into(),
            id: PackId([n; 32]),
        };
        let chunk = |pack, offset, len| RecipeChunk {
            hash: ChunkHash([len as u8; 32]),
            pack,
            offset,
            len,
        };
        Recipe {
            digest: Digest::of(b"x"),
            size: 40,
            packs: vec![key(1), key(2)],
            // 10 bytes at 100 and 10 at 110 of pack 0, then 20 at 500 of pack 1
            chunks: vec![chunk(0, 100, 10), chunk(0, 110, 10), chunk(1, 500, 20)],
            checkpoints: vec![Checkpoint {
                offset: 0,
                state: [7; 8],
            }],
        }
    }

    #[test]
    fn round_trips_and_refuses_damage() {
        let r = recipe();
        let body = r.encode();
        assert_eq!(Recipe::decode(r.digest, 40, &body).unwrap(), r);
        assert!(Recipe::decode(r.digest, 41, &body).is_err());
        assert!(Recipe::decode(r.digest, 40, &body[..body.len() - 1]).is_err());
        assert!(Recipe::decode(r.digest, 40, &body[1..]).is_err());
        let mut past = r.clone();
        past.checkpoints[0].offset = 64;
        assert!(Recipe::decode(r.digest, 40, &past.encode()).is_err());
    }

    #[test]
    fn reads_bodies_written_before_checkpoints() {
        let r = recipe();
        let mut v1 = r.encode();
        v1.truncate(v1.len() - 4 - checkpoint::ENCODED);
        v1[..8].copy_from_slice(MAGIC_V1);
        let read = Recipe::decode(r.digest, 40, &v1).unwrap();
        assert_eq!(read.chunks, r.chunks);
        assert!(read.checkpoints.is_empty());
    }

    #[test]
    fn reads_cover_exactly_the_range_and_merge_neighbours() {
        let r = recipe();
        let read = |pack, range| PackRead { pack, range };
        assert_eq!(r.reads(0..40), vec![read(0, 100..120), read(1, 500..520)]);
        assert_eq!(r.reads(5..15), vec![read(0, 105..115)]);
        assert_eq!(r.reads(19..21), vec![read(0, 119..120), read(1, 500..501)]);
        assert_eq!(r.reads(25..30), vec![read(1, 505..510)]);
        assert!(r.reads(40..40).is_empty());
    }
}
