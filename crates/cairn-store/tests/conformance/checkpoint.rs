//! SHA-256 checkpoints of chunked blobs: noted by the registry while it verifies a blob,
//! inherited by a blob that begins with the same chunks, and used to verify only what follows
//! the shared prefix — still refusing a wrong digest, and still noticing a prefix pack gone.

use std::sync::Arc;
use std::time::Duration;

use cairn_core::checkpoint::Checkpoint;
use cairn_core::chunk::{Chunk, chunk_all};
use cairn_core::pack::{PackBuilder, PackId};
use cairn_core::wire::{AssembleOutcome, AssembleRequest, BlobRecipe, RecipePart};
use cairn_core::{Digest, Hasher};
use cairn_store::content::CHECKPOINT_EVERY;
use cairn_store::gc::DEFAULT_PACK_WHOLE;
use cairn_store::{BlobStore, Error, GcOptions, MetadataStore, ProjectKey, Seam, Streams};
use cairn_testkit::noise;

use super::pack::body;

fn project(name: &str) -> ProjectKey {
    ProjectKey {
        entity: "checkpoints".parse().unwrap(),
        project: name.parse().unwrap(),
    }
}

/// The checkpoints a hash of all of `data` passes, every [`CHECKPOINT_EVERY`] bytes.
pub(super) fn expected(data: &[u8]) -> Vec<Checkpoint> {
    let mut noted = Vec::new();
    Hasher::new().update_noting(data, CHECKPOINT_EVERY, &mut noted);
    noted
}

async fn pack(blobs: &dyn BlobStore, p: &ProjectKey, data: &[u8], chunks: &[&Chunk]) -> PackId {
    let mut b = PackBuilder::new();
    for c in chunks {
        b.push_hashed(c.hash, &data[c.offset as usize..][..c.len as usize]);
    }
    let (key, _) = blobs
        .put_pack(&p.to_string(), body(&b.finish(), 1 << 16), 1 << 30)
        .await
        .unwrap();
    key.id
}

/// `data` chunked, and a pack of its chunks that `base` (chunks of an earlier version) lacks.
async fn edited(
    blobs: &dyn BlobStore,
    p: &ProjectKey,
    base: &[Chunk],
    data: &[u8],
) -> (Digest, Vec<Chunk>, PackId) {
    let (digest, chunks) = chunk_all(data);
    let known: std::collections::HashSet<_> = base.iter().map(|c| c.hash).collect();
    let new: Vec<&Chunk> = chunks.iter().filter(|c| !known.contains(&c.hash)).collect();
    let id = pack(blobs, p, data, &new).await;
    (digest, chunks, id)
}

/// Where assemblies go: the stores and the project.
pub(super) struct At<'a> {
    pub meta: &'a dyn MetadataStore,
    pub blobs: &'a Arc<dyn BlobStore>,
    pub streams: &'a Streams,
    pub p: &'a ProjectKey,
}

pub(super) async fn assemble(
    at: &At<'_>,
    bases: Vec<Digest>,
    packs: Vec<PackId>,
    digest: Digest,
    data: &[u8],
    chunks: &[Chunk],
) -> cairn_store::Result<AssembleOutcome> {
    let request = AssembleRequest {
        chunker: 1,
        bases,
        packs,
        blobs: vec![BlobRecipe {
            digest,
            size: data.len() as u64,
            parts: chunks.iter().map(|c| RecipePart::Chunk(c.hash)).collect(),
        }],
    };
    let wait = Duration::from_secs(5);
    let (meta, blobs, p) = (at.meta, at.blobs, at.p);
    let mut out = cairn_store::assembly::assemble(
        meta,
        blobs,
        at.streams,
        p,
        &request,
        wait,
        &Seam::default(),
    )
    .await?;
    Ok(out.remove(0))
}

pub async fn run(meta: Arc<dyn MetadataStore>, blobs: Arc<dyn BlobStore>) {
    let (m, b) = (meta.as_ref(), blobs.as_ref());
    let p = project("append");
    let streams = Streams::default();
    let at = At {
        meta: m,
        blobs: &blobs,
        streams: &streams,
        p: &p,
    };
    // v0: 36 MiB in two packs (the first 20 MiB, the rest): checkpoints at 16 and 32 MiB
    let v0 = noise(36 << 20, 41);
    let (d0, c0) = chunk_all(&v0);
    let split = c0.iter().position(|c| c.offset >= 20 << 20).unwrap();
    let head: Vec<&Chunk> = c0[..split].iter().collect();
    let tail: Vec<&Chunk> = c0[split..].iter().collect();
    let (pack_head, pack_tail) = (pack(b, &p, &v0, &head).await, pack(b, &p, &v0, &tail).await);
    let out = assemble(&at, vec![], vec![pack_head, pack_tail], d0, &v0, &c0);
    assert!(out.await.unwrap().held);
    let r0 = m.recipe(&d0).await.unwrap().unwrap();
    assert_eq!(r0.checkpoints, expected(&v0), "noted while verifying");
    assert_eq!(r0.checkpoints.len(), 2);

    // v1: 1 MiB appended; only the new chunks sent; it inherits v0's checkpoints up to their
    // shared chunks (all but v0's last) and is verified from the last one
    let mut v1 = v0.clone();
    v1.extend_from_slice(&noise(1 << 20, 42));
    let (d1, c1, pack_new) = edited(b, &p, &c0, &v1).await;
    // a wrong digest over the right chunks is refused all the same
    let wrong = Digest::of(b"not v1");
    let err = assemble(&at, vec![d0], vec![pack_new], wrong, &v1, &c1)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
    // what is inherited decides: a base (recorded here by hand) whose checkpoint at 32 MiB is
    // forged makes the right bytes fail, so v1 is hashed from there, not from its start
    let mut forged = r0.clone();
    forged.digest = Digest::of(b"v0 with a forged checkpoint");
    forged.checkpoints[1].state[0] ^= 1;
    let marks = m.gc_marks(&[forged.digest], &forged.packs).await.unwrap();
    m.record_recipes(&p, std::slice::from_ref(&forged), marks.epoch)
        .await
        .unwrap();
    let bases = vec![forged.digest];
    let err = assemble(&at, bases, vec![pack_new], d1, &v1, &c1)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
    let out = assemble(&at, vec![d0], vec![pack_new], d1, &v1, &c1);
    assert!(out.await.unwrap().held);
    let r1 = m.recipe(&d1).await.unwrap().unwrap();
    assert_eq!(r1.checkpoints, expected(&v1));

    // v2 (another 17 MiB appended, built on v1): inherits two, notes a third past 48 MiB
    let mut v2 = v1.clone();
    v2.extend_from_slice(&noise(17 << 20, 43));
    let (d2, c2, pack_v2) = edited(b, &p, &c1, &v2).await;
    let out = assemble(&at, vec![d1], vec![pack_v2], d2, &v2, &c2);
    assert!(out.await.unwrap().held);
    let r2 = m.recipe(&d2).await.unwrap().unwrap();
    assert_eq!(r2.checkpoints, expected(&v2));
    assert_eq!(r2.checkpoints.len(), 3);

    // a blob whose first chunks differ inherits nothing and is hashed from the start
    let mut v3 = v0.clone();
    v3[..4096].copy_from_slice(&noise(4096, 44));
    let (d3, c3, pack_v3) = edited(b, &p, &c0, &v3).await;
    let out = assemble(&at, vec![d0], vec![pack_v3], d3, &v3, &c3);
    assert!(out.await.unwrap().held);
    assert_eq!(
        m.recipe(&d3).await.unwrap().unwrap().checkpoints,
        expected(&v3)
    );

    // the prefix's pack gone (a fault no collection would cause while v0 is held): the
    // skipped bytes are not trusted blindly; the append is answered with the chunks to resend
    let mut v4 = v0.clone();
    v4.extend_from_slice(&noise(1 << 20, 45));
    let (d4, c4, pack_v4) = edited(b, &p, &c0, &v4).await;
    let head_key = r0.packs[r0.chunks[0].pack as usize].clone();
    b.delete_pack(&head_key).await.unwrap();
    let out = assemble(&at, vec![d0], vec![pack_v4], d4, &v4, &c4);
    let out = out.await.unwrap();
    assert!(!out.held, "{out:?}");
    assert_eq!(out.missing_chunks.len(), split, "the head pack's chunks");
    assert!(m.recipe(&d4).await.unwrap().is_none());

    // blobs stored whole and packed by a collection get checkpoints too
    let q = project("whole");
    let big = noise(20 << 20, 46);
    let digest = Digest::of(&big);
    let staged = b
        .stage(&digest, body(&big, 1 << 16), 1 << 30)
        .await
        .unwrap();
    let wait = Duration::from_secs(5);
    cairn_store::hold(m, b, &q, staged, wait, &Seam::default())
        .await
        .unwrap();
    let options = GcOptions {
        grace: Duration::from_secs(3600),
        pack_whole: DEFAULT_PACK_WHOLE,
        ..GcOptions::default()
    };
    cairn_store::collect(m, b, &options).await.unwrap();
    let packed = m.recipe(&digest).await.unwrap().unwrap();
    assert_eq!(packed.checkpoints, expected(&big));
    assert_eq!(packed.checkpoints.len(), 1);

    // unreferenced, everything goes, for the suites after this one
    let options = GcOptions {
        grace: Duration::ZERO,
        ..GcOptions::default()
    };
    cairn_store::collect(m, b, &options).await.unwrap();
    let left = b.list_packs().await.unwrap();
    assert!(left.is_empty(), "{left:?}");
}
