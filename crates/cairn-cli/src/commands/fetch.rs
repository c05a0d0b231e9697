//! get and verify.

use std::path::PathBuf;

use cairn_client::Api;

use super::Output;
use super::write::default_root;

/// `cairn get name:ref [--root DIR]`.
pub async fn get(api: &Api, out: Output, path: &str, root: Option<PathBuf>) -> anyhow::Result<()> {
    let version = api.artifact(path).await?;
    let info = version.info();
    let root = root.unwrap_or_else(|| default_root(info.name.as_str(), &info.version.to_string()));
    let report = version.download(&root).await?;
    #[derive(serde::Serialize)]
    struct Got<'a> {
        version: String,
        digest: String,
        root: String,
        #[serde(flatten)]
        report: &'a cairn_client::DownloadReport,
    }
    let got = Got {
        version: info.version.to_string(),
        digest: info.digest.to_string(),
        root: root.display().to_string(),
        report: &report,
    };
    out.print(&got, || {
        let mut s = format!(
            "{}:{} → {}: downloaded {} files ({}{}), {} already right",
            info.name,
            info.version,
            root.display(),
            report.downloaded_files,
            indicatif::HumanBytes(report.downloaded_bytes),
            if report.reused_bytes > 0 {
                format!(
                    " fetched; {} reused from the earlier copies",
                    indicatif::HumanBytes(report.reused_bytes)
                )
            } else {
                String::new()
            },
            report.skipped_files
        );
        if !report.references.is_empty() {
            s.push_str(&format!("\n{} reference entries are not served by the registry (fetch them from their URIs)", report.references.len()));
        }
        s
    })
}

/// `cairn verify name:ref DIR`: exits non-zero when the copy differs.
pub async fn verify(api: &Api, out: Output, path: &str, root: PathBuf) -> anyhow::Result<()> {
    let version = api.artifact(path).await?;
    let report = version.verify(&root)?;
    out.print(&report, || {
        let mut lines = Vec::new();
        lines.extend(report.missing.iter().map(|p| format!("missing     {p}")));
        lines.extend(report.mismatched.iter().map(|p| format!("mismatched  {p}")));
        lines.extend(report.extra.iter().map(|p| format!("extra       {p}")));
        if lines.is_empty() {
            format!(
                "{} matches {}:{}",
                root.display(),
                version.info().name,
                version.info().version
            )
        } else {
            lines.join("\n")
        }
    })?;
    if !report.is_ok() {
        anyhow::bail!(
            "{} differs from {path}: {} missing, {} mismatched, {} extra",
            root.display(),
            report.missing.len(),
            report.mismatched.len(),
            report.extra.len()
        );
    }
    Ok(())
}
