//! `cairn.Artifact`: one class for an artifact being built (adds, removes, `save`), one that a
//! run logged, and a version fetched from the registry (`download`, `verify`, `new_draft`), as
//! in W&B.

use std::path::PathBuf;

use cairn_client::{Artifact, ArtifactVersion, CommitOutcome, ProjectRef};
use cairn_core::{Alias, Manifest};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::Map;

use crate::error::{OrRaise, UsageError, finalized, parse};
use crate::manifest::{PyManifest, PyManifestEntry};
use crate::metadata::{from_json, to_json_map};
use crate::run::current;
use crate::version::{default_root, project_ref, qualified, save_aliases, verify_error};
use crate::{block, connect};

/// Where an artifact is in its life.
#[derive(Debug)]
pub(crate) enum State {
    /// Being built: files may be added and removed.
    Draft(Box<Artifact>),
    /// Logged or saved (`outcome`), or upserted into a distributed version (no outcome yet).
    Logged {
        artifact: Box<Artifact>,
        project: ProjectRef,
        outcome: Option<CommitOutcome>,
    },
    /// A committed version read from the registry; `aliases` is what `save()` will make them,
    /// `edit` the description and metadata it will set (`None`: unchanged).
    Fetched {
        version: Box<ArtifactVersion>,
        aliases: Vec<String>,
        edit: cairn_core::wire::VersionUpdate,
    },
}

/// An artifact: a new one or a draft (add files, then log or save it), or a committed version
/// (download, verify, start a draft from it).
#[pyclass(name = "Artifact", module = "cairn")]
#[derive(Debug)]
pub struct PyArtifact {
    pub(crate) state: State,
}

impl PyArtifact {
    pub(crate) fn fetched(version: ArtifactVersion) -> Self {
        let aliases = version
            .info()
            .aliases
            .iter()
            .map(|a| a.to_string())
            .collect();
        Self {
            state: State::Fetched {
                version: Box::new(version),
                aliases,
                edit: Default::default(),
            },
        }
    }

    /// The artifact being built, or why it cannot change.
    pub(crate) fn draft(&mut self, what: &str) -> PyResult<&mut Artifact> {
        match &mut self.state {
            State::Draft(a) => Ok(a),
            _ => Err(finalized(what)),
        }
    }

    /// Mark the draft logged into `project` (an upsert has no outcome yet); the registry's
    /// warnings about paths that will not download everywhere become `UserWarning`s.
    pub(crate) fn logged(&mut self, project: ProjectRef, outcome: Option<CommitOutcome>) {
        for w in outcome.iter().flat_map(|o| &o.warnings) {
            Python::attach(|py| {
                let category = py.get_type::<pyo3::exceptions::PyUserWarning>();
                if let Ok(text) = std::ffi::CString::new(w.as_str()) {
                    let _ = PyErr::warn(py, &category, &text, 1);
                }
            });
        }
        if let State::Draft(artifact) = &self.state {
            self.state = State::Logged {
                artifact: artifact.clone(),
                project,
                outcome,
            };
        }
    }

    /// The committed version behind a logged or fetched artifact (fetched once when logged).
    pub(crate) fn committed(&mut self, py: Python<'_>) -> PyResult<&ArtifactVersion> {
        if let State::Logged {
            project,
            outcome: Some(out),
            artifact,
        } = &self.state
        {
            let path = format!(
                "{}/{}/{}:{}",
                project.entity,
                project.project,
                artifact.name(),
                out.version
            );
            let api = connect()?;
            let version = block(py, api.artifact(&path))?.or_raise()?;
            *self = Self::fetched(version);
        }
        match &self.state {
            State::Fetched { version, .. } => Ok(version),
            State::Draft(_) => Err(UsageError::new_err(
                "this artifact is not logged yet: log_artifact() or save() it first",
            )),
            State::Logged { .. } => Err(UsageError::new_err(
                "this artifact is part of a distributed version that is not finished yet",
            )),
        }
    }

    fn manifest_ref(&self) -> &Manifest {
        match &self.state {
            State::Draft(a) | State::Logged { artifact: a, .. } => a.manifest(),
            State::Fetched { version, .. } => version.manifest(),
        }
    }
}

#[pymethods]
impl PyArtifact {
    /// A new artifact `name` of type `type` (its first version, or a new version from scratch).
    #[new]
    #[pyo3(signature = (name, r#type, description=None, metadata=None))]
    fn new(
        py: Python<'_>,
        name: &str,
        r#type: &str,
        description: Option<String>,
        metadata: Option<Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let mut artifact = Artifact::new(name, r#type)
            .or_raise()?
            .with_progress(crate::bars());
        artifact.description = description;
        artifact.metadata = metadata.map(|m| to_json_map(py, &m)).transpose()?;
        Ok(Self {
            state: State::Draft(Box::new(artifact)),
        })
    }

    /// Add the file `local_path` at `name` (default: its file name), hashing it now. The same
    /// path with other content fails unless `overwrite`.
    #[pyo3(signature = (local_path, name=None, overwrite=false))]
    fn add_file(
        &mut self,
        py: Python<'_>,
        local_path: PathBuf,
        name: Option<&str>,
        overwrite: bool,
    ) -> PyResult<()> {
        let artifact = self.draft("add a file")?;
        py.detach(|| match overwrite {
            true => artifact.replace_file(&local_path, name).map(drop),
            false => artifact.add_file(&local_path, name).map(drop),
        })
        .or_raise()
    }

    /// Add every file under `local_path`, below `name` (default: the root), hashing them on
    /// every core. All or nothing. Links to files add their content; links to folders are
    /// followed only with `follow_symlinks=True` (a cycle is skipped); FIFOs, sockets, devices
    /// and broken links are skipped. Each skip is a `UserWarning` naming the path and why.
    #[pyo3(signature = (local_path, name=None, follow_symlinks=false))]
    fn add_dir(
        &mut self,
        py: Python<'_>,
        local_path: PathBuf,
        name: Option<&str>,
        follow_symlinks: bool,
    ) -> PyResult<()> {
        let artifact = self.draft("add a directory")?;
        artifact.follow_symlinks = follow_symlinks;
        py.detach(|| artifact.add_dir(&local_path, name).map(drop))
            .or_raise()?;
        for skipped in std::mem::take(&mut artifact.skipped) {
            let category = py.get_type::<pyo3::exceptions::PyUserWarning>();
            PyErr::warn(
                py,
                &category,
                &std::ffi::CString::new(format!("skipped {skipped}"))?,
                1,
            )?;
        }
        Ok(())
    }

    /// Add a reference to `uri` (`file://`, `http(s)://`, `s3://`) without uploading it;
    /// `checksum` hashes `file://` content (else the URI is the digest).
    #[pyo3(signature = (uri, name=None, checksum=true))]
    fn add_reference(
        &mut self,
        py: Python<'_>,
        uri: &str,
        name: Option<&str>,
        checksum: bool,
    ) -> PyResult<()> {
        let artifact = self.draft("add a reference")?;
        block(py, async {
            artifact.add_reference(uri, name, checksum).await.map(drop)
        })?
        .or_raise()
    }

    /// Remove the entry `item`, or every entry under the directory `item`; returns the paths
    /// removed. Nothing there raises FileNotFoundError.
    fn remove(&mut self, item: &str) -> PyResult<Vec<String>> {
        let removed = self.draft("remove")?.remove(item).or_raise()?;
        Ok(removed.into_iter().map(|p| p.to_string()).collect())
    }

    /// Commit the artifact: inside a run (`cairn.init`) as logged by it, else with the default
    /// project, or `project` (`"project"` or `"entity/project"`). A fetched artifact whose
    /// `aliases` changed moves them.
    #[pyo3(signature = (project=None))]
    fn save(mut slf: PyRefMut<'_, Self>, py: Python<'_>, project: Option<&str>) -> PyResult<()> {
        if let State::Fetched {
            version,
            aliases,
            edit,
        } = &slf.state
        {
            save_aliases(py, version, aliases)?;
            if *edit != cairn_core::wire::VersionUpdate::default() {
                let api = connect()?;
                block(py, api.update_version(version, edit))?.or_raise()?;
            }
            return Ok(());
        }
        if let Some(run) = current(py).filter(|_| project.is_none()) {
            return run.borrow(py).log(py, &mut slf, Vec::new());
        }
        let api = connect()?;
        let artifact = slf.draft("save")?;
        let project = match (project, artifact.base_project()) {
            (Some(p), base) => {
                let p = project_ref(&api, p)?;
                if base.is_some_and(|b| *b != p) {
                    return Err(UsageError::new_err(format!(
                        "a draft is saved into the project of its version, not {}/{}",
                        p.entity, p.project
                    )));
                }
                p
            }
            (None, Some(base)) => base.clone(),
            (None, None) => api.default_project().or_raise()?,
        };
        let out = block(py, api.commit(&project, artifact, &[], None))?.or_raise()?;
        slf.logged(project, Some(out));
        Ok(())
    }

    /// A draft of a new version starting from this committed one (its manifest, not its files).
    fn new_draft(&mut self, py: Python<'_>) -> PyResult<Self> {
        let draft = self.committed(py)?.new_draft();
        Ok(Self {
            state: State::Draft(Box::new(draft)),
        })
    }

    /// Download the files (each verified) to `root` (default `./artifacts/<name>:<version>`);
    /// files already right are kept. Returns the directory.
    #[pyo3(signature = (root=None))]
    fn download(&mut self, py: Python<'_>, root: Option<PathBuf>) -> PyResult<String> {
        let version = self.committed(py)?;
        let root = root.unwrap_or_else(|| default_root(version));
        block(py, version.download(&root))?.or_raise()?;
        Ok(root.to_string_lossy().into_owned())
    }

    /// Check that `root` (default `./artifacts/<name>:<version>`) holds exactly this version;
    /// raises ValueError naming what is missing, different or extra.
    #[pyo3(signature = (root=None))]
    fn verify(&mut self, py: Python<'_>, root: Option<PathBuf>) -> PyResult<()> {
        let version = self.committed(py)?;
        let root = root.unwrap_or_else(|| default_root(version));
        let report = py.detach(|| version.verify(&root)).or_raise()?;
        if report.is_ok() {
            return Ok(());
        }
        Err(verify_error(&root, version, report))
    }

    /// The entry at `name`; KeyError if there is none.
    fn get_entry(&self, name: &str) -> PyResult<PyManifestEntry> {
        let manifest = self.manifest_ref();
        let (path, entry) = manifest
            .iter()
            .find(|(p, _)| p.as_str() == name)
            .ok_or_else(|| pyo3::exceptions::PyKeyError::new_err(name.to_string()))?;
        Ok(PyManifestEntry::new(path, entry))
    }

    /// The run that logged this version (its id), if any.
    fn logged_by(&mut self, py: Python<'_>) -> PyResult<Option<String>> {
        let version = self.committed(py)?;
        let lineage = block(py, version.lineage())?.or_raise()?;
        Ok(lineage.logged_by.map(|r| r.to_string()))
    }

    /// The runs that used this version (their ids), in the order they first did.
    fn used_by(&mut self, py: Python<'_>) -> PyResult<Vec<String>> {
        let version = self.committed(py)?;
        let lineage = block(py, version.lineage())?.or_raise()?;
        Ok(lineage.used_by.iter().map(|r| r.to_string()).collect())
    }

    /// A download link to the file at `path`: a URL that needs no token for an hour (anyone
    /// holding it can fetch the file until then). CommError naming the file if the version has
    /// none at `path`.
    fn link(&mut self, py: Python<'_>, path: &str) -> PyResult<String> {
        let version = self.committed(py)?;
        Ok(block(py, version.link(path))?.or_raise()?.url)
    }

    /// Kept for W&B code: logging here is synchronous, so this returns the artifact at once.
    #[pyo3(signature = (timeout=None))]
    fn wait(slf: PyRef<'_, Self>, timeout: Option<f64>) -> PyRef<'_, Self> {
        let _ = timeout;
        slf
    }

    /// `name` before logging, `name:vN` after (as in W&B).
    #[getter]
    fn name(&self) -> String {
        match &self.state {
            State::Draft(a)
            | State::Logged {
                artifact: a,
                outcome: None,
                ..
            } => a.name().to_string(),
            State::Logged {
                artifact,
                outcome: Some(o),
                ..
            } => format!("{}:{}", artifact.name(), o.version),
            State::Fetched { version, .. } => {
                format!("{}:{}", version.info().name, version.info().version)
            }
        }
    }

    /// `entity/project/name:vN` once committed.
    #[getter]
    fn qualified_name(&self) -> Option<String> {
        match &self.state {
            State::Draft(_) | State::Logged { outcome: None, .. } => None,
            State::Logged {
                artifact,
                project,
                outcome: Some(o),
            } => Some(format!(
                "{}/{}/{}:{}",
                project.entity,
                project.project,
                artifact.name(),
                o.version
            )),
            State::Fetched { version, .. } => Some(qualified(version)),
        }
    }

    #[getter]
    fn r#type(&self) -> String {
        match &self.state {
            State::Draft(a) | State::Logged { artifact: a, .. } => a.type_name().to_string(),
            State::Fetched { version, .. } => version.info().type_.to_string(),
        }
    }

    /// `vN` once committed, else None.
    #[getter]
    fn version(&self) -> Option<String> {
        match &self.state {
            State::Draft(_) | State::Logged { outcome: None, .. } => None,
            State::Logged {
                outcome: Some(o), ..
            } => Some(o.version.to_string()),
            State::Fetched { version, .. } => Some(version.info().version.to_string()),
        }
    }

    /// The artifact digest (hex) of the contents; for a draft, of what it holds now.
    #[getter]
    fn digest(&self) -> String {
        match &self.state {
            State::Logged {
                outcome: Some(o), ..
            } => o.digest.to_string(),
            State::Fetched { version, .. } => version.info().digest.to_string(),
            _ => self.manifest_ref().digest().to_string(),
        }
    }

    /// The aliases: to put on the version when logged (besides `latest`), the version's once
    /// committed; on a fetched artifact, set them and `save()` to move aliases.
    #[getter]
    fn aliases(&self) -> Vec<String> {
        match &self.state {
            State::Draft(a)
            | State::Logged {
                artifact: a,
                outcome: None,
                ..
            } => a.aliases.iter().map(|x| x.to_string()).collect(),
            State::Logged {
                outcome: Some(o), ..
            } => o.aliases.iter().map(|x| x.to_string()).collect(),
            State::Fetched { aliases, .. } => aliases.clone(),
        }
    }

    #[setter]
    fn set_aliases(&mut self, aliases: Vec<String>) -> PyResult<()> {
        let parsed = aliases
            .iter()
            .map(|a| parse::<Alias>(a))
            .collect::<PyResult<Vec<_>>>()?;
        match &mut self.state {
            State::Draft(a) => a.aliases = parsed,
            State::Fetched {
                aliases: current, ..
            } => *current = aliases,
            State::Logged { .. } => return Err(finalized("change aliases")),
        }
        Ok(())
    }

    #[getter]
    fn description(&self) -> Option<String> {
        match &self.state {
            State::Draft(a) | State::Logged { artifact: a, .. } => a.description.clone(),
            State::Fetched { version, edit, .. } => edit
                .description
                .clone()
                .or_else(|| version.info().description.clone()),
        }
    }

    /// On a fetched version, `save()` sets it on the version (its contents never change).
    #[setter]
    fn set_description(&mut self, description: Option<String>) -> PyResult<()> {
        if let State::Fetched { edit, .. } = &mut self.state {
            edit.description = Some(description.unwrap_or_default());
            return Ok(());
        }
        self.draft("change the description")?.description = description;
        Ok(())
    }

    /// A copy of the metadata (a dict); assign a new dict to change it before logging.
    #[getter]
    fn metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let empty = Map::new();
        let map = match &self.state {
            State::Draft(a) | State::Logged { artifact: a, .. } => {
                a.metadata.as_ref().unwrap_or(&empty)
            }
            State::Fetched { version, edit, .. } => {
                edit.metadata.as_ref().unwrap_or(&version.info().metadata)
            }
        };
        from_json(py, map)
    }

    /// On a fetched version, `save()` replaces the version's metadata with it.
    #[setter]
    fn set_metadata(&mut self, py: Python<'_>, metadata: Bound<'_, PyDict>) -> PyResult<()> {
        let map = to_json_map(py, &metadata)?;
        if let State::Fetched { edit, .. } = &mut self.state {
            edit.metadata = Some(map);
            return Ok(());
        }
        self.draft("change the metadata")?.metadata = Some(map);
        Ok(())
    }

    /// The manifest (paths → digests) of the contents.
    #[getter]
    fn manifest(&self) -> PyManifest {
        PyManifest::new(self.manifest_ref().clone())
    }

    /// Sum of the entry sizes.
    #[getter]
    fn size(&self) -> u64 {
        self.manifest_ref().total_size()
    }

    /// Number of entries.
    #[getter]
    fn file_count(&self) -> usize {
        self.manifest_ref().len()
    }

    /// `PENDING` until committed, then `COMMITTED`.
    #[getter]
    fn state(&self) -> &'static str {
        match &self.state {
            State::Draft(_) | State::Logged { outcome: None, .. } => "PENDING",
            _ => "COMMITTED",
        }
    }

    /// When the version was committed (RFC 3339), for a fetched artifact.
    #[getter]
    fn created_at(&self) -> Option<String> {
        match &self.state {
            State::Fetched { version, .. } => Some(version.info().created_at.clone()),
            _ => None,
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "<Artifact {} ({}, {} files, {})>",
            self.name(),
            self.r#type(),
            self.file_count(),
            self.state().to_lowercase()
        )
    }
}
