//! The stat cache: a file's digest and chunks, remembered under its absolute path with its
//! size, modification time and inode, so pushing an unchanged file again does not read it.
//! Any doubt re-reads: another size, time or inode, or a modification time too close to when
//! the entry was written (a change within the same clock tick would not show). The registry
//! verifies everything it is sent, so a wrong entry can cost an upload, never a wrong version.
//!
//! One small file per cached path under `stat-cache/` beside the config file; errors reading
//! or writing it only cost a re-read.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cairn_core::Digest;
use cairn_core::chunk::{Chunk, ChunkHash};

use crate::config::Config;

const MAGIC: &[u8; 8] = b"CAIRNSC1";
/// A modification this close to the entry's writing might not show in the time.
const RACY: Duration = Duration::from_secs(2);

/// What identifies a file's content cheaply.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Stamp {
    size: u64,
    mtime_ns: u128,
    inode: u64,
}

fn stamp(meta: &std::fs::Metadata) -> Option<Stamp> {
    let mtime_ns = meta
        .modified()
        .ok()?
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_nanos();
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some(Stamp {
        size: meta.len(),
        mtime_ns,
        inode,
    })
}

/// Where the entries are (none: caching is off).
#[derive(Clone, Debug)]
pub(crate) struct StatCache {
    dir: Option<PathBuf>,
}

impl StatCache {
    /// `$CAIRN_STAT_CACHE` (`off` turns it off), else `stat-cache/` beside the config file.
    pub(crate) fn open() -> Self {
        let dir = match std::env::var_os("CAIRN_STAT_CACHE") {
            Some(d) if d == "off" => None,
            Some(d) => Some(PathBuf::from(d)),
            None => Config::path()
                .ok()
                .and_then(|p| Some(p.parent()?.join("stat-cache"))),
        };
        Self { dir }
    }

    /// A cache in `dir`.
    #[cfg(test)]
    pub(crate) fn at(dir: &Path) -> Self {
        Self {
            dir: Some(dir.to_owned()),
        }
    }

    fn entry_file(&self, path: &Path) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        let abs = std::fs::canonicalize(path).ok()?;
        let key = Digest::of(abs.as_os_str().as_encoded_bytes()).hex();
        Some(dir.join(&key[..2]).join(&key[2..]))
    }

    /// The digest, size and chunks of `path` if the cache knows them for its current state.
    pub(crate) fn lookup(&self, path: &Path) -> Option<(Digest, u64, Vec<Chunk>)> {
        let file = self.entry_file(path)?;
        let now = stamp(&std::fs::metadata(path).ok()?)?;
        let raw = std::fs::read(file).ok()?;
        let (cached, written, digest, chunks) = decode(&raw)?;
        let settled = now.mtime_ns + RACY.as_nanos() <= written;
        (cached == now && settled).then_some((digest, now.size, chunks))
    }

    /// Remember what `path` hashed to, stamped with its state `before` it was read (if it
    /// changed while being read, the stamp no longer matches and the entry is never used).
    pub(crate) fn store(
        &self,
        path: &Path,
        before: &std::fs::Metadata,
        digest: &Digest,
        chunks: &[Chunk],
    ) {
        let (Some(file), Some(stamp)) = (self.entry_file(path), stamp(before)) else {
            return;
        };
        let written = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let mut out = Vec::with_capacity(100 + chunks.len() * 44);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&stamp.size.to_le_bytes());
        out.extend_from_slice(&stamp.mtime_ns.to_le_bytes());
        out.extend_from_slice(&stamp.inode.to_le_bytes());
        out.extend_from_slice(&written.to_le_bytes());
        out.extend_from_slice(digest.as_bytes());
        out.extend_from_slice(&(chunks.len() as u64).to_le_bytes());
        for c in chunks {
            out.extend_from_slice(&c.offset.to_le_bytes());
            out.extend_from_slice(&c.len.to_le_bytes());
            out.extend_from_slice(&c.hash.0);
        }
        // written aside and renamed: a reader sees a whole entry or none
        let tmp = file.with_extension(format!("tmp{}", std::process::id()));
        let written = file
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&tmp, &out))
            .and_then(|()| std::fs::rename(&tmp, &file));
        // not written: the file is read again next time, nothing else changes
        drop(written);
    }
}

fn decode(raw: &[u8]) -> Option<(Stamp, u128, Digest, Vec<Chunk>)> {
    let mut r = raw.strip_prefix(MAGIC)?;
    let mut take = |n: usize| -> Option<&[u8]> {
        let (head, rest) = r.split_at_checked(n)?;
        r = rest;
        Some(head)
    };
    let size = u64::from_le_bytes(take(8)?.try_into().ok()?);
    let mtime_ns = u128::from_le_bytes(take(16)?.try_into().ok()?);
    let inode = u64::from_le_bytes(take(8)?.try_into().ok()?);
    let written = u128::from_le_bytes(take(16)?.try_into().ok()?);
    let digest = Digest::from_bytes(take(32)?.try_into().ok()?);
    let n = u64::from_le_bytes(take(8)?.try_into().ok()?) as usize;
    let mut chunks = Vec::with_capacity(n.min(1 << 20));
    for _ in 0..n {
        let offset = u64::from_le_bytes(take(8)?.try_into().ok()?);
        let len = u32::from_le_bytes(take(4)?.try_into().ok()?);
        let hash = ChunkHash(take(32)?.try_into().ok()?);
        chunks.push(Chunk { offset, len, hash });
    }
    let whole = chunks.iter().map(|c| c.len as u64).sum::<u64>() == size;
    let stamp = Stamp {
        size,
        mtime_ns,
        inode,
    };
    whole.then_some((stamp, written, digest, chunks))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_used_only_while_the_file_is_unchanged_and_settled() {
        let dir = tempfile::tempdir().unwrap();
        let cache = StatCache::at(&dir.path().join("cache"));
        let file = dir.path().join("f.bin");
        std::fs::write(&file, b"hello world").unwrap();
        let old = SystemTime::now() - Duration::from_secs(60);
        let f = std::fs::File::options().write(true).open(&file).unwrap();
        f.set_modified(old).unwrap();
        drop(f);
        let meta = std::fs::metadata(&file).unwrap();
        let (digest, chunks) = cairn_core::chunk::chunk_all(b"hello world");
        assert!(cache.lookup(&file).is_none());
        cache.store(&file, &meta, &digest, &chunks);
        assert_eq!(cache.lookup(&file), Some((digest, 11, chunks.clone())));
        // rewritten with the same size: another modification time, not trusted
        std::fs::write(&file, b"hello WORLD").unwrap();
        assert!(cache.lookup(&file).is_none());
        // an entry stamped with a modification time of just now is racy: not trusted either
        let fresh = std::fs::metadata(&file).unwrap();
        cache.store(&file, &fresh, &digest, &chunks);
        assert!(cache.lookup(&file).is_none());
        // a damaged entry is ignored
        let entry = cache.entry_file(&file).unwrap();
        std::fs::write(&entry, b"CAIRNSC1 short").unwrap();
        assert!(cache.lookup(&file).is_none());
    }
}
