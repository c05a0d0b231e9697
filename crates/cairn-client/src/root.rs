//! Local directories: where a version's files land on download (every path checked before
//! anything is written: no write through a symbolic link inside the root, no file where a folder
//! is or the reverse, no name the file system cannot hold), and which files a directory upload
//! takes (directory links not followed unless asked, special files skipped and named).

use std::collections::HashSet;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use cairn_core::{EntryPath, portable};

use crate::error::{Error, Result};

/// Problems listed in one error before "and N more".
const SHOWN: usize = 10;

/// Why a path cannot be written: a symbolic link on its way, or anything else.
enum Problem {
    Link(String),
    Other(String),
}

/// Why `path` cannot be written under `root` as it is, if it cannot.
fn problem(root: &Path, path: &EntryPath, checked: &mut HashSet<String>) -> Option<Problem> {
    let parts: Vec<&str> = path.as_str().split('/').collect();
    if let Some(why) = parts.iter().find_map(|p| portable::long_name(p)) {
        return Some(Problem::Other(format!("{path}: {why}")));
    }
    if parts
        .iter()
        .any(|p| *p == ".." || *p == "." || p.is_empty())
    {
        return Some(Problem::Other(format!("{path}: not a plain relative path")));
    }
    let mut at = root.to_path_buf();
    for (i, part) in parts.iter().enumerate() {
        at.push(part);
        let last = i + 1 == parts.len();
        let rel = parts[..=i].join("/");
        // each folder once, however many files it holds
        if !last && !checked.insert(rel.clone()) {
            continue;
        }
        match std::fs::symlink_metadata(&at) {
            Err(e) if e.kind() == ErrorKind::NotFound => return None,
            Err(e) => return Some(Problem::Other(format!("{rel}: {e}"))),
            Ok(m) if m.file_type().is_symlink() => {
                let to = std::fs::read_link(&at)
                    .map_or_else(|_| "?".into(), |t| t.display().to_string());
                return Some(Problem::Link(format!(
                    "{rel} is a symbolic link (to {to}): refusing to write through it"
                )));
            }
            Ok(m) if !last && !m.is_dir() => {
                return Some(Problem::Other(format!(
                    "{rel} is a file where the version has a folder"
                )));
            }
            Ok(m) if last && m.is_dir() => {
                return Some(Problem::Other(format!(
                    "{rel} is a folder where the version has a file"
                )));
            }
            Ok(_) => {}
        }
    }
    None
}

/// Check that every one of `paths` can be written under `root`; the error names each one that
/// cannot and why, and nothing has been written.
pub(crate) fn check_download<'a>(
    root: &Path,
    paths: impl IntoIterator<Item = &'a EntryPath>,
) -> Result<()> {
    if let Ok(m) = std::fs::metadata(root)
        && !m.is_dir()
    {
        return Err(Error::Unwritable {
            root: root.to_path_buf(),
            problems: vec!["it is a file, not a folder".into()],
        });
    }
    let paths: Vec<&EntryPath> = paths.into_iter().collect();
    let mut checked = HashSet::new();
    let mut problems: Vec<String> = paths
        .iter()
        .filter_map(|p| match problem(root, p, &mut checked)? {
            Problem::Link(why) | Problem::Other(why) => Some(why),
        })
        .collect();
    problems.extend(platform_problems(
        &paths,
        case_insensitive(root),
        cfg!(windows),
    ));
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::Unwritable {
        root: root.to_path_buf(),
        problems,
    })
}

/// What this file system cannot hold that others can: paths differing only in case where names
/// are case-insensitive (macOS' and Windows' defaults), names Windows reserves or cannot end with.
fn platform_problems(paths: &[&EntryPath], case_insensitive: bool, windows: bool) -> Vec<String> {
    let mut out = Vec::new();
    if case_insensitive {
        out.extend(portable::case_collisions(paths.iter().copied()));
    }
    if windows {
        // (names too long are a problem everywhere: `problem` names them)
        for path in paths {
            if let Some(why) = path.as_str().split('/').find_map(portable::windows_problem) {
                out.push(format!("{path}: {why}"));
            }
        }
    }
    out
}

/// Whether names under `root` (or the nearest folder above it that exists) ignore case: a
/// probe file written in mixed case is looked up in lower case.
fn case_insensitive(root: &Path) -> bool {
    let Some(dir) = root.ancestors().find(|d| d.is_dir()) else {
        return false;
    };
    let name = format!(".cairn-Case-Probe-{:016x}", rand::random::<u64>());
    let probe = dir.join(&name);
    if std::fs::write(&probe, b"").is_err() {
        return false;
    }
    let insensitive = dir.join(name.to_lowercase()).exists();
    let _ = std::fs::remove_file(&probe);
    insensitive
}

/// The paths among `paths` that meet a symbolic link under `root` (verification does not
/// follow them).
pub(crate) fn behind_links<'a>(
    root: &Path,
    paths: impl IntoIterator<Item = &'a EntryPath>,
) -> HashSet<EntryPath> {
    let mut checked = HashSet::new();
    paths
        .into_iter()
        .filter(|p| matches!(problem(root, p, &mut checked), Some(Problem::Link(_))))
        .cloned()
        .collect()
}

/// The message for [`Error::Unwritable`]: the first problems, then how many more.
pub(crate) fn describe(problems: &[String]) -> String {
    let mut out = problems[..problems.len().min(SHOWN)].join("; ");
    if problems.len() > SHOWN {
        out.push_str(&format!("; and {} more", problems.len() - SHOWN));
    }
    out
}

/// The files a directory upload takes, and what it left out.
#[derive(Debug, Default)]
pub(crate) struct Walked {
    /// Regular files (and links to files: their content), with paths relative to the folder,
    /// in path order.
    pub files: Vec<(PathBuf, String)>,
    /// What was left out, and why ("d/up: a link to a folder, not followed").
    pub skipped: Vec<String>,
}

/// Every file under `dir`. Links to folders are followed only when `follow` (a folder reached
/// twice — a cycle — is skipped then); links to files give their content; anything else (FIFOs,
/// sockets, devices, broken links) is skipped and named.
pub(crate) fn walk(dir: &Path, follow: bool) -> Result<Walked> {
    let mut out = Walked::default();
    let mut visited = HashSet::new();
    if let Ok(c) = dir.canonicalize() {
        visited.insert(c);
    }
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((d, rel)) = stack.pop() {
        for item in std::fs::read_dir(&d).map_err(|e| Error::io(&d, e))? {
            let item = item.map_err(|e| Error::io(&d, e))?;
            let name = item.file_name().into_string().map_err(|n| {
                Error::Config(format!(
                    "{}: file names must be UTF-8",
                    Path::new(&n).display()
                ))
            })?;
            let child = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let path = item.path();
            let kind = item.file_type().map_err(|e| Error::io(&path, e))?;
            let link = kind.is_symlink();
            let meta = match std::fs::metadata(&path) {
                Ok(m) => m,
                Err(_) if link => {
                    out.skipped.push(format!("{child}: a broken symbolic link"));
                    continue;
                }
                Err(e) => return Err(Error::io(&path, e)),
            };
            if meta.is_dir() {
                if link && !follow {
                    out.skipped
                        .push(format!("{child}: a link to a folder, not followed"));
                    continue;
                }
                if link && !visited.insert(path.canonicalize().map_err(|e| Error::io(&path, e))?) {
                    out.skipped.push(format!(
                        "{child}: a link to a folder already taken (a cycle)"
                    ));
                    continue;
                }
                stack.push((path, child));
            } else if meta.is_file() {
                out.files.push((path, child));
            } else {
                out.skipped.push(format!(
                    "{child}: not a regular file (a FIFO, socket or device)"
                ));
            }
        }
    }
    out.files.sort_by(|a, b| a.1.cmp(&b.1));
    out.skipped.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(list: &[&str]) -> Vec<EntryPath> {
        list.iter().map(|p| EntryPath::new(*p).unwrap()).collect()
    }

    #[test]
    fn case_and_windows_problems_only_where_they_are_problems() {
        let all = paths(&["a/File.txt", "a/file.txt", "CON.txt", "ok"]);
        let refs: Vec<&EntryPath> = all.iter().collect();
        assert!(platform_problems(&refs, false, false).is_empty());
        let insensitive = platform_problems(&refs, true, false);
        assert_eq!(insensitive.len(), 1, "{insensitive:?}");
        assert!(insensitive[0].contains("a/File.txt and a/file.txt"));
        let windows = platform_problems(&refs, false, true);
        assert_eq!(windows, ["CON.txt: 'CON.txt' is reserved on Windows"]);
    }

    #[test]
    fn this_file_system_is_probed_for_case() {
        let dir = tempfile::tempdir().unwrap();
        // Linux file systems in CI tell case apart; the probe leaves nothing behind
        assert!(!case_insensitive(dir.path()));
        assert!(!case_insensitive(&dir.path().join("not/yet")));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
