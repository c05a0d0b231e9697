//! Staging dropped files into a draft (hashing with progress) and committing it: missing-check,
//! upload only missing blobs with bounded concurrency, then the manifest or the patch.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

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

thread_local! {
    static POOL: Option<crate::pool::Pool> = crate::pool::Pool::start(None);
}

/// Hashing workers running (0: hashing on the page).
pub fn workers() -> usize {
    POOL.with(|p| p.as_ref().map_or(0, |p| p.size()))
}

/// Hash every file, on the worker pool when there is one (several files at once), else on the
/// page; `meter` follows the bytes done, `cancel` stops it.
async fn hash_all(
    picked: &[Picked],
    meter: RwSignal<Meter>,
    cancel: RwSignal<bool>,
) -> Result<Vec<Digest>, String> {
    let Some(pool) = POOL.with(Clone::clone) else {
        let mut out = Vec::with_capacity(picked.len());
        let mut base = 0.0;
        for p in picked {
            out.push(
                hash(
                    &p.file,
                    |d| meter.update(|m| m.done = base + d as f64),
                    || cancel.get_untracked(),
                )
                .await?,
            );
            base += p.file.size();
        }
        return Ok(out);
    };
    let done = Rc::new(RefCell::new(vec![0u64; picked.len()]));
    let jobs = picked.iter().enumerate().map(|(i, p)| {
        let (pool, done, file) = (pool.clone(), done.clone(), p.file.clone());
        async move {
            let result = pool
                .hash(file, move |d| {
                    let total: u64 = {
                        let mut all = done.borrow_mut();
                        all[i] = d;
                        all.iter().sum()
                    };
                    meter.update(|m| m.done = total as f64);
                })
                .await;
            (i, result)
        }
    });
    let mut out = vec![None; picked.len()];
    let mut results = futures::stream::iter(jobs).buffer_unordered(pool.size() * 2);
    while let Some((i, result)) = results.next().await {
        if cancel.get_untracked() {
            return Err("cancelled".into());
        }
        out[i] = Some(result?);
    }
    Ok(out.into_iter().flatten().collect())
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
    // names are checked before any byte is read
    let paths = picked
        .iter()
        .map(|p| {
            let raw = if prefix.is_empty() {
                p.path.clone()
            } else {
                format!("{}/{}", prefix.trim_end_matches('/'), p.path)
            };
            EntryPath::normalize(&raw).map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    meter.set(Meter::start(picked.iter().map(|p| p.file.size()).sum()));
    cancel.set(false);
    let digests = hash_all(&picked, meter, cancel).await?;
    let mut failed = None;
    state.update(|s| {
        let batch = paths
            .iter()
            .zip(&picked)
            .zip(&digests)
            .map(|((path, p), d)| (path.clone(), Entry::blob(*d, p.file.size() as u64)));
        match s.draft.add_many(batch, replace) {
            Ok(()) => {
                for (p, d) in picked.iter().zip(&digests) {
                    s.sources.entry(*d).or_insert_with(|| p.file.clone());
                }
            }
            Err(e) => failed = Some(e.to_string()),
        }
    });
    failed.map_or(Ok(()), Err)
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
