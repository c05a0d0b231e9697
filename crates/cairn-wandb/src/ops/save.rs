//! Saving an artifact the W&B way: `CreateArtifact` opens a save (its state kept in the
//! metadata store under `wandb:save:<id>`, so any replica answers the next step),
//! `CreateArtifactFiles` hands out signed upload URLs for the MD5s the project lacks, the
//! manifest is uploaded to a signed URL, and `CommitArtifact` (commit.rs) commits it as a Cairn version —
//! the same commit, dedup and aliases as the native API. A distributed save (`distributedID`)
//! sends each run's manifest as a native upsert when it arrives, and commits with a finish.

use cairn_core::wire::UpsertRequest;
use cairn_core::{Alias, ArtifactName, DistributedId, TypeName};
use cairn_server::AppState;
use std::collections::{HashMap, HashSet};

use cairn_store::{Md5, ProjectKey, Role};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::Ctx;
use crate::error::{Result, WandbError};
use crate::ids::{self, ArtifactId};
use crate::manifest::{self, WbManifest};
use crate::ticket::{self, Grant};

/// An artifact being saved.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Save {
    /// `entity/project`.
    pub project: String,
    /// The collection.
    pub name: ArtifactName,
    /// Its type.
    #[serde(rename = "type")]
    pub type_: TypeName,
    /// W&B's digest of the manifest, as the client computed it.
    pub digest: String,
    /// Free text.
    pub description: Option<String>,
    /// A JSON object.
    pub metadata: Option<Map<String, Value>>,
    /// Aliases to set.
    pub aliases: Vec<Alias>,
    /// The W&B run logging it (none when made outside a run).
    pub run: Option<String>,
    /// Distributed saves: the id every run shares.
    pub distributed: Option<DistributedId>,
    /// The version it was drafted from (`baseArtifactID`).
    pub base: Option<String>,
    /// The uploaded manifest, resolved to Cairn's through the project's MD5 index (full saves;
    /// dropped once committed).
    #[serde(default)]
    pub resolved: Option<cairn_core::Manifest>,
    /// The version once committed.
    pub committed: Option<u64>,
    /// An `incremental=True` artifact (manifest type INCREMENTAL): its files are added to the
    /// latest version's.
    #[serde(default)]
    pub incremental: bool,
}

/// Saves in progress, forgotten a week after their last step (a client that died mid-way).
const PENDING: &str = "wandb:save:";
/// Committed saves, kept: the SDK holds on to the id it was given at the start.
const DONE: &str = "wandb:saved:";
/// How long an unfinished save is kept.
const PENDING_DAYS: i64 = 7;

/// A save's state (in progress or committed).
pub async fn load(state: &AppState, id: &str) -> Result<Save> {
    let mut raw = state.meta.compat_state(&format!("{PENDING}{id}")).await?;
    if raw.is_none() {
        raw = state.meta.compat_state(&format!("{DONE}{id}")).await?;
    }
    let raw =
        raw.ok_or_else(|| WandbError::NotFound(format!("no artifact being saved with id {id:?}")))?;
    Ok(serde_json::from_str(&raw)
        .map_err(|e| cairn_store::Error::Corrupt(format!("W&B save {id}: {e}")))?)
}

/// Keep a save's state: committed ones (without their manifest) under their own prefix, the
/// pending row then dropped.
pub(super) async fn store(state: &AppState, id: &str, save: &Save) -> Result<()> {
    let raw = serde_json::to_string(save).expect("a save serialises");
    if save.committed.is_some() {
        let done = format!("{DONE}{id}");
        state.meta.set_compat_state(&done, &raw, false).await?;
        state
            .meta
            .delete_compat_state(&format!("{PENDING}{id}"))
            .await?;
    } else {
        let pending = format!("{PENDING}{id}");
        state.meta.set_compat_state(&pending, &raw, false).await?;
    }
    Ok(())
}

/// Forget saves no step touched for [`PENDING_DAYS`].
async fn expire_abandoned(state: &AppState) -> Result<()> {
    let cutoff = (chrono::Utc::now() - chrono::Duration::days(PENDING_DAYS)).to_rfc3339();
    let n = state.meta.expire_compat_state(PENDING, &cutoff).await?;
    if n > 0 {
        tracing::info!(
            saves = n,
            "forgot W&B saves abandoned for {PENDING_DAYS} days"
        );
    }
    Ok(())
}

impl Save {
    pub(super) fn project_key(&self) -> Result<ProjectKey> {
        ticket::project_of(&self.project)
    }
}

fn parse_metadata(raw: Option<&Value>) -> Result<Option<Map<String, Value>>> {
    match raw {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => Ok(Some(m)),
            Ok(Value::Null) => Ok(None),
            _ => Err(WandbError::Invalid(format!(
                "metadata {s:?} is not a JSON object"
            ))),
        },
        Some(Value::Object(m)) => Ok(Some(m.clone())),
        Some(other) => Err(WandbError::Invalid(format!(
            "metadata {other} is not a JSON object"
        ))),
    }
}

/// `CreateArtifact`: open a save. Always `PENDING`: content the project already holds is not
/// uploaded again (`CreateArtifactFiles` answers those with no URL), and a manifest equal to
/// a committed version's commits to that version (Cairn's dedup).
pub async fn create_artifact(ctx: &Ctx) -> Result<Value> {
    let input = ctx.vars.get("input").cloned().unwrap_or(Value::Null);
    let get = |k: &str| super::lookup(&input, k);
    let need = |k: &str| {
        get(k).ok_or_else(|| WandbError::Invalid(format!("CreateArtifact needs input.{k}")))
    };
    let p = ctx.project(&need("entityName")?, &need("projectName")?, Role::Write)?;
    let name: ArtifactName = need("artifactCollectionName")?.parse()?;
    let mut aliases = Vec::new();
    for a in input
        .get("aliases")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(alias) = a.get("alias").and_then(Value::as_str) {
            aliases.push(alias.parse::<Alias>()?);
        }
    }
    let run = get("runName");
    if let Some(run) = &run {
        super::session::ensure_run(ctx, &p, run, None, None).await?;
    }
    let save = Save {
        project: p.to_string(),
        name,
        type_: need("artifactTypeName")?.parse()?,
        digest: get("digest").unwrap_or_default(),
        description: get("description"),
        metadata: parse_metadata(input.get("metadata"))?,
        aliases,
        run,
        distributed: get("distributedID").map(|d| d.parse()).transpose()?,
        base: None,
        resolved: None,
        committed: None,
        incremental: false,
    };
    let id = format!("{:032x}", rand::random::<u128>());
    store(&ctx.state, &id, &save).await?;
    expire_abandoned(&ctx.state).await?;
    Ok(json!({
        "createArtifact": {
            "artifact": {
                "id": ArtifactId::Save(id).encode(),
                "state": "PENDING",
                "artifactSequence": { "latestArtifact": null },
            }
        }
    }))
}

pub(super) fn save_of(ctx: &Ctx, var: &str) -> Result<String> {
    match ArtifactId::decode(&ctx.var(var)?)? {
        ArtifactId::Save(id) => Ok(id),
        ArtifactId::Version { .. } => Err(WandbError::Invalid(
            "that artifact is committed; a committed version cannot change".into(),
        )),
    }
}

async fn manifest_answer(ctx: &Ctx, field: &str, save_id: &str) -> Result<Value> {
    let url = ctx
        .signed(
            "put",
            Grant::PutManifest {
                s: save_id.to_owned(),
            },
        )
        .await?;
    let mid = ids::manifest(save_id);
    Ok(json!({
        field: {
            "artifactManifest": {
                "id": mid,
                "file": { "id": mid, "uploadUrl": url, "uploadHeaders": [] },
            }
        }
    }))
}

/// `CreateArtifactManifest`: where the manifest goes; records the draft's base.
pub async fn create_manifest(ctx: &Ctx) -> Result<Value> {
    let id = save_of(ctx, "artifactID")?;
    let mut save = load(&ctx.state, &id).await?;
    let p = save.project_key()?;
    ctx.require(&p, Role::Write)?;
    let incremental = ctx.opt("manifestType").as_deref() == Some("INCREMENTAL");
    let base = ctx.opt("baseArtifactID");
    if base.is_some() || incremental {
        save.base = base;
        save.incremental = incremental;
        store(&ctx.state, &id, &save).await?;
    }
    manifest_answer(ctx, "createArtifactManifest", &id).await
}

/// `UpdateArtifactManifest`: the same, for distributed saves.
pub async fn update_manifest(ctx: &Ctx) -> Result<Value> {
    let id = ids::manifest_save(&ctx.var("artifactManifestID")?)?;
    let save = load(&ctx.state, &id).await?;
    ctx.require(&save.project_key()?, Role::Write)?;
    manifest_answer(ctx, "updateArtifactManifest", &id).await
}

/// `CreateArtifactFiles`: an upload URL for each file whose MD5 the project does not hold;
/// none (null) for those it does — W&B's checksum dedup, against what this project holds.
pub async fn create_files(ctx: &Ctx) -> Result<Value> {
    // `input.artifactFiles` (wandb 0.31), `artifactFiles` (earlier releases)
    let specs = ctx
        .vars
        .pointer("/input/artifactFiles")
        .or_else(|| ctx.vars.get("artifactFiles"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    // each spec's save, project and MD5 (saves loaded and checked once each)
    let mut saves: HashMap<String, ProjectKey> = HashMap::new();
    let mut files = Vec::with_capacity(specs.len());
    for spec in &specs {
        let artifact = super::lookup(spec, "artifactID")
            .ok_or_else(|| WandbError::Invalid("a file spec names no artifactID".into()))?;
        let id = match ArtifactId::decode(&artifact)? {
            ArtifactId::Save(id) => id,
            ArtifactId::Version { .. } => {
                return Err(WandbError::Invalid(
                    "files cannot be added to a committed version".into(),
                ));
            }
        };
        let p = match saves.get(&id) {
            Some(p) => p.clone(),
            None => {
                let p = load(&ctx.state, &id).await?.project_key()?;
                ctx.require(&p, Role::Write)?;
                saves.insert(id.clone(), p.clone());
                p
            }
        };
        let md5_b64 = super::lookup(spec, "md5")
            .ok_or_else(|| WandbError::Invalid("a file spec has no md5".into()))?;
        files.push((artifact, p, manifest::md5_of(&md5_b64)?));
    }
    // which MD5s each project holds, in two queries per project
    let mut held: HashSet<(ProjectKey, Md5)> = HashSet::new();
    for p in saves.values().collect::<HashSet<_>>() {
        let md5s: Vec<Md5> = files.iter().filter(|f| &f.1 == p).map(|f| f.2).collect();
        let known = ctx.state.meta.md5_blobs(p, &md5s).await?;
        let digests: Vec<_> = known.iter().map(|b| b.digest).collect();
        let missing: HashSet<_> = ctx
            .state
            .meta
            .missing_blobs(p, &digests)
            .await?
            .into_iter()
            .collect();
        for b in known.into_iter().filter(|b| !missing.contains(&b.digest)) {
            held.insert((p.clone(), b.md5));
        }
    }
    let mut edges = Vec::with_capacity(files.len());
    for (artifact, p, md5) in files {
        let url = if held.contains(&(p.clone(), md5)) {
            Value::Null
        } else {
            Value::String(ctx.signed("put", Grant::put_blob(&p, &md5)).await?)
        };
        edges.push(json!({
            "node": {
                "storagePath": format!("{p}/{md5}"),
                "uploadUrl": url,
                "uploadHeaders": [],
                "uploadMultipartUrls": null,
                "artifact": { "id": artifact },
            }
        }));
    }
    Ok(json!({ "createArtifactFiles": { "files": { "edges": edges } } }))
}

/// The manifest of a save arrived (`PUT` to its signed URL): kept for the commit, or, for a
/// distributed save, sent on as this run's upsert.
pub async fn manifest_uploaded(state: &AppState, id: &str, wb: WbManifest) -> Result<()> {
    let mut save = load(state, id).await?;
    if save.committed.is_some() {
        return Err(WandbError::Invalid(
            "this artifact is already committed".into(),
        ));
    }
    let p = save.project_key()?;
    // resolved once, here: a file the project never received is refused at the upload
    let manifest = manifest::to_cairn(state, &p, &wb).await?;
    if let Some(dist) = &save.distributed {
        let run = super::commit::run_of(state, &p, save.run.as_deref()).await?;
        let request = UpsertRequest {
            type_: Some(save.type_.clone()),
            manifest: Some(manifest),
            aliases: save.aliases.clone(),
            description: save.description.clone(),
            metadata: save.metadata.clone(),
            run,
        };
        state.meta.upsert(&p, &save.name, dist, request).await?;
        return Ok(());
    }
    save.resolved = Some(manifest);
    store(state, id, &save).await
}
