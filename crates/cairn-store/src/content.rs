//! A blob's bytes, wherever they are: whole under its digest (uploaded with `PUT`, or by a
//! release before chunks), or chunks in packs (its [`Recipe`]). Reads of a chunked blob fetch
//! only the chunks that cover the range, adjacent chunks of one pack in one read, a few reads
//! in flight.

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

/// Read a chunked blob whole and check that it has the recipe's size and digest
/// (`DigestMismatch` otherwise; `NotFound` when a pack is gone).
pub async fn verify(blobs: &Arc<dyn BlobStore>, recipe: &Recipe) -> Result<()> {
    let mut hasher = Hasher::new();
    let mut bytes = stream(blobs.clone(), recipe, 0..recipe.size);
    while let Some(piece) = bytes.try_next().await? {
        hasher.update(&piece);
    }
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
