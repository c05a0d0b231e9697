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
