//! Manifests as content-addressed pages: consecutive runs of at most [`PAGE`] entries, shared
//! between versions. A version keeps only its page list ([`Pages`]); a patch loads, changes and
//! writes only the pages its paths fall in, so a one-entry commit on a 1,000,000-entry base
//! touches one page of 4,096 entries and the page list. The artifact digest (semantics §3) is
//! one SHA-256 over every entry in order, so it is computed from the pages' stored digest
//! streams ([`ArtifactDigest::of_streams`]) without parsing them.

use std::collections::HashMap;

use bytes::Bytes;
use cairn_core::{ArtifactDigest, ArtifactHasher, Digest, Manifest, Patch, apply};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, AnyPool};

use super::{placeholders, stored_digest};
use crate::ByteStream;
use crate::error::{Error, Result};

/// Entries per page at most (a page splits when a patch grows it past this).
pub(super) const PAGE: usize = crate::meta::PAGE_ENTRIES;

fn corrupt(e: impl std::fmt::Display) -> Error {
    Error::Corrupt(e.to_string())
}

/// One page of a version's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct PageRef {
    /// Its first path (the page holds the paths from here to the next page's first).
    first: String,
    /// SHA-256 of the page body, hex.
    page: String,
    /// Entries, and the sum of their sizes.
    count: u64,
    size: u64,
}

/// A version's manifest as a list of pages, in path order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Pages {
    pages: Vec<PageRef>,
}

impl Pages {
    pub(super) fn from_json(json: &str) -> Result<Self> {
        serde_json::from_str(json).map_err(corrupt)
    }

    pub(super) fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a page list always serialises")
    }

    pub(super) fn count(&self) -> u64 {
        self.pages.iter().map(|p| p.count).sum()
    }

    pub(super) fn size(&self) -> u64 {
        self.pages.iter().map(|p| p.size).sum()
    }

    /// The page digests, in order.
    pub(super) fn digests(&self) -> impl Iterator<Item = &str> {
        self.pages.iter().map(|p| p.page.as_str())
    }

    /// The page `path` falls in: the last whose first path is not after it.
    fn page_of(&self, path: &str) -> usize {
        self.pages
            .partition_point(|p| p.first.as_str() <= path)
            .saturating_sub(1)
    }

    /// The pages that can hold paths in `lo..=hi`.
    fn overlapping(&self, lo: &str, hi: &str) -> std::ops::RangeInclusive<usize> {
        self.page_of(lo)..=self.page_of(hi)
    }
}

/// Store `entries` as one page (a page already stored is not written again); `stream` is
/// their [`Manifest::digest_stream`].
async fn put_page(
    conn: &mut AnyConnection,
    entries: &Manifest,
    stream: Vec<u8>,
) -> Result<PageRef> {
    let body = entries.canonical_bytes();
    let digest = Digest::of(&body);
    sqlx::query(
        "INSERT INTO manifest_pages (digest, body, stream) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(digest.as_bytes().to_vec())
    .bind(body)
    .bind(stream)
    .execute(&mut *conn)
    .await?;
    Ok(PageRef {
        first: entries
            .iter()
            .next()
            .map(|(p, _)| p.to_string())
            .unwrap_or_default(),
        page: digest.hex(),
        count: entries.len() as u64,
        size: entries.total_size(),
    })
}

/// Split `m` into pages of at most [`PAGE`] entries and store them.
async fn put_pages(conn: &mut AnyConnection, m: &Manifest) -> Result<Vec<PageRef>> {
    let entries: Vec<_> = m.iter().collect();
    let mut out = Vec::with_capacity(entries.len().div_ceil(PAGE));
    for chunk in entries.chunks(PAGE) {
        let page = Manifest::from_entries(
            chunk
                .iter()
                .map(|(p, e)| ((*p).clone(), (*e).clone()))
                .collect(),
        )?;
        let stream = page.digest_stream();
        out.push(put_page(conn, &page, stream).await?);
    }
    Ok(out)
}

/// A manifest stored page by page as its entries arrive in path order (a streamed commit):
/// the pages and the artifact digest, without the whole manifest in memory.
#[derive(Debug, Default)]
pub(super) struct PageWriter {
    pages: Vec<PageRef>,
    digest: ArtifactHasher,
    last: Option<String>,
}

impl PageWriter {
    /// Store `piece` (at most [`PAGE`] entries, all after every path given before) as a page.
    pub(super) async fn push(&mut self, conn: &mut AnyConnection, piece: &Manifest) -> Result<()> {
        let Some((first, _)) = piece.iter().next() else {
            return Ok(());
        };
        if piece.len() > PAGE {
            return Err(Error::Unprocessable(format!(
                "a manifest page holds at most {PAGE} entries, not {}",
                piece.len()
            )));
        }
        if self.last.as_deref().is_some_and(|l| first.as_str() <= l) {
            return Err(Error::Unprocessable(format!(
                "manifest pages out of order: '{first}' comes after '{}'",
                self.last.as_deref().unwrap_or_default()
            )));
        }
        self.last = piece.iter().last().map(|(p, _)| p.to_string());
        let stream = piece.digest_stream();
        self.digest.update(&stream);
        self.pages.push(put_page(conn, piece, stream).await?);
        Ok(())
    }

    /// The stored pages and the artifact digest of every entry given.
    pub(super) fn finish(self) -> (Pages, ArtifactDigest) {
        (Pages { pages: self.pages }, self.digest.finish())
    }
}

/// Store a whole manifest as pages.
pub(super) async fn store(conn: &mut AnyConnection, m: &Manifest) -> Result<Pages> {
    Ok(Pages {
        pages: put_pages(conn, m).await?,
    })
}

fn key(page: &str) -> Result<Vec<u8>> {
    Ok(page.parse::<Digest>().map_err(corrupt)?.as_bytes().to_vec())
}

/// Load `column` (`body` or `stream`) of the pages `digests`, keyed by digest.
async fn load_column(
    conn: &mut AnyConnection,
    column: &str,
    digests: &[&str],
) -> Result<HashMap<String, Vec<u8>>> {
    let mut out = HashMap::with_capacity(digests.len());
    for batch in digests.chunks(500) {
        let sql = format!(
            "SELECT digest, {column} FROM manifest_pages WHERE digest IN ({})",
            placeholders(1, batch.len())
        );
        let mut q = sqlx::query_as::<_, (Vec<u8>, Vec<u8>)>(&sql);
        for d in batch {
            q = q.bind(key(&format!("sha256:{d}"))?);
        }
        for (digest, value) in q.fetch_all(&mut *conn).await? {
            out.insert(stored_digest(digest)?.hex(), value);
        }
    }
    Ok(out)
}

fn missing(page: &str) -> Error {
    Error::Corrupt(format!("manifest page {page} is missing"))
}

/// The entries of the pages `refs`, merged.
async fn load_entries(conn: &mut AnyConnection, refs: &[&PageRef]) -> Result<Manifest> {
    let digests: Vec<&str> = refs.iter().map(|r| r.page.as_str()).collect();
    let bodies = load_column(conn, "body", &digests).await?;
    let mut out = Manifest::new();
    for r in refs {
        let body = bodies.get(&r.page).ok_or_else(|| missing(&r.page))?;
        for (path, entry) in Manifest::from_json(body).map_err(corrupt)?.iter() {
            out.insert(path.clone(), entry.clone())?;
        }
    }
    Ok(out)
}

/// The whole manifest.
pub(super) async fn load(conn: &mut AnyConnection, pages: &Pages) -> Result<Manifest> {
    let refs: Vec<&PageRef> = pages.pages.iter().collect();
    load_entries(conn, &refs).await
}

/// Pages read per step of [`json_stream`].
const STREAM_BATCH: usize = 16;
const HEAD: &[u8] = b"{\"contents\":{";
const TAIL: &[u8] = b"},\"version\":1}";

/// The manifest's canonical JSON, read [`STREAM_BATCH`] pages at a time from `pool`: each
/// page body is itself canonical JSON, so the pages' contents are joined as they are.
pub(super) fn json_stream(pool: AnyPool, pages: &Pages) -> ByteStream {
    let digests: Vec<String> = pages.digests().map(str::to_owned).collect();
    let body = futures::stream::unfold((pool, digests, 0), |(pool, digests, at)| async move {
        if at >= digests.len() {
            return None;
        }
        let end = (at + STREAM_BATCH).min(digests.len());
        let chunk = async {
            let mut conn = pool.acquire().await?;
            let batch: Vec<&str> = digests[at..end].iter().map(String::as_str).collect();
            let bodies = load_column(&mut conn, "body", &batch).await?;
            let mut out = Vec::new();
            for d in &batch {
                let body = bodies.get(*d).ok_or_else(|| missing(d))?;
                let inner = body
                    .strip_prefix(HEAD)
                    .and_then(|b| b.strip_suffix(TAIL))
                    .ok_or_else(|| corrupt(format!("manifest page {d} is not canonical")))?;
                if at > 0 || !out.is_empty() {
                    out.push(b',');
                }
                out.extend_from_slice(inner);
            }
            Ok::<_, Error>(Bytes::from(out))
        }
        .await
        .map_err(std::io::Error::other);
        let next = if chunk.is_ok() { end } else { digests.len() };
        Some((chunk, (pool, digests, next)))
    });
    futures::stream::once(async { Ok(Bytes::from_static(HEAD)) })
        .chain(body)
        .chain(futures::stream::once(async {
            Ok(Bytes::from_static(TAIL))
        }))
        .boxed()
}

/// The entry at `path`, reading one page.
pub(super) async fn entry(
    conn: &mut AnyConnection,
    pages: &Pages,
    path: &str,
    cache: &super::cache::PageCache,
) -> Result<Option<cairn_core::Entry>> {
    let Some(r) = pages.pages.get(pages.page_of(path)) else {
        return Ok(None);
    };
    let page = match cache.get(&r.page) {
        Some(page) => page,
        None => {
            let page = std::sync::Arc::new(load_entries(conn, &[r]).await?);
            cache.put(&r.page, page.clone());
            page
        }
    };
    Ok(page.get(path).cloned())
}

/// The artifact digest, from the pages' digest streams (no page is parsed).
pub(super) async fn digest(conn: &mut AnyConnection, pages: &Pages) -> Result<ArtifactDigest> {
    let digests: Vec<&str> = pages.digests().collect();
    let streams = load_column(conn, "stream", &digests).await?;
    let ordered = digests
        .iter()
        .map(|d| streams.get(*d).map(Vec::as_slice).ok_or_else(|| missing(d)))
        .collect::<Result<Vec<_>>>()?;
    Ok(ArtifactDigest::of_streams(ordered))
}

/// Apply `patch` to the manifest `base`, reading and writing only the pages it reaches, with
/// exactly the rules (and errors) of [`cairn_core::apply`].
pub(super) async fn patch(conn: &mut AnyConnection, base: &Pages, patch: &Patch) -> Result<Pages> {
    patch.check()?;
    if base.pages.is_empty() {
        let whole = apply(&Manifest::new(), patch)?;
        return store(conn, &whole).await;
    }
    // every page a put lands in or a remove target (the path, and everything under it) spans
    let mut touched = vec![false; base.pages.len()];
    for path in patch.put.keys() {
        touched[base.page_of(path.as_str())] = true;
    }
    for target in &patch.remove {
        let dir = target.trim_end_matches('/');
        for i in base.overlapping(dir, &format!("{dir}/\u{10FFFF}")) {
            touched[i] = true;
        }
    }
    // consecutive touched pages form runs; each run is rebuilt from its own key range only
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for (i, t) in touched.iter().enumerate() {
        match runs.last_mut() {
            Some((_, end)) if *t && *end == i => *end = i + 1,
            _ if *t => runs.push((i, i + 1)),
            _ => {}
        }
    }
    let refs: Vec<&PageRef> = runs.iter().flat_map(|&(s, e)| &base.pages[s..e]).collect();
    let changed = apply(&load_entries(conn, &refs).await?, patch)?;
    let mut pages = Vec::with_capacity(base.pages.len() + runs.len());
    let mut next = 0;
    for &(start, end) in &runs {
        pages.extend_from_slice(&base.pages[next..start]);
        let upper = base.pages.get(end).map(|p| p.first.as_str());
        let lower = (start > 0).then(|| base.pages[start].first.as_str());
        let in_run = Manifest::from_entries(
            changed
                .iter()
                .filter(|(p, _)| {
                    lower.is_none_or(|l| p.as_str() >= l) && upper.is_none_or(|u| p.as_str() < u)
                })
                .map(|(p, e)| (p.clone(), e.clone()))
                .collect(),
        )?;
        pages.extend(put_pages(conn, &in_run).await?);
        next = end;
    }
    pages.extend_from_slice(&base.pages[next..]);
    Ok(Pages { pages })
}
