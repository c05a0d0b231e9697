//! Garbage collection: delete the blobs no committed or pending version references, once they
//! are older than a grace period (an upload whose commit is still on its way survives).
//!
//! Safe while registries run, and it cannot lose a byte an acknowledged version needs:
//! 1. one collection at a time ([`MetadataStore::lock_gc`]); it first finishes the deletions
//!    an interrupted collection left (digests still doomed);
//! 2. the metadata step, in one transaction that excludes commits, forgets the unreferenced
//!    holdings and *dooms* the digests no project holds any more;
//! 3. it deletes their bytes, and releases the doomed digests in batches once they are gone.
//!
//! A commit after step 2 finds the forgotten blobs missing (409) and its client uploads them
//! again; such an upload waits while the digest is doomed and publishes the bytes afresh after
//! (see [`crate::holding`] for why no interleaving can record a holding whose bytes a
//! collection then deletes).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde::Serialize;

use crate::recipe::PackKey;
use crate::seam::{Seam, Step};
use crate::{BlobStore, MetadataStore, Result};

/// Staged uploads younger than this are never cleaned by a collection, whatever its grace: an
/// upload in flight keeps its verified bytes in staging until its holding is recorded.
const STAGING_MIN_AGE: Duration = Duration::from_secs(3600);

/// Digests deleted between two releases of doomed digests.
const BATCH: usize = 100;

/// How many bytes of blobs stored whole one collection packs, unless told otherwise: enough
/// to convert a registry's daily uploads, bounded so that the first collection after an
/// upgrade does not rewrite a large registry in one go.
pub const DEFAULT_PACK_WHOLE: u64 = 16 << 30;

/// What a collection freed (or would free, on a dry run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GcReport {
    /// Blobs deleted.
    pub blobs: usize,
    /// Their bytes.
    pub bytes: u64,
    /// Blobs an interrupted collection had doomed, deleted by this one.
    pub resumed: usize,
    /// Packs deleted (or, on a dry run, that would be): no recipe names them.
    pub packs: usize,
    /// Their bytes.
    pub pack_bytes: u64,
    /// Packs rewritten (or that would be): the recipes naming them read less than half their
    /// bytes, so those chunks were copied into a new pack and the recipes moved onto it.
    pub repacked: usize,
    /// Bytes the next collection frees by deleting the rewritten packs (less the new ones).
    pub reclaimable: u64,
    /// Blobs stored whole that were packed into chunks (or would be): read, checked against
    /// their digests, cut and written into packs (`docs/chunking.md`, "Storage").
    pub packed_whole: usize,
    /// Their bytes (the packs hold less where their chunks repeat).
    pub packed_whole_bytes: u64,
    /// Whole objects deleted (or that would be): their blobs were packed by an earlier
    /// collection, more than the grace period ago.
    pub whole_freed: usize,
    /// Their bytes.
    pub whole_freed_bytes: u64,
    /// Nothing was deleted.
    pub dry_run: bool,
}

/// How to collect.
#[derive(Debug, Clone, Default)]
pub struct GcOptions {
    /// Keep unreferenced blobs uploaded within this long.
    pub grace: Duration,
    /// Report, delete nothing.
    pub dry_run: bool,
    /// Pack at most this many bytes of blobs stored whole (at least one blob when any is
    /// left); 0: pack none ([`DEFAULT_PACK_WHOLE`] is `cairn gc`'s default).
    pub pack_whole: u64,
    /// Tests: held still at [`Step::Forgotten`].
    pub seam: Seam,
}

/// Collect the garbage of one registry: unreferenced blobs last uploaded more than `grace` ago,
/// and interrupted uploads older than `grace` (at least an hour).
pub async fn collect_garbage(
    meta: &dyn MetadataStore,
    blobs: &dyn BlobStore,
    grace: Duration,
    dry_run: bool,
) -> Result<GcReport> {
    let options = GcOptions {
        grace,
        dry_run,
        pack_whole: DEFAULT_PACK_WHOLE,
        seam: Seam::default(),
    };
    collect(meta, blobs, &options).await
}

/// [`collect_garbage`] with every option.
pub async fn collect(
    meta: &dyn MetadataStore,
    blobs: &dyn BlobStore,
    options: &GcOptions,
) -> Result<GcReport> {
    let cutoff =
        (chrono::Utc::now() - options.grace).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    if options.dry_run {
        let doomed = meta.forget_unreferenced_blobs(&cutoff, true).await?;
        let mut bytes = 0;
        for digest in &doomed {
            bytes += blobs.size(digest).await?.unwrap_or(0);
        }
        let (old, sizes) = old_packs(blobs, options).await?;
        let packs = meta.unnamed_packs(&old, &doomed).await?;
        // the packs still named (the forgotten blobs' recipes aside, which a dry run keeps)
        let gone: HashSet<&PackKey> = packs.iter().collect();
        let named: Vec<PackKey> = old.iter().filter(|k| !gone.contains(k)).cloned().collect();
        let rewritten = crate::repack::rewrite(meta, blobs, &named, &sizes, Some(&doomed)).await?;
        let whole = crate::whole::pack(meta, blobs, &cutoff, options.pack_whole, true).await?;
        return Ok(GcReport {
            blobs: doomed.len(),
            bytes,
            resumed: 0,
            packs: packs.len(),
            pack_bytes: packs.iter().filter_map(|k| sizes.get(k)).sum(),
            repacked: rewritten.packs,
            reclaimable: rewritten.reclaimable,
            packed_whole: whole.blobs,
            packed_whole_bytes: whole.bytes,
            whole_freed: whole.freed,
            whole_freed_bytes: whole.freed_bytes,
            dry_run: true,
        });
    }
    let lock = meta.lock_gc(true).await?.expect("waited for the lock");
    let report = async {
        let resumed = delete_leftovers(meta, blobs).await?;
        let doomed = meta.forget_unreferenced_blobs(&cutoff, false).await?;
        options.seam.at(Step::Forgotten).await;
        let (freed, bytes) = delete_doomed(meta, blobs, &doomed).await?;
        let (packs, pack_bytes, kept, sizes) = collect_packs(meta, blobs, options).await?;
        let rewritten = crate::repack::rewrite(meta, blobs, &kept, &sizes, None).await?;
        let whole = crate::whole::pack(meta, blobs, &cutoff, options.pack_whole, false).await?;
        blobs
            .clean_staging(options.grace.max(STAGING_MIN_AGE))
            .await?;
        Ok(GcReport {
            blobs: freed,
            bytes,
            resumed,
            packs,
            pack_bytes,
            repacked: rewritten.packs,
            reclaimable: rewritten.reclaimable,
            packed_whole: whole.blobs,
            packed_whole_bytes: whole.bytes,
            whole_freed: whole.freed,
            whole_freed_bytes: whole.freed_bytes,
            dry_run: false,
        })
    }
    .await;
    lock.release().await;
    report
}

/// Finish what an interrupted collection left (its doomed digests), unless a collection is
/// running now; `None` then. A registry calls it at start and now and then, so an upload never
/// waits on a collection that was killed.
pub async fn finish_interrupted(
    meta: &dyn MetadataStore,
    blobs: &dyn BlobStore,
) -> Result<Option<usize>> {
    let Some(lock) = meta.lock_gc(false).await? else {
        return Ok(None);
    };
    let done = delete_leftovers(meta, blobs).await;
    lock.release().await;
    Ok(Some(done?))
}

/// Under the collection lock: delete the bytes of every digest still doomed (an interrupted
/// collection's) and release them; how many.
async fn delete_leftovers(meta: &dyn MetadataStore, blobs: &dyn BlobStore) -> Result<usize> {
    let (count, _) = delete_doomed(meta, blobs, &meta.doomed_blobs().await?).await?;
    delete_packs(meta, blobs, &meta.doomed_packs().await?).await?;
    Ok(count)
}

/// What collecting packs did: (count, bytes) deleted, the old packs kept, every pack's size.
type Collected = (usize, u64, Vec<PackKey>, HashMap<PackKey, u64>);

/// Delete the packs written more than `grace` ago that no recipe names: doom them (which
/// checks that no recipe names them, atomically), delete, release; (count, bytes, and the old
/// packs kept with every pack's size). A pack uploaded for an assembly still to come may go too
/// (with a short grace): the assembly then answers its chunks missing and the client sends them
/// again.
async fn collect_packs(
    meta: &dyn MetadataStore,
    blobs: &dyn BlobStore,
    options: &GcOptions,
) -> Result<Collected> {
    let (old, sizes) = old_packs(blobs, options).await?;
    let doomed = meta.doom_packs(&old).await?;
    options.seam.at(Step::PacksDoomed).await;
    delete_packs(meta, blobs, &doomed).await?;
    let bytes = doomed.iter().filter_map(|k| sizes.get(k)).sum();
    let gone: HashSet<&PackKey> = doomed.iter().collect();
    let kept = old.iter().filter(|k| !gone.contains(k)).cloned().collect();
    Ok((doomed.len(), bytes, kept, sizes))
}

/// The packs written before the grace cutoff, and every pack's size.
async fn old_packs(
    blobs: &dyn BlobStore,
    options: &GcOptions,
) -> Result<(Vec<PackKey>, HashMap<PackKey, u64>)> {
    let cutoff = chrono::Utc::now() - options.grace;
    let stored = blobs.list_packs().await?;
    let sizes = stored.iter().map(|p| (p.key.clone(), p.size)).collect();
    let old = stored
        .into_iter()
        .filter(|p| p.written < cutoff)
        .map(|p| p.key)
        .collect();
    Ok((old, sizes))
}

/// Delete doomed packs and release them, a batch at a time.
async fn delete_packs(
    meta: &dyn MetadataStore,
    blobs: &dyn BlobStore,
    packs: &[PackKey],
) -> Result<()> {
    for batch in packs.chunks(BATCH) {
        for key in batch {
            blobs.delete_pack(key).await?;
        }
        meta.release_packs(batch).await?;
    }
    Ok(())
}

/// Delete the bytes of doomed `digests` and release them, a batch at a time; (count, bytes).
async fn delete_doomed(
    meta: &dyn MetadataStore,
    blobs: &dyn BlobStore,
    digests: &[cairn_core::Digest],
) -> Result<(usize, u64)> {
    let mut bytes = 0;
    for batch in digests.chunks(BATCH) {
        for digest in batch {
            bytes += blobs.size(digest).await?.unwrap_or(0);
            blobs.delete(digest).await?;
        }
        meta.release_doomed(batch).await?;
    }
    Ok((digests.len(), bytes))
}
