//! A committed version fetched from the registry: its files, drafts, downloads and checks.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cairn_core::wire::{Lineage, Link, LinkRequest, Version};
use cairn_core::{Digest, Draft, Entry, EntryPath, Hasher, Manifest};
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use crate::artifact::Artifact;
use crate::error::{Error, Result};
use crate::hashing::hash_files;
use crate::http::{Http, ProjectRef, encode_path};
use crate::progress::{Phase, Progress};

/// Files downloaded at once.
const CONCURRENCY: usize = 8;

/// The bytes `hasher` saw are the file `path` of a version: `Corrupt` otherwise.
pub(crate) fn check_digest(path: &EntryPath, digest: &Digest, hasher: Hasher) -> Result<()> {
    let actual = hasher.finish();
    if actual != *digest {
        return Err(Error::Corrupt {
            path: path.as_str().into(),
            expected: *digest,
            actual,
        });
    }
    Ok(())
}

/// A committed version and its manifest.
#[derive(Clone)]
pub struct ArtifactVersion {
    pub(crate) http: Http,
    pub(crate) project: ProjectRef,
    pub(crate) version: Version,
    pub(crate) manifest: Manifest,
    pub(crate) progress: Arc<dyn Progress>,
}

impl std::fmt::Debug for ArtifactVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArtifactVersion")
            .field("project", &self.project)
            .field("version", &self.version)
            .finish()
    }
}

/// What [`ArtifactVersion::download`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownloadReport {
    /// Files fetched and verified.
    pub downloaded_files: u64,
    /// Bytes fetched from the registry.
    pub downloaded_bytes: u64,
    /// Bytes of the files fetched that were taken from the earlier copy of the file at the same
    /// path (its chunks that the new content shares), not fetched.
    #[serde(default)]
    pub reused_bytes: u64,
    /// Files already present with the right content.
    pub skipped_files: u64,
    /// Reference entries, which the registry does not serve.
    pub references: Vec<EntryPath>,
}

/// What [`ArtifactVersion::verify`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// In the manifest, not on disk.
    pub missing: Vec<EntryPath>,
    /// On disk with other content.
    pub mismatched: Vec<EntryPath>,
    /// On disk, not in the manifest.
    pub extra: Vec<String>,
}

impl VerifyReport {
    /// Whether the local copy is exactly the version.
    pub fn is_ok(&self) -> bool {
        self.missing.is_empty() && self.mismatched.is_empty() && self.extra.is_empty()
    }
}

impl ArtifactVersion {
    /// The version's record (number, digest, aliases, …).
    pub fn info(&self) -> &Version {
        &self.version
    }

    /// The project the version belongs to.
    pub fn project(&self) -> &ProjectRef {
        &self.project
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Which run logged this version and which runs used it.
    pub async fn lineage(&self) -> Result<Lineage> {
        let url = self.project.api(&format!(
            "/artifacts/{}/versions/{}/lineage",
            self.version.name, self.version.version
        ));
        self.http
            .json(reqwest::Method::GET, &url, None::<&()>)
            .await
    }

    /// A download link to the file at `path`: a whole URL that needs no token for an hour (anyone
    /// holding it can fetch the file until then; `Range` works), for a browser's download
    /// manager or a tool that cannot send headers.
    pub async fn link(&self, path: &str) -> Result<Link> {
        let url = self.project.api(&format!(
            "/artifacts/{}/versions/{}/links",
            self.version.name, self.version.version
        ));
        let request = LinkRequest {
            path: path.to_owned(),
        };
        let mut link: Link = self
            .http
            .json(reqwest::Method::POST, &url, Some(&request))
            .await?;
        link.url = self.http.url(&link.url);
        Ok(link)
    }

    /// Entries in path order.
    pub fn files(&self) -> impl Iterator<Item = (&EntryPath, &Entry)> {
        self.manifest.iter()
    }

    /// A draft of a new version starting from this one (its manifest, not its files).
    pub fn new_draft(&self) -> Artifact {
        let mut a = Artifact::new(self.version.name.as_str(), self.version.type_.as_str())
            .expect("a committed version has valid names");
        a.draft = Draft::from_base(self.manifest.clone());
        a.base = Some((self.project.clone(), self.version.version));
        a.progress = self.progress.clone();
        a
    }

    fn stored(&self) -> Vec<(EntryPath, Digest, u64)> {
        self.manifest
            .iter()
            .filter_map(|(p, e)| e.stored_blob().map(|d| (p.clone(), d, e.size)))
            .collect()
    }

    /// Download every stored file under `root`, in parallel; each file's SHA-256 is checked
    /// before it is moved into place, and files already right are skipped. Every path is
    /// checked first: one that meets a symbolic link inside `root`, a file where the version
    /// has a folder (or the reverse) or a name too long fails the download with
    /// [`Error::Unwritable`] naming them all, before anything is written.
    pub async fn download(&self, root: impl AsRef<Path>) -> Result<DownloadReport> {
        let root = root.as_ref();
        let stored = self.stored();
        crate::root::check_download(root, stored.iter().map(|(p, _, _)| p))?;
        let stored_count = stored.len();
        let mut report = DownloadReport {
            references: self
                .manifest
                .iter()
                .filter(|(_, e)| e.stored_blob().is_none())
                .map(|(p, _)| p.clone())
                .collect(),
            ..DownloadReport::default()
        };
        // what is already there and right is left alone
        let present: Vec<usize> = (0..stored.len())
            .filter(|i| {
                std::fs::metadata(root.join(stored[*i].0.as_str()))
                    .is_ok_and(|m| m.len() == stored[*i].2)
            })
            .collect();
        let paths: Vec<PathBuf> = present
            .iter()
            .map(|i| root.join(stored[*i].0.as_str()))
            .collect();
        let hashes = hash_files(&paths, &crate::progress::Silent)?;
        let mut skip = vec![false; stored.len()];
        for (i, (d, _)) in present.into_iter().zip(hashes) {
            skip[i] = d == stored[i].1;
        }
        let todo: Vec<_> = stored
            .into_iter()
            .zip(skip)
            .filter(|(_, s)| !s)
            .map(|(x, _)| x)
            .collect();
        report.skipped_files = (stored_count - todo.len()) as u64;
        report.downloaded_files = todo.len() as u64;
        let total: u64 = todo.iter().map(|t| t.2).sum();
        self.progress.begin(Phase::Download, total);
        let fetched: Vec<u64> = futures::stream::iter(todo)
            .map(|(path, digest, size)| async move { self.fetch(root, &path, &digest, size).await })
            .buffer_unordered(CONCURRENCY)
            .try_collect()
            .await?;
        report.downloaded_bytes = fetched.iter().sum();
        report.reused_bytes = total - report.downloaded_bytes;
        self.progress.end(Phase::Download);
        Ok(report)
    }

    /// Fetch one file into place; the bytes fetched (fewer than its size when an earlier copy
    /// at the same path had some of its chunks).
    async fn fetch(
        &self,
        root: &Path,
        path: &EntryPath,
        digest: &Digest,
        size: u64,
    ) -> Result<u64> {
        let target = root.join(path.as_str());
        let dir = target.parent().expect("an entry path has a file name");
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| Error::io(dir, e))?;
        let suffix: u64 = rand::random();
        let partial = dir.join(format!(
            ".{}.cairn-partial-{suffix:016x}",
            target
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("file")
        ));
        let earlier = size >= crate::delta::MIN_SIZE && target.is_file();
        let result = if earlier {
            match crate::delta::fetch(self, path, digest, &target, &partial).await {
                // stored whole on the registry: no chunk list, fetch it all
                Err(Error::Api { status: 404, .. }) => {
                    self.fetch_into(path, digest, &partial).await.map(|()| size)
                }
                other => other,
            }
        } else {
            self.fetch_into(path, digest, &partial).await.map(|()| size)
        };
        match result {
            Ok(fetched) => tokio::fs::rename(&partial, &target)
                .await
                .map(|()| fetched)
                .map_err(|e| Error::io(&target, e)),
            Err(e) => {
                let _ = tokio::fs::remove_file(&partial).await;
                Err(e)
            }
        }
    }

    /// The API path of a file of this version.
    pub(crate) fn file_url(&self, path: &EntryPath) -> String {
        self.project.api(&format!(
            "/artifacts/{}/versions/{}/files/{}",
            self.version.name,
            self.version.version,
            encode_path(path.as_str())
        ))
    }

    async fn fetch_into(&self, path: &EntryPath, digest: &Digest, partial: &Path) -> Result<()> {
        let url = self.file_url(path);
        let res = self.http.get(&url).await?;
        let mut file = tokio::fs::File::create(partial)
            .await
            .map_err(|e| Error::io(partial, e))?;
        let mut hasher = Hasher::new();
        let mut body = res.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            hasher.update(&chunk);
            file.write_all(&chunk)
                .await
                .map_err(|e| Error::io(partial, e))?;
            self.progress.advance(Phase::Download, chunk.len() as u64);
        }
        // no fsync per file: the rename below is what makes a file appear whole, and a file
        // torn by a power cut fails its hash at the next download or verify (fsync cost 3 ms
        // per file here: 30 s for 10,000 files)
        file.flush().await.map_err(|e| Error::io(partial, e))?;
        check_digest(path, digest, hasher)
    }

    /// Re-hash a local copy under `root`: files missing, with other content, or not in the
    /// version at all. Symbolic links are never followed: a file behind one counts as missing.
    pub fn verify(&self, root: impl AsRef<Path>) -> Result<VerifyReport> {
        let root = root.as_ref();
        let mut report = VerifyReport::default();
        let stored = self.stored();
        let linked = crate::root::behind_links(root, stored.iter().map(|(p, _, _)| p));
        let mut present = Vec::new();
        for (path, digest, _) in &stored {
            let file = root.join(path.as_str());
            let regular = std::fs::symlink_metadata(&file).is_ok_and(|m| m.is_file());
            if regular && !linked.contains(path) {
                present.push((path.clone(), *digest, file));
            } else {
                report.missing.push(path.clone());
            }
        }
        let files: Vec<PathBuf> = present.iter().map(|p| p.2.clone()).collect();
        for ((path, digest, _), (actual, _)) in present
            .iter()
            .zip(hash_files(&files, self.progress.as_ref())?)
        {
            if actual != *digest {
                report.mismatched.push(path.clone());
            }
        }
        if root.is_dir() {
            report.extra = crate::root::walk(root, false)?
                .files
                .into_iter()
                .map(|(_, rel)| rel)
                .filter(|rel| self.manifest.get(rel).is_none())
                .collect();
        }
        Ok(report)
    }
}
