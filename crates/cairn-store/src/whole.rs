//! Blobs stored whole — sent with a plain `PUT` or an upload session, or written by a release
//! before chunks — are packed by garbage collection (`docs/chunking.md`, "Storage"): a
//! collection reads each one, checks it still hashes to its digest, cuts it with chunker v1 and
//! writes its chunks into packs of a project that holds it (many small blobs to a pack, a
//! chunk the same project's blobs share once), then records the recipes. From then on the blob
//! is read from its chunks and serves as a base for chunked uploads; its whole object is
//! deleted by a later collection once `grace` has passed (not this one: a download may still
//! be reading it).
//!
//! Everything here runs under the collection lock, so nothing else dooms a digest or a pack
//! meanwhile; the recipes are still recorded only if the epoch and the doomed sets are as read
//! (the same guard assemblies use). Killed part-way, a collection leaves packs no recipe names
//! (collected after `grace`) and whole objects that stay until their recipes are recorded.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use cairn_core::Digest;
use cairn_core::checkpoint::Checkpoint;
use cairn_core::chunk::{Chunk, ChunkHash, Chunker};
use cairn_core::pack::PackBuilder;
use futures::{StreamExt, TryStreamExt};

use crate::content::CHECKPOINT_EVERY;
use crate::meta::{ProjectKey, WholeBlob};
use crate::recipe::{PackKey, Recipe, RecipeChunk};
use crate::{BlobStore, Error, MetadataStore, Result};

/// Blobs asked of the metadata store at once.
const PAGE: usize = 500;
/// Superseded whole objects deleted between two updates of the metadata store.
const BATCH: usize = 100;

/// What packing did (or, on a dry run, would do).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Packed {
    /// Blobs stored whole that now have a recipe.
    pub blobs: usize,
    /// Their bytes.
    pub bytes: u64,
    /// Whole objects deleted: their blobs were packed by an earlier collection.
    pub freed: usize,
    /// Their bytes.
    pub freed_bytes: u64,
}

/// Delete the whole objects of blobs packed before `cutoff`, then pack up to `budget` bytes of
/// blobs stored whole (at least one blob when any is left, so a blob larger than the budget is
/// packed too). A dry run reads and writes nothing but the metadata it lists.
pub(crate) async fn pack(
    meta: &dyn MetadataStore,
    blobs: &dyn BlobStore,
    cutoff: &str,
    budget: u64,
    dry_run: bool,
) -> Result<Packed> {
    let mut out = Packed::default();
    let superseded = meta.superseded_whole(cutoff).await?;
    for batch in superseded.chunks(BATCH) {
        for digest in batch {
            // a recipe goes only with a doom, which needs the collection lock this one holds
            if !meta.has_recipe(digest).await? {
                continue; // collected since, and perhaps uploaded whole again: keep it
            }
            if let Some(size) = blobs.size(digest).await? {
                out.freed += 1;
                out.freed_bytes += size;
                if !dry_run {
                    blobs.delete(digest).await?;
                }
            }
        }
        if !dry_run {
            meta.forget_superseded_whole(batch).await?;
        }
    }
    if budget == 0 {
        return Ok(out);
    }
    let epoch = meta.gc_marks(&[], &[]).await?.epoch;
    let mut packer: Option<Packer> = None;
    let mut seen = HashSet::new();
    let mut after = None;
    'pages: loop {
        let page = meta.whole_blobs(after.as_ref(), PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.clone());
        for blob in page {
            if !seen.insert(blob.digest) {
                continue; // held by another project too: packed once
            }
            if out.bytes > 0 && out.bytes + blob.size > budget {
                break 'pages;
            }
            if dry_run {
                out.blobs += 1;
                out.bytes += blob.size;
                continue;
            }
            if packer.as_ref().is_some_and(|p| p.owner != blob.project) {
                let done = packer.take().expect("checked");
                done.finish(meta, blobs, epoch).await?;
            }
            let p = packer.get_or_insert_with(|| Packer::new(blob.project.clone()));
            if p.add(meta, blobs, &blob, epoch).await? {
                out.blobs += 1;
                out.bytes += blob.size;
            }
        }
    }
    if let Some(p) = packer {
        p.finish(meta, blobs, epoch).await?;
    }
    Ok(out)
}

/// Where a chunk is: in a pack written already, or in the one being filled.
#[derive(Clone, Debug)]
enum Place {
    Written(PackKey, u64),
    Filling(usize),
}

/// A blob whose chunks are not all in written packs yet.
struct Pending {
    digest: Digest,
    size: u64,
    chunks: Vec<(ChunkHash, u32, Place)>,
    checkpoints: Vec<Checkpoint>,
}

/// One blob being cut: the chunks cut and not taken yet, the bytes from file offset `start`
/// not taken yet, where its chunks went, and its SHA-256 checkpoints.
#[derive(Default)]
struct Cutting {
    cut: Vec<Chunk>,
    tail: Vec<u8>,
    start: u64,
    chunks: Vec<(ChunkHash, u32, Place)>,
    checkpoints: Vec<Checkpoint>,
}

/// The packs of one project being written.
struct Packer {
    owner: ProjectKey,
    builder: PackBuilder,
    /// Every chunk written or being written for this project in this collection.
    places: HashMap<ChunkHash, Place>,
    pending: Vec<Pending>,
}

impl Packer {
    fn new(owner: ProjectKey) -> Self {
        Self {
            owner,
            builder: PackBuilder::new(),
            places: HashMap::new(),
            pending: Vec::new(),
        }
    }

    /// Read `blob` and add its chunks; false (nothing added that any recipe will name) when
    /// its bytes are gone or no longer hash to its digest.
    async fn add(
        &mut self,
        meta: &dyn MetadataStore,
        blobs: &dyn BlobStore,
        blob: &WholeBlob,
        epoch: i64,
    ) -> Result<bool> {
        let mut stream = match blobs.get(&blob.digest, None).await {
            Ok(s) => s,
            Err(Error::NotFound(_)) => {
                tracing::warn!(digest = %blob.digest, "a held blob has no bytes; left whole");
                return Ok(false);
            }
            Err(e) => return Err(e),
        };
        let mut chunker = Chunker::new();
        let mut cutting = Cutting::default();
        while let Some(piece) = stream.try_next().await.map_err(Error::Body)? {
            let every = CHECKPOINT_EVERY;
            chunker.update_noting(&piece, &mut cutting.cut, every, &mut cutting.checkpoints);
            cutting.tail.extend_from_slice(&piece);
            self.take(meta, blobs, epoch, &mut cutting).await?;
        }
        let digest = chunker.finish(&mut cutting.cut);
        self.take(meta, blobs, epoch, &mut cutting).await?;
        let (start, chunks, checkpoints) = (cutting.start, cutting.chunks, cutting.checkpoints);
        if digest != blob.digest || start != blob.size {
            tracing::error!(
                digest = %blob.digest, actual = %digest, size = start,
                "a blob stored whole no longer hashes to its digest; left whole"
            );
            return Ok(false);
        }
        self.pending.push(Pending {
            digest: blob.digest,
            size: blob.size,
            chunks,
            checkpoints,
        });
        Ok(true)
    }

    /// Move the chunks cut so far into the pack being filled (a chunk this project's packs
    /// have already is named, not copied), writing the pack when it is full.
    async fn take(
        &mut self,
        meta: &dyn MetadataStore,
        blobs: &dyn BlobStore,
        epoch: i64,
        c: &mut Cutting,
    ) -> Result<()> {
        if c.cut.is_empty() {
            return Ok(());
        }
        let mut used = 0usize;
        for chunk in std::mem::take(&mut c.cut) {
            let at = (chunk.offset - c.start) as usize;
            let bytes = &c.tail[at..at + chunk.len as usize];
            used = at + chunk.len as usize;
            let place = match self.places.get(&chunk.hash) {
                Some(p) => p.clone(),
                None => {
                    if self.builder.would_overflow(bytes.len()) {
                        self.write(meta, blobs, epoch, &mut c.chunks).await?;
                    }
                    let p = Place::Filling(self.builder.len());
                    self.builder.push_hashed(chunk.hash, bytes);
                    self.places.insert(chunk.hash, p.clone());
                    p
                }
            };
            c.chunks.push((chunk.hash, chunk.len, place));
        }
        c.tail.drain(..used);
        c.start += used as u64;
        Ok(())
    }

    /// Write the pack being filled, resolve what it holds, and record every blob whose chunks
    /// are now all written. `current` is the blob being read (its chunks resolve too).
    async fn write(
        &mut self,
        meta: &dyn MetadataStore,
        blobs: &dyn BlobStore,
        epoch: i64,
        current: &mut [(ChunkHash, u32, Place)],
    ) -> Result<()> {
        if !self.builder.is_empty() {
            let body = std::mem::take(&mut self.builder).finish();
            let limit = body.len() as u64;
            let stream = futures::stream::once(async move { Ok(Bytes::from(body)) }).boxed();
            let (key, header) = blobs
                .put_pack(&self.owner.to_string(), stream, limit)
                .await?;
            let offsets: Vec<u64> = header.locations().map(|(_, offset)| offset).collect();
            let resolve = |place: &mut Place| {
                if let Place::Filling(i) = *place {
                    *place = Place::Written(key.clone(), offsets[i]);
                }
            };
            self.places.values_mut().for_each(resolve);
            for p in &mut self.pending {
                p.chunks.iter_mut().for_each(|(_, _, place)| resolve(place));
            }
            current.iter_mut().for_each(|(_, _, place)| resolve(place));
        }
        let pending = std::mem::take(&mut self.pending);
        let recipes: Vec<Recipe> = pending.into_iter().map(recipe).collect();
        if !recipes.is_empty() && meta.record_packed_whole(&recipes, epoch).await? == 0 {
            // cannot happen under the collection lock; the blobs stay whole and the packs
            // are collected as garbage
            tracing::warn!("a collection moved while packing blobs stored whole; left whole");
        }
        Ok(())
    }

    /// Write what is left.
    async fn finish(
        mut self,
        meta: &dyn MetadataStore,
        blobs: &dyn BlobStore,
        epoch: i64,
    ) -> Result<()> {
        self.write(meta, blobs, epoch, &mut []).await
    }
}

/// The recipe of a blob whose chunks are all written.
fn recipe(p: Pending) -> Recipe {
    let mut packs: Vec<PackKey> = Vec::new();
    let mut index: HashMap<PackKey, u32> = HashMap::new();
    let chunks = p
        .chunks
        .into_iter()
        .map(|(hash, len, place)| {
            let Place::Written(key, offset) = place else {
                unreachable!("a pending blob is recorded once every pack is written")
            };
            let pack = *index.entry(key.clone()).or_insert_with(|| {
                packs.push(key);
                packs.len() as u32 - 1
            });
            RecipeChunk {
                hash,
                pack,
                offset,
                len,
            }
        })
        .collect();
    Recipe {
        digest: p.digest,
        size: p.size,
        packs,
        chunks,
        checkpoints: p.checkpoints,
    }
}
