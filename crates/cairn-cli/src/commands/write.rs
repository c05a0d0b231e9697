//! put, draft, upsert, finish: commands that make versions.

use std::path::Path;
use std::sync::Arc;

use cairn_client::{Api, Artifact, CommitOutcome, Progress, ProjectRef};
use cairn_core::{Alias, DistributedId};

use super::{Output, collection, path_and_name};

/// What the files of a version come from.
#[derive(clap::Args, Debug)]
pub struct Meta {
    /// An alias for the version (repeatable); `latest` is always added.
    #[arg(long = "alias")]
    pub aliases: Vec<String>,
    /// Description of the version.
    #[arg(long)]
    pub description: Option<String>,
    /// Follow symbolic links to folders inside the folders added (a folder reached twice is
    /// skipped); by default they are skipped, with a warning. Links to files always add the
    /// file's content.
    #[arg(long)]
    pub follow_symlinks: bool,
}

fn apply_meta(a: &mut Artifact, meta: &Meta) -> anyhow::Result<()> {
    a.aliases = meta
        .aliases
        .iter()
        .map(|s| s.parse())
        .collect::<Result<Vec<Alias>, _>>()?;
    a.description = meta.description.clone();
    Ok(())
}

/// Add `PATH[:NAME]`s: directories with their contents, files by name; warn on stderr about
/// what a directory left out.
fn add_paths(a: &mut Artifact, args: &[String], replace: bool, meta: &Meta) -> anyhow::Result<()> {
    a.follow_symlinks = meta.follow_symlinks;
    for arg in args {
        let (path, name) = path_and_name(arg);
        if path.is_dir() {
            if replace {
                anyhow::bail!("--replace takes files, not directories: {}", path.display());
            }
            a.add_dir(&path, name.as_deref())?;
        } else if !path.exists() {
            anyhow::bail!("{}: no such file or directory", path.display());
        } else if replace {
            a.replace_file(&path, name.as_deref())?;
        } else {
            a.add_file(&path, name.as_deref())?;
        }
    }
    for skipped in std::mem::take(&mut a.skipped) {
        eprintln!("warning: skipped {skipped}");
    }
    Ok(())
}

fn human_size(bytes: u64) -> String {
    indicatif::HumanBytes(bytes).to_string()
}

fn report(out: Output, o: &CommitOutcome) -> anyhow::Result<()> {
    for w in &o.warnings {
        eprintln!("warning: {w}");
    }
    out.print(o, || {
        let what = if o.created {
            "created"
        } else {
            "unchanged: same content as"
        };
        format!(
            "{what} {} (digest {}, aliases {})\n{}",
            o.version,
            o.digest,
            o.aliases
                .iter()
                .map(Alias::as_str)
                .collect::<Vec<_>>()
                .join(", "),
            transfer_line(&o.transfer)
        )
    })
}

/// `uploaded 3 files (sent 1.0 MiB; 2.0 GiB already on the registry), reused 7`
fn transfer_line(t: &cairn_client::Transfer) -> String {
    let mut sent = format!("sent {}", human_size(t.uploaded_bytes));
    let there = t.reused_bytes + t.resumed_bytes;
    if there > 0 {
        sent.push_str(&format!("; {} already on the registry", human_size(there)));
    }
    format!(
        "uploaded {} files ({sent}), reused {}",
        t.uploaded_files, t.reused_files
    )
}

fn new_artifact(
    api: &Api,
    name: &str,
    type_: &str,
    progress: &Arc<dyn Progress>,
) -> anyhow::Result<(ProjectRef, Artifact)> {
    let (project, name) = collection(api, name)?;
    Ok((
        project,
        Artifact::new(name.as_str(), type_)?.with_progress(progress.clone()),
    ))
}

/// `cairn put PATH... --name N --type T`.
pub async fn put(
    api: &Api,
    out: Output,
    progress: &Arc<dyn Progress>,
    paths: &[String],
    name: &str,
    type_: &str,
    meta: &Meta,
) -> anyhow::Result<()> {
    let (project, mut a) = new_artifact(api, name, type_, progress)?;
    add_paths(&mut a, paths, false, meta)?;
    apply_meta(&mut a, meta)?;
    report(out, &api.commit(&project, &a, &[], None).await?)
}

/// `cairn draft name:ref --add … --remove …`.
pub async fn draft(
    api: &Api,
    out: Output,
    base: &str,
    removes: &[String],
    replaces: &[String],
    adds: &[String],
    meta: &Meta,
) -> anyhow::Result<()> {
    let version = api.artifact(base).await?;
    let mut a = version.new_draft();
    for r in removes {
        a.remove(r)?;
    }
    add_paths(&mut a, replaces, true, meta)?;
    add_paths(&mut a, adds, false, meta)?;
    apply_meta(&mut a, meta)?;
    report(out, &api.commit(version.project(), &a, &[], None).await?)
}

/// The arguments of `cairn upsert` and `cairn finish`.
#[derive(clap::Args, Debug)]
pub struct Distributed {
    /// Files and folders (PATH or PATH:NAME).
    paths: Vec<String>,
    /// [entity/project/]name
    #[arg(long)]
    name: String,
    /// The artifact type.
    #[arg(long = "type")]
    type_: String,
    /// The id every run of the distributed version shares.
    #[arg(long)]
    distributed_id: String,
    #[command(flatten)]
    meta: Meta,
}

/// `cairn upsert` and `cairn finish`.
pub async fn distributed(
    api: &Api,
    out: Output,
    progress: &Arc<dyn Progress>,
    finish: bool,
    args: &Distributed,
) -> anyhow::Result<()> {
    let (project, mut a) = new_artifact(api, &args.name, &args.type_, progress)?;
    add_paths(&mut a, &args.paths, false, &args.meta)?;
    apply_meta(&mut a, &args.meta)?;
    let id: DistributedId = args.distributed_id.parse()?;
    if finish {
        report(out, &api.finish(&project, &a, &id, None).await?)
    } else {
        let o = api.upsert(&project, &a, &id, None).await?;
        out.print(&o, || {
            format!(
                "pending '{id}': {} files; {}",
                o.file_count,
                transfer_line(&o.transfer)
            )
        })
    }
}

/// Where `get` puts a version by default.
pub fn default_root(name: &str, version: &str) -> std::path::PathBuf {
    Path::new("artifacts").join(format!("{name}-{version}"))
}
