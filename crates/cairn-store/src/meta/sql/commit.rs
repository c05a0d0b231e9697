//! Committing a version: type rules, base and patch, `expect_latest`, blob checks, dedup,
//! index assignment and aliases, all inside the caller's write transaction.

use cairn_core::wire::{CommitRequest, CommitResponse, VersionIndex, check_metadata};
use cairn_core::{Alias, ArtifactDigest, ArtifactName, Manifest, Patch, RunId, TypeName, apply};
use std::collections::BTreeSet;

use futures::StreamExt;
use serde_json::{Map, Value};
use sqlx::AnyConnection;

use super::pages::{self, Pages};
use super::rows::{self, Collection, Stored};
use super::{blobs, now, runs};
use crate::error::{Error, Result};
use crate::meta::{ManifestPages, ProjectKey};

/// The manifest of a version about to be committed.
pub(super) enum Body {
    /// Whole (a full commit, a distributed finish, a patch on a version stored whole).
    Whole(Manifest),
    /// Already stored as pages (a patch on a paged base), with its digest.
    Paged {
        pages: Pages,
        digest: ArtifactDigest,
    },
}

/// A version about to be committed.
pub(super) struct NewVersion {
    pub body: Body,
    pub base: Option<u64>,
    pub aliases: Vec<Alias>,
    pub description: Option<String>,
    pub metadata: Option<Map<String, Value>>,
    pub expect_latest: Option<VersionIndex>,
    pub logged_by: Option<RunId>,
}

/// The collection `name`, created with `type_` if new; a clash of types is a 409.
pub(super) async fn collection_for_write(
    conn: &mut AnyConnection,
    p: &ProjectKey,
    name: &ArtifactName,
    type_: Option<&TypeName>,
) -> Result<Collection> {
    if let Some(coll) = rows::collection(conn, p, name).await? {
        return match type_ {
            Some(t) if *t != coll.type_ => Err(Error::TypeClash {
                name: name.to_string(),
                existing: coll.type_.to_string(),
                requested: t.to_string(),
            }),
            _ => Ok(coll),
        };
    }
    let type_ = type_.ok_or_else(|| {
        Error::Unprocessable(format!("type is required to create artifact '{name}'"))
    })?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO collections (entity, project, name, type, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(p.entity.as_str())
    .bind(p.project.as_str())
    .bind(name.as_str())
    .bind(type_.as_str())
    .bind(now())
    .fetch_one(&mut *conn)
    .await?;
    Ok(Collection {
        id,
        project: p.clone(),
        name: name.clone(),
        type_: type_.clone(),
        next_index: 0,
    })
}

/// What a commit carries.
enum Content {
    Full(Manifest),
    Patch(Patch),
}

/// `POST …/versions`.
pub(super) async fn commit(
    conn: &mut AnyConnection,
    p: &ProjectKey,
    name: &ArtifactName,
    mut req: CommitRequest,
) -> Result<CommitResponse> {
    // the request's shape is checked before anything is looked up
    let content = match (req.manifest.take(), req.patch.take()) {
        (Some(m), None) => Content::Full(m),
        (None, Some(patch)) if req.base.is_some() => Content::Patch(patch),
        (None, Some(_)) => return Err(Error::Unprocessable("a patch needs a base version".into())),
        (Some(_), Some(_)) | (None, None) => {
            return Err(Error::Unprocessable(
                "give exactly one of manifest or patch".into(),
            ));
        }
    };
    let (coll, base) = target(conn, p, name, &req).await?;
    // only what is new needs its blobs checked: a base's entries were checked at its commit
    let (body, new_entries) = match (content, base) {
        (Content::Full(m), _) => (Body::Whole(m.clone()), m),
        (Content::Patch(patch), Some(b)) => {
            let body = match rows::stored(conn, coll.id, b).await? {
                Stored::Whole(base_manifest) => Body::Whole(apply(&base_manifest, &patch)?),
                // only the pages the patch reaches are read and written
                Stored::Paged(base_pages) => {
                    let pages = pages::patch(conn, &base_pages, &patch).await?;
                    let digest = pages::digest(conn, &pages).await?;
                    Body::Paged { pages, digest }
                }
            };
            (body, Manifest::from_entries(patch.put)?)
        }
        (Content::Patch(_), None) => {
            return Err(Error::Unprocessable("a patch needs a base version".into()));
        }
    };
    blobs::check(conn, p, &new_entries).await?;
    commit_version(conn, &coll, NewVersion::of(req, body, base)).await
}

/// The collection `req` commits to (created with its type if new) and its base's index.
async fn target(
    conn: &mut AnyConnection,
    p: &ProjectKey,
    name: &ArtifactName,
    req: &CommitRequest,
) -> Result<(Collection, Option<u64>)> {
    let coll = collection_for_write(conn, p, name, req.type_.as_ref()).await?;
    let base = match &req.base {
        Some(r) => Some(rows::resolve_in(conn, &coll, r).await?),
        None => None,
    };
    Ok((coll, base))
}

impl NewVersion {
    /// The version `req` asks for, with its manifest as `body` (its content already taken).
    fn of(req: CommitRequest, body: Body, base: Option<u64>) -> Self {
        Self {
            body,
            base,
            aliases: req.aliases,
            description: req.description,
            metadata: req.metadata,
            expect_latest: req.expect_latest,
            logged_by: req.run,
        }
    }
}

/// `POST …/versions` with its manifest streamed in pages (see `MetadataStore::commit_pages`).
pub(super) async fn commit_pages(
    conn: &mut AnyConnection,
    p: &ProjectKey,
    name: &ArtifactName,
    req: CommitRequest,
    mut pieces: ManifestPages,
) -> Result<CommitResponse> {
    if req.manifest.is_some() || req.patch.is_some() {
        return Err(Error::Unprocessable(
            "a streamed commit carries its manifest as pages only".into(),
        ));
    }
    let (coll, base) = target(conn, p, name, &req).await?;
    let mut writer = pages::PageWriter::default();
    let mut missing = BTreeSet::new();
    while let Some(piece) = pieces.next().await {
        let piece = piece?;
        blobs::check_into(conn, p, &piece, &mut missing).await?;
        // once a blob is missing the commit fails: the rest is only checked, not written
        if missing.is_empty() {
            writer.push(conn, &piece).await?;
        }
    }
    if !missing.is_empty() {
        return Err(Error::MissingBlobs(missing.into_iter().collect()));
    }
    let (pages, digest) = writer.finish();
    let body = Body::Paged { pages, digest };
    commit_version(conn, &coll, NewVersion::of(req, body, base)).await
}

/// Dedup or insert `v` as the collection's next version, then move its aliases onto it.
pub(super) async fn commit_version(
    conn: &mut AnyConnection,
    coll: &Collection,
    v: NewVersion,
) -> Result<CommitResponse> {
    if let Some(m) = &v.metadata {
        check_metadata(m)?;
    }
    if let Some(run) = &v.logged_by {
        runs::check(conn, &coll.project, run).await?;
    }
    if let Some(expected) = v.expect_latest {
        let actual = rows::alias(conn, coll.id, "latest").await?;
        if actual != Some(expected.0) {
            return Err(Error::LatestMoved {
                expected,
                actual: actual.map_or_else(|| "no version".into(), |i| format!("v{i}")),
            });
        }
    }
    let (digest, size, count) = match &v.body {
        Body::Whole(m) => (m.digest(), m.total_size(), m.len() as u64),
        Body::Paged { pages, digest } => (*digest, pages.size(), pages.count()),
    };
    let existing: Option<i64> = sqlx::query_scalar(
        "SELECT idx FROM versions WHERE collection_id = $1 AND digest = $2 ORDER BY idx LIMIT 1",
    )
    .bind(coll.id)
    .bind(digest.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    let (idx, created) = match existing {
        Some(idx) => (idx as u64, false),
        None => {
            let idx = coll.next_index;
            let pages = match v.body {
                Body::Whole(m) => pages::store(conn, &m).await?,
                Body::Paged { pages, .. } => pages,
            };
            sqlx::query(
                "INSERT INTO versions (collection_id, idx, digest, manifest, pages, size, file_count, description, metadata, base, logged_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(coll.id)
            .bind(idx)
            .bind(digest.to_string())
            .bind(Vec::<u8>::new())
            .bind(pages.to_json())
            .bind(size as i64)
            .bind(count as i64)
            .bind(&v.description)
            .bind(serde_json::to_string(&v.metadata.unwrap_or_default()).map_err(|e| Error::Corrupt(e.to_string()))?)
            .bind(v.base.map(|b| b as i64))
            .bind(v.logged_by.as_ref().map(RunId::as_str))
            .bind(now())
            .execute(&mut *conn)
            .await?;
            sqlx::query("UPDATE collections SET next_index = $1 WHERE id = $2")
                .bind(idx + 1)
                .bind(coll.id)
                .execute(&mut *conn)
                .await?;
            (idx as u64, true)
        }
    };
    for alias in v.aliases.iter().chain([&Alias::latest()]) {
        rows::put_alias(conn, coll.id, alias, idx).await?;
    }
    let version = rows::version(conn, coll, idx).await?;
    Ok(CommitResponse {
        version: version.version,
        index: idx,
        digest,
        created,
        aliases: version.aliases,
        warnings: Vec::new(),
    })
}
