//! Segments: content-defined runs of about 64 chunks (about 4 MiB), so a client can learn what
//! the registry lacks of a 2 GiB file by asking about 500 segments instead of 32,000 chunks,
//! and then about the chunks of the few segments it does not know (`docs/chunking.md`).
//!
//! A segment ends after a chunk whose hash's last byte has its low six bits zero, after
//! [`MAX_SEGMENT_CHUNKS`] chunks, or at the end of the file. Like chunk boundaries, segment
//! boundaries depend only on content: an edit changes the segments around it, not the others.
//!
//! ```
//! use cairn_core::chunk::chunk_all;
//! use cairn_core::segment::segments;
//!
//! let data: Vec<u8> = (0..3_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
//! let (_, chunks) = chunk_all(&data);
//! let segs = segments(chunks.iter().map(|c| (c.hash, c.len)));
//! assert_eq!(segs.iter().map(|s| s.count).sum::<usize>(), chunks.len());
//! ```

use crate::chunk::{ChunkHash, hex_hash};

/// Most chunks in one segment.
pub const MAX_SEGMENT_CHUNKS: usize = 256;

hex_hash!(
    /// A segment's identity: BLAKE3 over its chunks' hashes and lengths.
    SegmentHash,
    "segment hash"
);

/// A run of consecutive chunks.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Segment {
    /// The index of its first chunk in the file.
    pub first: usize,
    /// How many chunks it has.
    pub count: usize,
    /// Its identity.
    pub hash: SegmentHash,
}

/// The first bytes of a segment list (`GET {P}/blobs/{digest}/chunks?segments=true`).
pub const SEGMENT_LIST_MAGIC: &[u8; 8] = b"CAIRNSL1";

/// One segment of a blob, as a segment list tells it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SegmentEntry {
    /// Its identity.
    pub hash: SegmentHash,
    /// How many chunks it has.
    pub chunks: u32,
    /// How many bytes.
    pub bytes: u64,
}

/// Encode a segment list: `CAIRNSL1`, a u64 count, then each segment's hash (32 bytes), chunk
/// count (u32) and byte length (u64), little endian: 44 bytes a segment.
pub fn encode_segment_list(segments: &[SegmentEntry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + segments.len() * 44);
    out.extend_from_slice(SEGMENT_LIST_MAGIC);
    out.extend_from_slice(&(segments.len() as u64).to_le_bytes());
    for s in segments {
        out.extend_from_slice(&s.hash.0);
        out.extend_from_slice(&s.chunks.to_le_bytes());
        out.extend_from_slice(&s.bytes.to_le_bytes());
    }
    out
}

/// Decode a segment list.
pub fn decode_segment_list(bytes: &[u8]) -> crate::Result<Vec<SegmentEntry>> {
    let bad = |why: &str| crate::Error::InvalidPack(format!("segment list: {why}"));
    let rest = bytes
        .strip_prefix(SEGMENT_LIST_MAGIC)
        .ok_or_else(|| bad("no CAIRNSL1"))?;
    let (count, entries) = rest.split_at_checked(8).ok_or_else(|| bad("too short"))?;
    let count = u64::from_le_bytes(count.try_into().expect("8 bytes"));
    if entries.len() as u64 != count.saturating_mul(44) {
        return Err(bad("its length does not match its count"));
    }
    Ok(entries
        .chunks_exact(44)
        .map(|e| SegmentEntry {
            hash: SegmentHash(e[..32].try_into().expect("32 bytes")),
            chunks: u32::from_le_bytes(e[32..36].try_into().expect("4 bytes")),
            bytes: u64::from_le_bytes(e[36..].try_into().expect("8 bytes")),
        })
        .collect())
}

/// Whether a segment ends after the chunk with this hash.
pub fn ends_segment(hash: &ChunkHash) -> bool {
    hash.0[31] & 0x3f == 0
}

/// A file's segments, from its chunks (hash, length) in order.
pub fn segments(chunks: impl IntoIterator<Item = (ChunkHash, u32)>) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut hasher = SegmentHasher::default();
    let mut first = 0;
    let mut count = 0;
    for (hash, len) in chunks {
        hasher.add(&hash, len);
        count += 1;
        if ends_segment(&hash) || count == MAX_SEGMENT_CHUNKS {
            out.push(Segment {
                first,
                count,
                hash: std::mem::take(&mut hasher).finish(),
            });
            first += count;
            count = 0;
        }
    }
    if count > 0 {
        out.push(Segment {
            first,
            count,
            hash: hasher.finish(),
        });
    }
    out
}

/// Hashes one segment's chunks.
#[derive(Debug)]
struct SegmentHasher(blake3::Hasher);

impl Default for SegmentHasher {
    fn default() -> Self {
        let mut h = blake3::Hasher::new();
        h.update(b"cairn segment 1\0");
        Self(h)
    }
}

impl SegmentHasher {
    fn add(&mut self, hash: &ChunkHash, len: u32) {
        self.0.update(&hash.0);
        self.0.update(&len.to_le_bytes());
    }

    fn finish(self) -> SegmentHash {
        SegmentHash(*self.0.finalize().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(i: u32) -> ChunkHash {
        ChunkHash::of(&i.to_le_bytes())
    }

    #[test]
    fn boundaries_follow_content_and_cover_every_chunk() {
        let chunks: Vec<_> = (0..5000).map(|i| (hash(i), 1000)).collect();
        let segs = segments(chunks.iter().copied());
        let mut next = 0;
        for s in &segs {
            assert_eq!(s.first, next);
            assert!(s.count >= 1 && s.count <= MAX_SEGMENT_CHUNKS);
            let last = chunks[s.first + s.count - 1].0;
            assert!(
                ends_segment(&last) || s.count == MAX_SEGMENT_CHUNKS || s.first + s.count == 5000
            );
            next += s.count;
        }
        assert_eq!(next, 5000);
        // about one chunk in 64 ends a segment
        assert!((50..120).contains(&segs.len()), "{}", segs.len());
    }

    #[test]
    fn an_edit_changes_only_the_segments_around_it() {
        let before: Vec<_> = (0..5000).map(|i| (hash(i), 1000)).collect();
        let mut after = before.clone();
        after[2500] = (hash(99_999), 1000);
        let a = segments(before.iter().copied());
        let b = segments(after.iter().copied());
        let changed = b
            .iter()
            .filter(|s| !a.iter().any(|o| o.hash == s.hash))
            .count();
        assert!(changed <= 2, "{changed} segments changed");
    }

    #[test]
    fn segment_lists_round_trip() {
        let list = vec![SegmentEntry {
            hash: SegmentHash([3; 32]),
            chunks: 64,
            bytes: 1 << 22,
        }];
        let encoded = encode_segment_list(&list);
        assert_eq!(decode_segment_list(&encoded).unwrap(), list);
        assert!(decode_segment_list(&encoded[..encoded.len() - 1]).is_err());
    }

    #[test]
    fn lengths_are_part_of_the_identity() {
        let a = segments([(hash(1), 10)]);
        let b = segments([(hash(1), 11)]);
        assert_ne!(a[0].hash, b[0].hash);
        assert!(segments([]).is_empty());
    }
}
