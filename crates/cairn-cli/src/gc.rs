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
    /// Pack at most this much of the blobs stored whole (plain `PUT`s, upload sessions, data
    /// written before chunks) into chunks (`16GiB`, `500MiB`, bytes; `0`: none); their whole
    /// objects go at a collection past the grace period.
    #[arg(long, default_value = "16GiB", value_parser = crate::commands::quota::parse_size)]
    pack_whole: u64,
    /// After a collection, write its report here in the Prometheus text format (replaced
    /// atomically; for node_exporter's textfile collector): `cairn_gc_last_success_timestamp_seconds`,
    /// `cairn_gc_freed_bytes`, … A failed collection leaves the file as it was, so alert when
    /// the timestamp grows old.
    #[arg(long, value_name = "PATH")]
    metrics_file: Option<std::path::PathBuf>,
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

/// The report of one collection that took `took`, as Prometheus text.
fn metrics_text(report: &cairn_store::GcReport, took: Duration) -> String {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    metrics::with_local_recorder(&recorder, || {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let dry_run = report.dry_run.to_string();
        let gauge = |name: &'static str, value: f64| {
            metrics::gauge!(name, "dry_run" => dry_run.clone()).set(value);
        };
        gauge("cairn_gc_last_success_timestamp_seconds", now.as_secs_f64());
        gauge("cairn_gc_duration_seconds", took.as_secs_f64());
        gauge("cairn_gc_freed_blobs", report.blobs as f64);
        gauge(
            "cairn_gc_freed_bytes",
            (report.bytes + report.pack_bytes + report.whole_freed_bytes) as f64,
        );
        gauge("cairn_gc_freed_packs", report.packs as f64);
        gauge("cairn_gc_repacked_packs", report.repacked as f64);
        gauge("cairn_gc_reclaimable_bytes", report.reclaimable as f64);
        gauge("cairn_gc_resumed_blobs", report.resumed as f64);
        gauge("cairn_gc_packed_whole_blobs", report.packed_whole as f64);
        gauge(
            "cairn_gc_packed_whole_bytes",
            report.packed_whole_bytes as f64,
        );
        gauge("cairn_gc_freed_whole_blobs", report.whole_freed as f64);
    });
    recorder.handle().render()
}

/// Replace `path` with `text` at once (a scraper never reads half a file).
fn write_atomically(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", path.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

pub async fn run(args: &GcArgs, out: Output) -> anyhow::Result<()> {
    let meta = args.storage.metadata().await?;
    let blobs = args.storage.blobs()?;
    let started = std::time::Instant::now();
    let options = cairn_store::GcOptions {
        grace: args.grace,
        dry_run: args.dry_run,
        pack_whole: args.pack_whole,
        ..cairn_store::GcOptions::default()
    };
    let report = cairn_store::collect(&meta, &blobs, &options)
        .await
        .context("collecting garbage")?;
    if let Some(path) = &args.metrics_file {
        write_atomically(path, &metrics_text(&report, started.elapsed()))?;
    }
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
        let verb = |done: &'static str, would: &'static str| if report.dry_run { would } else { done };
        let mut whole = String::new();
        if report.packed_whole > 0 {
            whole += &format!(
                "; {} {} blobs stored whole ({} bytes) into chunks",
                verb("packed", "would pack"),
                report.packed_whole,
                report.packed_whole_bytes
            );
        }
        if report.whole_freed > 0 {
            whole += &format!(
                "; {} the whole objects of {} packed blobs ({} bytes)",
                verb("deleted", "would delete"),
                report.whole_freed,
                report.whole_freed_bytes
            );
        }
        format!(
            "{} {} unreferenced blobs ({} bytes){packs} older than the grace period{resumed}{repacked}{whole}",
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
