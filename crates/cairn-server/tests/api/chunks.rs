//! Chunked uploads over HTTP: packs verified chunk by chunk on arrival, chunks reused only from
//! what the project holds, blobs assembled and verified whole, then committed and served.

use cairn_core::Digest;
use cairn_core::chunk::chunk_all;
use cairn_core::pack::PackBuilder;
use cairn_core::segment::segments;
use cairn_testkit::{TestServer, expect, noise};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::p;

async fn post_pack(s: &TestServer, project: &str, body: Vec<u8>) -> reqwest::Response {
    s.req(Method::POST, &format!("/api/v1/projects/{project}/packs"))
        .header("content-type", "application/vnd.cairn.pack")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn post(s: &TestServer, project: &str, rest: &str, body: Value) -> reqwest::Response {
    s.req(Method::POST, &format!("/api/v1/projects/{project}{rest}"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn pack_of(data: &[u8], chunks: &[cairn_core::chunk::Chunk]) -> Vec<u8> {
    let mut b = PackBuilder::new();
    for c in chunks {
        b.push_hashed(c.hash, &data[c.offset as usize..][..c.len as usize]);
    }
    b.finish()
}

fn parts(chunks: &[cairn_core::chunk::Chunk]) -> Vec<Value> {
    chunks.iter().map(|c| json!({"chunk": c.hash})).collect()
}

fn packs_stored(s: &TestServer) -> usize {
    walkdir(&s.data_dir().join("blobs/packs"))
}

fn walkdir(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            if e.path().is_dir() {
                walkdir(&e.path())
            } else {
                1
            }
        })
        .sum()
}

#[tokio::test]
async fn a_blob_goes_up_as_chunks_and_comes_back_whole() {
    let s = TestServer::start().await;
    let v0 = noise(6 << 20, 5);
    let (d0, c0) = chunk_all(&v0);
    let body = pack_of(&v0, &c0);

    // a chunk whose bytes do not match its hash: 422 naming it, nothing stored
    let mut bad = body.clone();
    let last = bad.len() - 10;
    bad[last] ^= 0xff;
    let problem = expect(
        post_pack(&s, "ent/proj", bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains(&c0.last().unwrap().hash.hex()), "{detail}");
    assert_eq!(packs_stored(&s), 0);

    let receipt = expect(
        post_pack(&s, "ent/proj", body.clone()).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(receipt["chunks"], c0.len());
    assert_eq!(receipt["bytes"], v0.len());
    let again = expect(post_pack(&s, "ent/proj", body).await, StatusCode::CREATED).await;
    assert_eq!(
        again["pack"], receipt["pack"],
        "the same pack sent again is the same pack"
    );
    let pack = receipt["pack"].clone();

    // a digest the chunks do not produce: 422 naming it, nothing held
    let lie = json!({"chunker": 1, "packs": [pack], "blobs": [
        {"digest": Digest::of(b"other"), "size": v0.len(), "parts": parts(&c0)}]});
    let problem = expect(
        post(&s, "ent/proj", "/blobs/assemble", lie).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains(&Digest::of(b"other").to_string()),
        "{problem}"
    );
    // another project cannot name this project's pack: its chunks are missing there
    let blob = json!({"digest": d0, "size": v0.len(), "parts": parts(&c0)});
    let out = expect(
        post(
            &s,
            "ent/other",
            "/blobs/assemble",
            json!({"chunker": 1, "packs": [pack], "blobs": [blob]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(out[0]["held"], false);
    assert_eq!(out[0]["missing_chunks"].as_array().unwrap().len(), c0.len());
    // an unknown chunker version is refused
    let v2 = json!({"chunker": 2, "packs": [pack], "blobs": [blob]});
    expect(
        post(&s, "ent/proj", "/blobs/assemble", v2).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    let out = expect(
        post(
            &s,
            "ent/proj",
            "/blobs/assemble",
            json!({"chunker": 1, "packs": [pack], "blobs": [blob]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(out[0]["held"], true, "{out}");
    let manifest = json!({"version": 1, "contents": {"big.bin": {"digest": d0, "size": v0.len()}}});
    let res = s
        .req(Method::POST, &p("/artifacts/big/versions"))
        .json(&json!({"type": "dataset", "manifest": manifest}))
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::CREATED).await;
    let whole = s
        .req(Method::GET, &p("/artifacts/big/versions/v0/files/big.bin"))
        .send()
        .await
        .unwrap();
    assert_eq!(whole.status(), StatusCode::OK);
    assert!(
        whole.bytes().await.unwrap() == v0,
        "the whole file comes back"
    );
    let part = s
        .req(Method::GET, &p("/artifacts/big/versions/v0/files/big.bin"))
        .header("range", "bytes=3000000-3999999")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert!(part.bytes().await.unwrap() == v0[3_000_000..4_000_000]);

    // its chunk list, its segments, and a slice of the list
    let list_of = |q: &'static str| {
        let req = s.req(Method::GET, &p(&format!("/blobs/{d0}/chunks{q}")));
        async move { req.send().await.unwrap().bytes().await.unwrap() }
    };
    let all = cairn_core::chunk::decode_chunk_list(&list_of("").await).unwrap();
    assert_eq!(all, c0);
    let segs = cairn_core::segment::decode_segment_list(&list_of("?segments=true").await).unwrap();
    assert_eq!(segs.iter().map(|s| s.bytes).sum::<u64>(), v0.len() as u64);
    assert_eq!(
        segs.iter().map(|s| s.chunks as usize).sum::<usize>(),
        c0.len()
    );
    let slice = cairn_core::chunk::decode_chunk_list(&list_of("?from=1&count=2").await).unwrap();
    let hashes =
        |cs: &[cairn_core::chunk::Chunk]| cs.iter().map(|c| (c.hash, c.len)).collect::<Vec<_>>();
    assert_eq!(hashes(&slice), hashes(&c0[1..3]));
    let other = s
        .req(
            Method::GET,
            &format!("/api/v1/projects/ent/other/blobs/{d0}/chunks"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        other.status(),
        StatusCode::NOT_FOUND,
        "another project sees no chunk list"
    );

    // v1: an edit in the middle; the registry names what it needs of v0 by segment
    let mut v1 = v0.clone();
    v1[3 << 20..(3 << 20) + 50_000].copy_from_slice(&noise(50_000, 77));
    let (d1, c1) = chunk_all(&v1);
    let segs = segments(c1.iter().map(|c| (c.hash, c.len)));
    let seg_hashes: Vec<_> = segs.iter().map(|s| s.hash).collect();
    // only a base the project holds can be asked about
    let problem = expect(
        post(
            &s,
            "ent/other",
            "/chunks/known",
            json!({"chunker": 1, "bases": [d0], "segments": seg_hashes}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("not a blob this project holds")
    );
    let known = expect(
        post(
            &s,
            "ent/proj",
            "/chunks/known",
            json!({"chunker": 1, "bases": [d0], "segments": seg_hashes}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let missing_segs: Vec<usize> = known["missing_segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    assert!(missing_segs.len() < segs.len(), "{known}");
    let mut asked = Vec::new();
    let mut recipe = Vec::new();
    for (i, seg) in segs.iter().enumerate() {
        if missing_segs.contains(&i) {
            asked.extend_from_slice(&c1[seg.first..seg.first + seg.count]);
            recipe.extend(parts(&c1[seg.first..seg.first + seg.count]));
        } else {
            recipe.push(json!({"segment": seg.hash}));
        }
    }
    let hashes: Vec<_> = asked.iter().map(|c| c.hash).collect();
    let known = expect(
        post(
            &s,
            "ent/proj",
            "/chunks/known",
            json!({"chunker": 1, "bases": [d0], "chunks": hashes}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let send: Vec<_> = known["missing_chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| asked[v.as_u64().unwrap() as usize])
        .collect();
    let sent: usize = send.iter().map(|c| c.len as usize).sum();
    assert!(sent < 500_000, "{sent} bytes for a 50 kB edit");
    let receipt = expect(
        post_pack(&s, "ent/proj", pack_of(&v1, &send)).await,
        StatusCode::CREATED,
    )
    .await;
    let blob = json!({"digest": d1, "size": v1.len(), "parts": recipe});
    let out = expect(
        post(
            &s,
            "ent/proj",
            "/blobs/assemble",
            json!({"chunker": 1, "bases": [d0], "packs": [receipt["pack"]], "blobs": [blob]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(out[0]["held"], true, "{out}");
    let head = s
        .req(Method::HEAD, &p(&format!("/blobs/{d1}")))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_blob_over_the_largest_upload_is_refused_before_assembly() {
    let s = TestServer::with_config(cairn_server::Config {
        max_blob_size: 1000,
        max_upload_size: 2000,
        ..cairn_server::Config::default()
    })
    .await;
    let data = noise(3000, 9);
    let (digest, chunks) = chunk_all(&data);
    let receipt = expect(
        post_pack(&s, "ent/proj", pack_of(&data, &chunks)).await,
        StatusCode::CREATED,
    )
    .await;
    let body = json!({"chunker": 1, "packs": [receipt["pack"]], "blobs": [
        {"digest": digest, "size": data.len(), "parts": parts(&chunks)}]});
    let problem = expect(
        post(&s, "ent/proj", "/blobs/assemble", body).await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    assert!(
        problem["detail"].as_str().unwrap().contains("2000"),
        "{problem}"
    );
    let missing = expect(
        post(
            &s,
            "ent/proj",
            "/blobs/missing",
            json!({"digests": [digest]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(missing["missing"], json!([digest]), "nothing is held");
}
