//! An artifact being built locally: a new one, or a draft of a committed version.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cairn_core::wire::VersionIndex;
use cairn_core::{Alias, ArtifactName, Digest, Draft, Entry, EntryPath, Manifest, Patch, TypeName};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::hashing::hash_and_chunk_files;
use crate::http::ProjectRef;
use crate::progress::{Progress, Silent};
use crate::reference;

/// A local file an artifact added: where it is and its chunks (from the pass that hashed it).
#[derive(Clone, Debug)]
pub(crate) struct Source {
    pub path: PathBuf,
    pub chunks: Arc<Vec<cairn_core::chunk::Chunk>>,
}

/// A version of `name` in the making. Files are hashed as they are added (so a clash is an
/// error at once); their bytes are read again only if the registry lacks them.
#[derive(Clone)]
pub struct Artifact {
    pub(crate) name: ArtifactName,
    pub(crate) type_: TypeName,
    pub(crate) draft: Draft,
    /// Where to read each blob this artifact added, and its chunks.
    pub(crate) sources: HashMap<Digest, Source>,
    /// The committed version a draft started from.
    pub(crate) base: Option<(ProjectRef, VersionIndex)>,
    /// Aliases to put on the version (besides `latest`).
    pub aliases: Vec<Alias>,
    /// Description of the version.
    pub description: Option<String>,
    /// Metadata of the version.
    pub metadata: Option<Map<String, Value>>,
    /// Follow links to folders in [`add_dir`](Self::add_dir) (a folder reached twice is
    /// skipped). Off by default: a link to a folder is skipped and named in
    /// [`skipped`](Self::skipped).
    pub follow_symlinks: bool,
    /// What `add_dir` left out and why: links to folders not followed, FIFOs, sockets,
    /// devices, broken links.
    pub skipped: Vec<String>,
    pub(crate) progress: Arc<dyn Progress>,
}

impl std::fmt::Debug for Artifact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Artifact")
            .field("name", &self.name)
            .field("type", &self.type_)
            .field("entries", &self.draft.manifest().len())
            .field("base", &self.base)
            .finish()
    }
}

fn join(prefix: Option<&str>, rel: &str) -> Result<EntryPath> {
    match prefix
        .map(|p| p.trim_end_matches(['/', '\\']))
        .filter(|p| !p.is_empty())
    {
        Some(p) => Ok(EntryPath::normalize(&format!("{p}/{rel}"))?),
        None => Ok(EntryPath::normalize(rel)?),
    }
}

impl Artifact {
    /// A new artifact (its first version, or a new version made from scratch).
    pub fn new(name: &str, type_: &str) -> Result<Self> {
        Ok(Self {
            name: name.parse()?,
            type_: type_.parse()?,
            draft: Draft::new(),
            sources: HashMap::new(),
            base: None,
            aliases: Vec::new(),
            description: None,
            metadata: None,
            follow_symlinks: false,
            skipped: Vec::new(),
            progress: Arc::new(Silent),
        })
    }

    /// Report hashing progress to `progress`.
    pub fn with_progress(mut self, progress: Arc<dyn Progress>) -> Self {
        self.progress = progress;
        self
    }

    /// The collection name.
    pub fn name(&self) -> &ArtifactName {
        &self.name
    }

    /// The type.
    pub fn type_name(&self) -> &TypeName {
        &self.type_
    }

    /// The project of the version a draft started from.
    pub fn base_project(&self) -> Option<&ProjectRef> {
        self.base.as_ref().map(|(p, _)| p)
    }

    /// Add a file at `name` (default: its file name). The same path with the same content is a
    /// no-op; with other content it fails ("cannot add the same path twice").
    pub fn add_file(&mut self, path: impl AsRef<Path>, name: Option<&str>) -> Result<&mut Self> {
        self.add_files(path.as_ref(), name, false)
    }

    /// Like [`add_file`](Self::add_file), replacing whatever is at `name` (modify).
    pub fn replace_file(
        &mut self,
        path: impl AsRef<Path>,
        name: Option<&str>,
    ) -> Result<&mut Self> {
        self.add_files(path.as_ref(), name, true)
    }

    /// Add every file under `dir`, below `name` (default: the artifact's root), hashing them
    /// in parallel. All or nothing: a clash adds none of them. A link to a file adds its
    /// content; links to folders are followed only with
    /// [`follow_symlinks`](Self::follow_symlinks); FIFOs, sockets and devices are skipped. What
    /// was left out is added to [`skipped`](Self::skipped).
    pub fn add_dir(&mut self, dir: impl AsRef<Path>, name: Option<&str>) -> Result<&mut Self> {
        let dir = dir.as_ref();
        if !dir.is_dir() {
            return Err(Error::io(
                dir,
                std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
            ));
        }
        let walked = crate::root::walk(dir, self.follow_symlinks)?;
        let entries = walked
            .files
            .iter()
            .map(|(_, rel)| join(name, rel))
            .collect::<Result<Vec<_>>>()?;
        let paths: Vec<PathBuf> = walked.files.into_iter().map(|(p, _)| p).collect();
        self.add_hashed(entries, paths, false)?;
        self.skipped.extend(walked.skipped);
        Ok(self)
    }

    fn add_files(&mut self, path: &Path, name: Option<&str>, overwrite: bool) -> Result<&mut Self> {
        let entry_path = match name {
            Some(n) => EntryPath::normalize(n)?,
            None => {
                let file_name = path.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
                    Error::Config(format!(
                        "{}: no UTF-8 file name; pass a name",
                        path.display()
                    ))
                })?;
                EntryPath::normalize(file_name)?
            }
        };
        self.add_hashed(vec![entry_path], vec![path.to_path_buf()], overwrite)
    }

    fn add_hashed(
        &mut self,
        entries: Vec<EntryPath>,
        paths: Vec<PathBuf>,
        overwrite: bool,
    ) -> Result<&mut Self> {
        let hashed = hash_and_chunk_files(&paths, self.progress.as_ref())?;
        let batch: Vec<(EntryPath, Entry)> = entries
            .into_iter()
            .zip(&hashed)
            .map(|(p, (d, size, _))| (p, Entry::blob(*d, *size)))
            .collect();
        self.draft.add_many(batch, overwrite)?;
        for ((digest, _, chunks), path) in hashed.into_iter().zip(paths) {
            self.sources.entry(digest).or_insert(Source {
                path,
                chunks: Arc::new(chunks),
            });
        }
        Ok(self)
    }

    /// Add a reference: `file://` (hashed when `checksum`), `http(s)://` (its ETag) or
    /// `s3://bucket/key` (its ETag, through object_store with the usual `AWS_*` settings).
    /// Without `checksum` the URI itself is the digest. `name` defaults to the URI's last segment.
    pub async fn add_reference(
        &mut self,
        uri: &str,
        name: Option<&str>,
        checksum: bool,
    ) -> Result<&mut Self> {
        let (default_name, entry) = reference::resolve(uri, checksum).await?;
        let path = match name.or(default_name.as_deref()) {
            Some(n) => EntryPath::normalize(n)?,
            None => {
                return Err(Error::Reference {
                    uri: uri.into(),
                    reason: "a name is required for this URI".into(),
                });
            }
        };
        self.draft.add(path, entry)?;
        Ok(self)
    }

    /// Remove the entry at `path`, or every entry under `path/`.
    pub fn remove(&mut self, path: &str) -> Result<Vec<EntryPath>> {
        Ok(self.draft.remove(path.trim_start_matches("./"))?)
    }

    /// The contents so far.
    pub fn manifest(&self) -> &Manifest {
        self.draft.manifest()
    }

    /// The changes against the base (everything, for a new artifact).
    pub fn patch(&self) -> Patch {
        self.draft.patch()
    }

    /// The draft (base, summary of changes).
    pub fn draft(&self) -> &Draft {
        &self.draft
    }

    /// The version this draft started from.
    pub fn base(&self) -> Option<VersionIndex> {
        self.base.as_ref().map(|(_, v)| *v)
    }
}
