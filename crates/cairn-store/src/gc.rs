//! Garbage collection: delete the blobs no committed or pending version references, once they
//! are older than a grace period (an upload whose commit is still on its way survives). Safe
//! while registries run: the metadata step excludes concurrent commits (see
//! [`MetadataStore::forget_unreferenced_blobs`]); a commit after it finds the forgotten blobs
//! missing (409) and its client uploads them again.

use std::time::Duration;

use serde::Serialize;

use crate::{BlobStore, MetadataStore, Result};

/// What a collection freed (or would free, on a dry run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GcReport {
    /// Blobs deleted.
    pub blobs: usize,
    /// Their bytes.
    pub bytes: u64,
    /// Nothing was deleted.
    pub dry_run: bool,
}

/// Collect the garbage of one registry: unreferenced blobs last uploaded more than `grace` ago,
/// and interrupted uploads older than `grace`.
pub async fn collect_garbage(
    meta: &dyn MetadataStore,
    blobs: &dyn BlobStore,
    grace: Duration,
    dry_run: bool,
) -> Result<GcReport> {
    let cutoff = (chrono::Utc::now() - grace).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let freed = meta.forget_unreferenced_blobs(&cutoff, dry_run).await?;
    let mut bytes = 0;
    for digest in &freed {
        bytes += blobs.size(digest).await?.unwrap_or(0);
        if !dry_run {
            blobs.delete(digest).await?;
        }
    }
    if !dry_run {
        blobs.clean_staging(grace).await?;
    }
    Ok(GcReport {
        blobs: freed.len(),
        bytes,
        dry_run,
    })
}
