//! SHA-256 checkpoints: the state of the hash after a prefix of a blob, so a blob that begins
//! like another one is verified by hashing only what comes after their common prefix.
//!
//! A checkpoint is SHA-256's eight working words `H0..H7` after the first `offset` bytes,
//! `offset` a multiple of the 64-byte block (so no partial block is pending). It is a function
//! of those bytes alone: a blob whose first `offset` bytes equal another's shares its
//! checkpoints up to there. Only a party that hashed the bytes itself may trust one — the
//! registry computes its own while it verifies a blob, and never takes one from a client.
//!
//! ```
//! use cairn_core::Hasher;
//! use cairn_core::checkpoint::Checkpoint;
//!
//! let data = vec![7u8; 300];
//! let mut noted = Vec::new();
//! let mut h = Hasher::new();
//! h.update_noting(&data[..200], 128, &mut noted);
//! assert_eq!(noted.len(), 1);
//! assert_eq!(noted[0].offset, 128);
//!
//! // resume at the checkpoint: the same digest as hashing everything
//! let mut resumed = Hasher::resume(&noted[0]);
//! resumed.update(&data[128..]);
//! h.update(&data[200..]);
//! assert_eq!(resumed.finish(), h.finish());
//! # let _ = Checkpoint { offset: 0, state: [0; 8] };
//! ```

use sha2::Sha256;
use sha2::digest::common::hazmat::{SerializableState, SerializedState};

use crate::digest::Hasher;

/// SHA-256's block: checkpoints fall on multiples of it.
pub const BLOCK: u64 = 64;

/// The state of SHA-256 after the first `offset` bytes of a blob.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Checkpoint {
    /// Bytes hashed: a multiple of [`BLOCK`].
    pub offset: u64,
    /// The working words `H0..H7` after them.
    pub state: [u32; 8],
}

/// Bytes a checkpoint takes in [`Checkpoint::encode_all`]'s encoding.
pub const ENCODED: usize = 8 + 32;

impl Checkpoint {
    /// `offset u64 · H0..H7 u32`, little endian, one after another.
    pub fn encode_all(all: &[Checkpoint], out: &mut Vec<u8>) {
        for c in all {
            out.extend_from_slice(&c.offset.to_le_bytes());
            for w in c.state {
                out.extend_from_slice(&w.to_le_bytes());
            }
        }
    }

    /// The checkpoints [`encode_all`](Self::encode_all) wrote; `None` if `bytes` is not a
    /// whole number of them or an offset is not a multiple of [`BLOCK`].
    pub fn decode_all(bytes: &[u8]) -> Option<Vec<Checkpoint>> {
        if !bytes.len().is_multiple_of(ENCODED) {
            return None;
        }
        bytes
            .chunks_exact(ENCODED)
            .map(|b| {
                let offset = u64::from_le_bytes(b[..8].try_into().ok()?);
                if !offset.is_multiple_of(BLOCK) {
                    return None;
                }
                let mut state = [0u32; 8];
                for (i, w) in state.iter_mut().enumerate() {
                    *w = u32::from_le_bytes(b[8 + 4 * i..12 + 4 * i].try_into().ok()?);
                }
                Some(Checkpoint { offset, state })
            })
            .collect()
    }
}

impl Hasher {
    /// The checkpoint after the bytes fed so far, when they end on a block boundary.
    pub fn checkpoint(&self) -> Option<Checkpoint> {
        if !self.len().is_multiple_of(BLOCK) {
            return None;
        }
        // sha2's serialized state: H0..H7 (u32 LE), blocks done (u64 LE), then the pending
        // partial block (its length, then 64 bytes), empty on a block boundary
        let s = self.sha256().serialize();
        let mut state = [0u32; 8];
        for (i, w) in state.iter_mut().enumerate() {
            *w = u32::from_le_bytes(s[4 * i..4 * i + 4].try_into().ok()?);
        }
        Some(Checkpoint {
            offset: self.len(),
            state,
        })
    }

    /// A hasher that has seen the bytes `checkpoint` was taken after: feed it what follows.
    pub fn resume(checkpoint: &Checkpoint) -> Self {
        let mut s = SerializedState::<Sha256>::default();
        for (i, w) in checkpoint.state.iter().enumerate() {
            s[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
        }
        s[32..40].copy_from_slice(&(checkpoint.offset / BLOCK).to_le_bytes());
        let inner = Sha256::deserialize(&s).expect("an empty pending block deserializes");
        Hasher::from_parts(inner, checkpoint.offset)
    }

    /// Feed `data`, appending to `out` the checkpoint at every multiple of `every` bytes of
    /// the stream it reaches (`every`: a positive multiple of [`BLOCK`]).
    pub fn update_noting(&mut self, mut data: &[u8], every: u64, out: &mut Vec<Checkpoint>) {
        assert!(
            every > 0 && every.is_multiple_of(BLOCK),
            "checkpoints every {every} bytes"
        );
        while !data.is_empty() {
            let to_next = every - self.len() % every;
            let take = (to_next as usize).min(data.len());
            self.update(&data[..take]);
            data = &data[take..];
            if self.len().is_multiple_of(every) {
                out.extend(self.checkpoint());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Digest;

    fn data(n: usize) -> Vec<u8> {
        (0..n as u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect()
    }

    #[test]
    fn resuming_at_any_checkpoint_gives_the_whole_digest() {
        let d = data(10_000);
        let mut noted = Vec::new();
        let mut h = Hasher::new();
        for piece in d.chunks(777) {
            h.update_noting(piece, 1024, &mut noted);
        }
        assert_eq!(h.finish(), Digest::of(&d));
        let offsets: Vec<u64> = noted.iter().map(|c| c.offset).collect();
        assert_eq!(offsets, (1..=9).map(|i| i * 1024).collect::<Vec<_>>());
        for c in &noted {
            let mut r = Hasher::resume(c);
            assert_eq!(r.len(), c.offset);
            r.update(&d[c.offset as usize..]);
            assert_eq!(r.finish(), Digest::of(&d), "from {}", c.offset);
        }
    }

    #[test]
    fn a_checkpoint_is_the_prefix_alone() {
        // the same first 4 KiB, different tails: the same checkpoint there
        let (mut a, mut b) = (data(8192), data(8192));
        b[5000] ^= 1;
        let at = |d: &[u8]| {
            let mut h = Hasher::new();
            h.update(&d[..4096]);
            h.checkpoint().unwrap()
        };
        assert_eq!(at(&a), at(&b));
        a[10] ^= 1;
        assert_ne!(at(&a), at(&b));
    }

    #[test]
    fn the_state_is_sha256s_own_words() {
        // FIPS 180-4's initial hash value: what any implementation starts from
        let initial = [
            0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
            0x5be0cd19,
        ];
        let start = Hasher::new().checkpoint().unwrap();
        assert_eq!(start.state, initial);
    }

    #[test]
    fn only_block_boundaries_have_checkpoints() {
        let mut h = Hasher::new();
        assert_eq!(h.checkpoint().map(|c| c.offset), Some(0));
        h.update(&[1; 63]);
        assert!(h.checkpoint().is_none());
        h.update(&[1]);
        assert_eq!(h.checkpoint().map(|c| c.offset), Some(64));
        // the empty stream resumed is the empty stream
        assert_eq!(
            Hasher::resume(&Hasher::new().checkpoint().unwrap()).finish(),
            Digest::of(b"")
        );
    }

    #[test]
    fn encoding_round_trips_and_rejects_bad_input() {
        let mut noted = Vec::new();
        Hasher::new().update_noting(&data(5000), 1024, &mut noted);
        let mut bytes = Vec::new();
        Checkpoint::encode_all(&noted, &mut bytes);
        assert_eq!(bytes.len(), noted.len() * ENCODED);
        assert_eq!(Checkpoint::decode_all(&bytes), Some(noted));
        assert_eq!(Checkpoint::decode_all(&bytes[1..]), None);
        let mut odd = bytes.clone();
        odd[0] = 1; // offset 1025
        assert_eq!(Checkpoint::decode_all(&odd), None);
        assert_eq!(Checkpoint::decode_all(&[]), Some(Vec::new()));
    }
}
