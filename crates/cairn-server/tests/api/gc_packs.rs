//! Garbage collection racing chunked uploads, on SQLite + disk and on PostgreSQL + S3: an
//! assembly verified just before a collection deletes its pack records nothing on the gone
//! bytes, an assembly during a pack's deletion waits for it, and a pack a held blob's recipe
//! names is never collected. After each, every acknowledged version serves its bytes.

use std::sync::atomic::Ordering;

use cairn_core::chunk::chunk_all;
use cairn_core::pack::PackBuilder;
use cairn_server::Config;
use cairn_store::{Seam, Step};
use cairn_testkit::{TestServer, expect};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::gc_races::{Gate, collect, commit, registry, serves, still_waiting};
use crate::p;

/// Send `content` as one pack; its id.
async fn pack(s: &TestServer, content: &str) -> Value {
    let (_, chunks) = chunk_all(content.as_bytes());
    let mut b = PackBuilder::new();
    for c in &chunks {
        b.push_hashed(
            c.hash,
            &content.as_bytes()[c.offset as usize..][..c.len as usize],
        );
    }
    let res = s
        .req(Method::POST, &p("/packs"))
        .body(b.finish())
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::CREATED).await["pack"].clone()
}

fn assemble(s: &TestServer, content: &'static str, pack: Value) -> tokio::task::JoinHandle<Value> {
    let (digest, chunks) = chunk_all(content.as_bytes());
    let parts: Vec<Value> = chunks.iter().map(|c| json!({"chunk": c.hash})).collect();
    let body = json!({"chunker": 1, "packs": [pack], "blobs": [
        {"digest": digest, "size": content.len(), "parts": parts}]});
    let req = s.req(Method::POST, &p("/blobs/assemble")).json(&body);
    tokio::spawn(async move { expect(req.send().await.unwrap(), StatusCode::OK).await })
}

/// Held between verifying and recording while a whole collection deletes the pack (nothing
/// names it yet): the assembly must answer the chunks missing, not hold a blob without bytes.
async fn assembly_verified_then_pack_collected(postgres: bool) {
    let (gate, mut arrived) = Gate::new(Step::Published, false);
    let config = Config {
        seam: gate.seam(),
        ..Config::default()
    };
    let Some(s) = registry(postgres, config).await else {
        return;
    };
    let content = "assembled A";
    let id = pack(&s, content).await;
    gate.armed.store(true, Ordering::SeqCst);
    let first = assemble(&s, content, id.clone());
    arrived.recv().await.unwrap();
    let report = collect(&s, Seam::default()).await.unwrap();
    assert_eq!(report.packs, 1, "{report:?}");
    gate.open();
    let out = first.await.unwrap();
    assert_eq!(out[0]["held"], false, "held on a collected pack: {out}");
    assert_eq!(out[0]["missing_chunks"].as_array().unwrap().len(), 1);
    assert_eq!(
        commit(&s, "a", &[("a", content)]).await,
        StatusCode::CONFLICT
    );
    // sent again: held, committed; its pack is named by a recipe and survives collections
    let id = pack(&s, content).await;
    assert_eq!(assemble(&s, content, id).await.unwrap()[0]["held"], true);
    assert_eq!(
        commit(&s, "a", &[("a", content)]).await,
        StatusCode::CREATED
    );
    let report = collect(&s, Seam::default()).await.unwrap();
    assert_eq!(report.packs, 0, "{report:?}");
    serves(&s, "a", "a", content).await;
}

/// A collection held after dooming a pack: an assembly naming it waits, then finds it gone.
async fn assembly_during_pack_deletion(postgres: bool) {
    let Some(s) = registry(postgres, Config::default()).await else {
        return;
    };
    let content = "doomed pack B";
    let id = pack(&s, content).await;
    let (gate, mut arrived) = Gate::new(Step::PacksDoomed, true);
    let gc = collect(&s, gate.seam());
    arrived.recv().await.unwrap();
    let waiting = assemble(&s, content, id);
    still_waiting(&waiting).await;
    gate.open();
    assert_eq!(gc.await.unwrap().packs, 1);
    let out = waiting.await.unwrap();
    assert_eq!(out[0]["held"], false, "{out}");
    let id = pack(&s, content).await;
    assert_eq!(assemble(&s, content, id).await.unwrap()[0]["held"], true);
    assert_eq!(
        commit(&s, "b", &[("b", content)]).await,
        StatusCode::CREATED
    );
    serves(&s, "b", "b", content).await;
}

async fn interleavings(postgres: bool) {
    assembly_verified_then_pack_collected(postgres).await;
    assembly_during_pack_deletion(postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pack_gc_interleavings_on_sqlite_and_disk() {
    interleavings(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pack_gc_interleavings_on_postgres_and_s3() {
    interleavings(true).await;
}
