//! [`Api`] (outside a run) and [`Run`] (lineage-recording): resolving, committing, upserting.

use std::sync::Arc;

use cairn_core::wire::{
    self, CommitRequest, CommitResponse, PendingVersion, RunRequest, UpsertRequest, UseRequest,
    Version, VersionIndex,
};
use cairn_core::{
    Alias, ArtifactDigest, ArtifactPath, Defaults, DistributedId, Manifest, RunId, VersionRef,
};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::artifact::Artifact;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::http::{Http, ProjectRef, encode_path};
use crate::progress::{Progress, Silent};
use crate::upload::{Transfer, upload};
use crate::version::ArtifactVersion;

/// The result of logging or saving an artifact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitOutcome {
    /// `vN` of the version (new, or the existing one with the same content).
    pub version: VersionIndex,
    /// False when identical content existed (no new version).
    pub created: bool,
    /// The artifact digest.
    pub digest: ArtifactDigest,
    /// Aliases now on the version.
    pub aliases: Vec<Alias>,
    /// What was uploaded.
    #[serde(flatten)]
    pub transfer: Transfer,
    /// Paths the registry says will not download everywhere (the version is committed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl CommitOutcome {
    fn new(out: CommitResponse, transfer: Transfer) -> Self {
        Self {
            version: out.version,
            created: out.created,
            digest: out.digest,
            aliases: out.aliases,
            transfer,
            warnings: out.warnings,
        }
    }
}

/// The result of an upsert.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpsertOutcome {
    /// Entries in the pending version now.
    pub file_count: u64,
    /// What was uploaded.
    #[serde(flatten)]
    pub transfer: Transfer,
}

/// A registry connection with default entity and project.
#[derive(Clone)]
pub struct Api {
    pub(crate) http: Http,
    pub(crate) defaults: Defaults,
    pub(crate) progress: Arc<dyn Progress>,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("http", &self.http)
            .field("defaults", &self.defaults)
            .finish()
    }
}

impl Api {
    /// Connect with `config`.
    pub fn new(config: &Config) -> Result<Self> {
        Ok(Self {
            http: Http::new(config)?,
            defaults: Defaults {
                entity: config.entity.clone(),
                project: config.project.clone(),
            },
            progress: Arc::new(Silent),
        })
    }

    /// Connect with the config file and `CAIRN_*` environment variables.
    pub fn from_env() -> Result<Self> {
        Self::new(&Config::load()?)
    }

    /// Report hashing, upload and download progress to `progress`.
    pub fn with_progress(mut self, progress: Arc<dyn Progress>) -> Self {
        self.progress = progress;
        self
    }

    /// The HTTP connection, for calls the SDK does not wrap.
    pub fn http(&self) -> &Http {
        &self.http
    }

    /// The default project.
    pub fn default_project(&self) -> Result<ProjectRef> {
        match (&self.defaults.entity, &self.defaults.project) {
            (Some(entity), Some(project)) => Ok(ProjectRef {
                entity: entity.clone(),
                project: project.clone(),
            }),
            _ => Err(Error::Config(
                "no default entity/project: set CAIRN_ENTITY and CAIRN_PROJECT or give a full path"
                    .into(),
            )),
        }
    }

    /// Parse `[[entity/]project/]name[:ref]` with this API's defaults.
    pub fn parse_path(&self, path: &str) -> Result<ArtifactPath> {
        Ok(ArtifactPath::parse(path, &self.defaults)?)
    }

    /// A committed version: `entity/project/name:alias` (short forms use the defaults).
    pub async fn artifact(&self, path: &str) -> Result<ArtifactVersion> {
        let p = self.parse_path(path)?;
        let project = ProjectRef {
            entity: p.entity,
            project: p.project,
        };
        let url = project.api(&format!(
            "/artifacts/{}/versions/{}",
            p.name,
            encode_path(&p.reference.to_string())
        ));
        let version: Version = self.http.json(Method::GET, &url, None::<&()>).await?;
        self.version(project, version).await
    }

    pub(crate) async fn version(
        &self,
        project: ProjectRef,
        version: Version,
    ) -> Result<ArtifactVersion> {
        let url = project.api(&format!(
            "/artifacts/{}/versions/{}/manifest",
            version.name, version.version
        ));
        let manifest: Manifest = self.http.json(Method::GET, &url, None::<&()>).await?;
        Ok(ArtifactVersion {
            http: self.http.clone(),
            project,
            version,
            manifest,
            progress: self.progress.clone(),
        })
    }

    /// Commit `artifact` outside a run, into the default project (or its base's project).
    pub async fn save(&self, artifact: &Artifact) -> Result<CommitOutcome> {
        let project = match &artifact.base {
            Some((p, _)) => p.clone(),
            None => self.default_project()?,
        };
        self.commit(&project, artifact, &[], None).await
    }

    /// Upload what the registry lacks, then commit the artifact's patch (a draft) or manifest.
    pub async fn commit(
        &self,
        project: &ProjectRef,
        artifact: &Artifact,
        aliases: &[Alias],
        run: Option<&RunId>,
    ) -> Result<CommitOutcome> {
        let mut all_aliases = artifact.aliases.clone();
        all_aliases.extend_from_slice(aliases);
        let mut request = CommitRequest {
            type_: Some(artifact.type_.clone()),
            aliases: all_aliases,
            description: artifact.description.clone(),
            metadata: artifact.metadata.clone(),
            run: run.cloned(),
            ..CommitRequest::default()
        };
        // a draft sends its patch; a new version of an existing artifact that shares most of
        // its entries with `latest` sends the change against it (the version records that
        // base), so a re-pushed folder costs its changed files, not its whole manifest
        // the files a new version replaces are offered to the registry as chunks to reuse:
        // those of the draft's base, or of `latest` when it is the same kind of artifact
        let latest = match &artifact.base {
            Some(_) => None,
            None => self.latest_like(project, artifact).await?,
        };
        let change = match (&artifact.base, &latest) {
            (Some((_, base)), _) => Some((base.0, artifact.patch(), 0)),
            (None, Some((index, manifest))) => {
                // a version that differs from `latest` in at most half of its entries sends the
                // change against it (the version records that base), so a re-pushed folder
                // costs its changed files, not its whole manifest
                let patch = cairn_core::diff(manifest, artifact.manifest());
                let changed = patch.put.len() + patch.remove.len();
                let kept = (artifact.manifest().len() - patch.put.len()) as u64;
                (changed * 2 <= artifact.manifest().len()).then_some((*index, patch, kept))
            }
            (None, None) => None,
        };
        let base_manifest = match &artifact.base {
            Some(_) => Some(artifact.draft.base()),
            None => latest.as_ref().map(|(_, m)| m),
        };
        let transfer = match change {
            Some((base, patch, kept)) => {
                let mut transfer = upload(
                    &self.http,
                    project,
                    &Manifest::from_entries(patch.put.clone())?,
                    base_manifest,
                    &artifact.sources,
                    self.progress.as_ref(),
                )
                .await?;
                transfer.reused_files += kept;
                request.base = Some(VersionRef::Index(base));
                request.patch = Some(patch);
                transfer
            }
            None => {
                let transfer = upload(
                    &self.http,
                    project,
                    artifact.manifest(),
                    base_manifest,
                    &artifact.sources,
                    self.progress.as_ref(),
                )
                .await?;
                request.manifest = Some(artifact.manifest().clone());
                transfer
            }
        };
        let url = project.api(&format!("/artifacts/{}/versions", artifact.name));
        let out: CommitResponse = self.http.json(Method::POST, &url, Some(&request)).await?;
        Ok(CommitOutcome::new(out, transfer))
    }

    /// `latest` of `artifact`'s collection (index and manifest) when `artifact` would be a new
    /// version of the same type and not a small fraction of it.
    async fn latest_like(
        &self,
        project: &ProjectRef,
        artifact: &Artifact,
    ) -> Result<Option<(u64, Manifest)>> {
        let url = project.api(&format!("/artifacts/{}/versions/latest", artifact.name));
        let latest: Version = match self.http.json(Method::GET, &url, None::<&()>).await {
            Ok(v) => v,
            Err(Error::Api { status: 404, .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        if latest.type_ != artifact.type_
            || latest.file_count > 4 * artifact.manifest().len() as u64
        {
            return Ok(None);
        }
        let base = self.version(project.clone(), latest).await?;
        Ok(Some((base.version.index, base.manifest)))
    }

    /// Upload the artifact's blobs and add its entries to the pending version of `id`.
    pub async fn upsert(
        &self,
        project: &ProjectRef,
        artifact: &Artifact,
        id: &DistributedId,
        run: Option<&RunId>,
    ) -> Result<UpsertOutcome> {
        let (out, transfer) = self
            .distributed::<PendingVersion>(project, artifact, id, run, "upsert")
            .await?;
        Ok(UpsertOutcome {
            file_count: out.file_count,
            transfer,
        })
    }

    /// Upload the artifact's blobs and commit the pending version of `id` with its entries.
    pub async fn finish(
        &self,
        project: &ProjectRef,
        artifact: &Artifact,
        id: &DistributedId,
        run: Option<&RunId>,
    ) -> Result<CommitOutcome> {
        let (out, transfer) = self
            .distributed::<CommitResponse>(project, artifact, id, run, "finish")
            .await?;
        Ok(CommitOutcome::new(out, transfer))
    }

    /// Upload the artifact's blobs, then `POST …/distributed/{id}/{action}` with its entries.
    async fn distributed<T: serde::de::DeserializeOwned>(
        &self,
        project: &ProjectRef,
        artifact: &Artifact,
        id: &DistributedId,
        run: Option<&RunId>,
        action: &str,
    ) -> Result<(T, Transfer)> {
        let transfer = upload(
            &self.http,
            project,
            artifact.manifest(),
            None,
            &artifact.sources,
            self.progress.as_ref(),
        )
        .await?;
        let url = project.api(&format!(
            "/artifacts/{}/distributed/{id}/{action}",
            artifact.name
        ));
        let body = UpsertRequest {
            type_: Some(artifact.type_.clone()),
            manifest: Some(artifact.manifest().clone()),
            aliases: artifact.aliases.clone(),
            description: artifact.description.clone(),
            metadata: artifact.metadata.clone(),
            run: run.cloned(),
        };
        let out = self.http.json(Method::POST, &url, Some(&body)).await?;
        Ok((out, transfer))
    }
}

/// How to start a run.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Entity (default: the API's).
    pub entity: Option<String>,
    /// Project (default: the API's).
    pub project: Option<String>,
    /// Group; the default distributed id.
    pub group: Option<String>,
    /// Job type.
    pub job_type: Option<String>,
    /// A name for people.
    pub name: Option<String>,
}

/// A run: what it logs and uses is recorded as lineage.
#[derive(Clone, Debug)]
pub struct Run {
    api: Api,
    project: ProjectRef,
    info: wire::Run,
}

impl Run {
    /// Start a run on the registry.
    pub async fn init(api: &Api, options: RunOptions) -> Result<Self> {
        let project = ProjectRef {
            entity: match options.entity {
                Some(e) => e.parse()?,
                None => api
                    .defaults
                    .entity
                    .clone()
                    .ok_or_else(|| Error::Config("no entity for the run".into()))?,
            },
            project: match options.project {
                Some(p) => p.parse()?,
                None => api
                    .defaults
                    .project
                    .clone()
                    .ok_or_else(|| Error::Config("no project for the run".into()))?,
            },
        };
        let request = RunRequest {
            name: options.name,
            group: options.group.map(|g| g.parse()).transpose()?,
            job_type: options.job_type,
        };
        let info = api
            .http
            .json(Method::POST, &project.api("/runs"), Some(&request))
            .await?;
        Ok(Self {
            api: api.clone(),
            project,
            info,
        })
    }

    /// The run's id.
    pub fn id(&self) -> &RunId {
        &self.info.id
    }

    /// The run's project.
    pub fn project(&self) -> &ProjectRef {
        &self.project
    }

    fn distributed_id(&self, id: Option<&str>) -> Result<DistributedId> {
        match (id, &self.info.group) {
            (Some(id), _) => Ok(id.parse()?),
            (None, Some(group)) => Ok(group.clone()),
            (None, None) => Err(Error::Config(
                "a distributed artifact needs a distributed id or a run group".into(),
            )),
        }
    }

    /// Commit `artifact` (a draft sends only its patch) as logged by this run.
    pub async fn log_artifact(
        &self,
        artifact: &Artifact,
        aliases: &[&str],
    ) -> Result<CommitOutcome> {
        let aliases = aliases
            .iter()
            .map(|a| a.parse())
            .collect::<Result<Vec<Alias>, _>>()?;
        let project = artifact.base.as_ref().map_or(&self.project, |(p, _)| p);
        self.api
            .commit(project, artifact, &aliases, Some(&self.info.id))
            .await
    }

    /// Add the artifact's files to the pending version of `distributed_id` (default: the group).
    pub async fn upsert_artifact(
        &self,
        artifact: &Artifact,
        distributed_id: Option<&str>,
    ) -> Result<UpsertOutcome> {
        let id = self.distributed_id(distributed_id)?;
        self.api
            .upsert(&self.project, artifact, &id, Some(&self.info.id))
            .await
    }

    /// Commit the union of every upsert of `distributed_id` (default: the group) and `artifact`.
    pub async fn finish_artifact(
        &self,
        artifact: &Artifact,
        distributed_id: Option<&str>,
    ) -> Result<CommitOutcome> {
        let id = self.distributed_id(distributed_id)?;
        self.api
            .finish(&self.project, artifact, &id, Some(&self.info.id))
            .await
    }

    /// Resolve `[[entity/]project/]name[:ref]` (defaults: this run's project) and record the use.
    pub async fn use_artifact(&self, path: &str) -> Result<ArtifactVersion> {
        let defaults = Defaults {
            entity: Some(self.project.entity.clone()),
            project: Some(self.project.project.clone()),
        };
        let p = ArtifactPath::parse(path, &defaults)?;
        let project = ProjectRef {
            entity: p.entity,
            project: p.project,
        };
        if project != self.project {
            return Err(Error::Config(format!(
                "a run uses artifacts of its own project ({}/{})",
                self.project.entity, self.project.project
            )));
        }
        let body = UseRequest {
            name: p.name.clone(),
            version: p.reference,
        };
        let version: Version = self
            .api
            .http
            .json(
                Method::POST,
                &project.api(&format!("/runs/{}/use", self.info.id)),
                Some(&body),
            )
            .await?;
        self.api.version(project, version).await
    }
}
