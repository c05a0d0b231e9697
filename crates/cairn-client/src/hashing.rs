//! Hashing local files with cairn-core's hasher, in parallel on every core.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use cairn_core::chunk::{Chunk, Splitter};
use cairn_core::{Digest, Hasher};

use crate::error::{Error, Result};
use crate::progress::{Phase, Progress};
use crate::stat_cache::{Known, Stamp, StatCache, now_ns};

/// Files at least this large are chunked on a second thread while the first hashes them.
const TWO_THREADS: u64 = 16 << 20;
/// What one read of such a file takes.
const PIECE: usize = 4 << 20;
/// What one `read` of it takes.
const STEP: usize = 256 << 10;

/// A file's SHA-256, size and chunks (chunker v1), from one read. For a large file the chunk
/// boundaries are found on a second thread, fed the buffers this one reads and hashes.
pub(crate) fn hash_and_chunk_file(
    path: &Path,
    progress: &dyn Progress,
) -> Result<(Digest, u64, Vec<Chunk>)> {
    let large = std::fs::metadata(path)
        .map(|m| m.len() >= TWO_THREADS)
        .unwrap_or(false);
    let mut h = Hasher::new();
    if !large {
        let mut splitter = Splitter::new();
        let mut chunks = Vec::new();
        each_piece(path, |piece| {
            h.update(piece);
            splitter.update(piece, &mut chunks);
            progress.advance(Phase::Hash, piece.len() as u64);
        })?;
        splitter.finish(&mut chunks);
        let len = h.len();
        return Ok((h.finish(), len, chunks));
    }
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Arc<Vec<u8>>>(4);
    std::thread::scope(|s| {
        let splitting = s.spawn(move || {
            let mut splitter = Splitter::new();
            let mut chunks = Vec::new();
            for buf in rx {
                splitter.update(&buf, &mut chunks);
            }
            splitter.finish(&mut chunks);
            chunks
        });
        let read = (|| {
            // buffers the splitter is done with are read into again: no fresh pages per read
            let mut recent: std::collections::VecDeque<Arc<Vec<u8>>> = Default::default();
            loop {
                let mut buf = match recent.front_mut().and_then(Arc::get_mut) {
                    Some(b) => {
                        let mut b = std::mem::take(b);
                        b.resize(PIECE, 0);
                        recent.pop_front();
                        b
                    }
                    None => vec![0u8; PIECE],
                };
                // read in steps small enough to be hashed while still in the cache
                let mut n = 0;
                while n < buf.len() {
                    let end = (n + STEP).min(buf.len());
                    match f.read(&mut buf[n..end]).map_err(|e| Error::io(path, e))? {
                        0 => break,
                        got => {
                            h.update(&buf[n..n + got]);
                            n += got;
                        }
                    }
                }
                if n == 0 {
                    return Ok::<_, Error>(());
                }
                buf.truncate(n);
                let buf = Arc::new(buf);
                if tx.send(buf.clone()).is_err() {
                    return Ok(());
                }
                progress.advance(Phase::Hash, n as u64);
                recent.push_back(buf);
                if recent.len() > 8 {
                    recent.pop_front();
                }
            }
        })();
        drop(tx);
        let chunks = splitting.join().expect("the splitter does not panic");
        read?;
        let len = h.len();
        Ok((h.finish(), len, chunks))
    })
}

/// [`hash_and_chunk_file`] for every file, on all cores, unless the stat cache knows the file
/// as it is now; results in the order given. The cache is written afresh for these files.
pub(crate) fn hash_and_chunk_files(
    paths: &[PathBuf],
    progress: &dyn Progress,
) -> Result<Vec<(Digest, u64, Vec<Chunk>)>> {
    let cache = StatCache::load(paths);
    let results = in_parallel(paths, progress, |path, progress| {
        let before = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        let stamp = Stamp::of(&before);
        if let Some(known) = stamp.as_ref().and_then(|s| cache.lookup(path, s)) {
            progress.advance(Phase::Hash, known.stamp_size());
            return Ok(known.clone());
        }
        let (digest, _, chunks) = hash_and_chunk_file(path, progress)?;
        let stamp = stamp
            .ok_or_else(|| Error::Config(format!("{}: no modification time", path.display())))?;
        Ok(Known {
            stamp,
            written: now_ns(),
            digest,
            chunks,
        })
    })?;
    let out = results
        .iter()
        .map(|k| (k.digest, k.stamp_size(), k.chunks.clone()))
        .collect();
    cache.save(paths.iter().cloned().zip(results));
    Ok(out)
}

/// The digest and size of a file, read in 1 MiB pieces.
pub fn hash_file(path: &Path, progress: &dyn Progress) -> Result<(Digest, u64)> {
    let mut h = Hasher::new();
    each_piece(path, |piece| {
        h.update(piece);
        progress.advance(Phase::Hash, piece.len() as u64);
    })?;
    let len = h.len();
    Ok((h.finish(), len))
}

/// Read `path` from start to end in 1 MiB pieces, handing each to `f`.
pub(crate) fn each_piece(path: &Path, mut f: impl FnMut(&[u8])) -> Result<()> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    // no larger than the file: zeroing 1 MiB for each 4 KiB file cost more than hashing it
    let size = file
        .metadata()
        .map_or(1 << 20, |m| m.len().clamp(1, 1 << 20));
    let mut buf = vec![0u8; size as usize];
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            return Ok(());
        }
        f(&buf[..n]);
    }
}

/// Hash every file on all cores; results come back in the order given.
pub fn hash_files(paths: &[PathBuf], progress: &dyn Progress) -> Result<Vec<(Digest, u64)>> {
    in_parallel(paths, progress, hash_file)
}

/// `work` on every file, on all cores, with the hashing progress; results in order.
fn in_parallel<T: Send>(
    paths: &[PathBuf],
    progress: &dyn Progress,
    work: impl Fn(&Path, &dyn Progress) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    let total: u64 = paths
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    progress.begin(Phase::Hash, total);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<T>>>> =
        Mutex::new((0..paths.len()).map(|_| None).collect());
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(paths.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = paths.get(i) else { break };
                    let r = work(path, progress);
                    results
                        .lock()
                        .expect("no worker panics while holding the lock")[i] = Some(r);
                }
            });
        }
    });
    progress.end(Phase::Hash);
    results
        .into_inner()
        .expect("workers are done")
        .into_iter()
        .map(|r| r.expect("every index was hashed"))
        .collect()
}
