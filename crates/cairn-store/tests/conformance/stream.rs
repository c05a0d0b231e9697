//! Streams: a file's packs hashed by the registry as they arrive, in order even when they
//! arrive out of order, so that assembling the file inherits their checkpoints; a stream with
//! a gap or of other bytes only offers less, and a wrong digest is still refused.

use std::sync::Arc;

use bytes::Bytes;
use cairn_core::Digest;
use cairn_core::chunk::{Chunk, chunk_all};
use cairn_core::pack::{PackBuilder, PackId, StreamId};
use cairn_store::{BlobStore, Error, GcOptions, MetadataStore, ProjectKey, Streams};
use cairn_testkit::noise;
use futures::StreamExt;

use super::checkpoint::{At, assemble, expected};

/// Upload `chunks` of `data` as one pack; with `stream`, as the pack starting `at` bytes into it.
async fn send(
    blobs: &dyn BlobStore,
    streams: &Arc<Streams>,
    p: &ProjectKey,
    stream: Option<(StreamId, u64)>,
    data: &[u8],
    chunks: &[Chunk],
) -> PackId {
    let owner = p.to_string();
    let mut arrival = stream.map(|(id, at)| streams.arriving(&owner, id, at));
    let mut b = PackBuilder::new();
    for c in chunks {
        b.push_hashed(c.hash, &data[c.offset as usize..][..c.len as usize]);
    }
    let pieces: Vec<Bytes> = b
        .finish()
        .chunks(1 << 16)
        .map(Bytes::copy_from_slice)
        .collect();
    if let Some(a) = &mut arrival {
        pieces.iter().for_each(|piece| a.keep(piece));
    }
    let body = futures::stream::iter(pieces.into_iter().map(Ok)).boxed();
    let (key, header) = blobs.put_pack(&owner, body, 1 << 30).await.unwrap();
    if let Some(a) = arrival {
        streams.feed(a, key.id, &header).await;
    }
    key.id
}

/// `chunks` cut into `n` runs of about equal bytes, with where each starts.
fn runs(chunks: &[Chunk], n: u64) -> Vec<(u64, Vec<Chunk>)> {
    let total: u64 = chunks.iter().map(|c| c.len as u64).sum();
    let mut out: Vec<(u64, Vec<Chunk>)> = Vec::new();
    for c in chunks {
        let run = (c.offset * n / total) as usize;
        if out.len() <= run {
            out.push((c.offset, Vec::new()));
        }
        out.last_mut().unwrap().1.push(*c);
    }
    out
}

pub async fn run(meta: Arc<dyn MetadataStore>, blobs: Arc<dyn BlobStore>) {
    let (m, b) = (meta.as_ref(), blobs.as_ref());
    let streams = Arc::new(Streams::default());
    let p = ProjectKey {
        entity: "streams".parse().unwrap(),
        project: "one".parse().unwrap(),
    };
    let at = At {
        meta: m,
        blobs: &blobs,
        streams: &streams,
        p: &p,
    };

    // 36 MiB in three packs of one stream, arriving last first: each waits for those before it
    let v0 = noise(36 << 20, 61);
    let (d0, c0) = chunk_all(&v0);
    let id = StreamId([1; 32]);
    let r = runs(&c0, 3);
    let sent = |i: usize| send(b, &streams, &p, Some((id, r[i].0)), &v0, &r[i].1);
    let (p2, p1, p0) = futures::join!(sent(2), sent(1), sent(0));
    let hashed = streams.prefix_of(&p.to_string(), &p1).unwrap();
    assert_eq!(
        hashed.checkpoints,
        expected(&v0),
        "hashed in order: 16 and 32 MiB"
    );
    assert_eq!(hashed.chunks.len(), c0.len());
    // another project does not see this stream
    assert!(streams.prefix_of("streams/other", &p1).is_none());

    // a wrong digest over the streamed chunks is still refused
    let wrong = Digest::of(b"not v0");
    let err = assemble(&at, vec![], vec![p0, p1, p2], wrong, &v0, &c0)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
    let out = assemble(&at, vec![], vec![p2, p0, p1], d0, &v0, &c0);
    assert!(out.await.unwrap().held);
    let r0 = m.recipe(&d0).await.unwrap().unwrap();
    assert_eq!(r0.checkpoints, expected(&v0));

    // a stream with a gap (its middle pack never came): the last pack does not wait for it and
    // the stream ends after the first; the blob is verified from the start all the same
    let v1 = noise(40 << 20, 62);
    let (d1, c1) = chunk_all(&v1);
    let gap = StreamId([2; 32]);
    let r = runs(&c1, 3);
    let first = send(b, &streams, &p, Some((gap, r[0].0)), &v1, &r[0].1).await;
    let last = send(b, &streams, &p, Some((gap, r[2].0)), &v1, &r[2].1).await;
    let middle = send(b, &streams, &p, None, &v1, &r[1].1).await;
    assert!(streams.prefix_of(&p.to_string(), &last).is_none());
    assert!(
        streams.prefix_of(&p.to_string(), &first).is_none(),
        "under 16 MiB: no checkpoint"
    );
    let out = assemble(&at, vec![], vec![first, middle, last], d1, &v1, &c1);
    assert!(out.await.unwrap().held);
    assert_eq!(
        m.recipe(&d1).await.unwrap().unwrap().checkpoints,
        expected(&v1)
    );

    // a stream of other bytes (a client's claim that packs follow one another is not trusted):
    // v2 begins like v0 but its stream is v0's second run then the first; no shared prefix
    let mut v2 = v0.clone();
    v2.extend_from_slice(&noise(1 << 20, 63));
    let (d2, c2) = chunk_all(&v2);
    let swapped = StreamId([3; 32]);
    let r = runs(&c0, 2);
    let len1: u64 = r[1].1.iter().map(|c| c.len as u64).sum();
    let s1 = send(b, &streams, &p, Some((swapped, 0)), &v0, &r[1].1).await;
    let s0 = send(b, &streams, &p, Some((swapped, len1)), &v0, &r[0].1).await;
    let old: std::collections::HashSet<_> = c0.iter().map(|c| c.hash).collect();
    let tail: Vec<Chunk> = c2
        .iter()
        .filter(|c| !old.contains(&c.hash))
        .copied()
        .collect();
    let s2 = send(b, &streams, &p, None, &v2, &tail).await;
    let out = assemble(&at, vec![], vec![s1, s0, s2], d2, &v2, &c2);
    assert!(out.await.unwrap().held);
    assert_eq!(
        m.recipe(&d2).await.unwrap().unwrap().checkpoints,
        expected(&v2)
    );

    // unreferenced, everything goes, for the suites after this one
    let options = GcOptions {
        grace: std::time::Duration::ZERO,
        ..GcOptions::default()
    };
    cairn_store::collect(m, b, &options).await.unwrap();
    let left = b.list_packs().await.unwrap();
    assert!(left.is_empty(), "{left:?}");
}
