//! `cairn`: run the registry, manage its tokens, and use it: put, draft, upsert, finish, get,
//! verify, ls, alias, diff, quota, login.

mod backup;
mod commands;
mod gc;
mod serve;

use std::path::PathBuf;
use std::sync::Arc;

use cairn_client::{Api, Config, Progress};
use clap::{Parser, Subcommand};
use commands::{Output, browse, fetch, write};

#[derive(Parser, Debug)]
#[command(
    name = "cairn",
    version,
    about = "Cairn: an artifact registry for datasets and models"
)]
struct Cli {
    /// Print results as JSON.
    #[arg(long, global = true)]
    json: bool,
    /// Registry URL (else CAIRN_HOST, else the login file).
    #[arg(long, global = true)]
    host: Option<String>,
    /// Token (else CAIRN_TOKEN, else the login file).
    #[arg(long, global = true)]
    token: Option<String>,
    /// On failure, print every cause and, with RUST_BACKTRACE=1, where it happened.
    #[arg(long, short, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the registry (SQLite + local disk under --data-dir, zero configuration; or
    /// PostgreSQL + S3 for several replicas).
    Serve(serve::ServeArgs),
    /// Delete blobs no version references, older than a grace period (safe while serving).
    Gc(gc::GcArgs),
    /// Copy the embedded default's database and blobs into a new folder, consistently, while
    /// the registry runs (`cairn serve --data-dir` that folder restores it).
    Backup(backup::BackupArgs),
    /// Manage access tokens (on the registry's machine).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Save the registry URL and token for later commands.
    Login {
        /// Default entity for short names.
        #[arg(long)]
        entity: Option<String>,
        /// Default project for short names.
        #[arg(long)]
        project: Option<String>,
    },
    /// Make a new version from files and folders (PATH or PATH:NAME).
    Put {
        #[arg(required = true)]
        paths: Vec<String>,
        /// [entity/project/]name
        #[arg(long)]
        name: String,
        /// The artifact type.
        #[arg(long = "type")]
        type_: String,
        #[command(flatten)]
        meta: write::Meta,
    },
    /// Make a new version from an existing one, sending only the changes.
    Draft {
        /// [entity/project/]name:ref to start from.
        base: String,
        /// Add a file or folder (PATH or PATH:NAME; repeatable).
        #[arg(long = "add")]
        adds: Vec<String>,
        /// Replace a file (PATH or PATH:NAME; repeatable).
        #[arg(long = "replace")]
        replaces: Vec<String>,
        /// Remove a file, or every file under a folder (repeatable).
        #[arg(long = "remove")]
        removes: Vec<String>,
        #[command(flatten)]
        meta: write::Meta,
    },
    /// Add files to a pending distributed version.
    Upsert(write::Distributed),
    /// Commit a pending distributed version (with any more files).
    Finish(write::Distributed),
    /// Download a version (verified; correct files are skipped).
    Get {
        /// [entity/project/]name[:ref]
        path: String,
        /// Where to put it (default: artifacts/<name>-<vN>).
        #[arg(long)]
        root: Option<PathBuf>,
    },
    /// Check a local copy against a version.
    Verify { path: String, dir: PathBuf },
    /// List a project's artifacts, or an artifact's versions.
    Ls { path: Option<String> },
    /// Set or remove aliases.
    #[command(subcommand)]
    Alias(AliasCommand),
    /// What changes from one version to another.
    Diff { from: String, to: String },
    /// A download link to one file of a version: a URL that needs no token for an hour.
    Link {
        /// The version (`name:ref`, `project/name:ref` or `entity/project/name:ref`).
        path: String,
        /// The file's path in it.
        file: String,
    },
    /// A project's storage quota and what it holds (setting it takes an admin token).
    #[command(subcommand)]
    Quota(QuotaCommand),
}

#[derive(Subcommand, Debug)]
enum QuotaCommand {
    /// What the project holds, and its quota.
    Show {
        /// entity/project (default: CAIRN_ENTITY/CAIRN_PROJECT)
        #[arg(default_value = "")]
        project: String,
    },
    /// Refuse uploads that would take the project over SIZE (`500GiB`, `2TB`, bytes).
    Set {
        /// entity/project
        project: String,
        #[arg(value_parser = commands::quota::parse_size)]
        size: u64,
    },
    /// Lift the project's quota.
    Clear {
        /// entity/project
        project: String,
    },
}

#[derive(Subcommand, Debug)]
enum AliasCommand {
    /// Point ALIAS at name:ref.
    Set { path: String, alias: String },
    /// Remove ALIAS from name.
    Rm { path: String, alias: String },
}

#[derive(Subcommand, Debug)]
enum TokenCommand {
    /// Make a scoped token and print it (it is shown only once).
    Create {
        /// The entity it reaches (omit for every entity; only with --role admin).
        #[arg(long)]
        entity: Option<String>,
        /// Limit it to this one project of the entity.
        #[arg(long, requires = "entity")]
        project: Option<String>,
        /// read, write or admin.
        #[arg(long, default_value = "read")]
        role: String,
        /// Make it stop working after this long (`90s`, `30m`, `12h`, `7d`).
        #[arg(long, value_parser = gc::parse_duration)]
        expires_in: Option<std::time::Duration>,
        /// Who or what the token is for.
        #[arg(long, default_value = "token")]
        name: String,
        #[command(flatten)]
        storage: serve::Storage,
    },
}

fn config(cli: &Cli) -> anyhow::Result<Config> {
    let mut config = match Config::load() {
        Ok(c) => c,
        Err(_) if cli.token.is_some() => Config {
            host: "http://127.0.0.1:8080".into(),
            ..Config::default()
        },
        Err(e) => return Err(e.into()),
    };
    if let Some(h) = &cli.host {
        config.host = h.clone();
    }
    if let Some(t) = &cli.token {
        config.token = t.clone();
    }
    Ok(config)
}

/// One clean `error: …` line (the causes joined), whatever RUST_BACKTRACE says; the whole
/// report with `--verbose`.
#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(&cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) if cli.verbose => {
            eprintln!("error: {e:?}");
            std::process::ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: &Cli) -> anyhow::Result<()> {
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into()),
        )
        .with_writer(std::io::stderr);
    match &cli.command {
        // one JSON object a line, the request's span (with its request id) on each
        Command::Serve(args) if args.log_format == serve::LogFormat::Json => {
            logs.json().with_current_span(true).init()
        }
        _ => logs.init(),
    }
    let out = Output { json: cli.json };
    let progress: Arc<dyn Progress> = Arc::new(cairn_client::Bars::new(cli.json));
    let api =
        || -> anyhow::Result<Api> { Ok(Api::new(&config(cli)?)?.with_progress(progress.clone())) };
    match &cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Gc(args) => gc::run(args, out).await,
        Command::Backup(args) => backup::run(args, out).await,
        Command::Token(TokenCommand::Create {
            entity,
            project,
            role,
            expires_in,
            name,
            storage,
        }) => {
            let entity = entity
                .as_deref()
                .map(str::parse::<cairn_core::Entity>)
                .transpose()?;
            let role: cairn_store::Role = role.parse()?;
            if entity.is_none() && role != cairn_store::Role::Admin {
                anyhow::bail!("a token for every entity must be an admin token: pass --entity E");
            }
            let meta = storage.metadata().await?;
            let record = cairn_store::TokenRecord {
                project: project
                    .as_deref()
                    .map(str::parse::<cairn_core::Project>)
                    .transpose()?,
                expires_at: expires_in.map(|d| cairn_server::auth::now_secs() + d.as_secs() as i64),
                ..cairn_store::TokenRecord::new(name.clone(), entity, role)
            };
            let token = cairn_server::auth::create_token(&meta, &record).await?;
            let answer = cairn_core::wire::TokenResponse {
                expires_at: record.expires_at.map(cairn_server::auth::rfc3339),
                token,
            };
            out.print(&answer, || answer.token.clone())?;
            Ok(())
        }
        Command::Login { entity, project } => {
            let mut c = Config {
                host: cli
                    .host
                    .clone()
                    .or_else(|| std::env::var("CAIRN_HOST").ok())
                    .unwrap_or_else(|| "http://127.0.0.1:8080".into()),
                token: cli
                    .token
                    .clone()
                    .or_else(|| std::env::var("CAIRN_TOKEN").ok())
                    .ok_or_else(|| anyhow::anyhow!("pass --token (or set CAIRN_TOKEN)"))?,
                entity: entity.as_deref().map(str::parse).transpose()?,
                project: project.as_deref().map(str::parse).transpose()?,
            };
            c.host = c.host.trim_end_matches('/').to_owned();
            let who: cairn_core::wire::Whoami =
                Api::new(&c)?.http().json_get("/api/v1/whoami").await?;
            let path = c.save()?;
            out.print(&who, || {
                format!(
                    "logged in to {} as {} (saved in {})",
                    c.host,
                    who.user,
                    path.display()
                )
            })
        }
        Command::Put {
            paths,
            name,
            type_,
            meta,
        } => write::put(&api()?, out, &progress, paths, name, type_, meta).await,
        Command::Draft {
            base,
            adds,
            replaces,
            removes,
            meta,
        } => write::draft(&api()?, out, base, removes, replaces, adds, meta).await,
        Command::Upsert(args) => write::distributed(&api()?, out, &progress, false, args).await,
        Command::Finish(args) => write::distributed(&api()?, out, &progress, true, args).await,
        Command::Get { path, root } => fetch::get(&api()?, out, path, root.clone()).await,
        Command::Verify { path, dir } => fetch::verify(&api()?, out, path, dir.clone()).await,
        Command::Ls { path } => browse::ls(&api()?, out, path.as_deref()).await,
        Command::Quota(QuotaCommand::Show { project }) => {
            commands::quota::run(&api()?, out, project, None).await
        }
        Command::Quota(QuotaCommand::Set { project, size }) => {
            commands::quota::run(&api()?, out, project, Some(Some(*size))).await
        }
        Command::Quota(QuotaCommand::Clear { project }) => {
            commands::quota::run(&api()?, out, project, Some(None)).await
        }
        Command::Alias(AliasCommand::Set { path, alias }) => {
            browse::alias_set(&api()?, out, path, alias).await
        }
        Command::Alias(AliasCommand::Rm { path, alias }) => {
            browse::alias_rm(&api()?, out, path, alias).await
        }
        Command::Diff { from, to } => browse::diff_versions(&api()?, out, from, to).await,
        Command::Link { path, file } => browse::link(&api()?, out, path, file).await,
    }
}
