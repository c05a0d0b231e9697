//! Reading collections and versions, and resolving references.

use cairn_core::wire::{Version, VersionIndex, VersionState};
use cairn_core::{Alias, ArtifactName, Entry, Manifest, RunId, TypeName, VersionRef};
use sqlx::AnyConnection;

use super::Dialect;
use super::pages::{self, Pages};
use crate::error::{Error, Result};
use crate::meta::ProjectKey;

/// A collection row.
#[derive(Debug, Clone)]
pub(super) struct Collection {
    pub id: i64,
    pub project: ProjectKey,
    pub name: ArtifactName,
    pub type_: TypeName,
    pub next_index: i64,
}

fn corrupt(e: impl std::fmt::Display) -> Error {
    Error::Corrupt(e.to_string())
}

pub(super) async fn collection(
    conn: &mut AnyConnection,
    p: &ProjectKey,
    name: &ArtifactName,
) -> Result<Option<Collection>> {
    let row: Option<(i64, String, i64)> = sqlx::query_as(
        "SELECT id, type, next_index FROM collections WHERE entity = $1 AND project = $2 AND name = $3",
    )
    .bind(p.entity.as_str())
    .bind(p.project.as_str())
    .bind(name.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|(id, type_, next_index)| {
        Ok(Collection {
            id,
            project: p.clone(),
            name: name.clone(),
            type_: TypeName::new(type_).map_err(corrupt)?,
            next_index,
        })
    })
    .transpose()
}

pub(super) async fn existing(
    conn: &mut AnyConnection,
    p: &ProjectKey,
    name: &ArtifactName,
) -> Result<Collection> {
    collection(conn, p, name)
        .await?
        .ok_or_else(|| Error::NotFound(format!("artifact '{}/{}/{name}'", p.entity, p.project)))
}

/// The version an alias names.
pub(super) async fn alias(conn: &mut AnyConnection, coll: i64, alias: &str) -> Result<Option<u64>> {
    let idx: Option<i64> =
        sqlx::query_scalar("SELECT idx FROM aliases WHERE collection_id = $1 AND alias = $2")
            .bind(coll)
            .bind(alias)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(idx.map(|i| i as u64))
}

async fn exists(conn: &mut AnyConnection, coll: i64, idx: u64) -> Result<bool> {
    let n: i64 =
        sqlx::query_scalar("SELECT count(*) FROM versions WHERE collection_id = $1 AND idx = $2")
            .bind(coll)
            .bind(idx as i64)
            .fetch_one(&mut *conn)
            .await?;
    Ok(n > 0)
}

/// Resolve `reference` within a collection to a committed version.
pub(super) async fn resolve_in(
    conn: &mut AnyConnection,
    coll: &Collection,
    reference: &VersionRef,
) -> Result<u64> {
    let found = match reference {
        VersionRef::Index(i) => exists(conn, coll.id, *i).await?.then_some(*i),
        VersionRef::Alias(a) => alias(conn, coll.id, a.as_str()).await?,
    };
    found.ok_or_else(|| Error::NotFound(format!("version {reference} of artifact '{}'", coll.name)))
}

pub(super) async fn resolve(
    conn: &mut AnyConnection,
    p: &ProjectKey,
    name: &ArtifactName,
    reference: &VersionRef,
) -> Result<(Collection, u64)> {
    let coll = existing(conn, p, name).await?;
    let idx = resolve_in(conn, &coll, reference).await?;
    Ok((coll, idx))
}

/// The columns [`VersionRow`] reads, for `FROM versions v` (aliases as a JSON array).
pub(super) fn version_columns(conn: &AnyConnection) -> String {
    let aliases = match Dialect::of(conn) {
        Dialect::Sqlite => "SELECT json_group_array(alias) FROM aliases a",
        Dialect::Postgres => "SELECT COALESCE(json_agg(alias)::text, '[]') FROM aliases a",
    };
    format!(
        "v.idx, v.digest, v.size, v.file_count, v.description, v.metadata, v.created_at, v.base, \
         v.logged_by, ({aliases} WHERE a.collection_id = v.collection_id AND a.idx = v.idx) AS aliases"
    )
}

#[derive(sqlx::FromRow)]
pub(super) struct VersionRow {
    idx: i64,
    digest: String,
    size: i64,
    file_count: i64,
    description: Option<String>,
    metadata: String,
    created_at: String,
    base: Option<i64>,
    logged_by: Option<String>,
    aliases: String,
}

impl VersionRow {
    pub(super) fn into_version(self, coll: &Collection) -> Result<Version> {
        let mut aliases: Vec<Alias> = serde_json::from_str(&self.aliases).map_err(corrupt)?;
        aliases.sort();
        Ok(Version {
            name: coll.name.clone(),
            type_: coll.type_.clone(),
            version: VersionIndex(self.idx as u64),
            index: self.idx as u64,
            digest: self.digest.parse().map_err(corrupt)?,
            aliases,
            size: self.size as u64,
            file_count: self.file_count as u64,
            description: self.description,
            metadata: serde_json::from_str(&self.metadata).map_err(corrupt)?,
            created_at: self.created_at,
            base: self.base.map(|b| VersionIndex(b as u64)),
            state: VersionState::Committed,
            logged_by: self
                .logged_by
                .map(RunId::new)
                .transpose()
                .map_err(corrupt)?,
        })
    }
}

pub(super) async fn version(
    conn: &mut AnyConnection,
    coll: &Collection,
    idx: u64,
) -> Result<Version> {
    let row: VersionRow = sqlx::query_as(&format!(
        "SELECT {} FROM versions v WHERE v.collection_id = $1 AND v.idx = $2",
        version_columns(conn)
    ))
    .bind(coll.id)
    .bind(idx as i64)
    .fetch_one(&mut *conn)
    .await?;
    row.into_version(coll)
}

/// How a version's manifest is stored.
pub(super) enum Stored {
    /// Whole, in `versions.manifest` (versions written before pages).
    Whole(Manifest),
    /// As pages.
    Paged(Pages),
}

pub(super) async fn stored(conn: &mut AnyConnection, coll: i64, idx: u64) -> Result<Stored> {
    let (bytes, pages): (Vec<u8>, Option<String>) = sqlx::query_as(
        "SELECT manifest, pages FROM versions WHERE collection_id = $1 AND idx = $2",
    )
    .bind(coll)
    .bind(idx as i64)
    .fetch_one(&mut *conn)
    .await?;
    Ok(match pages {
        Some(p) => Stored::Paged(Pages::from_json(&p)?),
        None => Stored::Whole(Manifest::from_json(&bytes).map_err(corrupt)?),
    })
}

pub(super) async fn manifest(conn: &mut AnyConnection, coll: i64, idx: u64) -> Result<Manifest> {
    match stored(conn, coll, idx).await? {
        Stored::Whole(m) => Ok(m),
        Stored::Paged(p) => pages::load(conn, &p).await,
    }
}

pub(super) async fn entry(
    conn: &mut AnyConnection,
    coll: i64,
    idx: u64,
    path: &str,
    cache: &super::cache::PageCache,
) -> Result<Option<Entry>> {
    match stored(conn, coll, idx).await? {
        Stored::Whole(m) => Ok(m.get(path).cloned()),
        Stored::Paged(p) => pages::entry(conn, &p, path, cache).await,
    }
}

/// Point `alias` at `idx`, moving it if it named another version.
pub(super) async fn put_alias(
    conn: &mut AnyConnection,
    coll: i64,
    alias: &Alias,
    idx: u64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO aliases (collection_id, alias, idx) VALUES ($1, $2, $3)
         ON CONFLICT (collection_id, alias) DO UPDATE SET idx = excluded.idx",
    )
    .bind(coll)
    .bind(alias.as_str())
    .bind(idx as i64)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
