//! Staging dropped files into a draft (hashing with progress) and committing it: missing-check,
//! upload only missing blobs with bounded concurrency, then the manifest or the patch.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use cairn_core::wire::{
    CommitRequest, CommitResponse, Health, MAX_MISSING_CHECK, MissingBlobs, RESUMABLE_THRESHOLD,
};
use cairn_core::{Digest, Draft, Entry, EntryPath, Manifest, VersionRef};
use futures::StreamExt;
use leptos::prelude::*;

use crate::files::{Picked, hash};
use crate::{api, fingerprints, session};

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
            // an empty f64 sum is -0.0, which would show as "-0.0 MB"
            total: total + 0.0,
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

/// Files in flight in the current phase: path → (bytes done, size).
pub type Rows = RwSignal<BTreeMap<String, (f64, f64)>>;

fn row(rows: Rows, path: &str, done: f64, size: f64) {
    rows.update(|r| {
        r.insert(path.to_owned(), (done, size));
    });
}

fn unrow(rows: Rows, path: &str) {
    rows.update(|r| {
        r.remove(path);
    });
}

/// Stop hashing and uploading now: busy workers are terminated mid-file, uploads aborted.
pub fn cancel(flag: RwSignal<bool>) {
    flag.set(true);
    POOL.with(|p| p.as_ref().map(crate::pool::Pool::cancel));
    api::abort_uploads();
}

/// "1.5 GB"
pub fn bytes(n: f64) -> String {
    match n {
        n if n >= 1e9 => format!("{:.1} GB", n / 1e9),
        n if n >= 1e6 => format!("{:.1} MB", n / 1e6),
        n if n >= 1e3 => format!("{:.1} kB", n / 1e3),
        n => format!("{n} B"),
    }
}

/// Refuse files over the registry's size limit (large files go through upload sessions, which
/// have their own), before reading any of them.
async fn check_sizes(picked: &[Picked]) -> Result<(), String> {
    let health: Health = api::get("/api/v1/health").await?;
    let limit = (health.max_blob_size.max(health.max_upload_size)) as f64;
    let over: Vec<String> = picked
        .iter()
        .filter(|p| {
            let size = p.file.size();
            size > limit
                || (size < RESUMABLE_THRESHOLD as f64 && size > health.max_blob_size as f64)
        })
        .map(|p| format!("{} ({})", p.path, bytes(p.file.size())))
        .collect();
    if over.is_empty() {
        return Ok(());
    }
    Err(format!(
        "over this registry's limit of {} per file: {}",
        bytes(limit),
        over.join(", ")
    ))
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

/// Hashing workers alive (0: hashing on the page: none could start, or all failed).
pub fn workers() -> usize {
    POOL.with(|p| p.as_ref().map_or(0, crate::pool::Pool::alive))
}

/// Hash every file, on the worker pool when there is one (several files at once), else on the
/// page; `meter` follows the bytes done, `cancel` stops it.
async fn hash_all(
    picked: &[Picked],
    meter: RwSignal<Meter>,
    rows: Rows,
    cancel: RwSignal<bool>,
) -> Result<Vec<Digest>, String> {
    let Some(pool) = POOL.with(Clone::clone) else {
        let mut out = Vec::with_capacity(picked.len());
        let mut base = 0.0;
        for p in picked {
            let size = p.file.size();
            let digest = hash(
                &p.file,
                |d| {
                    meter.update(|m| m.done = base + d as f64);
                    row(rows, &p.path, d as f64, size);
                },
                || cancel.get_untracked(),
            )
            .await;
            unrow(rows, &p.path);
            out.push(digest?);
            base += size;
        }
        return Ok(out);
    };
    let done = Rc::new(RefCell::new(vec![0u64; picked.len()]));
    let jobs = picked.iter().enumerate().map(|(i, p)| {
        let (pool, done, file, path) = (pool.clone(), done.clone(), p.file.clone(), p.path.clone());
        async move {
            let size = file.size();
            let shown = path.clone();
            let result = pool
                .hash(file, move |d| {
                    let total: u64 = {
                        let mut all = done.borrow_mut();
                        all[i] = d;
                        all.iter().sum()
                    };
                    meter.update(|m| m.done = total as f64);
                    row(rows, &shown, d as f64, size);
                })
                .await;
            unrow(rows, &path);
            (i, result)
        }
    });
    let mut out = vec![None; picked.len()];
    let mut results = futures::stream::iter(jobs).buffer_unordered(pool.size() * 2);
    while let Some((i, result)) = results.next().await {
        if cancel.get_untracked() {
            rows.set(BTreeMap::new());
            return Err("cancelled".into());
        }
        out[i] = Some(result?);
    }
    Ok(out.into_iter().flatten().collect())
}

/// The digests of `picked`: large files hashed before (in this browser, unchanged since) are
/// recalled from IndexedDB instead of hashed again (resuming an upload after a reload); the
/// others are hashed, and the large ones remembered.
async fn hash_or_recall(
    picked: &[Picked],
    meter: RwSignal<Meter>,
    rows: Rows,
    cancel: RwSignal<bool>,
) -> Result<Vec<Digest>, String> {
    let large = |p: &Picked| p.file.size() >= RESUMABLE_THRESHOLD as f64;
    let mut known = Vec::with_capacity(picked.len());
    for p in picked {
        known.push(if large(p) {
            fingerprints::recall(&p.file).await
        } else {
            None
        });
    }
    let todo: Vec<Picked> = picked
        .iter()
        .zip(&known)
        .filter(|(_, k)| k.is_none())
        .map(|(p, _)| p.clone())
        .collect();
    meter.set(Meter::start(todo.iter().map(|p| p.file.size()).sum()));
    let mut hashed = hash_all(&todo, meter, rows, cancel).await?.into_iter();
    let mut out = Vec::with_capacity(picked.len());
    for (p, k) in picked.iter().zip(known) {
        let digest = match k {
            Some(d) => d,
            None => {
                let d = hashed.next().ok_or("a file was not hashed")?;
                if large(p) {
                    fingerprints::remember(&p.file, &d).await;
                }
                d
            }
        };
        out.push(digest);
    }
    Ok(out)
}

/// Hash `picked` and put each into the draft (replacing what is at its path when `replace`).
pub async fn stage(
    state: RwSignal<Staged>,
    picked: Vec<Picked>,
    prefix: &str,
    replace: bool,
    meter: RwSignal<Meter>,
    rows: Rows,
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
    check_sizes(&picked).await?;
    cancel.set(false);
    let digests = hash_or_recall(&picked, meter, rows, cancel).await?;
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
    rows: Rows,
    cancel: RwSignal<bool>,
) -> Result<CommitResponse, String> {
    cancel.set(false);
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
    let names: HashMap<Digest, String> = to_send
        .iter()
        .filter_map(|(p, e)| e.stored_blob().map(|d| (d, p.to_string())))
        .collect();
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
            let path = names.get(&d).cloned().unwrap_or_else(|| f.name());
            async move {
                let (size, shown, sent) = (f.size(), path.clone(), Rc::new(RefCell::new(0.0)));
                let counted = sent.clone();
                let report = move |now| {
                    let before = counted.replace(now);
                    meter.update(|m| m.done += now - before);
                    row(rows, &shown, now, size);
                };
                let cancelled = || cancel.get_untracked();
                // large files in parts through a resumable session, the rest in one PUT
                let result = if size >= RESUMABLE_THRESHOLD as f64 {
                    session::put_resumable(&entity, &project, &d, &f, report, cancelled).await
                } else {
                    api::put_blob(&entity, &project, &d, &f, report, cancelled).await
                };
                unrow(rows, &path);
                result?;
                let before = sent.replace(size);
                meter.update(|m| m.done += size - before);
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
