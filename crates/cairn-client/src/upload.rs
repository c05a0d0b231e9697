//! The upload pipeline: ask which blobs are missing (in batches), upload only those as chunks
//! the registry lacks (`chunked`), and report what moved.

use std::collections::{BTreeMap, HashMap};

use cairn_core::wire::{MAX_BASES, MAX_MISSING_CHECK, MissingBlobs};
use cairn_core::{Digest, Manifest};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::artifact::Source;
use crate::chunked::{self, Job};
use crate::error::{Error, Result};
use crate::http::{Http, ProjectRef};
use crate::progress::{Phase, Progress};

/// What an upload moved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// Blobs sent (each distinct content once).
    pub uploaded_files: u64,
    /// Bytes sent: the chunks the registry lacked.
    pub uploaded_bytes: u64,
    /// Entries whose content the registry already had.
    pub reused_files: u64,
    /// Bytes of the blobs sent that the registry had as chunks already: of the files they
    /// replace, or repeated (not sent again; not counted in `uploaded_bytes`).
    #[serde(default)]
    pub reused_bytes: u64,
    /// Bytes the registry held from an interrupted upload (not sent again either).
    #[serde(default)]
    pub resumed_bytes: u64,
}

/// Make sure the registry holds every stored blob `entries` name, uploading from `sources`;
/// the blobs `base` has at the same paths are offered as chunks to reuse.
pub(crate) async fn upload(
    http: &Http,
    project: &ProjectRef,
    entries: &Manifest,
    base: Option<&Manifest>,
    sources: &HashMap<Digest, Source>,
    progress: &dyn Progress,
) -> Result<Transfer> {
    let mut bases: HashMap<Digest, Vec<Digest>> = HashMap::new();
    for (path, e) in entries.iter() {
        let old = base
            .and_then(|b| b.get(path.as_str()))
            .and_then(|o| o.stored_blob());
        if let (Some(new), Some(old)) = (e.stored_blob(), old)
            && new != old
        {
            let list = bases.entry(new).or_default();
            if !list.contains(&old) && list.len() < MAX_BASES {
                list.push(old);
            }
        }
    }
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
        jobs.push(Job {
            digest: *d,
            path: source.path.clone(),
            chunks: Some(source.chunks.clone()),
            size,
            bases: bases.remove(d).unwrap_or_default(),
        });
    }
    transfer.reused_files = wanted.values().map(|(_, uses)| *uses as u64).sum();
    progress.begin(Phase::Upload, jobs.iter().map(|j| j.size).sum());
    let sent = chunked::upload(http, project, jobs, progress).await?;
    transfer.uploaded_bytes = sent.bytes;
    transfer.reused_bytes = sent.reused;
    transfer.resumed_bytes = sent.resumed;
    progress.end(Phase::Upload);
    Ok(transfer)
}
