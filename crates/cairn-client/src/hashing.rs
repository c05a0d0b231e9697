//! Hashing local files with cairn-core's hasher, in parallel on every core.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use cairn_core::{Digest, Hasher};

use crate::error::{Error, Result};
use crate::progress::{Phase, Progress};

/// A file's digest and size, or why it could not be read.
type Hashed = Result<(Digest, u64)>;

/// The digest and size of a file, read in 1 MiB pieces.
pub fn hash_file(path: &Path, progress: &dyn Progress) -> Result<(Digest, u64)> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        progress.advance(Phase::Hash, n as u64);
    }
    let len = h.len();
    Ok((h.finish(), len))
}

/// Hash every file on all cores; results come back in the order given.
pub fn hash_files(paths: &[PathBuf], progress: &dyn Progress) -> Result<Vec<(Digest, u64)>> {
    let total: u64 = paths
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    progress.begin(Phase::Hash, total);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Hashed>>> = Mutex::new((0..paths.len()).map(|_| None).collect());
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(paths.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = paths.get(i) else { break };
                    let r = hash_file(path, progress);
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
