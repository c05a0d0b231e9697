//! Chunked uploads, registry side (`docs/chunking.md`): which segments and chunks a client
//! need not send, and assembling blobs from chunks, verified whole before a project holds them.
//!
//! A project learns that chunks are "already there" only from blobs it holds (`bases`) and from
//! packs it uploaded itself (their keys start with the project): never from other projects'
//! bytes, so chunk queries are no oracle for content it does not have.
//!
//! Assembling follows [`crate::holding`]: read the GC mark (the blob's, and whether any pack
//! the recipe reads is doomed), verify by reading every chunk back, then record the recipe and
//! the holding only if no collection doomed anything meanwhile — else do it again. A pack is
//! deleted only while doomed, and dooming one checks, in the same transaction, that no recipe
//! names it; so a recorded recipe's packs stay until a collection forgets its blob.
//!
//! A blob that begins with the same chunks as one of its bases inherits the base's SHA-256
//! checkpoints up to the end of that common prefix (equal chunk hashes: equal bytes, and a
//! checkpoint depends on the bytes before it alone), so verifying it hashes only what follows
//! the last one: 1 MiB appended to a 2 GiB file re-reads about 16 MiB, not 2 GiB. The packs of
//! the prefix are still checked to be there.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cairn_core::Digest;
use cairn_core::checkpoint::Checkpoint;
use cairn_core::chunk::ChunkHash;
use cairn_core::pack::PackId;
use cairn_core::segment::{SegmentHash, segments};
use cairn_core::wire::{
    AssembleOutcome, AssembleRequest, KnownChunks, KnownRequest, MAX_ASSEMBLE_BLOBS, MAX_BASES,
    MAX_KNOWN_CHECK, MAX_PACKS, RecipePart,
};

use crate::blob::BlobStore;
use crate::content::verify_all;
use crate::error::{Error, Result};
use crate::meta::{MetadataStore, ProjectKey, Recorded};
use crate::recipe::{PackKey, Recipe, RecipeChunk};
use crate::seam::{Seam, Step};
use crate::stream::Streams;

/// Where a chunk is: a position in [`Sources::packs`], an offset, a length.
#[derive(Clone, Copy, Debug)]
struct Loc {
    hash: ChunkHash,
    pack: u32,
    offset: u64,
    len: u32,
}

/// The chunks and segments a request may name.
#[derive(Default, Debug)]
struct Sources {
    packs: Vec<PackKey>,
    index: HashMap<PackKey, u32>,
    chunks: HashMap<ChunkHash, Loc>,
    segments: HashMap<SegmentHash, Vec<Loc>>,
    /// The bases that have checkpoints.
    prefixes: Vec<Prefix>,
}

/// A base with checkpoints: its chunks in order (hash, length), and the checkpoints.
#[derive(Debug)]
struct Prefix {
    chunks: Vec<(ChunkHash, u32)>,
    checkpoints: Vec<Checkpoint>,
}

impl Sources {
    fn pack(&mut self, key: &PackKey) -> u32 {
        if let Some(i) = self.index.get(key) {
            return *i;
        }
        let i = self.packs.len() as u32;
        self.packs.push(key.clone());
        self.index.insert(key.clone(), i);
        i
    }

    async fn gather(
        meta: &dyn MetadataStore,
        blobs: &dyn BlobStore,
        project: &ProjectKey,
        bases: &[Digest],
        packs: &[PackId],
    ) -> Result<Self> {
        if bases.len() > MAX_BASES || packs.len() > MAX_PACKS {
            return Err(Error::Unprocessable(format!(
                "{} bases and {} packs: at most {MAX_BASES} bases and {MAX_PACKS} packs per request",
                bases.len(),
                packs.len()
            )));
        }
        let mut s = Self::default();
        for base in bases {
            if meta.blob_size(project, base).await?.is_none() {
                return Err(Error::Unprocessable(format!(
                    "base {base} is not a blob this project holds"
                )));
            }
            let Some(recipe) = meta.recipe(base).await? else {
                continue; // stored whole: nothing to reuse at chunk level
            };
            let locs: Vec<Loc> = recipe
                .chunks
                .iter()
                .map(|c| Loc {
                    hash: c.hash,
                    pack: s.pack(&recipe.packs[c.pack as usize]),
                    offset: c.offset,
                    len: c.len,
                })
                .collect();
            for seg in segments(locs.iter().map(|l| (l.hash, l.len))) {
                s.segments
                    .entry(seg.hash)
                    .or_insert_with(|| locs[seg.first..seg.first + seg.count].to_vec());
            }
            for l in locs {
                s.chunks.entry(l.hash).or_insert(l);
            }
            if !recipe.checkpoints.is_empty() {
                let order = recipe.chunks.iter().map(|c| (c.hash, c.len)).collect();
                s.prefixes.push(Prefix {
                    chunks: order,
                    checkpoints: recipe.checkpoints,
                });
            }
        }
        let owner = project.to_string();
        for id in packs {
            let key = PackKey {
                owner: owner.clone(),
                id: *id,
            };
            let Some(header) = blobs.pack_header(&key).await? else {
                continue; // gone (collected): its chunks are reported missing
            };
            let pack = s.pack(&key);
            for (e, offset) in header.locations() {
                s.chunks.insert(
                    e.hash,
                    Loc {
                        hash: e.hash,
                        pack,
                        offset,
                        len: e.len,
                    },
                );
            }
        }
        Ok(s)
    }
}

impl Sources {
    /// Add the chunks and checkpoints of the streams `packs` went into, each stream once.
    fn streamed(&mut self, streams: &Streams, project: &ProjectKey, packs: &[PackId]) {
        let owner = project.to_string();
        let mut seen = std::collections::HashSet::new();
        for id in packs {
            if let Some(h) = streams.prefix_of(&owner, id)
                && seen.insert(h.stream)
            {
                self.prefixes.push(Prefix {
                    chunks: h.chunks,
                    checkpoints: h.checkpoints,
                });
            }
        }
    }
}

fn check_chunker(chunker: u32) -> Result<()> {
    if chunker != cairn_core::chunk::CHUNKER_VERSION {
        return Err(Error::Unprocessable(format!(
            "chunker {chunker} is not supported: this registry speaks chunker {}",
            cairn_core::chunk::CHUNKER_VERSION
        )));
    }
    Ok(())
}

/// Answer a [`KnownRequest`] for `project`.
pub async fn known(
    meta: &dyn MetadataStore,
    blobs: &dyn BlobStore,
    project: &ProjectKey,
    request: &KnownRequest,
) -> Result<KnownChunks> {
    check_chunker(request.chunker)?;
    if request.segments.len() + request.chunks.len() > MAX_KNOWN_CHECK {
        return Err(Error::Unprocessable(format!(
            "{} segments and chunks: at most {MAX_KNOWN_CHECK} per request",
            request.segments.len() + request.chunks.len()
        )));
    }
    let s = Sources::gather(meta, blobs, project, &request.bases, &request.packs).await?;
    let positions = |known: &dyn Fn(usize) -> bool, n: usize| {
        (0..n).filter(|i| !known(*i)).map(|i| i as u32).collect()
    };
    Ok(KnownChunks {
        missing_segments: positions(
            &|i| s.segments.contains_key(&request.segments[i]),
            request.segments.len(),
        ),
        missing_chunks: positions(
            &|i| s.chunks.contains_key(&request.chunks[i]),
            request.chunks.len(),
        ),
    })
}

/// Assemble the blobs of `request` for `project`; each is verified whole before it is held.
/// A blob whose digest or size its chunks do not produce fails the request
/// (`DigestMismatch`, `Unprocessable`: nothing recorded for it); one whose chunks are not all
/// available is answered with the missing ones. Streams that packs of the request went into
/// ([`crate::stream`]) offer their checkpoints like bases do.
pub async fn assemble(
    meta: &dyn MetadataStore,
    blobs: &Arc<dyn BlobStore>,
    streams: &Streams,
    project: &ProjectKey,
    request: &AssembleRequest,
    wait: Duration,
    seam: &Seam,
) -> Result<Vec<AssembleOutcome>> {
    check_chunker(request.chunker)?;
    if request.blobs.len() > MAX_ASSEMBLE_BLOBS {
        return Err(Error::Unprocessable(format!(
            "{} blobs: at most {MAX_ASSEMBLE_BLOBS} per request",
            request.blobs.len()
        )));
    }
    let mut s = Sources::gather(
        meta,
        blobs.as_ref(),
        project,
        &request.bases,
        &request.packs,
    )
    .await?;
    s.streamed(streams, project, &request.packs);
    let mut out = Vec::with_capacity(request.blobs.len());
    let mut recipes = Vec::new();
    for blob in &request.blobs {
        let mut outcome = AssembleOutcome {
            digest: blob.digest,
            held: false,
            missing_chunks: Vec::new(),
            missing_segments: Vec::new(),
        };
        let mut locs = Vec::new();
        for part in &blob.parts {
            match part {
                RecipePart::Segment(h) => match s.segments.get(h) {
                    Some(l) => locs.extend_from_slice(l),
                    None => outcome.missing_segments.push(*h),
                },
                RecipePart::Chunk(h) => match s.chunks.get(h) {
                    Some(l) => locs.push(*l),
                    None => outcome.missing_chunks.push(*h),
                },
            }
        }
        if outcome.missing_chunks.is_empty() && outcome.missing_segments.is_empty() {
            recipes.push((out.len(), recipe_of(&s, blob.digest, blob.size, &locs)?));
        }
        out.push(outcome);
    }
    for (i, held) in hold(meta, blobs, project, recipes, wait, seam).await? {
        match held {
            Held::Yes => out[i].held = true,
            Held::Gone(missing) => out[i].missing_chunks = missing,
        }
    }
    Ok(out)
}

fn recipe_of(s: &Sources, digest: Digest, size: u64, locs: &[Loc]) -> Result<Recipe> {
    let total: u64 = locs.iter().map(|l| l.len as u64).sum();
    if total != size {
        return Err(Error::Unprocessable(format!(
            "blob {digest}: its chunks add up to {total} bytes, not the {size} it declares"
        )));
    }
    let mut packs = Vec::new();
    let mut local: HashMap<u32, u32> = HashMap::new();
    let chunks = locs
        .iter()
        .map(|l| {
            let pack = *local.entry(l.pack).or_insert_with(|| {
                packs.push(s.packs[l.pack as usize].clone());
                packs.len() as u32 - 1
            });
            RecipeChunk {
                hash: l.hash,
                pack,
                offset: l.offset,
                len: l.len,
            }
        })
        .collect();
    Ok(Recipe {
        digest,
        size,
        packs,
        chunks,
        checkpoints: inherited(s, locs),
    })
}

/// The checkpoints a blob made of `locs` inherits: those of the base it shares the longest
/// run of leading chunks with, up to the end of that run.
fn inherited(s: &Sources, locs: &[Loc]) -> Vec<Checkpoint> {
    let mut best: Vec<Checkpoint> = Vec::new();
    for Prefix {
        chunks: order,
        checkpoints,
    } in &s.prefixes
    {
        let shared: u64 = locs
            .iter()
            .zip(order)
            .take_while(|(l, (hash, len))| l.hash == *hash && l.len == *len)
            .map(|(l, _)| l.len as u64)
            .sum();
        let upto: Vec<Checkpoint> = checkpoints
            .iter()
            .take_while(|c| c.offset <= shared)
            .copied()
            .collect();
        if upto.last().map(|c| c.offset) > best.last().map(|c| c.offset) {
            best = upto;
        }
    }
    best
}

/// What became of a recipe.
enum Held {
    /// Verified and recorded.
    Yes,
    /// A pack is gone (collected before this could record): these chunks are to be sent again.
    Gone(Vec<ChunkHash>),
}

/// Verify and record `recipes` (with their positions in the request), together, safely beside
/// garbage collection (see the module docs): read the marks, verify those not doomed, record
/// them in one transaction; again for those doomed or collected meanwhile, until `wait`.
async fn hold(
    meta: &dyn MetadataStore,
    blobs: &Arc<dyn BlobStore>,
    project: &ProjectKey,
    recipes: Vec<(usize, Recipe)>,
    wait: Duration,
    seam: &Seam,
) -> Result<Vec<(usize, Held)>> {
    let deadline = Instant::now() + wait;
    let mut done = Vec::with_capacity(recipes.len());
    let mut pending = recipes;
    while !pending.is_empty() {
        let digests: Vec<Digest> = pending.iter().map(|(_, r)| r.digest).collect();
        let mut packs: Vec<PackKey> = pending
            .iter()
            .flat_map(|(_, r)| r.packs.iter().cloned())
            .collect();
        packs.sort();
        packs.dedup();
        let marks = meta.gc_marks(&digests, &packs).await?;
        let (mut ready, mut waiting): (Vec<_>, Vec<_>) = pending.into_iter().partition(|(_, r)| {
            !marks.doomed.contains(&r.digest)
                && !r.packs.iter().any(|p| marks.doomed_packs.contains(p))
        });
        let mut refs: Vec<&mut Recipe> = ready.iter_mut().map(|(_, r)| r).collect();
        let checks = verify_all(blobs, &mut refs).await?;
        let mut verified = Vec::with_capacity(ready.len());
        for ((i, recipe), check) in ready.into_iter().zip(checks) {
            match check {
                Ok(()) => verified.push((i, recipe)),
                Err(Error::NotFound(_)) => {
                    let gone = gone_packs(blobs.as_ref(), &recipe).await?;
                    let missing = recipe
                        .chunks
                        .iter()
                        .filter(|c| gone.contains(&(c.pack as usize)))
                        .map(|c| c.hash)
                        .collect();
                    done.push((i, Held::Gone(missing)));
                }
                Err(e) => return Err(e),
            }
        }
        if !verified.is_empty() {
            seam.at(Step::Published).await;
            let list: Vec<Recipe> = verified.iter().map(|(_, r)| r.clone()).collect();
            let recorded = meta.record_recipes(project, &list, marks.epoch).await?;
            for ((i, recipe), rec) in verified.into_iter().zip(recorded) {
                match rec {
                    Recorded::New | Recorded::Refreshed => done.push((i, Held::Yes)),
                    // a collection ran since the marks: the packs may be gone; again
                    Recorded::Collected => waiting.push((i, recipe)),
                }
            }
        }
        pending = waiting;
        if pending.is_empty() {
            break;
        }
        if Instant::now() >= deadline {
            return Err(Error::Collecting(pending[0].1.digest));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(done)
}

/// Positions in `recipe.packs` of the packs no longer stored.
async fn gone_packs(blobs: &dyn BlobStore, recipe: &Recipe) -> Result<Vec<usize>> {
    let mut gone = Vec::new();
    for (i, key) in recipe.packs.iter().enumerate() {
        if blobs.pack_header(key).await?.is_none() {
            gone.push(i);
        }
    }
    Ok(gone)
}
