//! [`Scan`]: the warnings of [`warnings`](super::warnings) for paths that arrive one at a time in
//! byte order, in memory bounded by the widest open folder instead of the path count — what a
//! registry needs for a manifest too large to hold.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use super::{MAX_WARNINGS, name_problem};
use crate::path::EntryPath;

/// Names a folder remembers for case checks; past it, later names there are not compared
/// (said once, as a warning). 16 bytes each: 1,000,000 names are ~32 MiB with the map's slack.
pub const MAX_NAMES_PER_FOLDER: usize = 1_000_000;

/// One folder on the path of the current entry, with the names seen in it so far.
#[derive(Debug, Default)]
struct Folder {
    /// Hash of a name's lower case → hash of its first spelling.
    names: HashMap<u64, u64>,
    /// Whether names past [`MAX_NAMES_PER_FOLDER`] went unchecked (warned once).
    full: bool,
}

/// Warnings for paths given in strictly increasing byte order (as a manifest holds them): each
/// path's first name problem, and each name that differs only in case from an earlier name in
/// the same folder (file or folder; `Data/a` then `data/b` is one warning about `data`).
///
/// A folder's descendants are consecutive in byte order, so only the folders on the current
/// path are open; each keeps two 64-bit hashes per name it holds, and is dropped when the
/// paths leave it.
///
/// ```
/// use cairn_core::{EntryPath, portable::Scan};
///
/// let mut scan = Scan::default();
/// for p in ["Data/a", "data/A", "data/CON.txt"] {
///     scan.push(&EntryPath::new(p).unwrap());
/// }
/// let warnings = scan.finish();
/// assert_eq!(warnings.len(), 2);
/// assert_eq!(warnings[0], "data/CON.txt: 'CON.txt' is reserved on Windows");
/// assert_eq!(warnings[1], "data differs only in case from a name before it in the root folder (one folder on macOS and Windows)");
/// ```
#[derive(Debug, Default)]
pub struct Scan {
    /// The open folders: the root, then each folder of the last path.
    open: Vec<Folder>,
    /// The last path's folder names (the open folders below the root).
    last_dirs: Vec<String>,
    problems: Vec<String>,
    collisions: Vec<String>,
    /// Warnings past [`MAX_WARNINGS`], counted only.
    more: usize,
}

fn hash(s: &str) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

impl Scan {
    /// Look at the next path (after every path given before it).
    pub fn push(&mut self, path: &EntryPath) {
        let p = path.as_str();
        if let Some(why) = p.split('/').find_map(name_problem) {
            let w = format!("{path}: {why}");
            self.note_problem(w);
        }
        let names: Vec<&str> = p.split('/').collect();
        let dirs = &names[..names.len() - 1];
        // the folders this path shares with the last one stay open
        let shared = self
            .last_dirs
            .iter()
            .zip(dirs)
            .take_while(|(a, b)| a.as_str() == **b)
            .count();
        if self.open.is_empty() {
            self.open.push(Folder::default());
        }
        self.open.truncate(shared + 1);
        self.last_dirs.truncate(shared);
        for (depth, name) in names.iter().enumerate().skip(shared) {
            let is_folder = depth + 1 < names.len();
            self.register(&names[..depth], name, is_folder);
            if is_folder {
                self.open.push(Folder::default());
                self.last_dirs.push((*name).to_owned());
            }
        }
    }

    /// Note `name` in the folder `parents` (open at depth `parents.len()`).
    fn register(&mut self, parents: &[&str], name: &str, is_folder: bool) {
        let folder = &mut self.open[parents.len()];
        let lower = hash(&name.to_lowercase());
        let exact = hash(name);
        let where_ = || match parents {
            [] => "the root folder".to_owned(),
            _ => parents.join("/"),
        };
        match folder.names.get(&lower) {
            Some(first) if *first != exact => {
                let full: Vec<&str> = parents.iter().copied().chain([name]).collect();
                let kind = if is_folder { "folder" } else { "file" };
                let w = format!(
                    "{} differs only in case from a name before it in {} (one {kind} on macOS and Windows)",
                    full.join("/"),
                    where_()
                );
                self.note_collision(w);
            }
            Some(_) => {}
            None if folder.names.len() < MAX_NAMES_PER_FOLDER => {
                folder.names.insert(lower, exact);
            }
            None if !folder.full => {
                folder.full = true;
                let w = format!(
                    "{} holds over {MAX_NAMES_PER_FOLDER} names: later ones were not checked for case-only differences",
                    where_()
                );
                self.note_collision(w);
            }
            None => {}
        }
    }

    fn note_problem(&mut self, w: String) {
        if self.problems.len() + self.collisions.len() < MAX_WARNINGS {
            self.problems.push(w);
        } else {
            self.more += 1;
        }
    }

    fn note_collision(&mut self, w: String) {
        if self.problems.len() + self.collisions.len() < MAX_WARNINGS {
            self.collisions.push(w);
        } else {
            self.more += 1;
        }
    }

    /// The warnings: name problems first, then case collisions, then "and N more".
    pub fn finish(self) -> Vec<String> {
        let mut out = self.problems;
        out.extend(self.collisions);
        if self.more > 0 {
            out.push(format!("and {} more", self.more));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(paths: &[&str]) -> Vec<String> {
        let mut sorted: Vec<&str> = paths.to_vec();
        sorted.sort_unstable();
        let mut s = Scan::default();
        for p in sorted {
            s.push(&EntryPath::new(p).unwrap());
        }
        s.finish()
    }

    #[test]
    fn case_only_differences_are_found_across_distant_paths() {
        // `Data/…` and `data/…` are far apart in byte order; `a-x` sits between `a` and `a/`
        let w = scan(&[
            "Data/x",
            "a",
            "a-x",
            "a/b",
            "b/File.txt",
            "b/file.txt",
            "data/y",
        ]);
        assert_eq!(
            w,
            [
                "b/file.txt differs only in case from a name before it in b (one file on macOS and Windows)",
                "data differs only in case from a name before it in the root folder (one folder on macOS and Windows)",
            ]
        );
    }

    #[test]
    fn a_file_and_a_folder_of_the_same_spelling_are_not_a_case_difference() {
        assert!(scan(&["a/b", "a/b.txt", "a/b/c", "a/c"]).is_empty());
    }

    #[test]
    fn deep_folders_reopen_cleanly() {
        let w = scan(&["x/y/z/1", "x/y/z/2", "x/y/Z/3", "x/w"]);
        assert_eq!(
            w,
            [
                "x/y/z differs only in case from a name before it in x/y (one folder on macOS and Windows)"
            ]
        );
    }

    #[test]
    fn the_count_past_the_limit_is_kept() {
        let paths: Vec<String> = (0..150).map(|i| format!("d{i:03}/CON")).collect();
        let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
        let w = scan(&refs);
        assert_eq!(w.len(), MAX_WARNINGS + 1);
        assert_eq!(w.last().unwrap(), "and 50 more");
    }

    #[test]
    fn agrees_with_the_whole_manifest_check_on_which_paths_warn() {
        let paths = ["Read.me", "a/aux.c", "a/b/x", "a/B/y", "z/Q", "z/q"];
        let entries: Vec<EntryPath> = paths.iter().map(|p| EntryPath::new(*p).unwrap()).collect();
        assert_eq!(scan(&paths).len(), super::super::warnings(&entries).len());
    }
}
