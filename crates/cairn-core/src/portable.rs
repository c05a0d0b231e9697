//! Paths that are valid in a manifest but will not download everywhere: names longer than most
//! file systems hold, names Windows reserves or cannot end with, paths that differ only in case
//! (one file on macOS' and Windows' default file systems). The registry answers a commit with
//! these as warnings; clients refuse what their own file system cannot hold at download.
//!
//! ```
//! use cairn_core::{EntryPath, portable};
//!
//! let paths: Vec<EntryPath> = ["data/CON.txt", "Data/a", "data/A"]
//!     .iter()
//!     .map(|p| EntryPath::new(*p).unwrap())
//!     .collect();
//! let warnings = portable::warnings(&paths);
//! assert_eq!(warnings.len(), 3);
//! assert!(warnings[0].contains("reserved on Windows"));
//! assert_eq!(warnings[1], "Data/a and data/A differ only in case (one file on macOS and Windows)");
//! assert_eq!(warnings[2], "folders Data and data differ only in case (one folder on macOS and Windows)");
//! ```

use std::collections::BTreeMap;

use crate::path::EntryPath;

mod scan;
pub use scan::{MAX_NAMES_PER_FOLDER, Scan};

/// The longest file or folder name most file systems hold, in bytes.
pub const MAX_NAME_BYTES: usize = 255;
/// Warnings listed before "and N more".
pub const MAX_WARNINGS: usize = 100;

/// Device names Windows reserves, with or without an extension.
const RESERVED: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// Why one name is longer than most file systems hold, if it is.
pub fn long_name(name: &str) -> Option<String> {
    (name.len() > MAX_NAME_BYTES).then(|| {
        format!(
            "a name of {} bytes (most file systems hold {MAX_NAME_BYTES})",
            name.len()
        )
    })
}

/// Why Windows cannot hold one name, if it cannot: a reserved device name (with or without an
/// extension), a character it forbids, a trailing dot or space (which it drops).
pub fn windows_problem(name: &str) -> Option<String> {
    let stem = name.split('.').next().unwrap_or(name).trim_end();
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(stem)) {
        return Some(format!("'{name}' is reserved on Windows"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| matches!(c, '<' | '>' | ':' | '"' | '\\' | '|' | '?' | '*') || c.is_control())
    {
        return Some(format!("'{name}' has {c:?}, which Windows does not allow"));
    }
    if name.ends_with('.') || name.ends_with(' ') {
        return Some(format!(
            "'{name}' ends with a dot or a space, which Windows drops"
        ));
    }
    None
}

/// Why one name (a path component) will not download everywhere, if it will not.
pub fn name_problem(name: &str) -> Option<String> {
    long_name(name).or_else(|| windows_problem(name))
}

/// The groups of `paths`, and of their folders, that differ only in case (one file or folder
/// where names ignore case, as on macOS' and Windows' defaults).
pub fn case_collisions<'a>(paths: impl IntoIterator<Item = &'a EntryPath>) -> Vec<String> {
    let mut files: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    // folders too: `Data/a` and `data/b` are one folder there
    let mut dirs: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for path in paths {
        let p = path.as_str();
        files.entry(p.to_lowercase()).or_default().push(p);
        if let Some((parent, _)) = p.rsplit_once('/') {
            for (end, _) in parent.match_indices('/').chain([(parent.len(), "")]) {
                let dir = &parent[..end];
                let spellings = dirs.entry(dir.to_lowercase()).or_default();
                if !spellings.contains(&dir) {
                    spellings.push(dir);
                }
            }
        }
    }
    let mut out: Vec<String> = files
        .values()
        .filter(|s| s.len() > 1)
        .map(|same| {
            format!(
                "{} differ only in case (one file on macOS and Windows)",
                same.join(" and ")
            )
        })
        .collect();
    out.extend(dirs.into_values().filter(|s| s.len() > 1).map(|mut same| {
        same.sort_unstable();
        format!(
            "folders {} differ only in case (one folder on macOS and Windows)",
            same.join(" and ")
        )
    }));
    out
}

/// The warnings for `paths` (each path's first problem name, then the groups of paths that
/// differ only in case), at most [`MAX_WARNINGS`] and a last "and N more".
pub fn warnings<'a>(paths: impl IntoIterator<Item = &'a EntryPath>) -> Vec<String> {
    let paths: Vec<&EntryPath> = paths.into_iter().collect();
    let mut out: Vec<String> = paths
        .iter()
        .filter_map(|path| {
            let why = path.as_str().split('/').find_map(name_problem)?;
            Some(format!("{path}: {why}"))
        })
        .collect();
    out.extend(case_collisions(paths.iter().copied()));
    if out.len() > MAX_WARNINGS {
        let more = out.len() - MAX_WARNINGS;
        out.truncate(MAX_WARNINGS);
        out.push(format!("and {more} more"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(list: &[&str]) -> Vec<EntryPath> {
        list.iter().map(|p| EntryPath::new(*p).unwrap()).collect()
    }

    #[test]
    fn names_that_do_not_travel_are_named() {
        assert_eq!(name_problem("ok.txt"), None);
        assert_eq!(name_problem("console.txt"), None);
        assert!(
            name_problem(&"x".repeat(256))
                .unwrap()
                .contains("256 bytes")
        );
        assert_eq!(name_problem(&"x".repeat(255)), None);
        for reserved in ["CON", "con.txt", "Lpt9.tar.gz", "nul"] {
            assert!(
                name_problem(reserved).unwrap().contains("reserved"),
                "{reserved}"
            );
        }
        assert!(name_problem("a:b").unwrap().contains("':'"));
        assert!(name_problem("trail.").unwrap().contains("dot or a space"));
        assert!(name_problem("trail ").unwrap().contains("dot or a space"));
    }

    #[test]
    fn case_only_differences_of_files_and_folders_are_grouped() {
        let w = warnings(&paths(&["a/File.txt", "a/file.txt", "B/x", "b/y", "c"]));
        assert_eq!(
            w,
            [
                "a/File.txt and a/file.txt differ only in case (one file on macOS and Windows)",
                "folders B and b differ only in case (one folder on macOS and Windows)",
            ]
        );
        assert!(warnings(&paths(&["a/b", "a/c", "d"])).is_empty());
    }

    #[test]
    fn warnings_are_capped() {
        let many: Vec<EntryPath> = (0..150)
            .map(|i| EntryPath::new(format!("d/CON{i}x/aux")).unwrap())
            .collect();
        let w = warnings(&many);
        assert_eq!(w.len(), MAX_WARNINGS + 1);
        assert_eq!(w.last().unwrap(), "and 50 more");
    }
}
