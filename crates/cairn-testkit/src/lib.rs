//! # cairn-testkit
//!
//! A real registry for tests: [`TestServer::start`] opens SQLite and a local blob directory in
//! a temporary directory, serves [`cairn_server::router`] on `127.0.0.1:0`, and hands back its
//! URL, an admin token and a few helpers for the requests every test makes.

pub mod services;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use cairn_core::wire::CommitResponse;
use cairn_core::{Digest, Entry, EntryPath, Manifest};
use cairn_server::{AppState, Config};
use cairn_store::{ObjectBlobStore, Role, SqlStore, TokenRecord};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;

/// The admin token every test server starts with.
pub const ADMIN_TOKEN: &str = "cairn_test_admin";

/// A registry on a loopback port, alive as long as this value.
#[derive(Debug)]
pub struct TestServer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// The bound address.
    pub addr: SocketAddr,
    /// Shared HTTP client.
    pub client: reqwest::Client,
    /// The stores, for tests that look behind the API.
    pub state: AppState,
    /// The data directory (removed on drop).
    pub dir: tempfile::TempDir,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TestServer {
    /// Start with the default configuration.
    pub async fn start() -> Self {
        Self::with_config(Config::default()).await
    }

    /// Start with `config`.
    pub async fn with_config(config: Config) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let meta = SqlStore::open(&dir.path().join("cairn.db"))
            .await
            .expect("open sqlite");
        let blobs = ObjectBlobStore::local(&dir.path().join("blobs")).expect("blob dir");
        Self::serve(meta, blobs, config, dir).await
    }

    /// Start on a SQLite database at `db` and a blob directory at `blobs` (anywhere, e.g. on a
    /// small file system to fill).
    pub async fn on_paths(db: &std::path::Path, blobs: &std::path::Path) -> Self {
        let meta = SqlStore::open(db).await.expect("open sqlite");
        let blobs = ObjectBlobStore::local(blobs).expect("blob dir");
        let dir = tempfile::tempdir().expect("temp dir");
        Self::serve(meta, blobs, Config::default(), dir).await
    }

    /// A replica on shared stores: PostgreSQL at `database_url`, blobs at `blob_location`
    /// (`s3://…`); any number of them may run side by side.
    pub async fn replica(database_url: &str, blob_location: &str) -> Self {
        Self::replica_with_config(database_url, blob_location, Config::default()).await
    }

    /// [`replica`](Self::replica) with `config`.
    pub async fn replica_with_config(
        database_url: &str,
        blob_location: &str,
        config: Config,
    ) -> Self {
        let meta = SqlStore::connect(database_url)
            .await
            .expect("connect to PostgreSQL");
        let blobs = ObjectBlobStore::open(blob_location).expect("open the blob store");
        let dir = tempfile::tempdir().expect("temp dir");
        Self::serve(meta, blobs, config, dir).await
    }

    async fn serve(
        meta: SqlStore,
        blobs: ObjectBlobStore,
        config: Config,
        dir: tempfile::TempDir,
    ) -> Self {
        cairn_server::auth::bootstrap_admin(&meta, Some(ADMIN_TOKEN))
            .await
            .expect("admin token");
        let state = AppState {
            meta: Arc::new(meta),
            blobs: Arc::new(blobs),
            config: Arc::new(config),
            throttle: Default::default(),
            draining: Default::default(),
            quotas: Default::default(),
            streams: Default::default(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let served = state.clone();
        let server = tokio::spawn(async move {
            cairn_server::serve(
                listener,
                served,
                std::future::pending(),
                cairn_server::Drain::default(),
            )
            .await
            .expect("serve");
        });
        Self {
            url: format!("http://{addr}"),
            addr,
            client: reqwest::Client::new(),
            state,
            dir,
            server,
        }
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_owned()
    }

    /// A token with `role` on `entity`.
    pub async fn token(&self, entity: &str, role: Role) -> String {
        let record = TokenRecord::new(
            format!("{entity}-{}", role.as_str()),
            Some(entity.parse().unwrap()),
            role,
        );
        cairn_server::auth::create_token(self.state.meta.as_ref(), &record)
            .await
            .expect("token")
    }

    /// A request to `path` (absolute, e.g. `/api/v1/whoami`) with the admin token.
    pub fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(ADMIN_TOKEN)
    }

    /// `GET path` with no token (and `headers`), as a load balancer's probe or a scraper sends it.
    pub async fn get_public(&self, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut req = self.client.get(format!("{}{path}", self.url));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().await.unwrap()
    }

    /// `GET path` with the admin token, as JSON, expecting `status`.
    pub async fn get_json(&self, path: &str, status: StatusCode) -> Value {
        expect(self.req(Method::GET, path).send().await.unwrap(), status).await
    }

    /// Upload `bytes` as a blob of `/api/v1/projects/{project}` (`entity/project`).
    pub async fn put_blob(&self, project: &str, bytes: &[u8]) -> Digest {
        let d = Digest::of(bytes);
        let res = self
            .req(
                Method::PUT,
                &format!("/api/v1/projects/{project}/blobs/{d}"),
            )
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "upload failed: {}", res.status());
        d
    }

    /// Upload every file and commit them as a new version of `project/name` with `type_`.
    pub async fn commit_files(
        &self,
        project: &str,
        name: &str,
        files: &[(&str, &str)],
    ) -> CommitResponse {
        let mut m = Manifest::new();
        for (path, content) in files {
            let d = self.put_blob(project, content.as_bytes()).await;
            m.insert(
                EntryPath::new(*path).unwrap(),
                Entry::blob(d, content.len() as u64),
            )
            .unwrap();
        }
        let body = serde_json::json!({"type": "dataset", "manifest": m});
        let res = self
            .req(
                Method::POST,
                &format!("/api/v1/projects/{project}/artifacts/{name}/versions"),
            )
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            res.status().is_success(),
            "commit failed: {}",
            res.text().await.unwrap()
        );
        res.json().await.unwrap()
    }
}

/// `len` bytes of xorshift noise from `seed`: data that chunks like real content (no runs), the
/// same for the same seed.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Check the status (showing the body if it differs) and parse the JSON body (`null` if empty).
pub async fn expect(res: Response, status: StatusCode) -> Value {
    let got = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "unexpected status; body: {text}");
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    }
}
