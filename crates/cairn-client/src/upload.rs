//! The upload pipeline: ask which blobs are missing (in batches), upload only those with
//! bounded concurrency (each retried on transient failures), and report what moved.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use cairn_core::wire::{MAX_MISSING_CHECK, MissingBlobs};
use cairn_core::{Digest, Manifest};
use futures::{StreamExt, TryStreamExt};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::http::{Http, ProjectRef};
use crate::progress::{Phase, Progress};
use crate::session::{RESUMABLE_THRESHOLD, put_resumable};

/// Blobs uploaded at once.
const CONCURRENCY: usize = 8;

/// What an upload moved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// Blobs sent (each distinct content once).
    pub uploaded_files: u64,
    /// Bytes sent.
    pub uploaded_bytes: u64,
    /// Entries whose content the registry already had.
    pub reused_files: u64,
    /// Bytes of large blobs the registry already held from an interrupted upload (not sent
    /// again; not counted in `uploaded_bytes`).
    #[serde(default)]
    pub resumed_bytes: u64,
}

/// Make sure the registry holds every stored blob `entries` name, uploading from `sources`.
pub(crate) async fn upload(
    http: &Http,
    project: &ProjectRef,
    entries: &Manifest,
    sources: &HashMap<Digest, PathBuf>,
    progress: &dyn Progress,
) -> Result<Transfer> {
    let mut wanted: BTreeMap<Digest, (u64, usize)> = BTreeMap::new();
    for (_, e) in entries.iter() {
        if let Some(d) = e.stored_blob() {
            let slot = wanted.entry(d).or_insert((e.size, 0));
            slot.1 += 1;
        }
    }
    let digests: Vec<Digest> = wanted.keys().copied().collect();
    let mut missing = Vec::new();
    for batch in digests.chunks(MAX_MISSING_CHECK) {
        let body = MissingBlobs {
            digests: batch.to_vec(),
            missing: Vec::new(),
        };
        let answer: MissingBlobs = http
            .json(Method::POST, &project.api("/blobs/missing"), Some(&body))
            .await?;
        missing.extend(answer.missing);
    }
    let mut transfer = Transfer::default();
    let mut jobs = Vec::with_capacity(missing.len());
    for d in &missing {
        // every entry of this content is sent with this one upload
        let (size, _) = wanted.remove(d).ok_or_else(|| {
            Error::Config(format!(
                "the registry reported {d} missing, which was not asked about"
            ))
        })?;
        let source = sources.get(d).ok_or_else(|| {
            Error::Config(format!(
                "blob {d} is not in the registry and no local file of this artifact has it"
            ))
        })?;
        transfer.uploaded_files += 1;
        transfer.uploaded_bytes += size;
        jobs.push((*d, source.clone(), size));
    }
    transfer.reused_files = wanted.values().map(|(_, uses)| *uses as u64).sum();
    progress.begin(Phase::Upload, transfer.uploaded_bytes);
    // large blobs one at a time, each in parallel parts through a resumable session, while the
    // small ones go up whole, several at once
    let (large, small): (Vec<_>, Vec<_>) = jobs
        .into_iter()
        .partition(|(_, _, size)| *size >= RESUMABLE_THRESHOLD);
    let small = futures::stream::iter(small)
        .map(|(d, path, size)| async move {
            http.put_blob(project, &d, &path, size).await?;
            progress.advance(Phase::Upload, size);
            Ok::<_, Error>(())
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<()>();
    let large = async {
        let mut resumed = 0;
        for (d, path, size) in large {
            resumed += put_resumable(http, project, &d, &path, size, progress).await?;
        }
        Ok::<_, Error>(resumed)
    };
    let ((), resumed) = futures::try_join!(small, large)?;
    transfer.resumed_bytes = resumed;
    transfer.uploaded_bytes -= resumed;
    progress.end(Phase::Upload);
    Ok(transfer)
}
