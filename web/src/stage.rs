//! Staging dropped files into a draft (hashing with progress) and committing it: missing-check,
//! upload only missing blobs with bounded concurrency, then the manifest or the patch.

use std::collections::HashMap;

use cairn_core::wire::{CommitRequest, CommitResponse, MAX_MISSING_CHECK, MissingBlobs};
use cairn_core::{Digest, Draft, Entry, EntryPath, Manifest, VersionRef};
use futures::StreamExt;
use leptos::prelude::*;

use crate::api;
use crate::files::{Picked, hash};

/// Uploads at once.
const CONCURRENCY: usize = 4;

/// Progress of one phase, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Meter {
    pub done: f64,
    pub total: f64,
    pub started_ms: f64,
}

impl Meter {
    fn now() -> f64 {
        web_sys::window()
            .and_then(|w| w.performance())
            .map_or(0.0, |p| p.now())
    }

    pub fn start(total: f64) -> Self {
        Self {
            done: 0.0,
            total,
            started_ms: Self::now(),
        }
    }

    /// "12.0 / 40.0 MB · 110 MB/s · ETA 0.3 s"
    pub fn label(&self) -> String {
        let secs = ((Self::now() - self.started_ms) / 1000.0).max(1e-3);
        let rate = self.done / secs;
        let eta = if rate > 0.0 {
            (self.total - self.done) / rate
        } else {
            0.0
        };
        format!(
            "{:.1} / {:.1} MB · {:.0} MB/s · ETA {:.1} s",
            self.done / 1e6,
            self.total / 1e6,
            rate / 1e6,
            eta
        )
    }
}

/// The page's editing state.
#[derive(Clone, Debug, Default)]
pub struct Staged {
    pub draft: Draft,
    /// Files to read for each blob the draft added.
    pub sources: HashMap<Digest, web_sys::File>,
}

/// Hash `picked` and put each into the draft (replacing what is at its path when `replace`).
pub async fn stage(
    state: RwSignal<Staged>,
    picked: Vec<Picked>,
    prefix: &str,
    replace: bool,
    meter: RwSignal<Meter>,
    cancel: RwSignal<bool>,
) -> Result<(), String> {
    let total: f64 = picked.iter().map(|p| p.file.size()).sum();
    meter.set(Meter::start(total));
    cancel.set(false);
    let mut base = 0.0;
    for p in picked {
        let raw = if prefix.is_empty() {
            p.path.clone()
        } else {
            format!("{}/{}", prefix.trim_end_matches('/'), p.path)
        };
        let path = EntryPath::normalize(&raw).map_err(|e| e.to_string())?;
        let size = p.file.size();
        let digest = hash(
            &p.file,
            |d| meter.update(|m| m.done = base + d as f64),
            || cancel.get_untracked(),
        )
        .await?;
        base += size;
        let entry = Entry::blob(digest, size as u64);
        let mut failed = None;
        state.update(|s| {
            let r = if replace {
                s.draft.put(path.clone(), entry)
            } else {
                s.draft.add(path.clone(), entry)
            };
            match r {
                Ok(()) => {
                    s.sources.entry(digest).or_insert_with(|| p.file.clone());
                }
                Err(e) => failed = Some(e.to_string()),
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
    }
    Ok(())
}

/// Where a commit goes.
#[derive(Clone, Debug)]
pub struct Target {
    pub entity: String,
    pub project: String,
    pub name: String,
    pub type_: String,
    pub base: Option<u64>,
    pub aliases: Vec<String>,
    pub description: Option<String>,
}

/// Upload what the registry lacks, then commit (the patch, for a draft with a base).
pub async fn commit(
    staged: Staged,
    target: Target,
    meter: RwSignal<Meter>,
) -> Result<CommitResponse, String> {
    let to_send: Manifest = match target.base {
        Some(_) => Manifest::from_entries(staged.draft.patch().put).map_err(|e| e.to_string())?,
        None => staged.draft.manifest().clone(),
    };
    let digests: Vec<Digest> = to_send.stored_blobs().into_iter().collect();
    let mut missing = Vec::new();
    for batch in digests.chunks(MAX_MISSING_CHECK) {
        let body = MissingBlobs {
            digests: batch.to_vec(),
            missing: Vec::new(),
        };
        let answer: MissingBlobs = api::json(
            "POST",
            &api::project_api(&target.entity, &target.project, "/blobs/missing"),
            &body,
        )
        .await?;
        missing.extend(answer.missing);
    }
    let jobs: Vec<(Digest, web_sys::File)> = missing
        .iter()
        .map(|d| {
            staged
                .sources
                .get(d)
                .cloned()
                .map(|f| (*d, f))
                .ok_or_else(|| format!("blob {d} is missing and no dropped file has it"))
        })
        .collect::<Result<_, _>>()?;
    meter.set(Meter::start(jobs.iter().map(|(_, f)| f.size()).sum()));
    let (entity, project) = (target.entity.clone(), target.project.clone());
    let results: Vec<Result<(), String>> = futures::stream::iter(jobs)
        .map(|(d, f)| {
            let (entity, project) = (entity.clone(), project.clone());
            async move {
                api::put_blob(&entity, &project, &d, &f).await?;
                meter.update(|m| m.done += f.size());
                Ok(())
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    results.into_iter().collect::<Result<Vec<()>, String>>()?;
    let mut request = CommitRequest {
        type_: Some(
            target
                .type_
                .parse()
                .map_err(|e: cairn_core::Error| e.to_string())?,
        ),
        aliases: target
            .aliases
            .iter()
            .map(|a| a.parse())
            .collect::<Result<_, _>>()
            .map_err(|e: cairn_core::Error| e.to_string())?,
        description: target.description.clone().filter(|d| !d.is_empty()),
        ..CommitRequest::default()
    };
    match target.base {
        Some(b) => {
            request.base = Some(VersionRef::Index(b));
            request.patch = Some(staged.draft.patch());
        }
        None => request.manifest = Some(staged.draft.manifest().clone()),
    }
    let name: cairn_core::ArtifactName = target
        .name
        .parse()
        .map_err(|e: cairn_core::Error| e.to_string())?;
    api::json(
        "POST",
        &api::project_api(
            &target.entity,
            &target.project,
            &format!("/artifacts/{name}/versions"),
        ),
        &request,
    )
    .await
}
