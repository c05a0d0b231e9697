//! # cairn-client
//!
//! The Rust SDK of Cairn, shaped like W&B Artifacts: start a [`Run`], build an [`Artifact`]
//! from files, folders and references, and `log_artifact` it; fetch a version with
//! [`Api::artifact`], `new_draft()` from it, change a few files and log only the patch; let many
//! runs `upsert_artifact` and one `finish_artifact`; `download` (verified) and `verify` copies.
//!
//! Files are hashed on every core; only blobs the registry lacks are uploaded (bounded
//! concurrency, retries with backoff), and a version is committed only after all its blobs are
//! stored.
//!
//! ```no_run
//! # async fn demo() -> cairn_client::Result<()> {
//! use cairn_client::{Api, Artifact, Run, RunOptions};
//!
//! let api = Api::from_env()?; // CAIRN_HOST, CAIRN_TOKEN, CAIRN_ENTITY, CAIRN_PROJECT
//! let run = Run::init(&api, RunOptions { job_type: Some("preprocess".into()), ..Default::default() }).await?;
//! let mut data = Artifact::new("images", "dataset")?;
//! data.add_dir("data/images", Some("images"))?;
//! let v = run.log_artifact(&data, &["best"]).await?;
//! println!("{} ({} files uploaded)", v.version, v.transfer.uploaded_files);
//!
//! let mut draft = run.use_artifact("images:latest").await?.new_draft();
//! draft.remove("images/broken")?;
//! draft.replace_file("fixed/label.json", Some("images/label.json"))?;
//! run.log_artifact(&draft, &[]).await?; // sends the patch and the one new blob
//! # Ok(()) }
//! ```

mod api;
mod artifact;
#[cfg(feature = "bars")]
mod bars;
mod browse;
mod chunked;
mod config;
mod delta;
mod error;
mod hashing;
mod http;
mod journal;
mod packer;
mod progress;
mod reference;
mod root;
mod stat_cache;
mod upload;
mod version;

pub use api::{Api, CommitOutcome, Run, RunOptions, UpsertOutcome};
pub use artifact::Artifact;
#[cfg(feature = "bars")]
pub use bars::Bars;
pub use config::Config;
pub use error::{Error, Result};
pub use hashing::{hash_file, hash_files};
pub use http::{Http, ProjectRef};
pub use progress::{Phase, Progress, Silent};
pub use upload::Transfer;
pub use version::{ArtifactVersion, DownloadReport, VerifyReport};
