//! Pending distributed versions (semantics §7).

use cairn_core::wire::{CommitResponse, PendingVersion, UpsertRequest, VersionState};
use cairn_core::{Alias, ArtifactName, DistributedId, Manifest, TypeName, merge};
use sqlx::{AnyConnection, AnyPool};

use super::commit::{Body, NewVersion, collection_for_write, commit_version};
use super::{blobs, now, rows, runs};
use crate::error::{Error, Result};
use crate::meta::ProjectKey;

struct Pending {
    type_: TypeName,
    manifest: Manifest,
    aliases: Vec<Alias>,
}

fn corrupt(e: impl std::fmt::Display) -> Error {
    Error::Corrupt(e.to_string())
}

async fn load(
    conn: &mut AnyConnection,
    p: &ProjectKey,
    name: &ArtifactName,
    id: &DistributedId,
) -> Result<Option<Pending>> {
    let row: Option<(String, Vec<u8>, String)> = sqlx::query_as(
        "SELECT type, manifest, aliases FROM pending WHERE entity = $1 AND project = $2 AND name = $3 AND distributed_id = $4",
    )
    .bind(p.entity.as_str())
    .bind(p.project.as_str())
    .bind(name.as_str())
    .bind(id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|(type_, manifest, aliases)| {
        Ok(Pending {
            type_: TypeName::new(type_).map_err(corrupt)?,
            manifest: Manifest::from_json(&manifest).map_err(corrupt)?,
            aliases: serde_json::from_str(&aliases).map_err(corrupt)?,
        })
    })
    .transpose()
}

/// The type a distributed request works with: the collection's, the pending version's and the
/// request's must agree.
async fn settle_type(
    conn: &mut AnyConnection,
    p: &ProjectKey,
    name: &ArtifactName,
    pending: Option<&Pending>,
    asked: Option<&TypeName>,
) -> Result<Option<TypeName>> {
    let known = match rows::collection(conn, p, name).await? {
        Some(c) => Some(c.type_),
        None => pending.map(|p| p.type_.clone()),
    };
    match (known, asked) {
        (Some(k), Some(a)) if k != *a => Err(Error::TypeClash {
            name: name.to_string(),
            existing: k.to_string(),
            requested: a.to_string(),
        }),
        (Some(k), _) => Ok(Some(k)),
        (None, a) => Ok(a.cloned()),
    }
}

fn union_aliases(mut a: Vec<Alias>, b: Vec<Alias>) -> Vec<Alias> {
    a.extend(b);
    a.sort();
    a.dedup();
    a
}

pub(super) async fn upsert(
    conn: &mut AnyConnection,
    p: &ProjectKey,
    name: &ArtifactName,
    id: &DistributedId,
    req: UpsertRequest,
) -> Result<PendingVersion> {
    let pending = load(conn, p, name, id).await?;
    let type_ = settle_type(conn, p, name, pending.as_ref(), req.type_.as_ref())
        .await?
        .ok_or_else(|| {
            Error::Unprocessable(format!("type is required to create artifact '{name}'"))
        })?;
    if let Some(run) = &req.run {
        runs::check(conn, p, run).await?;
    }
    let partial = req.manifest.unwrap_or_default();
    blobs::check(conn, p, &partial).await?;
    let (base, old_aliases) = pending.map(|p| (p.manifest, p.aliases)).unwrap_or_default();
    let merged = merge(&base, &partial)?;
    let aliases = union_aliases(old_aliases, req.aliases);
    sqlx::query(
        "INSERT INTO pending (entity, project, name, distributed_id, type, manifest, aliases, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (entity, project, name, distributed_id)
         DO UPDATE SET manifest = excluded.manifest, aliases = excluded.aliases",
    )
    .bind(p.entity.as_str())
    .bind(p.project.as_str())
    .bind(name.as_str())
    .bind(id.as_str())
    .bind(type_.as_str())
    .bind(merged.canonical_bytes())
    .bind(serde_json::to_string(&aliases).map_err(corrupt)?)
    .bind(now())
    .execute(&mut *conn)
    .await?;
    Ok(PendingVersion {
        state: VersionState::Pending,
        file_count: merged.len() as u64,
        distributed_id: Some(id.clone()),
        type_: Some(type_),
        aliases,
        manifest: None,
    })
}

pub(super) async fn finish(
    conn: &mut AnyConnection,
    p: &ProjectKey,
    name: &ArtifactName,
    id: &DistributedId,
    req: UpsertRequest,
) -> Result<CommitResponse> {
    let pending = load(conn, p, name, id).await?;
    let type_ = settle_type(conn, p, name, pending.as_ref(), req.type_.as_ref()).await?;
    let partial = req.manifest.unwrap_or_default();
    blobs::check(conn, p, &partial).await?;
    let (base, old_aliases) = pending.map(|p| (p.manifest, p.aliases)).unwrap_or_default();
    let manifest = merge(&base, &partial)?;
    let coll = collection_for_write(conn, p, name, type_.as_ref()).await?;
    let out = commit_version(
        conn,
        &coll,
        NewVersion {
            body: Body::Whole(manifest),
            base: None,
            aliases: union_aliases(old_aliases, req.aliases),
            description: req.description,
            metadata: req.metadata,
            expect_latest: None,
            logged_by: req.run,
        },
    )
    .await?;
    delete(conn, p, name, id).await?;
    Ok(out)
}

pub(super) async fn inspect(
    conn: &mut AnyConnection,
    p: &ProjectKey,
    name: &ArtifactName,
    id: &DistributedId,
) -> Result<PendingVersion> {
    let pending = load(conn, p, name, id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("pending version '{id}' of artifact '{name}'")))?;
    Ok(PendingVersion {
        state: VersionState::Pending,
        file_count: pending.manifest.len() as u64,
        distributed_id: Some(id.clone()),
        type_: Some(pending.type_),
        aliases: pending.aliases,
        manifest: Some(pending.manifest),
    })
}

async fn delete(
    conn: &mut AnyConnection,
    p: &ProjectKey,
    name: &ArtifactName,
    id: &DistributedId,
) -> Result<u64> {
    let done = sqlx::query(
        "DELETE FROM pending WHERE entity = $1 AND project = $2 AND name = $3 AND distributed_id = $4",
    )
    .bind(p.entity.as_str())
    .bind(p.project.as_str())
    .bind(name.as_str())
    .bind(id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

pub(super) async fn abort(
    pool: &AnyPool,
    p: &ProjectKey,
    name: &ArtifactName,
    id: &DistributedId,
) -> Result<()> {
    let mut conn = pool.acquire().await?;
    if delete(&mut conn, p, name, id).await? == 0 {
        return Err(Error::NotFound(format!(
            "pending version '{id}' of artifact '{name}'"
        )));
    }
    Ok(())
}
