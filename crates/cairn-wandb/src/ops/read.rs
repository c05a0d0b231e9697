//! Reading: artifacts by id or by `name:alias`, their manifests (signed download URLs) and
//! file URLs. Versions made by any client are read the same way.

use cairn_core::wire::Version;
use cairn_core::{ArtifactName, VersionRef};
use cairn_store::{ProjectKey, Role};
use serde_json::{Value, json};

use super::Ctx;
use crate::error::{Result, WandbError};
use crate::ids::{self, ArtifactId};
use crate::ticket::Grant;

/// `FetchArtifactDigestAlgorithm`: every collection uses W&B's manifest MD5.
pub async fn digest_algorithm(ctx: &Ctx) -> Result<Value> {
    let p = ctx.project(
        &ctx.var("entityName")?,
        &ctx.var("projectName")?,
        Role::Read,
    )?;
    let name: ArtifactName = ctx.var("artifactCollectionName")?.parse()?;
    let exists = ctx.state.meta.artifact(&p, &name).await.is_ok();
    let collection = exists
        .then(|| json!({ "__typename": "ArtifactSequence", "digestAlgorithm": "MANIFEST_MD5" }));
    Ok(json!({ "project": { "artifactType": { "artifactCollection": collection } } }))
}

/// `ArtifactType`: the type of `name:alias` (the SDK refuses to log another type into it).
pub async fn artifact_type(ctx: &Ctx) -> Result<Value> {
    let entity = ctx.opt("entity").unwrap_or_else(|| ctx.default_entity());
    let p = ctx.project(&entity, &ctx.var("project")?, Role::Read)?;
    let (name, r) = split_name(&ctx.var("name")?)?;
    let artifact = match ctx.state.meta.version(&p, &name, &r).await {
        Ok(v) => json!({ "artifactType": { "name": v.type_.as_str() } }),
        Err(cairn_store::Error::NotFound(_)) => Value::Null,
        Err(e) => return Err(e.into()),
    };
    Ok(json!({ "project": { "artifact": artifact } }))
}

fn project_json(p: &ProjectKey) -> Value {
    json!({
        "__typename": "Project",
        "id": ids::project(p),
        "internalId": ids::project(p),
        "name": p.project.as_str(),
        "entity": { "__typename": "Entity", "id": ids::project(p), "name": p.entity.as_str() },
    })
}

fn collection_json(p: &ProjectKey, name: &ArtifactName) -> Value {
    json!({
        "__typename": "ArtifactSequence",
        "id": ids::collection(p, name),
        "name": name.as_str(),
        "project": project_json(p),
    })
}

/// W&B's digest of a version (MD5s computed for blobs that lack one), kept once computed.
async fn wandb_digest(
    ctx: &Ctx,
    p: &ProjectKey,
    name: &ArtifactName,
    index: u64,
) -> Result<String> {
    let key = format!("wandb:digest:{p}/{name}:v{index}");
    if let Some(d) = ctx.state.meta.compat_state(&key).await? {
        return Ok(d);
    }
    let (_, m) = ctx
        .state
        .meta
        .manifest(p, name, &VersionRef::Index(index))
        .await?;
    let digest = crate::manifest::from_cairn(&ctx.state, p, &m)
        .await?
        .digest();
    ctx.state
        .meta
        .set_compat_state(&key, &digest, false)
        .await?;
    Ok(digest)
}

/// The `ArtifactFragment` of a version (a superset of what the SDK selects).
pub(super) async fn artifact_json(ctx: &Ctx, p: &ProjectKey, v: &Version) -> Result<Value> {
    let id = ArtifactId::Version {
        project: p.clone(),
        name: v.name.clone(),
        index: v.index,
    }
    .encode();
    let aliases: Vec<Value> = v
        .aliases
        .iter()
        .map(|a| {
            json!({
                "__typename": "ArtifactAlias",
                "id": ids::collection(p, &v.name) + ":" + a.as_str(),
                "alias": a.as_str(),
                "artifactCollection": collection_json(p, &v.name),
            })
        })
        .collect();
    Ok(json!({
        "__typename": "Artifact",
        "id": id,
        "artifactSequence": collection_json(p, &v.name),
        "versionIndex": v.index,
        "artifactType": { "__typename": "ArtifactType", "name": v.type_.as_str() },
        "description": v.description,
        "metadata": serde_json::to_string(&v.metadata).expect("a map serialises"),
        "ttlDurationSeconds": -1,
        "ttlIsInherited": true,
        "tags": [],
        "historyStep": null,
        "state": "COMMITTED",
        "size": v.size,
        "digest": wandb_digest(ctx, p, &v.name, v.index).await?,
        "digestAlgorithm": "MANIFEST_MD5",
        "commitHash": v.digest.to_string().trim_start_matches("sha256:").chars().take(20).collect::<String>(),
        "fileCount": v.file_count,
        "createdAt": v.created_at,
        "updatedAt": v.created_at,
        "aliases": aliases,
    }))
}

async fn version(
    ctx: &Ctx,
    p: &ProjectKey,
    name: &ArtifactName,
    r: &VersionRef,
) -> Result<Version> {
    Ok(ctx.state.meta.version(p, name, r).await?)
}

/// `ArtifactByID`.
pub async fn by_id(ctx: &Ctx) -> Result<Value> {
    let (p, name, index) = match super::commit::resolve(&ctx.state, &ctx.var("id")?).await {
        Ok(found) => found,
        Err(WandbError::NotFound(_)) => return Ok(json!({ "artifact": null })),
        Err(e) => return Err(e),
    };
    ctx.require(&p, Role::Read)?;
    let v = version(ctx, &p, &name, &VersionRef::Index(index)).await?;
    Ok(json!({ "artifact": artifact_json(ctx, &p, &v).await? }))
}

/// `name:alias` (or `name:vN`; no alias means `latest`).
fn split_name(full: &str) -> Result<(ArtifactName, VersionRef)> {
    let (name, r) = full.split_once(':').unwrap_or((full, "latest"));
    Ok((name.parse()?, r.parse()?))
}

/// `ArtifactMembershipByName`: `project.artifactCollectionMembership(name: "name:alias")`.
pub async fn membership_by_name(ctx: &Ctx) -> Result<Value> {
    let p = ctx.project(&ctx.var("entity")?, &ctx.var("project")?, Role::Read)?;
    let (name, r) = split_name(&ctx.var("name")?)?;
    let v = match ctx.state.meta.version(&p, &name, &r).await {
        Ok(v) => v,
        Err(cairn_store::Error::NotFound(_)) => {
            return Ok(json!({ "project": { "artifactCollectionMembership": null } }));
        }
        Err(e) => return Err(e.into()),
    };
    let artifact = artifact_json(ctx, &p, &v).await?;
    Ok(json!({
        "project": {
            "artifactCollectionMembership": {
                "__typename": "ArtifactCollectionMembership",
                "id": artifact["id"],
                "versionIndex": v.index,
                "createdAt": v.created_at,
                "aliases": artifact["aliases"],
                "artifactCollection": collection_json(&p, &name),
                "artifact": artifact,
            }
        }
    }))
}

/// `FetchArtifactManifest` / `ArtifactManifest`: a signed URL of the version's W&B manifest.
pub async fn manifest(ctx: &Ctx) -> Result<Value> {
    let id = ctx.opt("id").or_else(|| ctx.opt("artifact_id"));
    let id = id.ok_or_else(|| WandbError::Invalid("the variable \"id\" is missing".into()))?;
    let (p, name, index) = super::commit::resolve(&ctx.state, &id).await?;
    ctx.require(&p, Role::Read)?;
    let url = ctx
        .signed("get", Grant::get_manifest(&p, &name, index))
        .await?;
    Ok(json!({
        "artifact": { "currentManifest": { "file": { "directUrl": url } } }
    }))
}

/// A file of a version as a `File` node: stored files get a signed download URL, references
/// their URI.
async fn file_node(ctx: &Ctx, p: &ProjectKey, path: &str, e: &cairn_core::Entry) -> Result<Value> {
    let url = match (&e.reference, e.stored_blob()) {
        (None, Some(d)) => ctx.signed("get", Grant::get_blob(p, &d)).await?,
        (r, _) => r.clone().unwrap_or_default(),
    };
    Ok(json!({ "__typename": "File", "name": path, "directUrl": url, "sizeBytes": e.size }))
}

/// A page of a version's files (`cursor`: how many came before, `perPage`), and where it ends.
async fn files_page(
    ctx: &Ctx,
    p: &ProjectKey,
    m: &cairn_core::Manifest,
) -> Result<(Vec<Value>, usize)> {
    let after: usize = ctx.opt("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
    let per_page = ctx
        .vars
        .get("perPage")
        .and_then(Value::as_u64)
        .unwrap_or(1000)
        .clamp(1, 10_000) as usize;
    let mut edges = Vec::new();
    for (path, e) in m.iter().skip(after).take(per_page) {
        edges.push(json!({ "node": file_node(ctx, p, path.as_str(), e).await? }));
    }
    let end = after + edges.len();
    Ok((edges, end))
}

/// `GetArtifactMembershipFileUrls`: a version's files with URLs, a page at a time.
pub async fn membership_files(ctx: &Ctx) -> Result<Value> {
    let p = ctx.project(&ctx.var("entity")?, &ctx.var("project")?, Role::Read)?;
    let name: ArtifactName = ctx.var("collection")?.parse()?;
    let r: VersionRef = ctx.var("alias")?.parse()?;
    let (_, m) = ctx.state.meta.manifest(&p, &name, &r).await?;
    let (edges, end) = files_page(ctx, &p, &m).await?;
    Ok(json!({
        "project": {
            "artifactCollection": {
                "__typename": "ArtifactSequence",
                "artifactMembership": {
                    "files": {
                        "pageInfo": {
                            "__typename": "PageInfo",
                            "endCursor": end.to_string(),
                            "hasNextPage": end < m.len(),
                        },
                        "edges": edges,
                    }
                }
            }
        }
    }))
}

/// The manifest of the version the `id` variable names (checked readable).
async fn readable_manifest(ctx: &Ctx) -> Result<(ProjectKey, cairn_core::Manifest)> {
    let (p, name, index) = ctx.readable("id").await?;
    let r = VersionRef::Index(index);
    let (_, m) = ctx.state.meta.manifest(&p, &name, &r).await?;
    Ok((p, m))
}

/// `ArtifactFileURLs` (earlier releases' downloads): a version's files with URLs, paged.
pub async fn file_urls(ctx: &Ctx) -> Result<Value> {
    let (p, m) = readable_manifest(ctx).await?;
    let (edges, end) = files_page(ctx, &p, &m).await?;
    Ok(json!({
        "artifact": {
            "files": {
                "pageInfo": { "hasNextPage": end < m.len(), "endCursor": end.to_string() },
                "edges": edges,
            }
        }
    }))
}

/// `ArtifactFileURLsByManifestEntries`: URLs for the entries the client names (the manifest
/// read once, whatever the number of entries).
pub async fn files_by_entries(ctx: &Ctx) -> Result<Value> {
    let (p, m) = readable_manifest(ctx).await?;
    let entries: std::collections::BTreeMap<&str, &cairn_core::Entry> =
        m.iter().map(|(path, e)| (path.as_str(), e)).collect();
    let mut edges = Vec::new();
    for want in ctx
        .vars
        .get("entries")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(path) = want.get("name").and_then(Value::as_str) else {
            continue;
        };
        if let Some(e) = entries.get(path) {
            edges.push(json!({ "node": file_node(ctx, &p, path, e).await? }));
        }
    }
    Ok(json!({
        "artifact": {
            "filesByManifestEntries": {
                "pageInfo": { "hasNextPage": false, "endCursor": null },
                "edges": edges,
            }
        }
    }))
}
