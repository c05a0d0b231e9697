//! The stat cache: the digest and chunks of the files a push read, remembered with each file's
//! size, modification time and inode, so pushing an unchanged file again does not read it. Any
//! doubt reads it again: another size, time or inode, or a modification time too close to when
//! the entry was written (a change within the same clock tick would not show). The registry
//! verifies everything it is sent, so a wrong entry can cost an upload, never a wrong version.
//!
//! One file per directory pushed (the files' common ancestor), under `stat-cache/` beside the
//! config file (or `$CAIRN_STAT_CACHE`; `off` turns it off): one read and one write per push,
//! whatever the number of files. Errors reading or writing it only cost a re-read.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cairn_core::Digest;
use cairn_core::chunk::{Chunk, ChunkHash};

use crate::config::Config;

const MAGIC: &[u8; 8] = b"CAIRNSC2";
/// A modification this close to the entry's writing might not show in the time.
const RACY: Duration = Duration::from_secs(2);

/// What identifies a file's content cheaply.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Stamp {
    size: u64,
    mtime_ns: u128,
    inode: u64,
}

impl Stamp {
    /// The stamp of a file's metadata.
    pub(crate) fn of(meta: &std::fs::Metadata) -> Option<Self> {
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
        Some(Self {
            size: meta.len(),
            mtime_ns,
            inode,
        })
    }
}

/// What the cache knows of one file.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct Known {
    /// The file's state when it was read.
    pub stamp: Stamp,
    /// When the entry was written (ns since the epoch).
    pub written: u128,
    /// Its SHA-256.
    pub digest: Digest,
    /// Its chunks.
    pub chunks: Vec<Chunk>,
}

impl Known {
    /// The file's size.
    pub(crate) fn stamp_size(&self) -> u64 {
        self.stamp.size
    }
}

/// The cache of the files under one directory.
#[derive(Debug, Default)]
pub(crate) struct StatCache {
    file: Option<PathBuf>,
    root: PathBuf,
    entries: HashMap<PathBuf, Known>,
}

impl StatCache {
    /// The cache for `paths` (all under their common ancestor); empty when caching is off or
    /// nothing is cached yet.
    pub(crate) fn load(paths: &[PathBuf]) -> Self {
        let dir = match std::env::var_os("CAIRN_STAT_CACHE") {
            Some(d) if d == "off" => None,
            Some(d) => Some(PathBuf::from(d)),
            None => Config::path()
                .ok()
                .and_then(|p| Some(p.parent()?.join("stat-cache"))),
        };
        Self::load_in(dir.as_deref(), paths)
    }

    fn load_in(dir: Option<&Path>, paths: &[PathBuf]) -> Self {
        let (Some(dir), Some(root)) = (dir, common_root(paths)) else {
            return Self::default();
        };
        let Ok(canonical) = std::fs::canonicalize(&root) else {
            return Self::default();
        };
        let key = Digest::of(canonical.as_os_str().as_encoded_bytes()).hex();
        let file = dir.join(&key[..2]).join(&key[2..]);
        let entries = std::fs::read(&file)
            .ok()
            .and_then(|raw| decode(&raw))
            .unwrap_or_default();
        Self {
            file: Some(file),
            root,
            entries,
        }
    }

    /// What is known of `path` in its current state `now`, if it is to be trusted.
    pub(crate) fn lookup(&self, path: &Path, now: &Stamp) -> Option<&Known> {
        let known = self.entries.get(&self.key(path)?)?;
        let settled = now.mtime_ns + RACY.as_nanos() <= known.written;
        (known.stamp == *now && settled).then_some(known)
    }

    /// Where `path` is under the root. Made absolute the way the root was: a push of a
    /// relative folder (`cairn put data`) names its files relative to the working directory.
    fn key(&self, path: &Path) -> Option<PathBuf> {
        let abs = std::path::absolute(path).ok()?;
        Some(abs.strip_prefix(&self.root).ok()?.to_owned())
    }

    /// Replace the cache with `files` (path, what is known of it) and write it.
    pub(crate) fn save(self, files: impl IntoIterator<Item = (PathBuf, Known)>) {
        let Some(file) = self.file.clone() else {
            return;
        };
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        let files: Vec<(PathBuf, Known)> = files
            .into_iter()
            .filter_map(|(p, k)| Some((self.key(&p)?, k)))
            .collect();
        out.extend_from_slice(&(files.len() as u64).to_le_bytes());
        for (rel, k) in &files {
            let name = rel.as_os_str().as_encoded_bytes();
            out.extend_from_slice(&(name.len() as u32).to_le_bytes());
            out.extend_from_slice(name);
            out.extend_from_slice(&k.stamp.size.to_le_bytes());
            out.extend_from_slice(&k.stamp.mtime_ns.to_le_bytes());
            out.extend_from_slice(&k.stamp.inode.to_le_bytes());
            out.extend_from_slice(&k.written.to_le_bytes());
            out.extend_from_slice(k.digest.as_bytes());
            out.extend_from_slice(&(k.chunks.len() as u64).to_le_bytes());
            for c in &k.chunks {
                out.extend_from_slice(&c.offset.to_le_bytes());
                out.extend_from_slice(&c.len.to_le_bytes());
                out.extend_from_slice(&c.hash.0);
            }
        }
        // written aside and renamed: a reader sees a whole cache or the previous one
        let tmp = file.with_extension(format!("tmp{}", std::process::id()));
        let written = file
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&tmp, &out))
            .and_then(|()| std::fs::rename(&tmp, &file));
        // not written: the files are read again next time, nothing else changes
        drop(written);
    }
}

/// Now, for [`Known::written`].
pub(crate) fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// The deepest directory holding every path (made absolute, without touching the disk).
fn common_root(paths: &[PathBuf]) -> Option<PathBuf> {
    let mut root: Option<PathBuf> = None;
    for p in paths {
        let parent = std::path::absolute(p).ok()?.parent()?.to_owned();
        root = Some(match root {
            None => parent,
            Some(r) => r
                .components()
                .zip(parent.components())
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| a)
                .collect(),
        });
    }
    root
}

fn decode(raw: &[u8]) -> Option<HashMap<PathBuf, Known>> {
    let mut r = raw.strip_prefix(MAGIC)?;
    let mut take = |n: usize| -> Option<&[u8]> {
        let (head, rest) = r.split_at_checked(n)?;
        r = rest;
        Some(head)
    };
    let count = u64::from_le_bytes(take(8)?.try_into().ok()?) as usize;
    let mut out = HashMap::with_capacity(count.min(1 << 20));
    for _ in 0..count {
        let n = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
        let name = take(n)?;
        let rel = PathBuf::from(std::str::from_utf8(name).ok()?);
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
        if chunks.iter().map(|c| c.len as u64).sum::<u64>() != size {
            return None;
        }
        let stamp = Stamp {
            size,
            mtime_ns,
            inode,
        };
        out.insert(
            rel,
            Known {
                stamp,
                written,
                digest,
                chunks,
            },
        );
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(path: &Path, digest: Digest, chunks: Vec<Chunk>) -> (PathBuf, Known) {
        let stamp = Stamp::of(&std::fs::metadata(path).unwrap()).unwrap();
        let k = Known {
            stamp,
            written: now_ns(),
            digest,
            chunks,
        };
        (path.to_owned(), k)
    }

    #[test]
    fn an_entry_is_used_only_while_the_file_is_unchanged_and_settled() {
        let dir = tempfile::tempdir().unwrap();
        let cache_dir = dir.path().join("cache");
        let file = dir.path().join("data/f.bin");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, b"hello world").unwrap();
        let old = SystemTime::now() - Duration::from_secs(60);
        let f = std::fs::File::options().write(true).open(&file).unwrap();
        f.set_modified(old).unwrap();
        drop(f);
        let (digest, chunks) = cairn_core::chunk::chunk_all(b"hello world");
        let paths = vec![file.clone()];
        let stamp = |p: &Path| Stamp::of(&std::fs::metadata(p).unwrap()).unwrap();

        let cache = StatCache::load_in(Some(&cache_dir), &paths);
        assert!(cache.lookup(&file, &stamp(&file)).is_none());
        cache.save([known(&file, digest, chunks.clone())]);
        let cache = StatCache::load_in(Some(&cache_dir), &paths);
        let hit = cache.lookup(&file, &stamp(&file)).expect("cached");
        assert_eq!((hit.digest, &hit.chunks), (digest, &chunks));
        // rewritten with the same size: another modification time, not trusted
        std::fs::write(&file, b"hello WORLD").unwrap();
        assert!(cache.lookup(&file, &stamp(&file)).is_none());
        // an entry stamped with a modification time of just now is racy: not trusted either
        cache.save([known(&file, digest, chunks.clone())]);
        let cache = StatCache::load_in(Some(&cache_dir), &paths);
        assert!(cache.lookup(&file, &stamp(&file)).is_none());
        // no cache directory: nothing cached, nothing written
        let off = StatCache::load_in(None, &paths);
        assert!(off.lookup(&file, &stamp(&file)).is_none());
    }

    #[test]
    fn relative_paths_are_cached_too() {
        // `cairn put data` from data's parent: the files are named relative to the working
        // directory (here through `..`s up to the root, then down to the temporary directory)
        let dir = tempfile::tempdir().unwrap();
        let cwd = std::env::current_dir().unwrap();
        let mut file = PathBuf::new();
        for _ in 1..cwd.components().count() {
            file.push("..");
        }
        let file = file.join(dir.path().strip_prefix("/").unwrap().join("data/f.bin"));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, b"relative").unwrap();
        let f = std::fs::File::options().write(true).open(&file).unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(60))
            .unwrap();
        drop(f);
        let (digest, chunks) = cairn_core::chunk::chunk_all(b"relative");
        let paths = vec![file.clone()];
        let cache_dir = dir.path().join("cache");
        StatCache::load_in(Some(&cache_dir), &paths).save([known(&file, digest, chunks)]);
        let cache = StatCache::load_in(Some(&cache_dir), &paths);
        let stamp = Stamp::of(&std::fs::metadata(&file).unwrap()).unwrap();
        assert_eq!(cache.lookup(&file, &stamp).expect("cached").digest, digest);
    }

    #[test]
    fn the_cache_covers_the_common_root() {
        let root = common_root(&[PathBuf::from("/a/b/c/x"), PathBuf::from("/a/b/d/y")]);
        assert_eq!(root, Some(PathBuf::from("/a/b")));
        assert_eq!(
            common_root(&[PathBuf::from("/a/x")]),
            Some(PathBuf::from("/a"))
        );
    }
}
