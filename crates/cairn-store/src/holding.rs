//! Uploads that garbage collection cannot undo: how a project comes to hold a blob.
//!
//! A collection (see [`crate::gc`]) forgets unreferenced holdings and *dooms* their digests in
//! one transaction, then deletes the bytes, then releases the doomed digests. An upload has its
//! verified bytes in staging and then:
//!
//! 1. reads the [`GcMark`]: the collection epoch, and whether the digest is doomed (then it
//!    waits for the deletion to finish, up to a bound, and answers
//!    [`Error::Collecting`](crate::Error::Collecting) after it);
//! 2. publishes the staged bytes under the digest (kept in staging, so it can do it again),
//!    unless the blob is stored as chunks already (it has a recipe: read from its chunks);
//! 3. records the holding only if the epoch is unchanged and the digest not doomed, checked
//!    atomically with the write (on SQLite inside the INSERT/UPDATE statement itself; on
//!    PostgreSQL in a transaction under the lock the collection's metadata step takes
//!    exclusively); otherwise nothing is recorded and it starts over at 1.
//!
//! Bytes are deleted only while their digest is doomed, and a digest is doomed from a metadata
//! step (which advances the epoch) until after its deletion. So if step 3 records, no deletion
//! of the digest happened between steps 2 and 3 (it would need a doom after step 1, which moves
//! the epoch, or a doom still in force at step 1 or 3), and none can follow without a later
//! metadata step — which either sees the version that committed against this holding (the blob
//! is referenced: not doomed) or forgets the holding first (then no commit can rely on it).
//! Every holding a commit can see therefore has its bytes, until a collection forgets it.

use std::time::{Duration, Instant};

use crate::blob::{BlobStore, Staged};
use crate::error::{Error, Result};
use crate::meta::{MetadataStore, ProjectKey, Recorded};
use crate::seam::{Seam, Step};

/// How long an upload waits for a collection deleting the same bytes before it answers
/// [`Error::Collecting`] (a collection releases its doomed digests in batches of 100, so the
/// wait is normally a fraction of a second).
pub const DEFAULT_WAIT: Duration = Duration::from_secs(30);

/// Publish `staged` and record that `project` holds it, safely beside garbage collection (see
/// the module docs); the staged copy is dropped either way. True if the project did not hold
/// the blob before.
pub async fn hold(
    meta: &dyn MetadataStore,
    blobs: &dyn BlobStore,
    project: &ProjectKey,
    staged: Staged,
    wait: Duration,
    seam: &Seam,
) -> Result<bool> {
    let held = publish_and_record(meta, blobs, project, &staged, wait, seam).await;
    let discarded = blobs.discard(staged).await;
    let new = held?;
    if let Err(e) = discarded {
        // the holding is recorded and its bytes published; a left-over staged copy is only
        // space, which `clean_staging` reclaims
        tracing::warn!(error = %e, "dropping a staged upload");
    }
    Ok(new)
}

async fn publish_and_record(
    meta: &dyn MetadataStore,
    blobs: &dyn BlobStore,
    project: &ProjectKey,
    staged: &Staged,
    wait: Duration,
    seam: &Seam,
) -> Result<bool> {
    let deadline = Instant::now() + wait;
    loop {
        let mark = meta.gc_mark(&staged.digest).await?;
        let doomed = mark.doomed;
        if !doomed {
            // a blob stored as chunks (assembled, or packed by a collection) is read from
            // them: its recipe goes only with a doom, which would move the epoch before the
            // record below, so nothing needs publishing whole
            if !meta.has_recipe(&staged.digest).await? {
                blobs.publish(staged).await?;
            }
            seam.at(Step::Published).await;
            match meta
                .record_blob(project, &staged.digest, staged.size, mark)
                .await?
            {
                Recorded::New => return Ok(true),
                Recorded::Refreshed => return Ok(false),
                // a collection ran since the mark: the published copy may be gone; again
                Recorded::Collected => {}
            }
        }
        if Instant::now() >= deadline {
            return Err(Error::Collecting(staged.digest));
        }
        if doomed {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
