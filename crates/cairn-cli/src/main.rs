//! `cairn`: run the registry (`cairn serve`) and manage its tokens (`cairn token create`).

mod serve;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "cairn",
    version,
    about = "Cairn: an artifact registry for datasets and models"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the registry (SQLite + local disk under --data-dir, zero configuration).
    Serve(serve::ServeArgs),
    /// Manage access tokens.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Subcommand, Debug)]
enum TokenCommand {
    /// Make a scoped token and print it (it is shown only once).
    Create {
        /// The entity it reaches (omit for every entity; only with --role admin).
        #[arg(long)]
        entity: Option<String>,
        /// read, write or admin.
        #[arg(long, default_value = "read")]
        role: String,
        /// Who or what the token is for.
        #[arg(long, default_value = "token")]
        name: String,
        /// The registry's data directory.
        #[arg(long, default_value = "./cairn-data", env = "CAIRN_DATA_DIR")]
        data_dir: PathBuf,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve(args) => serve::run(args).await,
        Command::Token(TokenCommand::Create {
            entity,
            role,
            name,
            data_dir,
        }) => {
            let entity = entity
                .map(|e| e.parse::<cairn_core::Entity>())
                .transpose()?;
            let role: cairn_store::Role = role.parse()?;
            if entity.is_none() && role != cairn_store::Role::Admin {
                anyhow::bail!("a token for every entity must be an admin token: pass --entity E");
            }
            let meta = serve::open_metadata(&data_dir).await?;
            let record = cairn_store::TokenRecord { name, entity, role };
            println!(
                "{}",
                cairn_server::auth::create_token(&meta, &record).await?
            );
            Ok(())
        }
    }
}
