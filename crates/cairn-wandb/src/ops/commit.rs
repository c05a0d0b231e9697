//! Committing a save — the native commit, or a distributed save's finish — and resolving
//! and using committed versions by W&B id.

use cairn_core::wire::{CommitRequest, UpsertRequest};
use cairn_core::{ArtifactName, VersionRef};
use cairn_server::AppState;
use cairn_store::{ProjectKey, Role};
use serde_json::{Value, json};

use super::Ctx;
use super::save::{load, save_of, store};
use crate::error::{Result, WandbError};
use crate::ids::ArtifactId;

/// The Cairn run recorded for a save's W&B run, if any.
pub(super) async fn run_of(
    state: &AppState,
    p: &ProjectKey,
    run: Option<&str>,
) -> Result<Option<cairn_core::RunId>> {
    match run {
        Some(run) => super::session::cairn_run(state, p, run).await,
        None => Ok(None),
    }
}

/// `CommitArtifact`: commit the save as a Cairn version (a distributed one: finish it).
pub async fn commit(ctx: &Ctx) -> Result<Value> {
    let id = save_of(ctx, "artifactID")?;
    let mut save = load(&ctx.state, &id).await?;
    let p = save.project_key()?;
    ctx.require(&p, Role::Write)?;
    let run = run_of(&ctx.state, &p, save.run.as_deref()).await?;
    let response = match (&save.committed, &save.distributed) {
        (Some(_), _) => None,
        (None, Some(dist)) => {
            let request = UpsertRequest {
                type_: Some(save.type_.clone()),
                aliases: save.aliases.clone(),
                description: save.description.clone(),
                metadata: save.metadata.clone(),
                run,
                ..UpsertRequest::default()
            };
            Some(ctx.state.meta.finish(&p, &save.name, dist, request).await?)
        }
        (None, None) => {
            let manifest = save.resolved.take().ok_or_else(|| {
                WandbError::Invalid("CommitArtifact before the manifest was uploaded".into())
            })?;
            let base = match save.base.as_deref().map(ArtifactId::decode).transpose() {
                Ok(Some(ArtifactId::Version {
                    project,
                    name,
                    index,
                })) if project == p && name == save.name => Some(VersionRef::Index(index)),
                _ => None,
            };
            let latest = VersionRef::latest();
            let extends = save.incremental
                && ctx
                    .state
                    .meta
                    .version(&p, &save.name, &latest)
                    .await
                    .is_ok();
            let (manifest, patch, base) = if extends {
                // an incremental artifact adds its files to the latest version's
                let put = manifest
                    .iter()
                    .map(|(p, e)| (p.clone(), e.clone()))
                    .collect();
                let patch = cairn_core::Patch {
                    put,
                    remove: Vec::new(),
                };
                (None, Some(patch), Some(latest))
            } else {
                (Some(manifest), None, base)
            };
            let request = CommitRequest {
                type_: Some(save.type_.clone()),
                manifest,
                patch,
                base,
                aliases: save.aliases.clone(),
                description: save.description.clone(),
                metadata: save.metadata.clone(),
                run,
                ..CommitRequest::default()
            };
            Some(ctx.state.meta.commit(&p, &save.name, request).await?)
        }
    };
    if let Some(r) = response {
        save.committed = Some(r.index);
        store(&ctx.state, &id, &save).await?;
    }
    let index = save.committed.expect("set above");
    let version = ArtifactId::Version {
        project: p,
        name: save.name.clone(),
        index,
    };
    Ok(json!({
        "commitArtifact": { "artifact": { "id": version.encode(), "digest": save.digest } }
    }))
}

/// The version an artifact id names (a save once committed names its version).
pub async fn resolve(state: &AppState, id: &str) -> Result<(ProjectKey, ArtifactName, u64)> {
    match ArtifactId::decode(id)? {
        ArtifactId::Version {
            project,
            name,
            index,
        } => Ok((project, name, index)),
        ArtifactId::Save(save_id) => {
            let save = load(state, &save_id).await?;
            let index = save.committed.ok_or_else(|| {
                WandbError::NotFound(format!("artifact {id:?} is not committed yet"))
            })?;
            Ok((save.project_key()?, save.name, index))
        }
    }
}

/// `UseArtifact`: record that a run uses a version (lineage `used_by`). The Go core sends an
/// `input` object, the Python SDK the same fields as variables.
pub async fn use_artifact(ctx: &Ctx) -> Result<Value> {
    let input = match ctx.vars.get("input") {
        Some(i) if i.is_object() => i.clone(),
        _ => ctx.vars.clone(),
    };
    let artifact = super::lookup(&input, "artifactID")
        .ok_or_else(|| WandbError::Invalid("UseArtifact needs artifactID".into()))?;
    let (p, name, index) = resolve(&ctx.state, &artifact).await?;
    ctx.require(&p, Role::Read)?;
    let run_entity = super::lookup(&input, "entityName").unwrap_or_else(|| p.entity.to_string());
    let run_project = super::lookup(&input, "projectName").unwrap_or_else(|| p.project.to_string());
    if let Some(run) = super::lookup(&input, "runName") {
        let rp = ctx.project(&run_entity, &run_project, Role::Write)?;
        // Cairn records use within a project: a run of another project is not linked
        if rp == p {
            let (run_id, _) = super::session::ensure_run(ctx, &p, &run, None, None).await?;
            ctx.state
                .meta
                .use_version(&p, &run_id, &name, &VersionRef::Index(index))
                .await?;
        }
    }
    let v = ctx
        .state
        .meta
        .version(&p, &name, &VersionRef::Index(index))
        .await?;
    let artifact = super::read::artifact_json(ctx, &p, &v).await?;
    Ok(json!({ "useArtifact": { "artifact": artifact } }))
}
