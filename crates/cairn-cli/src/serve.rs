//! `cairn serve`: open the stores under --data-dir, make sure an admin token exists, serve.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use cairn_server::{AppState, Config};
use cairn_store::{BlobStore, MetadataStore, ObjectBlobStore, SqlStore};

/// Where the registry keeps its data (shared by `serve`, `token create` and `gc`).
#[derive(clap::Args, Debug)]
pub struct Storage {
    /// Where the SQLite database and the blobs live (the zero-configuration default).
    #[arg(long, default_value = "./cairn-data", env = "CAIRN_DATA_DIR")]
    pub data_dir: PathBuf,
    /// PostgreSQL for the metadata instead of SQLite (`postgres://user:pass@host/db`); any
    /// number of replicas may share it.
    #[arg(long, env = "CAIRN_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Where blobs live: `s3://bucket/prefix` (endpoint, region and credentials from the
    /// usual `AWS_*` variables) or a directory. Default: `<data-dir>/blobs`.
    #[arg(long, env = "CAIRN_BLOB_STORE")]
    pub blob_store: Option<String>,
}

impl Storage {
    /// The metadata store: PostgreSQL when a URL is given, else SQLite under the data dir.
    pub async fn metadata(&self) -> anyhow::Result<SqlStore> {
        if let Some(url) = &self.database_url {
            return SqlStore::connect(url)
                .await
                .context("connecting to PostgreSQL (--database-url)");
        }
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("creating {}", self.data_dir.display()))?;
        let db = self.data_dir.join("cairn.db");
        SqlStore::open(&db)
            .await
            .with_context(|| format!("opening {}", db.display()))
    }

    /// The blob store.
    pub fn blobs(&self) -> anyhow::Result<ObjectBlobStore> {
        Ok(match &self.blob_store {
            Some(location) => ObjectBlobStore::open(location)
                .with_context(|| format!("opening the blob store {location}"))?,
            None => ObjectBlobStore::local(&self.data_dir.join("blobs"))?,
        })
    }

    fn describe(&self) -> String {
        format!(
            "metadata: {}, blobs: {}",
            if self.database_url.is_some() {
                "PostgreSQL".to_owned()
            } else {
                self.data_dir.join("cairn.db").display().to_string()
            },
            self.blob_store.clone().unwrap_or_else(|| self
                .data_dir
                .join("blobs")
                .display()
                .to_string())
        )
    }
}

/// Flags of `cairn serve`.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "CAIRN_ADDR")]
    addr: SocketAddr,
    #[command(flatten)]
    storage: Storage,
    /// Largest blob a single PUT may carry, in bytes.
    #[arg(long, default_value_t = cairn_server::DEFAULT_MAX_BLOB_SIZE)]
    max_blob_size: u64,
    /// The built web app (Trunk's dist/), served at /.
    #[arg(long, default_value = "dist", env = "CAIRN_WEB_DIR")]
    web_dir: PathBuf,
    /// Do not answer the W&B SDK (`POST /graphql` and its file routes; on by default: point
    /// WANDB_BASE_URL at the registry and use a Cairn token as WANDB_API_KEY).
    #[arg(long, env = "CAIRN_NO_WANDB")]
    no_wandb: bool,
    /// An origin whose pages may call the API from the browser (CORS), e.g.
    /// https://dash.example.com; repeat for more. None: the registry's own origin only.
    #[arg(
        long = "cors-origin",
        env = "CAIRN_CORS_ORIGINS",
        value_delimiter = ','
    )]
    cors_origins: Vec<String>,
    /// An origin that may embed the web app in a frame (CSP frame-ancestors); repeat for more.
    /// None: the registry's own origin only.
    #[arg(
        long = "frame-ancestor",
        env = "CAIRN_FRAME_ANCESTORS",
        value_delimiter = ','
    )]
    frame_ancestors: Vec<String>,
    /// Failed authentications one client address may make per minute before it gets 429
    /// (0: no limit).
    #[arg(long, default_value_t = 30)]
    auth_failures_per_minute: u32,
    /// At start, delete interrupted uploads older than this (`0s`, `30m`, `1h`). Default: all
    /// of them on SQLite (one registry owns the data), `1h` on PostgreSQL (other replicas may
    /// be uploading right now).
    #[arg(long, value_parser = crate::gc::parse_duration)]
    staging_grace: Option<Duration>,
    /// Largest blob a resumable upload session may carry, in bytes.
    #[arg(long, default_value_t = cairn_server::DEFAULT_MAX_UPLOAD_SIZE)]
    max_upload_size: u64,
    /// How long an unfinished upload session is kept (`30m`, `24h`); expired sessions and
    /// their parts are deleted at start and every 10 minutes.
    #[arg(long, default_value = "24h", value_parser = crate::gc::parse_duration)]
    upload_ttl: Duration,
    /// A load balancer or proxy (address or range, `10.0.0.0/8`; repeatable) whose
    /// `X-Forwarded-For` / `Forwarded` headers name the client (the right-most hop that is not
    /// itself trusted); from anyone else they are ignored.
    #[arg(long = "trusted-proxy", value_parser = parse_cidr)]
    trusted_proxies: Vec<cairn_server::proxy::Cidr>,
    /// Log lines as human-readable `text`, or `json` (one object a line, with the request's
    /// method, URI and request id: `X-Request-Id` if the client sent one, else a fresh UUID,
    /// returned in the response).
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Close a connection whose request headers do not all arrive within this long (`30s`).
    #[arg(long, default_value = "30s", value_parser = crate::gc::parse_duration)]
    header_timeout: Duration,
    /// Drop a request whose body sends nothing for this long (`60s`); nothing of it is kept.
    #[arg(long, default_value = "60s", value_parser = crate::gc::parse_duration)]
    body_timeout: Duration,
    /// Largest JSON body (a commit's manifest, an upsert): `1GiB`, `200MB`, bytes; 413 over it.
    #[arg(long, default_value = "1GiB", value_parser = crate::commands::quota::parse_size)]
    max_json_body: u64,
    /// Most entries one commit or upsert may carry (413 over it; many more go in as upserts
    /// of one distributed version).
    #[arg(long, default_value_t = 10_000_000)]
    max_manifest_entries: u64,
    /// Where a commit's manifest is sorted on disk while it arrives (room for the largest
    /// manifest's JSON). Default: `<data-dir>/spool` on SQLite, the system's temporary folder
    /// with --database-url.
    #[arg(long, env = "CAIRN_SPOOL_DIR")]
    spool_dir: Option<PathBuf>,
    /// Bytes of large JSON bodies (1 MiB and up) read and parsed at once: an upsert or a patch
    /// takes its size of it while it is parsed (a few times that in memory), a full-manifest
    /// commit at most 64 MiB (its manifest is spooled); others wait up to 30 s, then get 503
    /// with Retry-After.
    #[arg(long, default_value = "4GiB", value_parser = crate::commands::quota::parse_size)]
    json_memory: u64,
    /// Requests a second one token may make (bursts of twice that; 0: no limit); past it,
    /// 429 with Retry-After, and the clients wait and retry.
    #[arg(long, env = "CAIRN_TOKEN_RATE", default_value_t = 1000)]
    token_rate: u32,
    /// Uploads (blob PUTs, packs, session parts) one token may run at once (0: no limit).
    #[arg(long, env = "CAIRN_TOKEN_UPLOADS", default_value_t = 64)]
    token_uploads: u32,
    /// On SIGTERM or SIGINT, first keep serving this long (`5s`) while `/api/v1/ready` answers
    /// 503 and every response closes its connection: load balancers take the replica out and
    /// keep-alive clients reconnect to another one before this one stops accepting. Set it a
    /// little above the load balancer's health-check interval times its failure threshold.
    #[arg(long, default_value = "0s", value_parser = crate::gc::parse_duration)]
    shutdown_delay: Duration,
    /// Then stop accepting and give the requests in flight this long to finish (`30s`, `2m`)
    /// before exiting.
    #[arg(long, default_value = "30s", value_parser = crate::gc::parse_duration)]
    shutdown_grace: Duration,
}

/// Delete what a killed `cairn gc` doomed but did not delete (uploads of those bytes wait for
/// it), unless a collection is running now.
async fn finish_interrupted_gc(meta: &dyn MetadataStore, blobs: &dyn BlobStore) {
    match cairn_store::finish_interrupted(meta, blobs).await {
        Ok(Some(n)) if n > 0 => tracing::info!(blobs = n, "finished an interrupted collection"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "finishing an interrupted collection"),
    }
}

pub async fn run(args: &ServeArgs) -> anyhow::Result<()> {
    let meta = Arc::new(args.storage.metadata().await?);
    let blobs = Arc::new(args.storage.blobs()?);
    let grace = args
        .staging_grace
        .unwrap_or(if args.storage.database_url.is_some() {
            Duration::from_secs(3600)
        } else {
            Duration::ZERO
        });
    let cleaned = blobs.clean_staging(grace).await?;
    if cleaned > 0 {
        tracing::info!(cleaned, "removed interrupted uploads");
    }
    let expired = blobs.clean_uploads().await?;
    if expired > 0 {
        tracing::info!(expired, "removed expired upload sessions");
    }
    finish_interrupted_gc(meta.as_ref(), blobs.as_ref()).await;
    let (sweep_meta, sweeper) = (meta.clone(), blobs.clone());
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(600));
        every.tick().await;
        loop {
            every.tick().await;
            match sweeper.clean_uploads().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(expired = n, "removed expired upload sessions"),
                Err(e) => tracing::warn!(error = %e, "cleaning upload sessions"),
            }
            finish_interrupted_gc(sweep_meta.as_ref(), sweeper.as_ref()).await;
        }
    });
    let configured = std::env::var("CAIRN_ADMIN_TOKEN")
        .ok()
        .filter(|t| !t.is_empty());
    let fresh = cairn_server::auth::bootstrap_admin(meta.as_ref(), configured.as_deref()).await?;
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("listening on {}", args.addr))?;
    let url = format!("http://{}", listener.local_addr()?);
    if let Some(token) = fresh {
        println!("Created the admin token (shown only this once; keep it):\n\n    {token}\n");
        println!("Open the web app signed in: {url}/#token={token}\n");
    }
    println!(
        "Cairn is running at {url}/ (API: {url}/api/v1/; {})",
        args.storage.describe()
    );
    let state = AppState {
        meta,
        blobs,
        config: Arc::new(Config {
            max_blob_size: args.max_blob_size,
            web_dir: Some(args.web_dir.clone()),
            cors_origins: args.cors_origins.clone(),
            frame_ancestors: args.frame_ancestors.clone(),
            auth_failures_per_minute: args.auth_failures_per_minute,
            trusted_proxies: args.trusted_proxies.clone(),
            max_upload_size: args.max_upload_size,
            upload_part_size: cairn_core::wire::DEFAULT_PART_SIZE,
            upload_ttl: args.upload_ttl,
            body_timeout: args.body_timeout,
            max_json_body: args.max_json_body,
            max_manifest_entries: args.max_manifest_entries,
            spool_dir: args.spool_dir.clone().or_else(|| {
                args.storage
                    .database_url
                    .is_none()
                    .then(|| args.storage.data_dir.join("spool"))
            }),
            json_memory: args.json_memory,
            token_rate: args.token_rate,
            token_uploads: args.token_uploads,
            header_timeout: args.header_timeout,
            ..Config::default()
        }),
        throttle: Default::default(),
        draining: Default::default(),
        quotas: Default::default(),
        streams: Default::default(),
    };
    let drain = cairn_server::Drain {
        delay: args.shutdown_delay,
        grace: args.shutdown_grace,
    };
    let extra = if args.no_wandb {
        cairn_wandb::disabled()
    } else {
        cairn_wandb::router()
    };
    cairn_server::serve_with(listener, state, extra, stop_signal(), drain).await?;
    Ok(())
}

/// SIGTERM (Kubernetes, systemd, `docker stop`) or SIGINT (Ctrl-C).
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn parse_cidr(s: &str) -> Result<cairn_server::proxy::Cidr, String> {
    s.parse()
}

/// How `cairn serve` writes its log.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// For people.
    Text,
    /// For log pipelines.
    Json,
}
