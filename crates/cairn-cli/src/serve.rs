//! `cairn serve`: open the stores under --data-dir, make sure an admin token exists, serve.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use cairn_server::{AppState, Config};
use cairn_store::{BlobStore, ObjectBlobStore, SqliteStore};

/// Flags of `cairn serve`.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "CAIRN_ADDR")]
    addr: SocketAddr,
    /// Where the database and the blobs live.
    #[arg(long, default_value = "./cairn-data", env = "CAIRN_DATA_DIR")]
    data_dir: PathBuf,
    /// Largest blob a single PUT may carry, in bytes.
    #[arg(long, default_value_t = cairn_server::DEFAULT_MAX_BLOB_SIZE)]
    max_blob_size: u64,
    /// The built web app (Trunk's dist/), served at /.
    #[arg(long, default_value = "dist", env = "CAIRN_WEB_DIR")]
    web_dir: PathBuf,
}

/// Open (creating if needed) the SQLite metadata store under `data_dir`.
pub async fn open_metadata(data_dir: &Path) -> anyhow::Result<SqliteStore> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let db = data_dir.join("cairn.db");
    SqliteStore::open(&db)
        .await
        .with_context(|| format!("opening {}", db.display()))
}

pub async fn run(args: &ServeArgs) -> anyhow::Result<()> {
    let meta = Arc::new(open_metadata(&args.data_dir).await?);
    let blobs = Arc::new(ObjectBlobStore::local(&args.data_dir.join("blobs"))?);
    let cleaned = blobs.clean_staging(Duration::from_secs(3600)).await?;
    if cleaned > 0 {
        tracing::info!(cleaned, "removed interrupted uploads");
    }
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
        "Cairn is running at {url}/ (API: {url}/api/v1/, data: {})",
        args.data_dir.display()
    );
    let state = AppState {
        meta,
        blobs,
        config: Arc::new(Config {
            max_blob_size: args.max_blob_size,
            web_dir: Some(args.web_dir.clone()),
        }),
    };
    axum::serve(listener, cairn_server::router(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
