//! Chunked uploads and pack collection, on a metadata store and a blob store together: chunks
//! reused only from what the project holds, blobs verified whole before they are held, ranges
//! read from packs, packs collected once no recipe names them and never while one does.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cairn_core::Digest;
use cairn_core::chunk::{Chunk, chunk_all};
use cairn_core::pack::{PackBuilder, PackId};
use cairn_core::segment::segments;
use cairn_core::wire::{AssembleRequest, BlobRecipe, KnownRequest, RecipePart};
use cairn_store::recipe::PackKey;
use cairn_store::{BlobStore, Error, GcOptions, MetadataStore, ProjectKey, Recorded, Seam};
use futures::TryStreamExt;

use super::pack::body;
use cairn_testkit::noise;

fn project(name: &str) -> ProjectKey {
    ProjectKey {
        entity: "chunks".parse().unwrap(),
        project: name.parse().unwrap(),
    }
}

struct Env {
    meta: Arc<dyn MetadataStore>,
    blobs: Arc<dyn BlobStore>,
}

impl Env {
    /// Upload `chunks` of `data` as one pack of project `p`.
    async fn pack(&self, p: &ProjectKey, data: &[u8], chunks: &[&Chunk]) -> PackId {
        let mut b = PackBuilder::new();
        for c in chunks {
            b.push_hashed(c.hash, &data[c.offset as usize..][..c.len as usize]);
        }
        let (key, _) = self
            .blobs
            .put_pack(&p.to_string(), body(&b.finish(), 1 << 16), 1 << 30)
            .await
            .unwrap();
        key.id
    }

    async fn assemble(
        &self,
        p: &ProjectKey,
        bases: Vec<Digest>,
        packs: Vec<PackId>,
        blob: BlobRecipe,
    ) -> cairn_store::Result<cairn_core::wire::AssembleOutcome> {
        let request = AssembleRequest {
            chunker: 1,
            bases,
            packs,
            blobs: vec![blob],
        };
        let wait = Duration::from_secs(5);
        let mut out = cairn_store::assembly::assemble(
            self.meta.as_ref(),
            &self.blobs,
            &cairn_store::Streams::default(),
            p,
            &request,
            wait,
            &Seam::default(),
        )
        .await?;
        Ok(out.remove(0))
    }

    async fn read(&self, d: &Digest, range: Option<std::ops::Range<u64>>) -> Vec<u8> {
        let s = cairn_store::content::read(self.meta.as_ref(), &self.blobs, d, range)
            .await
            .unwrap();
        let parts: Vec<Bytes> = s.try_collect().await.unwrap();
        parts.concat()
    }

    async fn collect(&self) -> cairn_store::gc::GcReport {
        let options = GcOptions {
            grace: Duration::ZERO,
            ..GcOptions::default()
        };
        cairn_store::collect(self.meta.as_ref(), self.blobs.as_ref(), &options)
            .await
            .unwrap()
    }
}

fn recipe(digest: Digest, data: &[u8], chunks: &[Chunk]) -> BlobRecipe {
    BlobRecipe {
        digest,
        size: data.len() as u64,
        parts: chunks.iter().map(|c| RecipePart::Chunk(c.hash)).collect(),
    }
}

pub async fn run(meta: Arc<dyn MetadataStore>, blobs: Arc<dyn BlobStore>) {
    // first: it counts what collections pack, and later steps leave blobs stored whole
    super::whole::run(meta.clone(), blobs.clone()).await;
    let env = Env { meta, blobs };
    let p = project("first");
    // v0: 12 MiB (a few segments), every chunk uploaded, assembled, verified, read back
    let v0 = noise(12 << 20, 7);
    let (d0, c0) = chunk_all(&v0);
    let all: Vec<&Chunk> = c0.iter().collect();
    let pack0 = env.pack(&p, &v0, &all).await;
    // wrong digest or size: refused, nothing held
    let mut lie = recipe(Digest::of(b"not this"), &v0, &c0);
    let err = env
        .assemble(&p, vec![], vec![pack0], lie.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
    lie.digest = d0;
    lie.size += 1;
    let err = env
        .assemble(&p, vec![], vec![pack0], lie)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("add up to"), "{err}");
    assert_eq!(env.meta.missing_blobs(&p, &[d0]).await.unwrap(), vec![d0]);
    let out = env
        .assemble(&p, vec![], vec![pack0], recipe(d0, &v0, &c0))
        .await
        .unwrap();
    assert!(out.held, "{out:?}");
    assert!(env.meta.missing_blobs(&p, &[d0]).await.unwrap().is_empty());
    assert_eq!(env.read(&d0, None).await, v0);
    let mid = 1_234_567..1_234_567 + 300_000;
    assert_eq!(
        env.read(&d0, Some(mid.clone())).await,
        &v0[mid.start as usize..mid.end as usize]
    );

    // v1: 64 KiB overwritten in the middle; the base tells what need not be sent
    let mut v1 = v0.clone();
    v1[6_000_000..6_000_000 + 65_536].copy_from_slice(&noise(65_536, 99));
    let (d1, c1) = chunk_all(&v1);
    let segs = segments(c1.iter().map(|c| (c.hash, c.len)));
    let known = cairn_store::assembly::known(
        env.meta.as_ref(),
        env.blobs.as_ref(),
        &p,
        &KnownRequest {
            chunker: 1,
            bases: vec![d0],
            segments: segs.iter().map(|s| s.hash).collect(),
            chunks: c1.iter().map(|c| c.hash).collect(),
            ..KnownRequest::default()
        },
    )
    .await
    .unwrap();
    assert!(known.missing_segments.len() < segs.len(), "{known:?}");
    let missing: Vec<&Chunk> = known
        .missing_chunks
        .iter()
        .map(|i| &c1[*i as usize])
        .collect();
    let sent: u64 = missing.iter().map(|c| c.len as u64).sum();
    assert!(
        sent > 0 && sent < 400_000,
        "{sent} bytes to send for a 64 KiB edit"
    );
    // the parts name known segments whole and the rest chunk by chunk
    let mut parts = Vec::new();
    for (i, s) in segs.iter().enumerate() {
        if known.missing_segments.contains(&(i as u32)) {
            parts.extend(
                c1[s.first..s.first + s.count]
                    .iter()
                    .map(|c| RecipePart::Chunk(c.hash)),
            );
        } else {
            parts.push(RecipePart::Segment(s.hash));
        }
    }
    let edit = BlobRecipe {
        digest: d1,
        size: v1.len() as u64,
        parts,
    };
    // without the new chunks: answered missing, not held
    let out = env
        .assemble(&p, vec![d0], vec![], edit.clone())
        .await
        .unwrap();
    assert!(
        !out.held && out.missing_chunks.len() == missing.len(),
        "{out:?}"
    );
    let pack1 = env.pack(&p, &v1, &missing).await;
    let out = env.assemble(&p, vec![d0], vec![pack1], edit).await.unwrap();
    assert!(out.held, "{out:?}");
    assert_eq!(env.read(&d1, None).await, v1);

    // another project learns nothing from these: a base it does not hold is refused, and a
    // pack id of this project is not one of its packs
    let q = project("second");
    let err = cairn_store::assembly::known(
        env.meta.as_ref(),
        env.blobs.as_ref(),
        &q,
        &KnownRequest {
            chunker: 1,
            bases: vec![d0],
            ..KnownRequest::default()
        },
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("not a blob this project holds"),
        "{err}"
    );
    let out = env
        .assemble(&q, vec![], vec![pack0], recipe(d0, &v0, &c0))
        .await
        .unwrap();
    assert!(!out.held && out.missing_chunks.len() == c0.len());

    collection_keeps_what_recipes_name(&env, &p, (d0, &v0), (d1, &v1)).await;
    a_collection_between_mark_and_record_refuses_it(&env).await;
    a_mostly_garbage_pack_is_rewritten(&env).await;
    super::checkpoint::run(env.meta.clone(), env.blobs.clone()).await;
    super::stream::run(env.meta, env.blobs).await;
}

/// Nothing is referenced by a version here, so a collection with no grace forgets both blobs;
/// until then their packs stay, and afterwards every pack goes.
async fn collection_keeps_what_recipes_name(
    env: &Env,
    p: &ProjectKey,
    (d0, v0): (Digest, &[u8]),
    (d1, v1): (Digest, &[u8]),
) {
    // a stray pack nothing names goes at once; the held blobs' packs stay readable meanwhile
    let stray = noise(100_000, 3);
    let (_, sc) = chunk_all(&stray);
    env.pack(p, &stray, &sc.iter().collect::<Vec<_>>()).await;
    let packs = env.blobs.list_packs().await.unwrap().len();
    let held_before = env.meta.missing_blobs(p, &[d0, d1]).await.unwrap();
    assert!(held_before.is_empty());
    // keep the blobs held through the first collection: record them again just now with a
    // grace covering them
    let options = GcOptions {
        grace: Duration::from_secs(3600),
        ..GcOptions::default()
    };
    let report = cairn_store::collect(env.meta.as_ref(), env.blobs.as_ref(), &options)
        .await
        .unwrap();
    assert_eq!(
        report.packs, 0,
        "young packs stay within the grace: {report:?}"
    );
    // a dry run tells what the collection will free, and frees nothing
    let options = GcOptions {
        grace: Duration::ZERO,
        dry_run: true,
        ..GcOptions::default()
    };
    let dry = cairn_store::collect(env.meta.as_ref(), env.blobs.as_ref(), &options)
        .await
        .unwrap();
    assert_eq!((dry.blobs, dry.packs), (2, packs), "{dry:?}");
    assert_eq!(env.blobs.list_packs().await.unwrap().len(), packs);
    let report = env.collect().await;
    assert_eq!(
        (report.packs, report.pack_bytes),
        (dry.packs, dry.pack_bytes)
    );
    // both blobs were unreferenced: forgotten, their recipes with them, then every pack
    assert_eq!(report.blobs, 2, "{report:?}");
    assert_eq!(report.packs, packs, "{report:?}");
    assert!(
        report.pack_bytes as usize >= v0.len() + 100_000,
        "{report:?}"
    );
    assert!(env.meta.recipe(&d1).await.unwrap().is_none());
    assert!(env.blobs.list_packs().await.unwrap().is_empty());
    let _ = v1;
}

/// An assembly that read its mark before a collection doomed one of its packs records nothing.
async fn a_collection_between_mark_and_record_refuses_it(env: &Env) {
    let p = project("race");
    let data = noise(50_000, 11);
    let (d, c) = chunk_all(&data);
    let pack = env.pack(&p, &data, &c.iter().collect::<Vec<_>>()).await;
    let key = PackKey {
        owner: p.to_string(),
        id: pack,
    };
    let header = env.blobs.pack_header(&key).await.unwrap().unwrap();
    let recipe = cairn_store::recipe::Recipe {
        digest: d,
        size: data.len() as u64,
        packs: vec![key.clone()],
        chunks: header
            .locations()
            .map(|(e, offset)| cairn_store::recipe::RecipeChunk {
                hash: e.hash,
                pack: 0,
                offset,
                len: e.len,
            })
            .collect(),
        checkpoints: Vec::new(),
    };
    let keys = std::slice::from_ref(&key);
    let marks = |meta: Arc<dyn MetadataStore>, key: PackKey| async move {
        meta.gc_marks(&[d], &[key]).await.unwrap()
    };
    let record = |epoch| {
        let (meta, p, recipe) = (env.meta.clone(), p.clone(), recipe.clone());
        async move { meta.record_recipes(&p, &[recipe], epoch).await.unwrap()[0] }
    };
    let before = marks(env.meta.clone(), key.clone()).await;
    assert!(before.doomed.is_empty() && before.doomed_packs.is_empty());
    // the collection dooms the pack no recipe names yet (and moves the epoch)
    assert_eq!(env.meta.doom_packs(keys).await.unwrap(), vec![key.clone()]);
    assert_eq!(record(before.epoch).await, Recorded::Collected);
    // with a fresh epoch too, while the pack is doomed
    let during = marks(env.meta.clone(), key.clone()).await;
    assert!(during.epoch > before.epoch && during.doomed_packs.contains(&key));
    assert_eq!(record(during.epoch).await, Recorded::Collected);
    assert!(env.meta.recipe(&d).await.unwrap().is_none());
    // released undeleted (a collection would have deleted it): now it records, and a pack a
    // recipe names is never doomed
    env.meta.release_packs(keys).await.unwrap();
    let after = marks(env.meta.clone(), key.clone()).await;
    assert_eq!(record(after.epoch).await, Recorded::New);
    assert_eq!(record(after.epoch).await, Recorded::Refreshed);
    assert!(env.meta.doom_packs(keys).await.unwrap().is_empty());
    assert_eq!(env.meta.recipe(&d).await.unwrap(), Some(recipe));
}

/// A pack most of whose bytes no recipe reads is rewritten: the chunks still read move to a new
/// pack with the recipes, the old pack stays for readers until the next collection deletes it,
/// and the blob reads the same throughout.
async fn a_mostly_garbage_pack_is_rewritten(env: &Env) {
    let p = project("repack");
    let (gone, kept) = (noise(3 << 20, 21), noise(300_000, 22));
    let ((dg, cg), (dk, ck)) = (chunk_all(&gone), chunk_all(&kept));
    let mut b = PackBuilder::new();
    for (data, chunks) in [(&gone, &cg), (&kept, &ck)] {
        for c in chunks.iter() {
            b.push_hashed(c.hash, &data[c.offset as usize..][..c.len as usize]);
        }
    }
    let (old, _) = env
        .blobs
        .put_pack(&p.to_string(), body(&b.finish(), 1 << 16), 1 << 30)
        .await
        .unwrap();
    let held = |o: cairn_core::wire::AssembleOutcome| assert!(o.held, "{o:?}");
    held(
        env.assemble(&p, vec![], vec![old.id], recipe(dg, &gone, &cg))
            .await
            .unwrap(),
    );
    // `gone` ages past the grace, `kept` is held just now
    tokio::time::sleep(Duration::from_millis(1500)).await;
    held(
        env.assemble(&p, vec![], vec![old.id], recipe(dk, &kept, &ck))
            .await
            .unwrap(),
    );
    let collect = |dry_run| async move {
        let options = GcOptions {
            grace: Duration::from_secs(1),
            dry_run,
            ..GcOptions::default()
        };
        cairn_store::collect(env.meta.as_ref(), env.blobs.as_ref(), &options)
            .await
            .unwrap()
    };
    let dry = collect(true).await;
    assert_eq!(dry.repacked, 1, "{dry:?}");
    assert!(dry.reclaimable > 3 << 20, "{dry:?}");
    assert!(
        env.meta.recipe(&dg).await.unwrap().is_some(),
        "a dry run changes nothing"
    );

    let report = collect(false).await;
    assert_eq!(
        (report.repacked, report.reclaimable),
        (1, dry.reclaimable),
        "{report:?}"
    );
    assert!(env.meta.recipe(&dg).await.unwrap().is_none());
    let moved = env.meta.recipe(&dk).await.unwrap().unwrap();
    assert_eq!(moved.packs.len(), 1);
    let new = moved.packs[0].clone();
    assert_ne!(new, old);
    assert_eq!(env.read(&dk, None).await, kept);
    assert_eq!(
        env.read(&dk, Some(1000..250_000)).await,
        &kept[1000..250_000]
    );
    let stored = |key: PackKey| async move {
        env.blobs
            .list_packs()
            .await
            .unwrap()
            .iter()
            .any(|s| s.key == key)
    };
    assert!(
        stored(old.clone()).await,
        "the old pack waits for the next collection"
    );
    assert!(env.meta.recipes_naming(&old).await.unwrap().is_empty());

    // the next collection (`kept` held again just now) deletes the old pack, keeps the new one
    tokio::time::sleep(Duration::from_millis(1100)).await;
    held(
        env.assemble(&p, vec![], vec![new.id], recipe(dk, &kept, &ck))
            .await
            .unwrap(),
    );
    let report = collect(false).await;
    assert!(report.packs >= 1 && report.repacked == 0, "{report:?}");
    assert!(!stored(old).await);
    assert!(stored(new).await);
    assert_eq!(env.read(&dk, None).await, kept);
}
