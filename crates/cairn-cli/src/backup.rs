//! `cairn backup`: a consistent copy of the embedded default (SQLite + the blob folder) taken
//! while the registry runs. The database is copied as one transaction (`VACUUM INTO`); no
//! garbage collection can run meanwhile (the backup holds the collection lock), so every blob
//! the copied database references is still there when the blob folder is copied after it. Blobs
//! uploaded after the database copy may come along too; nothing references them in the backup,
//! and the restored registry's garbage collection frees them.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use cairn_store::MetadataStore;
use serde::Serialize;

use crate::commands::Output;
use crate::serve::Storage;

/// Flags of `cairn backup`.
#[derive(clap::Args, Debug)]
pub struct BackupArgs {
    #[command(flatten)]
    storage: Storage,
    /// The folder to write (must not exist, or be empty); serve it with `--data-dir` to restore.
    #[arg(long)]
    to: PathBuf,
}

#[derive(Serialize)]
struct Report {
    to: PathBuf,
    database_bytes: u64,
    blob_files: u64,
    blob_bytes: u64,
}

/// Copy every file under `from` into `to` (folders made as needed); files and bytes copied.
fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<(u64, u64)> {
    let (mut files, mut bytes) = (0, 0);
    if !from.exists() {
        return Ok((0, 0));
    }
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            let (f, b) = copy_tree(&entry.path(), &target)?;
            files += f;
            bytes += b;
        } else if kind.is_file() {
            bytes += std::fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {}", entry.path().display()))?;
            files += 1;
        }
    }
    Ok((files, bytes))
}

pub async fn run(args: &BackupArgs, out: Output) -> anyhow::Result<()> {
    if args.storage.database_url.is_some() || args.storage.blob_store.is_some() {
        bail!(
            "cairn backup copies the embedded default (--data-dir); back up PostgreSQL with \
             pg_dump and the bucket with your object store's tools (README: Backups)"
        );
    }
    let data = &args.storage.data_dir;
    if !data.join("cairn.db").is_file() {
        bail!(
            "{} holds no cairn.db: is it a registry's --data-dir?",
            data.display()
        );
    }
    if args.to.exists()
        && std::fs::read_dir(&args.to)
            .with_context(|| format!("reading {}", args.to.display()))?
            .next()
            .is_some()
    {
        bail!(
            "{} is not empty: back up into a new folder",
            args.to.display()
        );
    }
    std::fs::create_dir_all(&args.to).with_context(|| format!("creating {}", args.to.display()))?;
    let meta = args.storage.metadata().await?;
    // no collection deletes a blob while the copy runs (commits and uploads go on)
    let lock = meta
        .lock_gc(true)
        .await
        .context("waiting for a garbage collection to finish")?
        .context("the collection lock was not granted")?;
    let db = args.to.join("cairn.db");
    meta.snapshot_into(&db)
        .await
        .with_context(|| format!("copying the database into {}", db.display()))?;
    let (blob_files, blob_bytes) = {
        let (from, to) = (data.join("blobs"), args.to.join("blobs"));
        tokio::task::spawn_blocking(move || copy_tree(&from, &to)).await??
    };
    lock.release().await;
    let report = Report {
        to: args.to.clone(),
        database_bytes: std::fs::metadata(&db)?.len(),
        blob_files,
        blob_bytes,
    };
    out.print(&report, || {
        format!(
            "backed up into {}: the database ({} bytes) and {} blob files ({} bytes); restore \
             with `cairn serve --data-dir {}`",
            report.to.display(),
            report.database_bytes,
            report.blob_files,
            report.blob_bytes,
            report.to.display()
        )
    })
}
