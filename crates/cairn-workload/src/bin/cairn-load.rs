//! `cairn-load`: N concurrent clients committing, patching, checking and downloading against
//! a running registry for a bounded time; prints throughput and p50/p99 latency per operation
//! and exits non-zero if any operation failed.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use cairn_core::ArtifactName;
use cairn_workload::{Latencies, Mix, Registry, Worker};
use clap::Parser;

#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// The registry.
    #[arg(long, env = "CAIRN_HOST", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// A token with write access to the project.
    #[arg(long, env = "CAIRN_TOKEN")]
    token: String,
    /// `entity/project` the load goes to.
    #[arg(long, default_value = "load/bench")]
    project: String,
    /// Concurrent clients.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// How long to run, in seconds.
    #[arg(long, default_value_t = 30.0)]
    seconds: f64,
    /// Artifacts the clients share.
    #[arg(long, default_value_t = 4)]
    artifacts: usize,
    /// Seed of the random choices.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let registry = Registry::new(&args.url, &args.token, &args.project);
    let artifacts: Vec<ArtifactName> = (0..args.artifacts.max(1))
        .map(|i| ArtifactName::new(format!("load-{i}")).context("artifact name"))
        .collect::<anyhow::Result<_>>()?;
    let deadline = Instant::now() + Duration::from_secs_f64(args.seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..args.clients)
        .map(|id| {
            let mut worker = Worker::new(
                id,
                registry.clone(),
                artifacts.clone(),
                Mix::default(),
                args.seed,
            );
            tokio::spawn(async move {
                let mut lat = Latencies::default();
                while Instant::now() < deadline {
                    let op = worker.pick();
                    let t = Instant::now();
                    match worker.step(op).await {
                        Ok(_) => lat.ok(op, t.elapsed()),
                        Err(e) => lat.failed(op, e.to_string()),
                    }
                }
                lat
            })
        })
        .collect();
    let mut all = Latencies::default();
    for t in tasks {
        all.merge(t.await?);
    }
    let elapsed = started.elapsed();
    let summary = all.summarize(elapsed);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "{} clients, {:.1} s, {}\n{:<14} {:>8} {:>7} {:>9} {:>9} {:>9} {:>9}",
            args.clients,
            elapsed.as_secs_f64(),
            args.url,
            "operation",
            "count",
            "errors",
            "per s",
            "p50 ms",
            "p99 ms",
            "max ms"
        );
        for s in &summary {
            println!(
                "{:<14} {:>8} {:>7} {:>9.1} {:>9.2} {:>9.2} {:>9.2}",
                s.op, s.count, s.errors, s.per_second, s.p50_ms, s.p99_ms, s.max_ms
            );
        }
    }
    let errors: Vec<&String> = all.errors().collect();
    if !errors.is_empty() {
        for e in errors.iter().take(5) {
            eprintln!("error: {e}");
        }
        bail!("{} operations failed", errors.len());
    }
    Ok(())
}
