//! Delta downloads: a file whose earlier version is already at its path is rebuilt from the
//! chunks the two share, fetching only the others (`GET …/files/{path}` with a `Range` per run
//! of missing chunks). Each fetched chunk is checked against its BLAKE3 hash as it arrives, and
//! the whole file against its SHA-256 before it replaces the earlier copy.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use cairn_core::chunk::{Chunk, ChunkHash, decode_chunk_list};
use cairn_core::segment::{SegmentHash, decode_segment_list, segments};
use cairn_core::{Digest, EntryPath, Hasher};
use reqwest::Method;

use crate::chunked::chunk_file;
use crate::error::{Error, Result};
use crate::progress::Phase;
use crate::version::{ArtifactVersion, check_digest};

/// Files smaller than this are fetched whole.
pub(crate) const MIN_SIZE: u64 = 1 << 20;
/// The longest range asked for at once.
const RUN: u64 = 16 << 20;

/// The new file's chunks: the segments the earlier copy has are taken from it; the chunk list
/// of the others is fetched, a run of unknown segments at a time. For a 2 GiB file with 1 MiB
/// changed that is ~22 KB of segments and ~5 KB of chunks, not the whole 1.1 MiB list.
async fn wanted_chunks(
    version: &ArtifactVersion,
    digest: &Digest,
    local: &[Chunk],
) -> Result<Vec<Chunk>> {
    let base = version.project.api(&format!("/blobs/{digest}/chunks"));
    let list = version
        .http
        .get(&format!("{base}?segments=true"))
        .await?
        .bytes()
        .await?;
    let remote = decode_segment_list(&list)?;
    let mut mine: HashMap<SegmentHash, &[Chunk]> = HashMap::new();
    for s in segments(local.iter().map(|c| (c.hash, c.len))) {
        mine.insert(s.hash, &local[s.first..s.first + s.count]);
    }
    let mut wanted = Vec::new();
    let (mut offset, mut index, mut i) = (0u64, 0usize, 0usize);
    while i < remote.len() {
        if let Some(chunks) = mine.get(&remote[i].hash) {
            for c in *chunks {
                wanted.push(Chunk {
                    offset,
                    len: c.len,
                    hash: c.hash,
                });
                offset += c.len as u64;
            }
            index += remote[i].chunks as usize;
            i += 1;
            continue;
        }
        let mut count = 0;
        while i < remote.len() && !mine.contains_key(&remote[i].hash) {
            count += remote[i].chunks as usize;
            i += 1;
        }
        let url = format!("{base}?from={index}&count={count}");
        let slice = decode_chunk_list(&version.http.get(&url).await?.bytes().await?)?;
        for c in slice {
            wanted.push(Chunk {
                offset: offset + c.offset,
                ..c
            });
        }
        offset = wanted.last().map_or(offset, |c| c.offset + c.len as u64);
        index += count;
    }
    Ok(wanted)
}

/// A run of the new file: chunks the earlier copy has (at `local`), or chunks to fetch.
struct Run {
    local: Option<u64>,
    chunks: Vec<Chunk>,
}

fn plan(wanted: &[Chunk], have: &HashMap<ChunkHash, (u64, u32)>) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for c in wanted {
        let here = have.get(&c.hash).map(|(offset, _)| *offset);
        if let Some(last) = runs.last_mut() {
            let end = last.chunks.last().expect("runs are never empty");
            let size: u64 = last.chunks.iter().map(|c| c.len as u64).sum();
            let joins = match (last.local, here) {
                (Some(l), Some(h)) => h == l + size && size + c.len as u64 <= RUN,
                (None, None) => size + c.len as u64 <= RUN,
                _ => false,
            };
            if joins && end.offset + end.len as u64 == c.offset {
                last.chunks.push(*c);
                continue;
            }
        }
        runs.push(Run {
            local: here,
            chunks: vec![*c],
        });
    }
    runs
}

/// Rebuild `path` of `version` into `partial` from the earlier copy at `earlier` and the
/// chunks it lacks; the bytes fetched. `Error::Api` 404 when the registry has no chunk list
/// for the blob (stored whole): the caller fetches it all.
pub(crate) async fn fetch(
    version: &ArtifactVersion,
    path: &EntryPath,
    digest: &Digest,
    earlier: &Path,
    partial: &Path,
) -> Result<u64> {
    let from = earlier.to_owned();
    let local = tokio::task::spawn_blocking(move || chunk_file(&from, false).map(|(c, _)| c))
        .await
        .map_err(|e| Error::Config(format!("chunking {}: {e}", earlier.display())))??;
    let wanted = wanted_chunks(version, digest, &local).await?;
    let have: HashMap<ChunkHash, (u64, u32)> =
        local.iter().map(|c| (c.hash, (c.offset, c.len))).collect();
    let url = version.file_url(path);
    let mut local = std::fs::File::open(earlier).map_err(|e| Error::io(earlier, e))?;
    let mut out = std::fs::File::create(partial).map_err(|e| Error::io(partial, e))?;
    let mut hasher = Hasher::new();
    let mut fetched = 0;
    for run in plan(&wanted, &have) {
        let first = run.chunks[0].offset;
        let len: u64 = run.chunks.iter().map(|c| c.len as u64).sum();
        let bytes = match run.local {
            Some(at) => {
                let mut buf = vec![0u8; len as usize];
                local
                    .seek(SeekFrom::Start(at))
                    .and_then(|_| local.read_exact(&mut buf))
                    .map_err(|e| Error::io(earlier, e))?;
                bytes::Bytes::from(buf)
            }
            None => {
                let range = format!("bytes={first}-{}", first + len - 1);
                let res = version
                    .http
                    .send(
                        |r| Ok(r.header(reqwest::header::RANGE, range.as_str())),
                        Method::GET,
                        &url,
                    )
                    .await?;
                let body = res.bytes().await?;
                fetched += body.len() as u64;
                check(path, &run.chunks, first, &body)?;
                body
            }
        };
        hasher.update(&bytes);
        out.write_all(&bytes).map_err(|e| Error::io(partial, e))?;
        version.progress.advance(Phase::Download, len);
    }
    out.flush().map_err(|e| Error::io(partial, e))?;
    check_digest(path, digest, hasher)?;
    Ok(fetched)
}

/// Every chunk of a fetched run has its hash.
fn check(path: &EntryPath, chunks: &[Chunk], first: u64, body: &[u8]) -> Result<()> {
    for c in chunks {
        let at = (c.offset - first) as usize;
        let piece = body.get(at..at + c.len as usize);
        if piece.map(ChunkHash::of) != Some(c.hash) {
            return Err(Error::CorruptChunk {
                path: path.as_str().into(),
                offset: c.offset,
                chunk: c.hash,
            });
        }
    }
    Ok(())
}
