//! Storage quotas: an upload that would take a project over its quota is refused with 507
//! before its bytes are read (from `Content-Length`, the upload session's size, a pack's
//! length or the sizes of the blobs to assemble). What a project holds is counted on its
//! blobs, each once however many versions name it; bytes it already holds are never charged.
//!
//! Each replica trusts what it read of a project's quota and usage for [`FRESH`] and adds
//! what it admits meanwhile, so a project overshoots its quota by at most what the other
//! replicas admit within that time (and by uploads admitted together at its edge).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use cairn_core::Digest;
use cairn_store::ProjectKey;

use crate::AppState;
use crate::error::ApiError;

/// How long a replica trusts a project's quota and usage before reading them again.
pub const FRESH: Duration = Duration::from_secs(2);

/// What this replica last read of each project's quota and usage.
#[derive(Debug, Default)]
pub struct Quotas {
    seen: Mutex<HashMap<ProjectKey, Seen>>,
}

#[derive(Clone, Copy, Debug)]
struct Seen {
    at: Instant,
    quota: Option<u64>,
    used: u64,
}

impl Quotas {
    /// Read `project`'s quota (and, if it has one, its usage) again at its next upload.
    pub(crate) fn forget(&self, project: &ProjectKey) {
        self.seen.lock().unwrap().remove(project);
    }
}

/// The project's quota and usage, from this replica's recent reading or afresh.
async fn seen(state: &AppState, project: &ProjectKey) -> Result<Seen, ApiError> {
    let recent = state.quotas.seen.lock().unwrap().get(project).copied();
    if let Some(s) = recent.filter(|s| s.at.elapsed() < FRESH) {
        return Ok(s);
    }
    let quota = state.meta.quota(project).await?;
    let used = match quota {
        Some(_) => state.meta.usage(project).await?.bytes,
        None => 0,
    };
    let s = Seen {
        at: Instant::now(),
        quota,
        used,
    };
    state.quotas.seen.lock().unwrap().insert(project.clone(), s);
    Ok(s)
}

/// Refuse (507) `incoming` more bytes if they would take `project` over its quota (as `s`
/// read it); if they fit and `charge`, count them as held until the usage is read again.
fn fits(
    state: &AppState,
    project: &ProjectKey,
    s: Seen,
    incoming: u64,
    charge: bool,
) -> Result<(), ApiError> {
    let Some(quota) = s.quota else {
        return Ok(());
    };
    if s.used.saturating_add(incoming) > quota {
        return Err(ApiError::OverQuota {
            project: project.to_string(),
            quota,
            used: s.used,
            incoming,
        });
    }
    if charge && let Some(s) = state.quotas.seen.lock().unwrap().get_mut(project) {
        s.used = s.used.saturating_add(incoming);
    }
    Ok(())
}

/// Refuse (507) a pack of `len` bytes that could not fit in `project`'s quota. Nothing is
/// charged: its chunks count once blobs are assembled from them.
pub(crate) async fn room_for_pack(
    state: &AppState,
    project: &ProjectKey,
    len: u64,
) -> Result<(), ApiError> {
    let s = seen(state, project).await?;
    fits(state, project, s, len, false)
}

/// Admit these blobs (digest and size) into `project`: only those it does not hold yet count.
pub async fn admit_blobs(
    state: &AppState,
    project: &ProjectKey,
    blobs: &[(Digest, u64)],
) -> Result<(), ApiError> {
    let s = seen(state, project).await?;
    if s.quota.is_none() {
        return Ok(());
    }
    let digests: Vec<Digest> = blobs.iter().map(|(d, _)| *d).collect();
    let missing: std::collections::HashSet<Digest> = state
        .meta
        .missing_blobs(project, &digests)
        .await?
        .into_iter()
        .collect();
    let incoming = blobs
        .iter()
        .filter(|(d, _)| missing.contains(d))
        .map(|(_, size)| size)
        .sum();
    fits(state, project, s, incoming, true)
}
