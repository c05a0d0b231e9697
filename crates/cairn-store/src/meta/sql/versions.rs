//! Listing and editing collections, versions and aliases.

use std::collections::BTreeMap;

use cairn_core::wire::{
    ArtifactInfo, ArtifactList, ArtifactSummary, ListQuery, Version, VersionIndex, VersionList,
    VersionUpdate, check_metadata,
};
use cairn_core::{Alias, ArtifactName, TypeName, VersionRef};
use sqlx::{AnyConnection, AnyPool};

use super::rows::{self, VersionRow, version_columns};
use crate::error::{Error, Result};
use crate::meta::ProjectKey;
use crate::meta::paging::Page;

pub(super) async fn list_artifacts(
    pool: &AnyPool,
    p: &ProjectKey,
    q: &ListQuery,
) -> Result<ArtifactList> {
    let page = Page::of(q)?;
    let type_ = q.type_.as_deref().map(TypeName::new).transpose()?;
    type Row = (String, String, i64, Option<i64>, String, Option<String>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT c.name, c.type,
                (SELECT count(*) FROM versions v WHERE v.collection_id = c.id),
                (SELECT idx FROM aliases a WHERE a.collection_id = c.id AND a.alias = 'latest'),
                c.created_at,
                (SELECT max(v.created_at) FROM versions v WHERE v.collection_id = c.id)
         FROM collections c
         WHERE c.entity = $1 AND c.project = $2 AND ($3 IS NULL OR c.type = $4) AND c.name > $5
         ORDER BY c.name LIMIT $6",
    )
    .bind(p.entity.as_str())
    .bind(p.project.as_str())
    .bind(type_.as_ref().map(TypeName::as_str))
    .bind(type_.as_ref().map(TypeName::as_str))
    .bind(q.after.as_deref().unwrap_or(""))
    .bind(page.fetch())
    .fetch_all(pool)
    .await?;
    let corrupt = |e: cairn_core::Error| Error::Corrupt(e.to_string());
    let mut artifacts = rows
        .into_iter()
        .map(|(name, type_, versions, latest, created_at, updated_at)| {
            Ok(ArtifactSummary {
                name: ArtifactName::new(name).map_err(corrupt)?,
                type_: TypeName::new(type_).map_err(corrupt)?,
                versions: versions as u64,
                latest: latest.map(|i| VersionIndex(i as u64)),
                created_at,
                updated_at,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let next = page.trim(&mut artifacts, |a| a.name.to_string());
    Ok(ArtifactList { artifacts, next })
}

pub(super) async fn artifact(
    pool: &AnyPool,
    p: &ProjectKey,
    name: &ArtifactName,
) -> Result<ArtifactInfo> {
    let mut conn = pool.acquire().await?;
    let coll = rows::existing(&mut conn, p, name).await?;
    let aliases: Vec<(String, i64)> =
        sqlx::query_as("SELECT alias, idx FROM aliases WHERE collection_id = $1")
            .bind(coll.id)
            .fetch_all(&mut *conn)
            .await?;
    let versions: i64 =
        sqlx::query_scalar("SELECT count(*) FROM versions WHERE collection_id = $1")
            .bind(coll.id)
            .fetch_one(&mut *conn)
            .await?;
    let aliases = aliases
        .into_iter()
        .map(|(a, i)| {
            Ok((
                Alias::new(a).map_err(|e| Error::Corrupt(e.to_string()))?,
                VersionIndex(i as u64),
            ))
        })
        .collect::<Result<BTreeMap<_, _>>>()?;
    Ok(ArtifactInfo {
        name: coll.name,
        type_: coll.type_,
        aliases,
        versions: versions as u64,
    })
}

pub(super) async fn list_versions(
    pool: &AnyPool,
    p: &ProjectKey,
    name: &ArtifactName,
    q: &ListQuery,
) -> Result<VersionList> {
    let page = Page::of(q)?;
    let desc = page.descending(q)?;
    let after =
        match q.after.as_deref() {
            None => None,
            Some(a) => Some(a.trim_start_matches('v').parse::<i64>().map_err(|_| {
                Error::Unprocessable(format!("invalid 'after' for versions: '{a}'"))
            })?),
        };
    let mut conn = pool.acquire().await?;
    let coll = rows::existing(&mut conn, p, name).await?;
    let (cmp, order) = if desc { ("<", "DESC") } else { (">", "ASC") };
    let sql = format!(
        "SELECT {} FROM versions v
         WHERE v.collection_id = $1 AND ($2 IS NULL OR v.idx {cmp} $3)
         ORDER BY v.idx {order} LIMIT $4",
        version_columns(&conn)
    );
    let rows: Vec<VersionRow> = sqlx::query_as(&sql)
        .bind(coll.id)
        .bind(after)
        .bind(after)
        .bind(page.fetch())
        .fetch_all(&mut *conn)
        .await?;
    let mut versions = rows
        .into_iter()
        .map(|r| r.into_version(&coll))
        .collect::<Result<Vec<Version>>>()?;
    let next = page.trim(&mut versions, |v| v.index.to_string());
    Ok(VersionList { versions, next })
}

pub(super) async fn update(
    conn: &mut AnyConnection,
    p: &ProjectKey,
    name: &ArtifactName,
    reference: &VersionRef,
    update: VersionUpdate,
) -> Result<Version> {
    let (coll, idx) = rows::resolve(conn, p, name, reference).await?;
    if let Some(description) = &update.description {
        sqlx::query("UPDATE versions SET description = $1 WHERE collection_id = $2 AND idx = $3")
            .bind(description)
            .bind(coll.id)
            .bind(idx as i64)
            .execute(&mut *conn)
            .await?;
    }
    if let Some(metadata) = &update.metadata {
        check_metadata(metadata)?;
        sqlx::query("UPDATE versions SET metadata = $1 WHERE collection_id = $2 AND idx = $3")
            .bind(serde_json::Value::Object(metadata.clone()).to_string())
            .bind(coll.id)
            .bind(idx as i64)
            .execute(&mut *conn)
            .await?;
    }
    rows::version(conn, &coll, idx).await
}

pub(super) async fn delete(
    conn: &mut AnyConnection,
    p: &ProjectKey,
    name: &ArtifactName,
    reference: &VersionRef,
    delete_aliases: bool,
) -> Result<()> {
    let (coll, idx) = rows::resolve(conn, p, name, reference).await?;
    let version = rows::version(conn, &coll, idx).await?;
    let custom: Vec<Alias> = version
        .aliases
        .into_iter()
        .filter(|a| !a.is_latest())
        .collect();
    if !custom.is_empty() && !delete_aliases {
        return Err(Error::HasAliases {
            version: VersionIndex(idx),
            aliases: custom,
        });
    }
    sqlx::query("DELETE FROM aliases WHERE collection_id = $1 AND idx = $2")
        .bind(coll.id)
        .bind(idx as i64)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM versions WHERE collection_id = $1 AND idx = $2")
        .bind(coll.id)
        .bind(idx as i64)
        .execute(&mut *conn)
        .await?;
    // `latest` moves to the highest remaining version (or goes when none remains)
    let highest: Option<i64> =
        sqlx::query_scalar("SELECT max(idx) FROM versions WHERE collection_id = $1")
            .bind(coll.id)
            .fetch_one(&mut *conn)
            .await?;
    if let Some(h) = highest
        && rows::alias(conn, coll.id, "latest").await?.is_none()
    {
        rows::put_alias(conn, coll.id, &Alias::latest(), h as u64).await?;
    }
    Ok(())
}

pub(super) async fn set_alias(
    conn: &mut AnyConnection,
    p: &ProjectKey,
    name: &ArtifactName,
    alias: &Alias,
    version: VersionIndex,
) -> Result<Version> {
    let coll = rows::existing(conn, p, name).await?;
    let idx = rows::resolve_in(conn, &coll, &VersionRef::Index(version.0)).await?;
    rows::put_alias(conn, coll.id, alias, idx).await?;
    rows::version(conn, &coll, idx).await
}

pub(super) async fn delete_alias(
    conn: &mut AnyConnection,
    p: &ProjectKey,
    name: &ArtifactName,
    alias: &Alias,
) -> Result<()> {
    if alias.is_latest() {
        return Err(Error::Unprocessable(
            "latest cannot be deleted; move it with PUT instead".into(),
        ));
    }
    let coll = rows::existing(conn, p, name).await?;
    let gone = sqlx::query("DELETE FROM aliases WHERE collection_id = $1 AND alias = $2")
        .bind(coll.id)
        .bind(alias.as_str())
        .execute(&mut *conn)
        .await?;
    if gone.rows_affected() == 0 {
        return Err(Error::NotFound(format!(
            "alias '{alias}' of artifact '{name}'"
        )));
    }
    Ok(())
}

/// The projects holding collections, within `entity` and `project` when given.
pub(super) async fn list_projects(
    pool: &AnyPool,
    entity: Option<&cairn_core::Entity>,
    project: Option<&cairn_core::Project>,
) -> Result<Vec<cairn_core::wire::ProjectSummary>> {
    let rows: Vec<(String, String, i64, i64, Option<String>)> = sqlx::query_as(
        "SELECT c.entity, c.project, COUNT(DISTINCT c.id), COUNT(v.idx), MAX(v.created_at)
         FROM collections c LEFT JOIN versions v ON v.collection_id = c.id
         WHERE ($1 IS NULL OR c.entity = $2) AND ($3 IS NULL OR c.project = $4)
         GROUP BY c.entity, c.project
         ORDER BY c.entity, c.project LIMIT $5",
    )
    .bind(entity.map(|e| e.as_str()))
    .bind(entity.map(|e| e.as_str()))
    .bind(project.map(|p| p.as_str()))
    .bind(project.map(|p| p.as_str()))
    .bind(cairn_core::wire::MAX_PROJECTS as i64)
    .fetch_all(pool)
    .await?;
    let corrupt = |e: cairn_core::Error| Error::Corrupt(e.to_string());
    rows.into_iter()
        .map(|(entity, project, artifacts, versions, updated_at)| {
            Ok(cairn_core::wire::ProjectSummary {
                entity: entity.parse().map_err(corrupt)?,
                project: project.parse().map_err(corrupt)?,
                artifacts: artifacts as u64,
                versions: versions as u64,
                updated_at,
            })
        })
        .collect()
}
