//! A blob's bytes, wherever they are: whole under its digest (uploaded with `PUT`, or by a
//! release before chunks), or chunks in packs (its [`Recipe`]). Reads of a chunked blob fetch
//! only the chunks that cover the range, adjacent chunks of one pack in one read, a few reads
//! in flight.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::sync::Arc;

use cairn_core::{Digest, Hasher};
use futures::{StreamExt, TryStreamExt};

use crate::blob::{BlobStore, ByteStream};
use crate::error::{Error, Result};
use crate::meta::MetadataStore;
use crate::recipe::{PackKey, Recipe};

/// The longest single read of a pack.
const PIECE: u64 = 8 * 1024 * 1024;
/// Reads in flight for one stream.
const AHEAD: usize = 4;

/// The bytes of blob `digest`, or the `range` of them (already checked against its size).
pub async fn read(
    meta: &dyn MetadataStore,
    blobs: &Arc<dyn BlobStore>,
    digest: &Digest,
    range: Option<Range<u64>>,
) -> Result<ByteStream> {
    match meta.recipe(digest).await? {
        Some(recipe) => {
            let range = range.unwrap_or(0..recipe.size);
            Ok(stream(blobs.clone(), &recipe, range)
                .map_err(std::io::Error::other)
                .boxed())
        }
        None => blobs.get(digest, range).await,
    }
}

/// Bytes `range` of a chunked blob.
pub fn stream(
    blobs: Arc<dyn BlobStore>,
    recipe: &Recipe,
    range: Range<u64>,
) -> futures::stream::BoxStream<'static, Result<bytes::Bytes>> {
    let mut pieces: Vec<(PackKey, Range<u64>)> = Vec::new();
    for read in recipe.reads(range) {
        let mut at = read.range.start;
        while at < read.range.end {
            let end = (at + PIECE).min(read.range.end);
            pieces.push((recipe.packs[read.pack].clone(), at..end));
            at = end;
        }
    }
    futures::stream::iter(pieces)
        .map(move |(key, range)| {
            let blobs = blobs.clone();
            async move { blobs.pack_bytes(&key, range).await }
        })
        .buffered(AHEAD)
        .boxed()
}

/// Verification notes a SHA-256 checkpoint of a blob every this many bytes.
pub const CHECKPOINT_EVERY: u64 = 16 << 20;

/// Read a chunked blob and check that it has the recipe's size and digest (`DigestMismatch`
/// otherwise; `NotFound` when a pack is gone), adding to the recipe the checkpoints it passes.
///
/// It hashes from the recipe's last checkpoint on: the caller vouches that the registry
/// computed those over these very bytes (see [`crate::assembly`]). The packs holding the
/// bytes before it are not read, but each is checked to be there, as reading would have.
pub async fn verify(blobs: &Arc<dyn BlobStore>, recipe: &mut Recipe) -> Result<()> {
    let (mut hasher, from) = match recipe.checkpoints.last() {
        Some(c) => (Hasher::resume(c), c.offset),
        None => (Hasher::new(), 0),
    };
    let mut skipped: Vec<usize> = recipe.reads(0..from).iter().map(|r| r.pack).collect();
    skipped.sort_unstable();
    skipped.dedup();
    for i in skipped {
        let key = &recipe.packs[i];
        if blobs.pack_header(key).await?.is_none() {
            return Err(Error::NotFound(format!("pack {key}")));
        }
    }
    let mut noted = Vec::new();
    let mut bytes = stream(blobs.clone(), recipe, from..recipe.size);
    while let Some(piece) = bytes.try_next().await? {
        hasher.update_noting(&piece, CHECKPOINT_EVERY, &mut noted);
    }
    read_back(recipe.size - from);
    check(recipe, hasher)?;
    recipe.checkpoints.extend(noted);
    Ok(())
}

/// The bytes `hasher` saw have the recipe's size and digest: `DigestMismatch` otherwise.
fn check(recipe: &Recipe, hasher: Hasher) -> Result<()> {
    let size = hasher.len();
    let actual = hasher.finish();
    if actual != recipe.digest || size != recipe.size {
        return Err(Error::DigestMismatch {
            expected: recipe.digest,
            actual,
        });
    }
    Ok(())
}

/// Blobs up to this size are verified together, their chunks read in shared spans.
const SMALL: u64 = 4 << 20;
/// Bytes of small blobs verified at once.
const GROUP: u64 = 32 << 20;
/// Chunks this close in one pack are read in one span.
const GAP: u64 = 64 << 10;

/// [`verify`] each recipe; small blobs (too small for checkpoints) together, so that a pack of
/// many small files is read in a few large reads rather than one read per file. One answer
/// per recipe, in order (`DigestMismatch`, or `NotFound` when a pack is gone); the call fails
/// as a whole only when the blob store does.
pub async fn verify_all(
    blobs: &Arc<dyn BlobStore>,
    recipes: &mut [&mut Recipe],
) -> Result<Vec<Result<()>>> {
    let mut out: Vec<Option<Result<()>>> = recipes.iter().map(|_| None).collect();
    let mut group = Vec::new();
    let mut bytes = 0;
    for i in 0..recipes.len() {
        let r = &mut *recipes[i];
        if r.size > SMALL {
            out[i] = Some(match verify(blobs, r).await {
                Err(e @ (Error::NotFound(_) | Error::DigestMismatch { .. })) => Err(e),
                Err(e) => return Err(e),
                Ok(()) => Ok(()),
            });
            continue;
        }
        group.push(i);
        bytes += r.size;
        if bytes >= GROUP {
            let checked = verify_group(blobs, recipes, &group).await?;
            for (j, result) in group.drain(..).zip(checked) {
                out[j] = Some(result);
            }
            bytes = 0;
        }
    }
    if !group.is_empty() {
        let checked = verify_group(blobs, recipes, &group).await?;
        for (j, result) in group.into_iter().zip(checked) {
            out[j] = Some(result);
        }
    }
    Ok(out
        .into_iter()
        .map(|r| r.expect("every recipe verified"))
        .collect())
}

/// A range read of a pack, and its bytes (`None`: the pack is gone).
type Span<'a> = (&'a Range<u64>, &'a Option<bytes::Bytes>);

/// Verify `recipes[i]` for each `i` of `group`, reading their chunks in coalesced spans.
async fn verify_group(
    blobs: &Arc<dyn BlobStore>,
    recipes: &[&mut Recipe],
    group: &[usize],
) -> Result<Vec<Result<()>>> {
    let mut wanted: BTreeMap<PackKey, Vec<Range<u64>>> = BTreeMap::new();
    for i in group {
        let r: &Recipe = recipes[*i];
        for read in r.reads(0..r.size) {
            wanted
                .entry(r.packs[read.pack].clone())
                .or_default()
                .push(read.range);
        }
    }
    let mut spans: Vec<(PackKey, Range<u64>)> = Vec::new();
    for (key, mut ranges) in wanted {
        ranges.sort_by_key(|r| r.start);
        let mut current: Option<Range<u64>> = None;
        for r in ranges {
            current = match current {
                Some(c) if r.start <= c.end + GAP && r.end.max(c.end) - c.start <= PIECE => {
                    Some(c.start..r.end.max(c.end))
                }
                Some(c) => {
                    spans.push((key.clone(), c));
                    Some(r)
                }
                None => Some(r),
            };
        }
        spans.extend(current.map(|c| (key.clone(), c)));
    }
    let results: Vec<(PackKey, Range<u64>, Result<bytes::Bytes>)> = futures::stream::iter(spans)
        .map(|(key, range)| {
            let blobs = blobs.clone();
            async move {
                let got = blobs.pack_bytes(&key, range.clone()).await;
                (key, range, got)
            }
        })
        .buffered(AHEAD)
        .collect()
        .await;
    // a pack that is gone fails the blobs that read it; any other failure fails the call
    let mut fetched = Vec::with_capacity(results.len());
    for (key, range, got) in results {
        match got {
            Ok(b) => fetched.push((key, range, Some(b))),
            Err(Error::NotFound(_)) => fetched.push((key, range, None)),
            Err(e) => return Err(e),
        }
    }
    let mut by_pack: HashMap<&PackKey, Vec<Span<'_>>> = HashMap::new();
    for (key, range, got) in &fetched {
        by_pack.entry(key).or_default().push((range, got));
    }
    Ok(group
        .iter()
        .map(|i| {
            let r: &Recipe = recipes[*i];
            let mut hasher = Hasher::new();
            for read in r.reads(0..r.size) {
                let key = &r.packs[read.pack];
                let span = by_pack.get(key).and_then(|spans| {
                    spans
                        .iter()
                        .find(|(s, _)| s.start <= read.range.start && read.range.end <= s.end)
                });
                match span {
                    Some((s, Some(b))) => hasher.update(
                        &b[(read.range.start - s.start) as usize
                            ..(read.range.end - s.start) as usize],
                    ),
                    Some((_, None)) => return Err(Error::NotFound(format!("pack {key}"))),
                    None => unreachable!("every read is inside a span fetched for it"),
                }
            }
            read_back(r.size);
            check(r, hasher)
        })
        .collect())
}

/// Count bytes read back from packs to verify a blob (`cairn_verify_read_bytes_total`).
fn read_back(bytes: u64) {
    metrics::counter!("cairn_verify_read_bytes_total").increment(bytes);
}
