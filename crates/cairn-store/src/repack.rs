//! Packs that are mostly garbage, rewritten by garbage collection (`docs/chunking.md`): a pack
//! of which the recipes naming it read less than half is copied, those chunks only, into
//! a new pack of the same project (written and verified like any upload), and the recipes are
//! moved onto it in one transaction. The old pack is then named by no recipe, and the next
//! collection deletes it (not this one: a download that read a recipe before the move may still
//! be reading the old pack).

use std::collections::{BTreeMap, HashMap, HashSet};

use bytes::Bytes;
use cairn_core::Digest;
use cairn_core::chunk::ChunkHash;
use cairn_core::pack::PackBuilder;
use futures::StreamExt;

use crate::recipe::PackKey;
use crate::{BlobStore, MetadataStore, Result};

/// A pack is rewritten when the pack of only the chunks read would be less than this share of
/// it (1 / LIVE_SHARE).
const LIVE_SHARE: u64 = 2;
/// The longest single read of the old pack.
const READ: u64 = 8 * 1024 * 1024;

/// What rewriting did (or, on a dry run, would do).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Rewritten {
    /// Packs rewritten.
    pub packs: usize,
    /// Bytes the next collection frees by deleting them, less the new packs' bytes.
    pub reclaimable: u64,
}

/// Rewrite those of `packs` (with their sizes) that are mostly garbage. A dry run passes the
/// blobs the collection would forget (`forgotten`), whose recipes it does not count.
pub(crate) async fn rewrite(
    meta: &dyn MetadataStore,
    blobs: &dyn BlobStore,
    packs: &[PackKey],
    sizes: &HashMap<PackKey, u64>,
    dry_run: Option<&[Digest]>,
) -> Result<Rewritten> {
    let forgotten: HashSet<&Digest> = dry_run.unwrap_or_default().iter().collect();
    let mut out = Rewritten::default();
    for key in packs {
        let size = sizes.get(key).copied().unwrap_or(0);
        // the chunks any recipe reads from this pack, by offset
        let mut live: BTreeMap<u64, (ChunkHash, u32)> = BTreeMap::new();
        for recipe in meta.recipes_naming(key).await? {
            if forgotten.contains(&recipe.digest) {
                continue;
            }
            let Some(at) = recipe.packs.iter().position(|p| p == key) else {
                continue;
            };
            for c in recipe.chunks.iter().filter(|c| c.pack as usize == at) {
                live.insert(c.offset, (c.hash, c.len));
            }
        }
        let live_bytes: u64 = live.values().map(|(_, len)| *len as u64).sum();
        let new_size = cairn_core::pack::PackHeader::encoded_len(live.len()) + live_bytes;
        if live.is_empty() || new_size * LIVE_SHARE >= size {
            continue;
        }
        out.packs += 1;
        out.reclaimable += size.saturating_sub(new_size);
        if dry_run.is_some() {
            continue;
        }
        let body = copy_live(blobs, key, &live).await?;
        let limit = body.len() as u64;
        let stream = futures::stream::once(async move { Ok(Bytes::from(body)) }).boxed();
        let (new_key, header) = blobs.put_pack(&key.owner, stream, limit).await?;
        let moved: HashMap<ChunkHash, u64> = header
            .locations()
            .map(|(entry, offset)| (entry.hash, offset))
            .collect();
        meta.repoint_recipes(key, &new_key, &moved).await?;
    }
    Ok(out)
}

/// A pack body of the `live` chunks of pack `key`, read in runs of adjacent chunks.
async fn copy_live(
    blobs: &dyn BlobStore,
    key: &PackKey,
    live: &BTreeMap<u64, (ChunkHash, u32)>,
) -> Result<Vec<u8>> {
    let total: u64 = live.values().map(|(_, len)| *len as u64).sum();
    let mut builder = PackBuilder::with_capacity(total as usize);
    let mut seen = HashSet::new();
    let chunks: Vec<(u64, ChunkHash, u32)> = live.iter().map(|(o, (h, l))| (*o, *h, *l)).collect();
    let mut i = 0;
    while i < chunks.len() {
        let start = chunks[i].0;
        let mut j = i + 1;
        while j < chunks.len()
            && chunks[j].0 == chunks[j - 1].0 + chunks[j - 1].2 as u64
            && chunks[j].0 + chunks[j].2 as u64 - start <= READ
        {
            j += 1;
        }
        let end = chunks[j - 1].0 + chunks[j - 1].2 as u64;
        let run = blobs.pack_bytes(key, start..end).await?;
        for (offset, hash, len) in &chunks[i..j] {
            if seen.insert(*hash) {
                let at = (offset - start) as usize;
                builder.push_hashed(*hash, &run[at..at + *len as usize]);
            }
        }
        i = j;
    }
    Ok(builder.finish())
}
