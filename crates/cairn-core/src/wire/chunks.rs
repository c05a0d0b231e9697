//! Chunked uploads (`docs/chunking.md`): learn which chunks the registry lacks, send them in
//! packs, then have the registry assemble and verify each blob from its chunks.

use serde::{Deserialize, Serialize};

use crate::chunk::ChunkHash;
use crate::digest::Digest;
use crate::pack::PackId;
use crate::segment::SegmentHash;

/// Most segments plus chunks one `POST {P}/chunks/known` may ask about.
pub const MAX_KNOWN_CHECK: usize = 100_000;
/// Most base blobs one request may name.
pub const MAX_BASES: usize = 64;
/// Most packs one `POST {P}/blobs/assemble` may name (128 GiB of chunks in the clients' 32 MiB
/// packs).
pub const MAX_PACKS: usize = 4096;
/// Most blobs one `POST {P}/blobs/assemble` may assemble.
pub const MAX_ASSEMBLE_BLOBS: usize = 10_000;

/// `POST {P}/chunks/known`: which of these segments and chunks can the registry reuse? It
/// answers only from `bases`, blobs the project holds, and from `packs` the project uploaded
/// (never from other projects' bytes).
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct KnownRequest {
    /// The chunker the hashes come from (1).
    pub chunker: u32,
    /// Blobs the project holds whose chunks may be reused (e.g. the files a draft replaces).
    #[serde(default)]
    pub bases: Vec<Digest>,
    /// Packs the project uploaded (say, before an interruption) whose chunks may be reused.
    #[serde(default)]
    pub packs: Vec<PackId>,
    /// Segments to check.
    #[serde(default)]
    pub segments: Vec<SegmentHash>,
    /// Chunks to check (usually those of the segments it did not know).
    #[serde(default)]
    pub chunks: Vec<ChunkHash>,
}

/// The answer to a [`KnownRequest`]: positions in its lists.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KnownChunks {
    /// The positions in `segments` the bases do not have.
    pub missing_segments: Vec<u32>,
    /// The positions in `chunks` the bases do not have.
    pub missing_chunks: Vec<u32>,
}

impl KnownChunks {
    /// For each of the `count` segments asked about, whether the registry knows it.
    pub fn segments_known(&self, count: usize) -> Vec<bool> {
        let mut known = vec![true; count];
        for i in &self.missing_segments {
            if let Some(k) = known.get_mut(*i as usize) {
                *k = false;
            }
        }
        known
    }
}

/// `POST {P}/packs` answers: the pack is stored, every chunk verified.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PackReceipt {
    /// Its name, to list in `packs` of an [`AssembleRequest`].
    pub pack: PackId,
    /// Chunks in it.
    pub chunks: u32,
    /// Their bytes.
    pub bytes: u64,
}

/// One piece of a blob's chunk list.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RecipePart {
    /// Every chunk of a segment one of the bases has.
    Segment(SegmentHash),
    /// One chunk, from a base or from one of the packs.
    Chunk(ChunkHash),
}

/// A blob to assemble: its identity and its chunks in order.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BlobRecipe {
    /// The SHA-256 of the whole blob (verified by the registry).
    pub digest: Digest,
    /// Its size in bytes (verified too).
    pub size: u64,
    /// Its chunks.
    pub parts: Vec<RecipePart>,
}

/// `POST {P}/blobs/assemble`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AssembleRequest {
    /// The chunker (1).
    pub chunker: u32,
    /// Blobs the project holds whose chunks and segments the parts may name.
    #[serde(default)]
    pub bases: Vec<Digest>,
    /// Packs this project uploaded whose chunks the parts may name.
    #[serde(default)]
    pub packs: Vec<PackId>,
    /// The blobs.
    pub blobs: Vec<BlobRecipe>,
}

/// What became of one blob of an [`AssembleRequest`].
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssembleOutcome {
    /// The blob.
    pub digest: Digest,
    /// The project holds it now (verified); false when parts were missing.
    pub held: bool,
    /// Chunks none of the bases or packs has: upload them and assemble again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_chunks: Vec<ChunkHash>,
    /// Segments none of the bases has: name their chunks instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_segments: Vec<SegmentHash>,
}

/// A blob's parts, given its chunks, its segments and which segments the registry said it
/// knows (`known[i]` for `segments[i]`): a known segment is one part, the chunks of the others
/// are named one by one. Also returns the positions (in `chunks`) of those chunks, to ask about
/// next.
pub fn plan_parts(
    chunks: &[ChunkHash],
    segments: &[crate::segment::Segment],
    known: &[bool],
) -> (Vec<RecipePart>, Vec<usize>) {
    let mut parts = Vec::new();
    let mut asked = Vec::new();
    for (s, known) in segments.iter().zip(known) {
        if *known {
            parts.push(RecipePart::Segment(s.hash));
        } else {
            for (i, c) in chunks.iter().enumerate().skip(s.first).take(s.count) {
                parts.push(RecipePart::Chunk(*c));
                asked.push(i);
            }
        }
    }
    (parts, asked)
}

impl AssembleRequest {
    /// The request for `blobs` (each a recipe with the bases its segments come from), naming
    /// every base, the packs their chunks went into (`pack_of`), and, as room allows, the packs
    /// an interrupted upload sent (`resume`, newest first; those of this upload are never left
    /// out: too many is the registry's 422, naming the limit).
    pub fn new<'a>(
        blobs: impl IntoIterator<Item = (BlobRecipe, &'a [Digest])>,
        pack_of: impl Fn(&ChunkHash) -> Option<PackId>,
        resume: &[PackId],
    ) -> Self {
        let mut packs = std::collections::BTreeSet::new();
        let mut bases = std::collections::BTreeSet::new();
        let mut recipes = Vec::new();
        for (recipe, of) in blobs {
            bases.extend(of.iter().copied());
            packs.extend(recipe.parts.iter().filter_map(|p| match p {
                RecipePart::Chunk(h) => pack_of(h),
                RecipePart::Segment(_) => None,
            }));
            recipes.push(recipe);
        }
        let room = MAX_PACKS.saturating_sub(packs.len());
        packs.extend(resume.iter().rev().take(room).copied());
        Self {
            chunker: 1,
            bases: bases.into_iter().collect(),
            packs: packs.into_iter().collect(),
            blobs: recipes,
        }
    }
}

/// Split off the first blobs of `batch` that one [`AssembleRequest`] can carry: at most
/// `most`, and no more bases in all than [`MAX_BASES`]. `bases` gives each blob's bases.
pub fn next_group<T>(batch: &mut Vec<T>, most: usize, bases: impl Fn(&T) -> &[Digest]) -> Vec<T> {
    let mut named = std::collections::HashSet::new();
    let mut n = 0;
    for b in batch.iter() {
        let more = bases(b).iter().filter(|d| !named.contains(*d)).count();
        if n > 0 && (n == most || named.len() + more > MAX_BASES) {
            break;
        }
        named.extend(bases(b).iter().copied());
        n += 1;
    }
    let rest = batch.split_off(n);
    std::mem::replace(batch, rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::segments;

    #[test]
    fn known_segments_become_one_part_and_the_rest_are_asked_about() {
        let hashes: Vec<ChunkHash> = (0..600u32)
            .map(|i| crate::chunk::ChunkHash::of(&i.to_le_bytes()))
            .collect();
        let segs = segments(hashes.iter().map(|h| (*h, 10)));
        assert!(segs.len() > 2, "600 chunks make several segments");
        let known: Vec<bool> = (0..segs.len()).map(|i| i % 2 == 0).collect();
        let (parts, asked) = plan_parts(&hashes, &segs, &known);
        let unknown: usize = segs
            .iter()
            .zip(&known)
            .filter(|(_, k)| !**k)
            .map(|(s, _)| s.count)
            .sum();
        assert_eq!(asked.len(), unknown);
        assert_eq!(parts.len(), unknown + known.iter().filter(|k| **k).count());
        assert!(matches!(parts[0], RecipePart::Segment(h) if h == segs[0].hash));
        assert_eq!(parts[1], RecipePart::Chunk(hashes[segs[1].first]));
        assert_eq!(asked[0], segs[1].first);
    }

    #[test]
    fn segments_known_are_all_but_the_missing_ones() {
        let answer = KnownChunks {
            missing_segments: vec![1, 3],
            missing_chunks: vec![],
        };
        assert_eq!(answer.segments_known(4), [true, false, true, false]);
    }

    #[test]
    fn groups_stop_at_the_blob_limit_and_at_the_base_limit() {
        let d = |i: u32| Digest::of(&i.to_le_bytes());
        // three blobs of 30 distinct bases each: two fit under 64 bases, the third does not
        let mut batch: Vec<Vec<Digest>> = (0..3)
            .map(|b| (0..30).map(|i| d(b * 100 + i)).collect())
            .collect();
        assert_eq!(next_group(&mut batch, 10, |b| b).len(), 2);
        assert_eq!(batch.len(), 1);
        let mut many: Vec<Vec<Digest>> = vec![Vec::new(); 5];
        assert_eq!(next_group(&mut many, 2, |b| b).len(), 2);
        assert_eq!(many.len(), 3);
        // one blob over the base limit still goes alone (the registry names the limit)
        let mut big = vec![(0..70).map(d).collect::<Vec<_>>()];
        assert_eq!(next_group(&mut big, 10, |b| b).len(), 1);
    }
}
