//! Changing committed versions and reading their lineage: aliases added and removed,
//! description and metadata edited, versions deleted, the run that logged a version and the
//! runs that used it. Each maps to the native call, with its rules (`latest` cannot be
//! removed, a version with aliases is deleted only with `deleteAliases`). The Python SDK names
//! these results `result`.

use cairn_core::wire::VersionUpdate;
use cairn_core::{Alias, RunId, VersionRef};
use cairn_store::{ProjectKey, Role};
use serde_json::{Value, json};

use super::Ctx;
use crate::error::{Result, WandbError};
use crate::ids;

/// The `input` object, or the variables themselves (the Go core of earlier releases sends
/// `UpdateArtifact($artifactID, $metadata)`).
fn input(ctx: &Ctx) -> Value {
    match ctx.vars.get("input") {
        Some(i) if i.is_object() => i.clone(),
        _ => ctx.vars.clone(),
    }
}

async fn target(ctx: &Ctx, role: Role) -> Result<(ProjectKey, cairn_core::ArtifactName, u64)> {
    let id = super::lookup(&input(ctx), "artifactID")
        .ok_or_else(|| WandbError::Invalid("the input names no artifactID".into()))?;
    let (p, name, index) = super::commit::resolve(&ctx.state, &id).await?;
    ctx.require(&p, role)?;
    Ok((p, name, index))
}

fn aliases(ctx: &Ctx) -> Result<Vec<Alias>> {
    let mut out = Vec::new();
    for a in input(ctx)
        .get("aliases")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(alias) = a.get("alias").and_then(Value::as_str) {
            out.push(alias.parse()?);
        }
    }
    Ok(out)
}

/// `AddAliases`: point each alias at the version (moving it from another).
pub async fn add_aliases(ctx: &Ctx) -> Result<Value> {
    let (p, name, index) = target(ctx, Role::Write).await?;
    for alias in aliases(ctx)? {
        ctx.state
            .meta
            .set_alias(&p, &name, &alias, cairn_core::wire::VersionIndex(index))
            .await?;
    }
    Ok(json!({ "result": { "success": true } }))
}

/// `DeleteAliases`.
pub async fn delete_aliases(ctx: &Ctx) -> Result<Value> {
    let (p, name, _) = target(ctx, Role::Write).await?;
    for alias in aliases(ctx)? {
        ctx.state.meta.delete_alias(&p, &name, &alias).await?;
    }
    Ok(json!({ "result": { "success": true } }))
}

/// `UpdateArtifact`: description and metadata (tags and TTL are not Cairn's: ignored).
pub async fn update_artifact(ctx: &Ctx) -> Result<Value> {
    let (p, name, index) = target(ctx, Role::Write).await?;
    let input = input(ctx);
    let metadata = match input.get("metadata") {
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => Some(m),
            Ok(Value::Null) => None,
            _ => {
                return Err(WandbError::Invalid(format!(
                    "metadata {s:?} is not a JSON object"
                )));
            }
        },
        _ => None,
    };
    let update = VersionUpdate {
        description: input
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_owned),
        metadata,
    };
    let r = VersionRef::Index(index);
    let v = ctx.state.meta.update_version(&p, &name, &r, update).await?;
    let artifact = super::read::artifact_json(ctx, &p, &v).await?;
    Ok(json!({ "result": { "artifact": artifact } }))
}

/// `DeleteArtifact` (needs an admin key, as natively).
pub async fn delete_artifact(ctx: &Ctx) -> Result<Value> {
    let (p, name, index) = target(ctx, Role::Admin).await?;
    let with_aliases = input(ctx)
        .get("deleteAliases")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let id = super::lookup(&input(ctx), "artifactID").unwrap_or_default();
    ctx.state
        .meta
        .delete_version(&p, &name, &VersionRef::Index(index), with_aliases)
        .await?;
    Ok(json!({ "result": { "artifact": { "id": id } } }))
}

async fn run_json(ctx: &Ctx, p: &ProjectKey, id: &RunId) -> Result<Value> {
    let run = ctx.state.meta.run(p, id).await?;
    let name = run.name.unwrap_or_else(|| id.to_string());
    Ok(json!({
        "__typename": "Run",
        "id": ids::run(p, &name),
        "name": name,
        "project": {
            "id": ids::project(p),
            "internalId": ids::project(p),
            "name": p.project.as_str(),
            "entity": { "name": p.entity.as_str() },
        },
    }))
}

/// The lineage of the version the `id` variable names (checked readable).
async fn lineage(ctx: &Ctx) -> Result<(ProjectKey, cairn_core::wire::Lineage)> {
    let (p, name, index) = ctx.readable("id").await?;
    let r = VersionRef::Index(index);
    let lineage = ctx.state.meta.lineage(&p, &name, &r).await?;
    Ok((p, lineage))
}

/// `ArtifactCreatedBy`: the run that logged a version (null when none did).
pub async fn created_by(ctx: &Ctx) -> Result<Value> {
    let (p, lineage) = lineage(ctx).await?;
    let run = match &lineage.logged_by {
        Some(id) => run_json(ctx, &p, id).await?,
        None => Value::Null,
    };
    Ok(json!({ "artifact": { "createdBy": run } }))
}

/// `ArtifactUsedBy`: the runs that used a version.
pub async fn used_by(ctx: &Ctx) -> Result<Value> {
    let (p, lineage) = lineage(ctx).await?;
    let mut edges = Vec::new();
    for id in &lineage.used_by {
        edges.push(json!({ "node": run_json(ctx, &p, id).await? }));
    }
    Ok(json!({ "artifact": { "usedBy": { "edges": edges } } }))
}

/// `IsProjectReadOnly`: whether the key may write to the project.
pub async fn project_read_only(ctx: &Ctx) -> Result<Value> {
    let p = ctx.project(&ctx.var("entity")?, &ctx.var("project")?, Role::Read)?;
    let writable = ctx.require(&p, Role::Write).is_ok();
    Ok(json!({ "project": { "readOnly": !writable } }))
}
