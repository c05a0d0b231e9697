//! Local directories: where a version's files land on download (every path checked before
//! anything is written: no write through a symbolic link inside the root, no file where a folder
//! is or the reverse, no name the file system cannot hold), and which files a directory upload
//! takes (directory links not followed unless asked, special files skipped and named).

use std::collections::HashSet;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use cairn_core::EntryPath;

use crate::error::{Error, Result};

/// The longest file or folder name most file systems hold, in bytes.
const MAX_NAME: usize = 255;
/// Problems listed in one error before "and N more".
const SHOWN: usize = 10;

/// Why `path` cannot be written under `root` as it is, if it cannot.
fn problem(root: &Path, path: &EntryPath, checked: &mut HashSet<String>) -> Option<String> {
    let parts: Vec<&str> = path.as_str().split('/').collect();
    if let Some(long) = parts.iter().find(|p| p.len() > MAX_NAME) {
        return Some(format!(
            "{path}: a name of {} bytes (most file systems hold {MAX_NAME})",
            long.len()
        ));
    }
    if parts
        .iter()
        .any(|p| *p == ".." || *p == "." || p.is_empty())
    {
        return Some(format!("{path}: not a plain relative path"));
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
            Err(e) => return Some(format!("{rel}: {e}")),
            Ok(m) if m.file_type().is_symlink() => {
                let to = std::fs::read_link(&at)
                    .map_or_else(|_| "?".into(), |t| t.display().to_string());
                return Some(format!(
                    "{rel} is a symbolic link (to {to}): refusing to write through it"
                ));
            }
            Ok(m) if !last && !m.is_dir() => {
                return Some(format!("{rel} is a file where the version has a folder"));
            }
            Ok(m) if last && m.is_dir() => {
                return Some(format!("{rel} is a folder where the version has a file"));
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
    let mut checked = HashSet::new();
    let problems: Vec<String> = paths
        .into_iter()
        .filter_map(|p| problem(root, p, &mut checked))
        .collect();
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::Unwritable {
        root: root.to_path_buf(),
        problems,
    })
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
        .filter(|p| problem(root, p, &mut checked).is_some_and(|why| why.contains("symbolic link")))
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
