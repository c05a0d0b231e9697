//! Runs and lineage.

use cairn_core::wire::{Lineage, Run, RunRequest, Version, VersionIndex, VersionKey};
use cairn_core::{ArtifactName, DistributedId, RunId, VersionRef};
use sqlx::{AnyConnection, AnyPool};

use super::{now, rows};
use crate::blob::hex_id;
use crate::error::{Error, Result};
use crate::meta::ProjectKey;

fn corrupt(e: impl std::fmt::Display) -> Error {
    Error::Corrupt(e.to_string())
}

fn not_found(p: &ProjectKey, id: &RunId) -> Error {
    Error::NotFound(format!(
        "run '{id}' in project '{}/{}'",
        p.entity, p.project
    ))
}

pub(super) async fn create(pool: &AnyPool, p: &ProjectKey, req: RunRequest) -> Result<Run> {
    if req
        .job_type
        .as_ref()
        .is_some_and(|j| j.len() > 128 || j.chars().any(char::is_control))
    {
        return Err(Error::Unprocessable(
            "job_type must be at most 128 characters without control characters".into(),
        ));
    }
    let id = RunId::new(hex_id()[..16].to_owned())?;
    let created_at = now();
    sqlx::query("INSERT INTO runs (entity, project, id, name, run_group, job_type, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(p.entity.as_str())
        .bind(p.project.as_str())
        .bind(id.as_str())
        .bind(&req.name)
        .bind(req.group.as_ref().map(DistributedId::as_str))
        .bind(&req.job_type)
        .bind(&created_at)
        .execute(pool)
        .await?;
    Ok(Run {
        id,
        name: req.name,
        group: req.group,
        job_type: req.job_type,
        created_at,
        logged: Vec::new(),
        used: Vec::new(),
    })
}

/// Fail with 404 unless the run exists in the project.
pub(super) async fn check(conn: &mut AnyConnection, p: &ProjectKey, id: &RunId) -> Result<()> {
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM runs WHERE entity = $1 AND project = $2 AND id = $3",
    )
    .bind(p.entity.as_str())
    .bind(p.project.as_str())
    .bind(id.as_str())
    .fetch_one(&mut *conn)
    .await?;
    if n == 0 {
        return Err(not_found(p, id));
    }
    Ok(())
}

/// name, group, job type, created at
type RunRow = (Option<String>, Option<String>, Option<String>, String);

fn keys(rows: Vec<(String, i64)>) -> Result<Vec<VersionKey>> {
    rows.into_iter()
        .map(|(name, idx)| {
            Ok(VersionKey {
                name: ArtifactName::new(name).map_err(corrupt)?,
                version: VersionIndex(idx as u64),
            })
        })
        .collect()
}

pub(super) async fn get(conn: &mut AnyConnection, p: &ProjectKey, id: &RunId) -> Result<Run> {
    let row: Option<RunRow> =
        sqlx::query_as("SELECT name, run_group, job_type, created_at FROM runs WHERE entity = $1 AND project = $2 AND id = $3")
            .bind(p.entity.as_str())
            .bind(p.project.as_str())
            .bind(id.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    let (name, group, job_type, created_at) = row.ok_or_else(|| not_found(p, id))?;
    let logged: Vec<(String, i64)> = sqlx::query_as(
        "SELECT c.name, v.idx FROM versions v JOIN collections c ON c.id = v.collection_id
         WHERE c.entity = $1 AND c.project = $2 AND v.logged_by = $3 ORDER BY c.name, v.idx",
    )
    .bind(p.entity.as_str())
    .bind(p.project.as_str())
    .bind(id.as_str())
    .fetch_all(&mut *conn)
    .await?;
    let used: Vec<(String, i64)> = sqlx::query_as(
        "SELECT c.name, u.idx FROM usages u JOIN collections c ON c.id = u.collection_id
         WHERE c.entity = $1 AND c.project = $2 AND u.run_id = $3 ORDER BY u.used_at, c.name, u.idx",
    )
    .bind(p.entity.as_str())
    .bind(p.project.as_str())
    .bind(id.as_str())
    .fetch_all(&mut *conn)
    .await?;
    Ok(Run {
        id: id.clone(),
        name,
        group: group.map(DistributedId::new).transpose().map_err(corrupt)?,
        job_type,
        created_at,
        logged: keys(logged)?,
        used: keys(used)?,
    })
}

pub(super) async fn use_version(
    conn: &mut AnyConnection,
    p: &ProjectKey,
    run: &RunId,
    name: &ArtifactName,
    reference: &VersionRef,
) -> Result<Version> {
    check(conn, p, run).await?;
    let (coll, idx) = rows::resolve(conn, p, name, reference).await?;
    sqlx::query("INSERT INTO usages (collection_id, idx, run_id, used_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
        .bind(coll.id)
        .bind(idx as i64)
        .bind(run.as_str())
        .bind(now())
        .execute(&mut *conn)
        .await?;
    rows::version(conn, &coll, idx).await
}

pub(super) async fn lineage(
    conn: &mut AnyConnection,
    p: &ProjectKey,
    name: &ArtifactName,
    reference: &VersionRef,
) -> Result<Lineage> {
    let (coll, idx) = rows::resolve(conn, p, name, reference).await?;
    let version = rows::version(conn, &coll, idx).await?;
    let used: Vec<String> = sqlx::query_scalar(
        "SELECT run_id FROM usages WHERE collection_id = $1 AND idx = $2 ORDER BY used_at, run_id",
    )
    .bind(coll.id)
    .bind(idx as i64)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Lineage {
        logged_by: version.logged_by,
        used_by: used
            .into_iter()
            .map(RunId::new)
            .collect::<Result<_, _>>()
            .map_err(corrupt)?,
    })
}
