//! The few API calls the workload makes, with errors that say which call failed and how.

use cairn_core::wire::{
    AliasTarget, AssembleOutcome, AssembleRequest, BlobRecipe, CommitRequest, CommitResponse,
    MissingBlobs, PackReceipt, RecipePart, UpsertRequest, Version, VersionList,
};
use cairn_core::{ArtifactName, Digest, Manifest};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// What went wrong talking to the registry.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No answer: connection refused or reset, timeout (the registry was killed, say).
    #[error("{call}: {source}")]
    Transport {
        /// The call, e.g. `PUT blob`.
        call: &'static str,
        /// Why.
        source: reqwest::Error,
    },
    /// An answer, but not the expected one.
    #[error("{call}: {status}: {body}")]
    Status {
        /// The call.
        call: &'static str,
        /// Its status.
        status: StatusCode,
        /// Its body.
        body: String,
    },
    /// The registry answered with bytes or digests that don't match what was stored.
    #[error("{0}")]
    Corrupt(String),
}

impl Error {
    /// The call that got no answer (so it may or may not have taken effect): `None` when
    /// the registry did answer.
    pub fn unanswered(&self) -> Option<&'static str> {
        match self {
            Self::Transport { call, .. } => Some(call),
            _ => None,
        }
    }
}

/// The calls waiting on an answer from the registry right now, by name (`POST versions`):
/// the crash harness aims some kills at a call of one kind.
#[derive(Debug, Default)]
pub struct InFlight {
    calls: Mutex<BTreeMap<&'static str, usize>>,
    started: Notify,
}

impl InFlight {
    fn start(&self, call: &'static str) -> Waiting<'_> {
        *self.calls.lock().unwrap().entry(call).or_default() += 1;
        self.started.notify_waiters();
        Waiting {
            in_flight: self,
            call,
        }
    }

    /// Returns once a `call` is waiting on an answer (at once when one already is).
    pub async fn wait_for(&self, call: &str) {
        loop {
            let started = self.started.notified();
            if self.calls.lock().unwrap().get(call).is_some_and(|n| *n > 0) {
                return;
            }
            started.await;
        }
    }
}

/// One call waiting on its answer; dropped when it has one (or gives up).
struct Waiting<'a> {
    in_flight: &'a InFlight,
    call: &'static str,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut calls = self.in_flight.calls.lock().unwrap();
        if let Some(n) = calls.get_mut(self.call) {
            *n -= 1;
        }
    }
}

/// Result of a registry call.
pub type Result<T> = std::result::Result<T, Error>;

/// One project of one registry, as a token sees it.
#[derive(Clone, Debug)]
pub struct Registry {
    base: String,
    token: String,
    project: String,
    http: reqwest::Client,
    in_flight: Arc<InFlight>,
}

impl Registry {
    /// `url` is the registry (`http://127.0.0.1:8080`), `project` is `entity/project`.
    pub fn new(url: &str, token: &str, project: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .expect("an HTTP client");
        Self {
            base: url.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            project: project.to_owned(),
            http,
            in_flight: Arc::default(),
        }
    }

    /// Share `in_flight` with other registries, so one watcher sees all their calls.
    pub fn with_in_flight(mut self, in_flight: Arc<InFlight>) -> Self {
        self.in_flight = in_flight;
        self
    }

    /// `entity/project`.
    pub fn project(&self) -> &str {
        &self.project
    }

    fn req(&self, method: Method, rest: &str) -> RequestBuilder {
        self.http
            .request(
                method,
                format!("{}/api/v1/projects/{}{rest}", self.base, self.project),
            )
            .bearer_auth(&self.token)
    }

    async fn send(&self, call: &'static str, req: RequestBuilder) -> Result<reqwest::Response> {
        let _waiting = self.in_flight.start(call);
        let res = req
            .send()
            .await
            .map_err(|source| Error::Transport { call, source })?;
        if res.status().is_success() {
            return Ok(res);
        }
        let status = res.status();
        let body = res.text().await.unwrap_or_default();
        Err(Error::Status { call, status, body })
    }

    async fn json<T: DeserializeOwned>(
        &self,
        call: &'static str,
        req: RequestBuilder,
    ) -> Result<T> {
        self.send(call, req)
            .await?
            .json()
            .await
            .map_err(|source| Error::Transport { call, source })
    }

    /// A whole success body.
    async fn bytes(&self, call: &'static str, req: RequestBuilder) -> Result<bytes::Bytes> {
        self.send(call, req)
            .await?
            .bytes()
            .await
            .map_err(|source| Error::Transport { call, source })
    }

    /// Upload `bytes` as a blob (waiting while a collection deletes the same bytes: 503).
    pub async fn put_blob(&self, bytes: Vec<u8>) -> Result<Digest> {
        let digest = Digest::of(&bytes);
        let mut tries = 0;
        loop {
            let put = self
                .req(Method::PUT, &format!("/blobs/{digest}"))
                .body(bytes.clone());
            match self.send("PUT blob", put).await {
                Ok(_) => return Ok(digest),
                Err(Error::Status { status, .. })
                    if status == StatusCode::SERVICE_UNAVAILABLE && tries < 100 =>
                {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Upload `bytes` as chunks: one pack, then an assembly naming its chunks (again while a
    /// collection deletes the same bytes, or collected the pack before the assembly).
    pub async fn put_chunked(&self, bytes: Vec<u8>) -> Result<Digest> {
        let (digest, chunks) = cairn_core::chunk::chunk_all(&bytes);
        let mut pack = cairn_core::pack::PackBuilder::new();
        let mut seen = std::collections::HashSet::new();
        for c in chunks.iter().filter(|c| seen.insert(c.hash)) {
            pack.push_hashed(c.hash, &bytes[c.offset as usize..][..c.len as usize]);
        }
        let body = bytes::Bytes::from(pack.finish());
        let parts: Vec<RecipePart> = chunks.iter().map(|c| RecipePart::Chunk(c.hash)).collect();
        let mut tries = 0;
        loop {
            tries += 1;
            let receipt: PackReceipt = self
                .json(
                    "POST packs",
                    self.req(Method::POST, "/packs").body(body.clone()),
                )
                .await?;
            let request = AssembleRequest {
                chunker: 1,
                bases: vec![],
                packs: vec![receipt.pack],
                blobs: vec![BlobRecipe {
                    digest,
                    size: bytes.len() as u64,
                    parts: parts.clone(),
                }],
            };
            let assembled = self
                .json::<Vec<AssembleOutcome>>(
                    "POST blobs/assemble",
                    self.req(Method::POST, "/blobs/assemble").json(&request),
                )
                .await;
            match assembled {
                Ok(out) if out.first().is_some_and(|o| o.held) => return Ok(digest),
                // the pack was collected before the assembly: send it again
                Ok(_) if tries < 100 => {}
                Err(Error::Status { status, .. })
                    if status == StatusCode::SERVICE_UNAVAILABLE && tries < 100 =>
                {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Ok(out) => {
                    return Err(Error::Status {
                        call: "POST blobs/assemble",
                        status: StatusCode::CONFLICT,
                        body: format!("still missing after {tries} tries: {out:?}"),
                    });
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Whether the project holds the blob.
    pub async fn has_blob(&self, digest: &Digest) -> Result<bool> {
        let res = self
            .req(Method::HEAD, &format!("/blobs/{digest}"))
            .send()
            .await
            .map_err(|source| Error::Transport {
                call: "HEAD blob",
                source,
            })?;
        Ok(res.status().is_success())
    }

    /// The subset of `digests` the project lacks.
    pub async fn missing(&self, digests: Vec<Digest>) -> Result<Vec<Digest>> {
        let asked = MissingBlobs {
            digests,
            missing: vec![],
        };
        let answer: MissingBlobs = self
            .json(
                "POST blobs/missing",
                self.req(Method::POST, "/blobs/missing").json(&asked),
            )
            .await?;
        Ok(answer.missing)
    }

    /// Commit a version (whole manifest or patch).
    pub async fn commit(
        &self,
        name: &ArtifactName,
        body: &CommitRequest,
    ) -> Result<CommitResponse> {
        let path = format!("/artifacts/{name}/versions");
        self.json("POST versions", self.req(Method::POST, &path).json(body))
            .await
    }

    /// Add entries to the distributed version `id`.
    pub async fn upsert(&self, name: &ArtifactName, id: &str, body: &UpsertRequest) -> Result<()> {
        let path = format!("/artifacts/{name}/distributed/{id}/upsert");
        self.send("POST upsert", self.req(Method::POST, &path).json(body))
            .await?;
        Ok(())
    }

    /// Commit the distributed version `id`.
    pub async fn finish(&self, name: &ArtifactName, id: &str) -> Result<CommitResponse> {
        let path = format!("/artifacts/{name}/distributed/{id}/finish");
        let body = UpsertRequest::default();
        self.json("POST finish", self.req(Method::POST, &path).json(&body))
            .await
    }

    /// Point `alias` at `vN`.
    pub async fn set_alias(&self, name: &ArtifactName, alias: &str, index: u64) -> Result<()> {
        let path = format!("/artifacts/{name}/aliases/{alias}");
        let body = AliasTarget {
            version: cairn_core::VersionIndex(index),
        };
        self.send("PUT alias", self.req(Method::PUT, &path).json(&body))
            .await?;
        Ok(())
    }

    /// One version (`reference` is `vN` or an alias).
    pub async fn version(&self, name: &ArtifactName, reference: &str) -> Result<Version> {
        let path = format!("/artifacts/{name}/versions/{reference}");
        self.json("GET version", self.req(Method::GET, &path)).await
    }

    /// Every committed version, oldest first (all pages).
    pub async fn versions(&self, name: &ArtifactName) -> Result<Vec<Version>> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut path = format!("/artifacts/{name}/versions?limit=1000");
            if let Some(a) = &after {
                path.push_str(&format!("&after={a}"));
            }
            let page: VersionList = self
                .json("GET versions", self.req(Method::GET, &path))
                .await?;
            all.extend(page.versions);
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(all),
            }
        }
    }

    /// The manifest of `vN`.
    pub async fn manifest(&self, name: &ArtifactName, index: u64) -> Result<Manifest> {
        let path = format!("/artifacts/{name}/versions/v{index}/manifest");
        let bytes = self
            .bytes("GET manifest", self.req(Method::GET, &path))
            .await?;
        Manifest::from_json(&bytes)
            .map_err(|e| Error::Corrupt(format!("{name}:v{index} manifest: {e}")))
    }

    /// Download `path` of `vN` and check its bytes against `digest`.
    pub async fn download(
        &self,
        name: &ArtifactName,
        index: u64,
        path: &str,
        digest: &Digest,
    ) -> Result<u64> {
        let url = format!("/artifacts/{name}/versions/v{index}/files/{path}");
        let bytes = self.bytes("GET file", self.req(Method::GET, &url)).await?;
        let got = Digest::of(&bytes);
        if &got != digest {
            return Err(Error::Corrupt(format!(
                "{name}:v{index}/{path}: expected {digest}, the registry sent bytes hashing to {got}"
            )));
        }
        Ok(bytes.len() as u64)
    }
}
