//! Uploads through chunks and packs (`docs/chunking.md`), as the CLI sends them: the registry is
//! asked which chunks it can reuse — from the files a draft replaces (segments first, then the
//! chunks of the segments it lacks) and from packs an interrupted upload sent — only the others
//! go up, many to a pack, two packs at once; then the registry assembles each blob and verifies
//! it whole.

use std::collections::{BTreeSet, HashSet};
use std::rc::Rc;
use std::sync::Arc;

use crate::packer::Packer;
pub use crate::packer::Source;
use crate::{api, journal};
use cairn_core::Digest;
use cairn_core::chunk::Chunk;
use cairn_core::pack::PackId;
use cairn_core::segment::segments;
use cairn_core::wire::{
    AssembleOutcome, AssembleRequest, BlobRecipe, KnownChunks, KnownRequest, MAX_BASES,
    MAX_KNOWN_CHECK, MAX_PACKS, RecipePart, next_group, plan_parts,
};

/// Blobs assembled per request.
const ASSEMBLE_BATCH: usize = 2_000;
/// Files at least this large, when sent whole, go as a stream (two checkpoints' worth).
const STREAM: u64 = 32 << 20;
/// Times the registry may answer chunks missing (collected meanwhile) before giving up.
const ROUNDS: usize = 3;

/// A blob to upload.
#[derive(Clone, Debug)]
pub struct Job {
    pub digest: Digest,
    pub source: Source,
    pub chunks: Arc<Vec<Chunk>>,
    /// Blobs the project holds that this one probably shares chunks with (what it replaces).
    pub bases: Vec<Digest>,
}

/// Bytes of an upload, as it goes.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Moved {
    /// Chunk bytes sent (acknowledged or in flight).
    pub sent: f64,
    /// Bytes of the blobs the registry already had as chunks (of the files replaced, of an
    /// interrupted upload, or sent once for several files).
    pub reused: f64,
}

struct Blob {
    job: Job,
    parts: Vec<RecipePart>,
}

/// Upload `jobs`; `report` follows the bytes moved.
pub async fn upload(
    entity: &str,
    project: &str,
    jobs: Vec<Job>,
    report: Rc<dyn Fn(Moved)>,
    cancelled: Rc<dyn Fn() -> bool>,
) -> Result<Moved, String> {
    let resume = journal::packs(entity, project).await;
    let reused = Rc::new(std::cell::Cell::new(0.0));
    let on_sent: Rc<dyn Fn(f64)> = {
        let (report, reused) = (report.clone(), reused.clone());
        Rc::new(move |sent| {
            report(Moved {
                sent,
                reused: reused.get(),
            })
        })
    };
    let noted = journal::Journal::new(entity, project, resume.clone());
    let mut packer = Packer::new(entity, project, noted, on_sent.clone(), cancelled);
    let api = |rest: &str| api::project_api(entity, project, rest);
    let missing = negotiate(&api("/chunks/known"), &jobs, &resume).await?;
    let mut blobs = Vec::with_capacity(jobs.len());
    for (job, (parts, missing)) in jobs.into_iter().zip(missing) {
        let mut fresh = HashSet::new();
        let mut sending = 0;
        let size = job.chunks.iter().map(|c| c.len as u64).sum::<u64>();
        // a large file sent whole goes as a stream the registry hashes while it arrives
        let stream = size >= STREAM && missing.len() == job.chunks.len();
        if stream {
            packer.stream(crate::packer::new_stream()).await?;
        }
        for c in missing.iter().map(|i| job.chunks[*i]) {
            if !packer.knows(&c.hash) && fresh.insert(c.hash) {
                sending += c.len as u64;
                packer.push(c.hash, c.len, &job.source, c.offset).await?;
            }
        }
        if stream {
            packer.stream(None).await?;
        }
        reused.set(reused.get() + (size - sending) as f64);
        on_sent(packer.sent_bytes());
        blobs.push(Blob { job, parts });
    }
    packer.drain().await?;
    assemble(&api("/blobs/assemble"), &mut packer, &resume, blobs).await?;
    journal::clear(entity, project).await;
    Ok(Moved {
        sent: packer.sent_bytes(),
        reused: reused.get(),
    })
}

/// Each job's parts and the positions of the chunks the registry cannot reuse. Jobs with bases
/// ask by segment, then by chunk; the others ask by chunk only when an interrupted upload left
/// packs (many jobs to a request), and otherwise need not ask at all.
async fn negotiate(
    url: &str,
    jobs: &[Job],
    resume: &[PackId],
) -> Result<Vec<(Vec<RecipePart>, Vec<usize>)>, String> {
    let mut out = Vec::with_capacity(jobs.len());
    // (job, chunk position, the job's bases)
    let mut ask: Vec<(usize, usize, &[Digest])> = Vec::new();
    for (j, job) in jobs.iter().enumerate() {
        let hashes: Vec<_> = job.chunks.iter().map(|c| c.hash).collect();
        let segs = segments(job.chunks.iter().map(|c| (c.hash, c.len)));
        let mut known = vec![false; segs.len()];
        let bases = capped(&job.bases);
        if !bases.is_empty() {
            let request = KnownRequest {
                chunker: 1,
                bases: bases.to_vec(),
                segments: segs.iter().map(|s| s.hash).collect(),
                ..KnownRequest::default()
            };
            let answer: KnownChunks = api::json("POST", url, &request).await?;
            known = answer.segments_known(segs.len());
        }
        let (parts, asked) = plan_parts(&hashes, &segs, &known);
        if bases.is_empty() && resume.is_empty() {
            out.push((parts, asked));
            continue;
        }
        ask.extend(asked.into_iter().map(|i| (j, i, bases)));
        out.push((parts, Vec::new()));
    }
    // ask about the rest many jobs at a time, naming each request's bases
    while !ask.is_empty() {
        let now = next_group(&mut ask, MAX_KNOWN_CHECK, |(_, _, bases)| bases);
        let bases: BTreeSet<Digest> = now.iter().flat_map(|(_, _, b)| b.iter()).copied().collect();
        let request = KnownRequest {
            chunker: 1,
            bases: bases.into_iter().collect(),
            packs: resume.iter().rev().take(MAX_PACKS).copied().collect(),
            chunks: now
                .iter()
                .map(|(j, i, _)| jobs[*j].chunks[*i].hash)
                .collect(),
            ..KnownRequest::default()
        };
        let answer: KnownChunks = api::json("POST", url, &request).await?;
        for k in answer.missing_chunks {
            let (j, i, _) = now[k as usize];
            out[j].1.push(i);
        }
    }
    Ok(out)
}

/// The first bases one request may name.
fn capped(bases: &[Digest]) -> &[Digest] {
    &bases[..bases.len().min(MAX_BASES)]
}

/// The assembly request for `group`, naming the packs its chunks went into and, as room allows,
/// those an interrupted upload sent.
fn request(group: &[Blob], packer: &Packer, resume: &[PackId]) -> AssembleRequest {
    let recipes = group.iter().map(|b| {
        let recipe = BlobRecipe {
            digest: b.job.digest,
            size: b.job.chunks.iter().map(|c| c.len as u64).sum(),
            parts: b.parts.clone(),
        };
        (recipe, &b.job.bases[..])
    });
    AssembleRequest::new(recipes, |h| packer.pack_of(h), resume)
}

/// Have the registry assemble every blob; the chunks it reports missing (a pack collected
/// meanwhile) are packed and sent again, a few rounds at most.
async fn assemble(
    url: &str,
    packer: &mut Packer,
    resume: &[PackId],
    mut blobs: Vec<Blob>,
) -> Result<(), String> {
    for _ in 0..ROUNDS {
        let mut retry = Vec::new();
        while !blobs.is_empty() {
            let group = next_group(&mut blobs, ASSEMBLE_BATCH, |b| &b.job.bases);
            let body = request(&group, packer, resume);
            let outcomes: Vec<AssembleOutcome> = api::json("POST", url, &body).await?;
            for (mut blob, outcome) in group.into_iter().zip(outcomes) {
                if outcome.held {
                    continue;
                }
                for h in &outcome.missing_chunks {
                    packer.forget(h);
                }
                if !outcome.missing_segments.is_empty() {
                    // a base went away: name every chunk and send those no pack has
                    blob.parts = blob
                        .job
                        .chunks
                        .iter()
                        .map(|c| RecipePart::Chunk(c.hash))
                        .collect();
                    blob.job.bases.clear();
                }
                let lacking: HashSet<_> = outcome.missing_chunks.iter().collect();
                let chunks = blob.job.chunks.clone();
                for c in chunks.iter() {
                    let resend = if outcome.missing_segments.is_empty() {
                        lacking.contains(&c.hash)
                    } else {
                        !packer.knows(&c.hash)
                    };
                    if resend {
                        packer
                            .push(c.hash, c.len, &blob.job.source, c.offset)
                            .await?;
                    }
                }
                retry.push(blob);
            }
        }
        if retry.is_empty() {
            return Ok(());
        }
        packer.drain().await?;
        blobs = retry;
    }
    Err(format!(
        "the registry still lacks chunks of {} after {ROUNDS} tries (is garbage collection \
         running with no grace period?)",
        blobs[0].job.digest
    ))
}
