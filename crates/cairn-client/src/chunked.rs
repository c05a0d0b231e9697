//! Chunked uploads (`docs/chunking.md`). Every blob the registry lacks is cut into chunks by
//! cairn-core's chunker; the registry is asked which it can reuse from the files a draft
//! replaces (segments first, then the chunks of the segments it does not know); only the
//! others go up, many to a pack, a few packs at once; then the registry assembles each blob and
//! verifies it whole. Packs sent are noted in a journal beside the config file, so an upload
//! run again after an interruption offers them to the registry instead of sending them again.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use cairn_core::Digest;
use cairn_core::chunk::{Chunk, Splitter};
use cairn_core::pack::{PackId, StreamId};
use cairn_core::segment::segments;
use cairn_core::wire::{
    AssembleOutcome, AssembleRequest, BlobRecipe, KnownChunks, KnownRequest, MAX_BASES,
    MAX_KNOWN_CHECK, RecipePart, next_group, plan_parts,
};
use futures::StreamExt;
use reqwest::Method;
use tokio::task::JoinSet;

use crate::error::{Error, Result};
use crate::hashing::each_piece;
use crate::http::{Http, ProjectRef};
use crate::journal::Journal;
use crate::packer::Packer;
use crate::progress::{Phase, Progress};

/// Files up to this size are kept in memory between chunking and packing.
const KEEP: u64 = 8 << 20;
/// Files at least this large, when sent whole, go as a stream (two checkpoints' worth).
const STREAM: u64 = 32 << 20;
/// Blobs assembled per request.
const ASSEMBLE_BATCH: usize = 2_000;
/// Bytes of blobs after which their assembly is sent, while the next ones are packed.
const ASSEMBLE_BYTES: u64 = 128 << 20;
/// Times the registry may answer chunks missing (collected meanwhile) before giving up.
const ROUNDS: usize = 3;

/// A blob to upload.
#[derive(Debug)]
pub(crate) struct Job {
    pub digest: Digest,
    pub path: PathBuf,
    pub size: u64,
    /// Its chunks, when the pass that hashed it cut them.
    pub chunks: Option<std::sync::Arc<Vec<Chunk>>>,
    /// Blobs the project holds that this one probably shares chunks with.
    pub bases: Vec<Digest>,
}

/// What a chunked upload moved.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Sent {
    /// Chunk bytes sent.
    pub bytes: u64,
    /// Bytes of the blobs the registry had as chunks (of their bases, or sent once for several).
    pub reused: u64,
    /// Bytes found in packs an interrupted upload had sent.
    pub resumed: u64,
}

struct Blob {
    digest: Digest,
    size: u64,
    path: PathBuf,
    chunks: Vec<Chunk>,
    parts: Vec<RecipePart>,
    bases: Vec<Digest>,
}

/// Upload `jobs` through chunks and packs.
pub(crate) async fn upload(
    http: &Http,
    project: &ProjectRef,
    jobs: Vec<Job>,
    progress: &dyn Progress,
) -> Result<Sent> {
    let journal = Journal::open(project);
    let resume = journal.packs();
    let mut packer = Packer::new(http, project, journal.clone());
    let mut sent = Sent::default();
    let mut batch = Vec::new();
    let mut batch_bytes = 0;
    let mut behind = Behind::default();
    // files are chunked on every core, a few ahead of the one being sent
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut chunked = futures::stream::iter(jobs)
        .map(|job| async move {
            let path = job.path.clone();
            let keep = job.size <= KEEP;
            let known = job.chunks.clone();
            let (chunks, bytes) = tokio::task::spawn_blocking(move || match known {
                Some(c) if !keep => Ok((c.to_vec(), None)),
                Some(c) => std::fs::read(&path)
                    .map(|b| (c.to_vec(), Some(b)))
                    .map_err(|e| Error::io(&path, e)),
                None => chunk_file(&path, keep),
            })
            .await
            .map_err(|e| Error::Config(format!("chunking: {e}")))??;
            Ok::<_, Error>((job, chunks, bytes))
        })
        .buffered(cores * 2);
    while let Some(next) = chunked.next().await {
        let (job, chunks, bytes) = next?;
        let bytes = bytes.map(Bytes::from);
        let (parts, missing) = negotiate(http, project, &job.bases, &resume, &chunks).await?;
        let mut fresh = HashSet::new();
        let to_send: Vec<Chunk> = missing
            .iter()
            .map(|i| chunks[*i])
            .filter(|c| !packer.knows(&c.hash) && fresh.insert(c.hash))
            .collect();
        let sending: u64 = to_send.iter().map(|c| c.len as u64).sum();
        let known = job.size - missing.iter().map(|i| chunks[*i].len as u64).sum::<u64>();
        if job.bases.is_empty() {
            sent.resumed += known;
        } else {
            sent.reused += known;
        }
        sent.reused += job.size - known - sending;
        progress.advance(Phase::Upload, job.size - sending);
        // a large file sent whole goes as a stream the registry hashes while it arrives
        let stream = bytes.is_none() && job.size >= STREAM && to_send.len() == chunks.len();
        if stream {
            packer
                .stream(Some(StreamId(rand::random())), progress)
                .await?;
        }
        send(&mut packer, &job.path, bytes.as_ref(), &to_send, progress).await?;
        if stream {
            packer.stream(None, progress).await?;
        }
        batch.push(Blob {
            digest: job.digest,
            size: job.size,
            path: job.path,
            chunks,
            parts,
            bases: job.bases,
        });
        batch_bytes += job.size;
        if batch.len() >= ASSEMBLE_BATCH || batch_bytes >= ASSEMBLE_BYTES {
            let full = std::mem::take(&mut batch);
            batch_bytes = 0;
            behind
                .send(http, project, &mut packer, &resume, full, progress)
                .await?;
        }
    }
    behind
        .send(http, project, &mut packer, &resume, batch, progress)
        .await?;
    let retry = behind.finish(&mut packer, progress).await?;
    assemble(http, project, &mut packer, &resume, retry, progress).await?;
    sent.bytes = packer.sent_bytes();
    journal.clear();
    Ok(sent)
}

/// Cut a file into chunks; its bytes too when `keep`.
pub(crate) fn chunk_file(path: &Path, keep: bool) -> Result<(Vec<Chunk>, Option<Vec<u8>>)> {
    let mut splitter = Splitter::new();
    let mut chunks = Vec::new();
    let mut kept = keep.then(Vec::new);
    each_piece(path, |piece| {
        splitter.update(piece, &mut chunks);
        if let Some(k) = &mut kept {
            k.extend_from_slice(piece);
        }
    })?;
    splitter.finish(&mut chunks);
    Ok((chunks, kept))
}

/// The blob's parts and the positions of the chunks the registry cannot reuse. Nothing is
/// asked when there is nothing to reuse from.
async fn negotiate(
    http: &Http,
    project: &ProjectRef,
    bases: &[Digest],
    resume: &[PackId],
    chunks: &[Chunk],
) -> Result<(Vec<RecipePart>, Vec<usize>)> {
    let path = project.api("/chunks/known");
    if bases.is_empty() && resume.is_empty() {
        let parts = chunks.iter().map(|c| RecipePart::Chunk(c.hash)).collect();
        return Ok((parts, (0..chunks.len()).collect()));
    }
    let bases = &bases[..bases.len().min(MAX_BASES)];
    let segs = segments(chunks.iter().map(|c| (c.hash, c.len)));
    let mut seg_known = vec![false; segs.len()];
    if !bases.is_empty() {
        let request = KnownRequest {
            chunker: 1,
            bases: bases.to_vec(),
            segments: segs.iter().map(|s| s.hash).collect(),
            ..KnownRequest::default()
        };
        let answer: KnownChunks = http.json(Method::POST, &path, Some(&request)).await?;
        seg_known = answer.segments_known(segs.len());
    }
    let hashes: Vec<_> = chunks.iter().map(|c| c.hash).collect();
    let (parts, asked) = plan_parts(&hashes, &segs, &seg_known);
    let mut missing = Vec::new();
    for batch in asked.chunks(MAX_KNOWN_CHECK) {
        let request = KnownRequest {
            chunker: 1,
            bases: bases.to_vec(),
            packs: resume.to_vec(),
            chunks: batch.iter().map(|i| chunks[*i].hash).collect(),
            ..KnownRequest::default()
        };
        let answer: KnownChunks = http.json(Method::POST, &path, Some(&request)).await?;
        missing.extend(answer.missing_chunks.iter().map(|i| batch[*i as usize]));
    }
    Ok((parts, missing))
}

/// Put `chunks` of a file into packs, reading them from `bytes` (the whole file) or from disk
/// a pack's worth at a time.
async fn send(
    packer: &mut Packer,
    path: &Path,
    bytes: Option<&Bytes>,
    chunks: &[Chunk],
    progress: &dyn Progress,
) -> Result<()> {
    if let Some(bytes) = bytes {
        for c in chunks {
            let at = c.offset as usize;
            packer
                .push(c.hash, bytes.slice(at..at + c.len as usize), progress)
                .await?;
        }
        return Ok(());
    }
    let mut group = Vec::new();
    let mut group_bytes = 0u64;
    for (i, c) in chunks.iter().enumerate() {
        group.push(*c);
        group_bytes += c.len as u64;
        if group_bytes >= 16 << 20 || i + 1 == chunks.len() {
            let owned = std::mem::take(&mut group);
            group_bytes = 0;
            let file = path.to_owned();
            let read = tokio::task::spawn_blocking(move || read_chunks(&file, &owned))
                .await
                .map_err(|e| Error::Config(format!("reading chunks: {e}")))??;
            for (c, piece) in read {
                packer.push(c.hash, piece, progress).await?;
            }
        }
    }
    Ok(())
}

/// The bytes of `chunks` (in file order), read a run of adjacent chunks at a time.
fn read_chunks(path: &Path, chunks: &[Chunk]) -> Result<Vec<(Chunk, Bytes)>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut out = Vec::with_capacity(chunks.len());
    let mut i = 0;
    while i < chunks.len() {
        let mut j = i + 1;
        while j < chunks.len()
            && chunks[j].offset == chunks[j - 1].offset + chunks[j - 1].len as u64
        {
            j += 1;
        }
        let start = chunks[i].offset;
        let end = chunks[j - 1].offset + chunks[j - 1].len as u64;
        // read into spare capacity: no zeroing first
        let mut run = Vec::with_capacity((end - start) as usize);
        f.seek(SeekFrom::Start(start))
            .and_then(|_| (&mut f).take(end - start).read_to_end(&mut run))
            .map_err(|e| Error::io(path, e))?;
        if run.len() as u64 != end - start {
            return Err(Error::io(
                path,
                std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the file is shorter than when it was hashed",
                ),
            ));
        }
        let run = Bytes::from(run);
        for c in &chunks[i..j] {
            let at = (c.offset - start) as usize;
            out.push((*c, run.slice(at..at + c.len as usize)));
        }
        i = j;
    }
    Ok(out)
}

/// The assembly request for `group`, naming the packs its chunks went into.
fn request(group: &[Blob], packer: &Packer, resume: &[PackId]) -> AssembleRequest {
    let recipes = group.iter().map(|b| {
        let recipe = BlobRecipe {
            digest: b.digest,
            size: b.size,
            parts: b.parts.clone(),
        };
        (recipe, &b.bases[..])
    });
    AssembleRequest::new(recipes, |h| packer.pack_of(h), resume)
}

/// Assemblies sent while the upload goes on (their packs are all uploaded first), and the blobs
/// of finished ones that the registry did not hold.
#[derive(Default)]
struct Behind {
    running: JoinSet<Result<(Vec<Blob>, Vec<AssembleOutcome>)>>,
    retry: Vec<Blob>,
}

impl Behind {
    /// Send `batch`'s assembly requests in the background, at most two batches at once.
    async fn send(
        &mut self,
        http: &Http,
        project: &ProjectRef,
        packer: &mut Packer,
        resume: &[PackId],
        mut batch: Vec<Blob>,
        progress: &dyn Progress,
    ) -> Result<()> {
        packer.drain(progress).await?;
        while !batch.is_empty() {
            let group = take_group(&mut batch);
            let body = request(&group, packer, resume);
            let (http, path) = (http.clone(), project.api("/blobs/assemble"));
            self.running.spawn(async move {
                let outcomes: Vec<AssembleOutcome> =
                    http.json(Method::POST, &path, Some(&body)).await?;
                Ok((group, outcomes))
            });
        }
        while self.running.len() > 2 {
            self.settle_one(packer, progress).await?;
        }
        Ok(())
    }

    /// Wait for one background assembly; queue what it did not hold.
    async fn settle_one(&mut self, packer: &mut Packer, progress: &dyn Progress) -> Result<()> {
        let Some(done) = self.running.join_next().await else {
            return Ok(());
        };
        let (group, outcomes) = done.map_err(|e| Error::Config(format!("assembly: {e}")))??;
        settle(packer, group, outcomes, &mut self.retry, progress).await
    }

    /// Wait for every background assembly; the blobs to assemble again.
    async fn finish(mut self, packer: &mut Packer, progress: &dyn Progress) -> Result<Vec<Blob>> {
        while !self.running.is_empty() {
            self.settle_one(packer, progress).await?;
        }
        Ok(self.retry)
    }
}

/// Blobs the registry did not hold (a pack collected meanwhile) go to `retry`, their missing
/// chunks packed again.
async fn settle(
    packer: &mut Packer,
    group: Vec<Blob>,
    outcomes: Vec<AssembleOutcome>,
    retry: &mut Vec<Blob>,
    progress: &dyn Progress,
) -> Result<()> {
    for (mut blob, outcome) in group.into_iter().zip(outcomes) {
        if outcome.held {
            continue;
        }
        // collected meanwhile: name every chunk, and send again those it lacks
        let lacking: HashSet<_> = outcome.missing_chunks.iter().collect();
        for h in &outcome.missing_chunks {
            packer.forget(h);
        }
        let resend: Vec<Chunk> = if outcome.missing_segments.is_empty() {
            let mut seen = HashSet::new();
            blob.chunks
                .iter()
                .filter(|c| lacking.contains(&c.hash) && seen.insert(c.hash))
                .copied()
                .collect()
        } else {
            blob.parts = blob
                .chunks
                .iter()
                .map(|c| RecipePart::Chunk(c.hash))
                .collect();
            blob.bases.clear();
            blob.chunks
                .iter()
                .filter(|c| !packer.knows(&c.hash))
                .copied()
                .collect()
        };
        send(packer, &blob.path, None, &resend, progress).await?;
        retry.push(blob);
    }
    Ok(())
}

/// Have the registry assemble `batch`, sending again the chunks it reports missing.
async fn assemble(
    http: &Http,
    project: &ProjectRef,
    packer: &mut Packer,
    resume: &[PackId],
    mut batch: Vec<Blob>,
    progress: &dyn Progress,
) -> Result<()> {
    for _ in 0..ROUNDS {
        if batch.is_empty() {
            return Ok(());
        }
        let mut round = Behind::default();
        round
            .send(http, project, packer, resume, batch, progress)
            .await?;
        batch = round.finish(packer, progress).await?;
    }
    if batch.is_empty() {
        return Ok(());
    }
    Err(Error::Config(format!(
        "the registry still lacks chunks of {} after {ROUNDS} tries (is garbage collection \
         running with no grace period?)",
        batch[0].digest
    )))
}

/// The next blobs of `batch` one assemble request can carry.
fn take_group(batch: &mut Vec<Blob>) -> Vec<Blob> {
    next_group(batch, ASSEMBLE_BATCH, |b| &b.bases)
}
