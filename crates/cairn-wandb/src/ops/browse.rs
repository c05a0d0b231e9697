//! Browsing with the public API: a version's files, a collection's versions, a project's
//! types and collections, paged with Cairn's own cursors.

use std::collections::BTreeSet;

use cairn_core::wire::{ArtifactSummary, ListQuery};
use cairn_core::{ArtifactName, VersionRef};
use cairn_store::{ProjectKey, Role};
use serde_json::{Value, json};

use super::Ctx;
use crate::error::Result;
use crate::ids;
use crate::ticket::Grant;

fn per_page(ctx: &Ctx, default: u64) -> u32 {
    ctx.vars
        .get("perPage")
        .and_then(Value::as_u64)
        .unwrap_or(default)
        .clamp(1, 10_000) as u32
}

fn page_info(next: Option<String>) -> Value {
    json!({ "__typename": "PageInfo", "hasNextPage": next.is_some(), "endCursor": next })
}

fn project(ctx: &Ctx) -> Result<ProjectKey> {
    ctx.project(&ctx.var("entity")?, &ctx.var("project")?, Role::Read)
}

/// `ArtifactMembershipFiles`: a version's files (all, or those named), a page at a time.
pub async fn membership_files(ctx: &Ctx) -> Result<Value> {
    let p = project(ctx)?;
    let name: ArtifactName = ctx.var("collection")?.parse()?;
    let r: VersionRef = ctx.var("alias")?.parse()?;
    let (v, m) = ctx.state.meta.manifest(&p, &name, &r).await?;
    let wanted: Option<BTreeSet<String>> =
        ctx.vars
            .get("fileNames")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            });
    let after: usize = ctx.opt("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
    let take = per_page(ctx, 50) as usize;
    let selected: Vec<_> = m
        .iter()
        .filter(|(path, _)| wanted.as_ref().is_none_or(|w| w.contains(path.as_str())))
        .collect();
    let page: Vec<_> = selected.iter().skip(after).take(take).collect();
    // the page's MD5s in one lookup
    let blobs: Vec<_> = page.iter().filter_map(|(_, e)| e.stored_blob()).collect();
    let md5s = crate::md5sum::of_blobs(&ctx.state, &p, &blobs).await?;
    let mut edges = Vec::new();
    for (path, e) in page {
        let url = match (&e.reference, e.stored_blob()) {
            (None, Some(d)) => ctx.signed("get", Grant::get_blob(&p, &d)).await?,
            (r, _) => r.clone().unwrap_or_default(),
        };
        let md5 = e
            .stored_blob()
            .and_then(|d| md5s.get(&d))
            .map(crate::manifest::b64);
        edges.push(json!({ "node": {
            "__typename": "File",
            "id": ids::collection(&p, &name) + "/" + path.as_str(),
            "name": path.as_str(),
            "displayName": path.as_str(),
            "url": url,
            "directUrl": url,
            "sizeBytes": e.size,
            "storagePath": e.stored_blob().map(|d| d.to_string()),
            "mimetype": null,
            "updatedAt": v.created_at,
            "digest": md5,
            "md5": md5,
        }}));
    }
    let end = after + edges.len();
    let next = (end < selected.len()).then(|| end.to_string());
    Ok(json!({ "project": { "artifactCollection": {
        "__typename": "ArtifactSequence",
        "artifactMembership": { "files": {
            "totalCount": selected.len(),
            "pageInfo": page_info(next),
            "edges": edges,
        }}
    }}}))
}

/// `ProjectArtifacts`: a collection's versions, newest first.
pub async fn versions(ctx: &Ctx) -> Result<Value> {
    let p = project(ctx)?;
    let name: ArtifactName = ctx.var("collection")?.parse()?;
    let info = match ctx.state.meta.artifact(&p, &name).await {
        Ok(info) => info,
        Err(cairn_store::Error::NotFound(_)) => {
            return Ok(json!({ "project": { "artifactType": { "artifactCollection": null } } }));
        }
        Err(e) => return Err(e.into()),
    };
    let query = ListQuery {
        limit: Some(per_page(ctx, 50)),
        after: ctx.opt("cursor"),
        order: Some("desc".into()),
        type_: None,
    };
    let list = ctx.state.meta.list_versions(&p, &name, &query).await?;
    let mut edges = Vec::new();
    for v in &list.versions {
        let node = super::read::artifact_json(ctx, &p, v).await?;
        edges.push(json!({ "version": v.version.to_string(), "node": node }));
    }
    Ok(
        json!({ "project": { "artifactType": { "artifactCollection": {
            "__typename": "ArtifactSequence",
            "artifacts": {
                "totalCount": info.versions,
                "pageInfo": page_info(list.next),
                "edges": edges,
            }
        }}}}),
    )
}

/// Every collection of a project (Cairn pages of 10,000).
async fn collections(ctx: &Ctx, p: &ProjectKey) -> Result<Vec<ArtifactSummary>> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let query = ListQuery {
            limit: Some(10_000),
            after,
            order: None,
            type_: None,
        };
        let list = ctx.state.meta.list_artifacts(p, &query).await?;
        out.extend(list.artifacts);
        match list.next {
            Some(n) => after = Some(n),
            None => return Ok(out),
        }
    }
}

/// A type as W&B lists it; made when its first collection was.
fn type_json(p: &ProjectKey, name: &str, all: &[ArtifactSummary]) -> Value {
    let created = all
        .iter()
        .filter(|c| c.type_.as_str() == name)
        .map(|c| c.created_at.as_str())
        .min();
    json!({
        "__typename": "ArtifactType",
        "id": ids::artifact_type(p, name),
        "name": name,
        "description": null,
        "createdAt": created,
    })
}

/// `ProjectArtifactTypes`: the types a project's collections have.
pub async fn types(ctx: &Ctx) -> Result<Value> {
    let p = project(ctx)?;
    let all = collections(ctx, &p).await?;
    let names: BTreeSet<String> = all.iter().map(|c| c.type_.to_string()).collect();
    let edges: Vec<Value> = names
        .iter()
        .map(|n| json!({ "node": type_json(&p, n, &all) }))
        .collect();
    Ok(json!({ "project": { "artifactTypes": { "edges": edges, "pageInfo": page_info(None) } } }))
}

/// `ProjectArtifactType`: one type, if some collection has it.
pub async fn artifact_type(ctx: &Ctx) -> Result<Value> {
    let p = project(ctx)?;
    let ty = ctx.var("type")?;
    let all = collections(ctx, &p).await?;
    let found = all.iter().any(|c| c.type_.as_str() == ty);
    let node = found.then(|| type_json(&p, &ty, &all));
    Ok(json!({ "project": { "artifactType": node } }))
}

fn collection_json(p: &ProjectKey, c: &ArtifactSummary) -> Value {
    json!({
        "__typename": "ArtifactSequence",
        "id": ids::collection(p, &c.name),
        "name": c.name.as_str(),
        "description": null,
        "createdAt": c.created_at,
        "updatedAt": c.updated_at.as_deref().unwrap_or(&c.created_at),
        "project": {
            "id": ids::project(p),
            "internalId": ids::project(p),
            "name": p.project.as_str(),
            "entity": { "name": p.entity.as_str() },
        },
        "type": { "name": c.type_.as_str() },
        "defaultArtifactType": { "name": c.type_.as_str() },
        "tags": { "edges": [] },
    })
}

/// `ArtifactTypeArtifactCollections` and `ProjectArtifactCollections`: collections (of a type).
pub async fn list_collections(ctx: &Ctx) -> Result<Value> {
    let p = project(ctx)?;
    let ty = ctx.opt("type");
    let all: Vec<ArtifactSummary> = collections(ctx, &p)
        .await?
        .into_iter()
        .filter(|c| ty.as_deref().is_none_or(|t| c.type_.as_str() == t))
        .collect();
    let after: usize = ctx.opt("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
    let take = per_page(ctx, 50) as usize;
    let edges: Vec<Value> = all
        .iter()
        .skip(after)
        .take(take)
        .map(|c| json!({ "node": collection_json(&p, c) }))
        .collect();
    let end = after + edges.len();
    let next = (end < all.len()).then(|| end.to_string());
    let connection =
        json!({ "totalCount": all.len(), "pageInfo": page_info(next), "edges": edges });
    Ok(match ty {
        Some(_) => json!({ "project": { "artifactType": { "artifactCollections": connection } } }),
        None => json!({ "project": { "artifactCollections": connection } }),
    })
}

/// `ProjectArtifactCollection`: one collection (of that type).
pub async fn collection(ctx: &Ctx) -> Result<Value> {
    let p = project(ctx)?;
    let name: ArtifactName = ctx.var("name")?.parse()?;
    let ty = ctx.var("type")?;
    let node = collections(ctx, &p)
        .await?
        .iter()
        .find(|c| c.name == name && c.type_.as_str() == ty)
        .map(|c| collection_json(&p, c));
    Ok(json!({ "project": { "artifactType": { "artifactCollection": node } } }))
}
