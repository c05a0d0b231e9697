//! `cairn gc`: delete blobs that no version references, older than a grace period (so uploads
//! whose commit has not happened yet survive). Safe while registries run: see `docs/gc.md`.

use std::time::Duration;

use anyhow::Context;

use crate::commands::Output;
use crate::serve::Storage;

/// Flags of `cairn gc`.
#[derive(clap::Args, Debug)]
pub struct GcArgs {
    #[command(flatten)]
    storage: Storage,
    /// Keep blobs uploaded within this long (`90s`, `30m`, `24h`, `7d`): their commit may
    /// still be on its way.
    #[arg(long, default_value = "24h", value_parser = parse_duration)]
    grace: Duration,
    /// Report what would be freed, delete nothing.
    #[arg(long)]
    dry_run: bool,
}

/// `90s`, `30m`, `24h`, `7d` or plain seconds.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let (n, unit) = s
        .find(|c: char| !c.is_ascii_digit())
        .map_or((s, ""), |i| s.split_at(i));
    let n: u64 = n
        .parse()
        .map_err(|_| format!("'{s}' is not a duration like 90s, 30m, 24h or 7d"))?;
    let secs = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("'{s}': the unit must be s, m, h or d")),
    };
    Ok(Duration::from_secs(n * secs))
}

pub async fn run(args: &GcArgs, out: Output) -> anyhow::Result<()> {
    let meta = args.storage.metadata().await?;
    let blobs = args.storage.blobs()?;
    let report = cairn_store::collect_garbage(&meta, &blobs, args.grace, args.dry_run)
        .await
        .context("collecting garbage")?;
    out.print(&report, || {
        let resumed = if report.resumed > 0 {
            format!(
                "; finished an interrupted collection ({} blobs)",
                report.resumed
            )
        } else {
            String::new()
        };
        let packs = format!(
            " and {} packs no blob names ({} bytes)",
            report.packs, report.pack_bytes
        );
        let repacked = match (report.repacked, report.dry_run) {
            (0, _) => String::new(),
            (n, true) => format!(
                "; would rewrite {n} mostly-garbage packs, {} bytes reclaimable",
                report.reclaimable
            ),
            (n, false) => format!(
                "; rewrote {n} mostly-garbage packs: {} bytes reclaimable by the next collection",
                report.reclaimable
            ),
        };
        format!(
            "{} {} unreferenced blobs ({} bytes){packs} older than the grace period{resumed}{repacked}",
            if report.dry_run {
                "would free"
            } else {
                "freed"
            },
            report.blobs,
            report.bytes
        )
    })
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("15"), Ok(Duration::from_secs(15)));
        assert!(parse_duration("1w").is_err());
        assert!(parse_duration("h").is_err());
    }
}
