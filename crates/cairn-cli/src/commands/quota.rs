//! `cairn quota`: a project's storage quota (set by an admin) and what it holds.

use cairn_client::{Api, ProjectRef};
use cairn_core::wire::Usage;

use super::Output;

/// `500GiB`, `1.5TB`, `750MiB`, `1000` (bytes): decimal units are powers of 1000, binary
/// ones of 1024.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: f64 = number
        .parse()
        .map_err(|_| format!("'{s}' is not a size like 500GiB, 2TB or 1000000"))?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "t" | "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        "pib" => 1 << 50,
        other => {
            return Err(format!(
                "'{s}': unknown unit '{other}' (use B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)"
            ));
        }
    };
    let bytes = n * scale as f64;
    if !bytes.is_finite() || bytes < 0.0 || bytes >= u64::MAX as f64 {
        return Err(format!("'{s}' is out of range"));
    }
    Ok(bytes.round() as u64)
}

/// One line: what the project holds against its quota.
pub fn describe(project: &ProjectRef, u: &Usage) -> String {
    let held = format!(
        "{}/{} holds {} in {} blobs",
        project.entity,
        project.project,
        indicatif::HumanBytes(u.bytes),
        u.blobs
    );
    match u.quota {
        Some(q) => format!(
            "{held} of its {} quota ({:.0}%)",
            indicatif::HumanBytes(q),
            if q == 0 {
                100.0
            } else {
                u.bytes as f64 * 100.0 / q as f64
            }
        ),
        None => format!("{held}; no quota"),
    }
}

/// `cairn quota show|set|clear ENTITY/PROJECT [SIZE]`.
pub async fn run(
    api: &Api,
    out: Output,
    project: &str,
    set: Option<Option<u64>>,
) -> anyhow::Result<()> {
    let project = super::project(api, project)?;
    let usage = match set {
        Some(bytes) => api.set_quota(&project, bytes).await?,
        None => api.usage(&project).await?,
    };
    out.print(&usage, || describe(&project, &usage))
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("500GiB"), Ok(500 << 30));
        assert_eq!(parse_size("2TB"), Ok(2_000_000_000_000));
        assert_eq!(parse_size("1.5 KiB"), Ok(1536));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(parse_size("0"), Ok(0));
        assert!(parse_size("lots").unwrap_err().contains("not a size"));
        assert!(
            parse_size("5 parsecs")
                .unwrap_err()
                .contains("unknown unit")
        );
        assert!(parse_size("99999999999PiB").is_err());
    }
}
