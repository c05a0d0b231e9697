//! Staging dropped files into a draft (hashing and chunking with progress) and committing it:
//! missing-check, the missing blobs through chunks and packs (only the chunks the registry
//! cannot reuse), then the manifest or the patch.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::Arc;

use cairn_core::chunk::Chunk;
use cairn_core::wire::{
    CommitRequest, CommitResponse, Health, MAX_MISSING_CHECK, MissingBlobs, RESUMABLE_THRESHOLD,
};
use cairn_core::{Digest, Draft, Entry, EntryPath, Manifest, VersionRef};
use futures::StreamExt;
use leptos::prelude::*;

use crate::chunked::{Job, Moved, Source};
use crate::files::{Hashed, Picked, hash};
use crate::size::{exact, human_f64};
use crate::{api, chunked, fingerprints};

/// Files up to this size are hashed many to a worker message.
const SMALL: f64 = (1 << 20) as f64;
/// Most small files, and bytes of them, in one worker message.
const BATCH_FILES: usize = 256;
const BATCH_BYTES: f64 = (8 << 20) as f64;

/// Progress of one phase, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Meter {
    pub done: f64,
    pub total: f64,
    pub started_ms: f64,
    /// Of `done`, the bytes the registry already had (uploads only).
    pub reused: f64,
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
            reused: 0.0,
        }
    }

    /// "12.0 MiB / 40.0 MiB · 110.0 MiB/s · ETA 0.3 s", and "· 8.0 MiB already on the registry"
    /// when some was.
    pub fn label(&self) -> String {
        let secs = ((Self::now() - self.started_ms) / 1000.0).max(1e-3);
        // bytes the registry already had cost no time: the rate is of the bytes moved
        let rate = (self.done - self.reused) / secs;
        let eta = if rate > 0.0 {
            (self.total - self.done) / rate
        } else {
            0.0
        };
        let line = format!(
            "{} / {} · {}/s · ETA {:.1} s",
            human_f64(self.done),
            human_f64(self.total),
            human_f64(rate),
            eta
        );
        if self.reused > 0.0 {
            format!(
                "{line} · {} already on the registry",
                human_f64(self.reused)
            )
        } else {
            line
        }
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

thread_local! {
    static LIMITS: RefCell<Option<Health>> = const { RefCell::new(None) };
}

/// The registry's size limits, asked once per page (the registry enforces them anyway).
async fn limits() -> Result<Health, String> {
    if let Some(h) = LIMITS.with(|l| l.borrow().clone()) {
        return Ok(h);
    }
    let health: Health = api::get("/api/v1/health").await?;
    LIMITS.with(|l| *l.borrow_mut() = Some(health.clone()));
    Ok(health)
}

/// Refuse files over the registry's size limit (large files go through upload sessions, which
/// have their own), before reading any of them.
async fn check_sizes(picked: &[Picked]) -> Result<(), String> {
    let health = limits().await?;
    let limit = (health.max_blob_size.max(health.max_upload_size)) as f64;
    let over: Vec<String> = picked
        .iter()
        .filter(|p| {
            let size = p.size;
            size > limit
                || (size < RESUMABLE_THRESHOLD as f64 && size > health.max_blob_size as f64)
        })
        .map(|p| format!("{} ({})", p.path, exact(p.size as u64)))
        .collect();
    if over.is_empty() {
        return Ok(());
    }
    Err(format!(
        "over this registry's limit of {} ({}) per file: {}",
        human_f64(limit),
        exact(limit as u64),
        over.join(", ")
    ))
}

/// The page's editing state.
#[derive(Clone, Debug, Default)]
pub struct Staged {
    pub draft: Draft,
    /// Files to read for each blob the draft added.
    pub sources: HashMap<Digest, web_sys::File>,
    /// The chunks of each blob the draft added.
    pub chunks: HashMap<Digest, Arc<Vec<Chunk>>>,
    /// The bytes of small files, kept from hashing (up to [`KEPT_BYTES`] in all).
    pub kept: HashMap<Digest, js_sys::Uint8Array>,
}

/// Most bytes of small files a draft keeps in memory; past that they are read again.
pub const KEPT_BYTES: u32 = 256 << 20;

thread_local! {
    static POOL: Option<crate::pool::Pool> = crate::pool::Pool::start(None);
}

/// Hashing workers alive (0: hashing on the page: none could start, or all failed).
pub fn workers() -> usize {
    POOL.with(|p| p.as_ref().map_or(0, crate::pool::Pool::alive))
}

/// Batch `b` has `bytes` hashed: the meter shows the sum over all batches.
fn tally(done: &RefCell<Vec<u64>>, b: usize, bytes: u64, meter: RwSignal<Meter>) {
    let total: u64 = {
        let mut all = done.borrow_mut();
        all[b] = bytes;
        all.iter().sum()
    };
    meter.update(|m| m.done = total as f64);
}

/// Hash and chunk every file, on the worker pool when there is one (several files at once,
/// small ones many to a message), else on the page; `meter` follows the bytes done, `cancel`
/// stops it.
async fn hash_all(
    picked: &[Picked],
    meter: RwSignal<Meter>,
    rows: Rows,
    cancel: RwSignal<bool>,
) -> Result<Vec<Hashed>, String> {
    let Some(pool) = POOL.with(Clone::clone) else {
        let mut out = Vec::with_capacity(picked.len());
        let mut base = 0.0;
        for p in picked {
            let size = p.size;
            let hashed = hash(
                &p.file,
                |d| {
                    meter.update(|m| m.done = base + d as f64);
                    row(rows, &p.path, d as f64, size);
                },
                || cancel.get_untracked(),
            )
            .await;
            unrow(rows, &p.path);
            out.push(hashed?);
            base += size;
            // a file too small for a progress message still counts once hashed
            meter.update(|m| m.done = base);
        }
        return Ok(out);
    };
    let sizes: Vec<f64> = picked.iter().map(|p| p.size).collect();
    let batches = batches(&sizes);
    let done = Rc::new(RefCell::new(vec![0u64; batches.len()]));
    let jobs = batches.into_iter().enumerate().map(|(b, (first, n))| {
        let (pool, done, finished) = (pool.clone(), done.clone(), done.clone());
        let files: Vec<web_sys::File> = picked[first..first + n]
            .iter()
            .map(|p| p.file.clone())
            .collect();
        let size: f64 = files.iter().map(|f| f.size()).sum();
        let shown = match n {
            1 => picked[first].path.clone(),
            _ => format!("{} (+{} more)", picked[first].path, n - 1),
        };
        async move {
            let label = shown.clone();
            let result = pool
                .hash_many(files, move |d| {
                    tally(&done, b, d, meter);
                    row(rows, &label, d as f64, size);
                })
                .await;
            unrow(rows, &shown);
            if result.is_ok() {
                // small files are hashed before the worker's first progress message: a batch
                // that is done counts whole
                tally(&finished, b, size as u64, meter);
            }
            (first, result)
        }
    });
    let mut out = vec![None; picked.len()];
    let mut results = futures::stream::iter(jobs).buffer_unordered(pool.size() * 2);
    while let Some((first, result)) = results.next().await {
        if cancel.get_untracked() {
            rows.set(BTreeMap::new());
            return Err("cancelled".into());
        }
        for (k, one) in result?.into_iter().enumerate() {
            out[first + k] = Some(one.map_err(|e| format!("{}: {e}", picked[first + k].path))?);
        }
    }
    out.into_iter()
        .map(|h| h.ok_or_else(|| "a file was not hashed".to_string()))
        .collect()
}

/// Files of these `sizes` as runs (first, count) for the workers: a large file alone, small
/// ones together.
pub fn batches(sizes: &[f64]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    let mut bytes = 0.0;
    for (i, size) in sizes.iter().copied().enumerate() {
        match out.last_mut() {
            Some((first, n))
                if size <= SMALL
                    && sizes[*first] <= SMALL
                    && *n < BATCH_FILES
                    && bytes + size <= BATCH_BYTES =>
            {
                *n += 1;
                bytes += size;
            }
            _ => {
                out.push((i, 1));
                bytes = size;
            }
        }
    }
    out
}

/// The digests and chunks of `picked`: large files hashed before (in this browser, unchanged
/// since) are recalled from IndexedDB instead of hashed again (resuming an upload after a
/// reload); the others are hashed, and the large ones remembered.
async fn hash_or_recall(
    picked: &[Picked],
    meter: RwSignal<Meter>,
    rows: Rows,
    cancel: RwSignal<bool>,
) -> Result<Vec<Hashed>, String> {
    let large = |p: &Picked| p.size >= RESUMABLE_THRESHOLD as f64;
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
    meter.set(Meter::start(todo.iter().map(|p| p.size).sum()));
    let mut hashed = hash_all(&todo, meter, rows, cancel).await?.into_iter();
    let mut out = Vec::with_capacity(picked.len());
    for (p, k) in picked.iter().zip(known) {
        let one = match k {
            Some(h) => h,
            None => {
                let h = hashed.next().ok_or("a file was not hashed")?;
                if large(p) {
                    fingerprints::remember(&p.file, &h).await;
                }
                h
            }
        };
        out.push(one);
    }
    Ok(out)
}

/// How staged files go into the draft.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placing {
    /// Beside what is there; a path already holding another file is refused.
    Add,
    /// Over what is at the same paths.
    Merge,
    /// As the whole new contents of the folder `prefix` (what it held and they lack goes).
    ReplaceFolder,
}

/// Hash `picked` and put each into the draft under `prefix`, as `placing` says (all or
/// nothing: the draft is unchanged when any file fails).
pub async fn stage(
    state: RwSignal<Staged>,
    picked: Vec<Picked>,
    prefix: &str,
    placing: Placing,
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
    let mut picked = picked;
    let files: Vec<web_sys::File> = picked.iter().map(|p| p.file.clone()).collect();
    let sizes = match POOL.with(Clone::clone) {
        Some(pool) => pool.sizes(&files).await?,
        None => files.iter().map(|f| f.size()).collect(),
    };
    for (p, size) in picked.iter_mut().zip(sizes) {
        p.size = size;
    }
    check_sizes(&picked).await?;
    cancel.set(false);
    let hashed = hash_or_recall(&picked, meter, rows, cancel).await?;
    let digests: Vec<Digest> = hashed.iter().map(|h| h.digest).collect();
    let mut failed = None;
    state.update(|s| {
        let batch = paths
            .iter()
            .zip(&picked)
            .zip(&digests)
            .map(|((path, p), d)| (path.clone(), Entry::blob(*d, p.size as u64)));
        let placed = match placing {
            Placing::Add => s.draft.add_many(batch, false),
            Placing::Merge => s.draft.add_many(batch, true),
            Placing::ReplaceFolder => s.draft.replace_dir(prefix, batch),
        };
        match placed {
            Ok(()) => {
                let mut kept: u32 = s.kept.values().map(|b| b.length()).sum();
                for (p, h) in picked.iter().zip(hashed) {
                    s.sources.entry(h.digest).or_insert_with(|| p.file.clone());
                    if let Some(bytes) = h.kept
                        && kept + bytes.length() <= KEPT_BYTES
                    {
                        kept += bytes.length();
                        s.kept.insert(h.digest, bytes);
                    }
                    s.chunks
                        .entry(h.digest)
                        .or_insert_with(|| Arc::new(h.chunks));
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
    // what each blob replaces in the base: the registry reuses its chunks
    let mut bases: HashMap<Digest, Vec<Digest>> = HashMap::new();
    for (path, entry) in to_send.iter() {
        let (Some(d), Some(old)) = (
            entry.stored_blob(),
            staged
                .draft
                .base()
                .get(path.as_str())
                .and_then(|e| e.stored_blob()),
        ) else {
            continue;
        };
        let b = bases.entry(d).or_default();
        if old != d && !b.contains(&old) {
            b.push(old);
        }
    }
    let jobs: Vec<Job> = missing
        .iter()
        .map(|d| {
            let (Some(file), Some(chunks)) = (staged.sources.get(d), staged.chunks.get(d)) else {
                return Err(format!("blob {d} is missing and no dropped file has it"));
            };
            let source = match staged.kept.get(d) {
                Some(bytes) => Source::Bytes(bytes.clone()),
                None => Source::File(file.clone()),
            };
            Ok(Job {
                digest: *d,
                source,
                chunks: chunks.clone(),
                bases: bases.remove(d).unwrap_or_default(),
            })
        })
        .collect::<Result<_, _>>()?;
    meter.set(Meter::start(
        jobs.iter()
            .map(|j| j.chunks.iter().map(|c| c.len as f64).sum::<f64>())
            .sum(),
    ));
    rows.set(BTreeMap::new());
    let report: Rc<dyn Fn(Moved)> = Rc::new(move |m: Moved| {
        meter.update(|meter| {
            meter.done = (m.sent + m.reused).min(meter.total);
            meter.reused = m.reused;
        });
    });
    let cancelled: Rc<dyn Fn() -> bool> = Rc::new(move || cancel.get_untracked());
    if !jobs.is_empty() {
        let files: Vec<web_sys::File> = jobs
            .iter()
            .filter_map(|j| match &j.source {
                Source::File(f) => Some(f.clone()),
                Source::Bytes(_) => None,
            })
            .collect();
        if let Err(e) =
            chunked::upload(&target.entity, &target.project, jobs, report, cancelled).await
        {
            if !e.contains("(422)") {
                return Err(e);
            }
            // bytes that are not what their hashes say: a file changed since it was hashed (or
            // since its digest and chunks were remembered), so what was remembered goes
            for f in &files {
                fingerprints::forget(f).await;
            }
            return Err(format!(
                "{e}; a file changed since it was hashed: drop it again"
            ));
        }
    }
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
