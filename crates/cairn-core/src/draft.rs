//! Drafts (semantics §6): a local, editable copy of a base manifest that knows its patch.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::manifest::{Entry, Manifest};
use crate::patch::{Patch, diff};
use crate::path::EntryPath;

/// How an entry of a draft compares with the base.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Not in the base.
    Added,
    /// In the base with another entry.
    Modified,
    /// Identical to the base.
    Unchanged,
}

/// Counts of what a draft changes against its base.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Paths not in the base.
    pub added: usize,
    /// Paths whose entry differs from the base.
    pub modified: usize,
    /// Paths of the base no longer present.
    pub removed: usize,
    /// Paths identical to the base.
    pub unchanged: usize,
}

/// A manifest being edited against a base (empty for a brand-new artifact).
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Draft {
    base: Manifest,
    current: Manifest,
}

impl Draft {
    /// A draft of a new artifact: the base is empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// A draft that starts as `base`.
    pub fn from_base(base: Manifest) -> Self {
        Self {
            current: base.clone(),
            base,
        }
    }

    /// Add `entry` at `path`. The same digest already there is a no-op (the existing entry is
    /// kept); another digest fails with "cannot add the same path twice".
    pub fn add(&mut self, path: EntryPath, entry: Entry) -> Result<()> {
        match self.current.get(path.as_str()) {
            Some(old) if old.digest == entry.digest => Ok(()),
            Some(_) => Err(Error::DuplicatePath(path)),
            None => self.current.insert(path, entry).map(drop),
        }
    }

    /// Set `entry` at `path`, replacing whatever is there (add with overwrite).
    pub fn put(&mut self, path: EntryPath, entry: Entry) -> Result<()> {
        self.current.insert(path, entry).map(drop)
    }

    /// Add many entries at once (`add_dir`): all or nothing. With `merge`, entries replace
    /// different ones at the same path; without, any such clash fails before anything changes.
    pub fn add_many(
        &mut self,
        entries: impl IntoIterator<Item = (EntryPath, Entry)>,
        merge: bool,
    ) -> Result<()> {
        let entries: Vec<_> = entries.into_iter().collect();
        let mut staged = self.current.clone();
        for (path, entry) in entries {
            match staged.get(path.as_str()) {
                Some(old) if old.digest == entry.digest => {}
                Some(_) if !merge => return Err(Error::DuplicatePath(path)),
                _ => {
                    staged.insert(path, entry)?;
                }
            }
        }
        self.current = staged;
        Ok(())
    }

    /// Remove the entry at exactly `target`, or else every entry under `target/`; fails with
    /// "no such file or directory" when nothing matches. Returns what was removed.
    pub fn remove(&mut self, target: &str) -> Result<Vec<EntryPath>> {
        let matched = self.current.matching(target);
        if matched.is_empty() {
            return Err(Error::NoSuchPath(target.to_owned()));
        }
        for path in &matched {
            self.current.remove(path.as_str());
        }
        Ok(matched)
    }

    /// Move the file at `from`, or every file under the folder `from/`, to `to`: the same
    /// entries (digests, sizes) under new paths, so nothing needs uploading. All or nothing:
    /// refused when `to` is not a valid path, is inside `from`, or any new path is taken by a
    /// file that is not moving (or by a folder, for a file). Returns the moves made, in path
    /// order.
    pub fn rename(&mut self, from: &str, to: &str) -> Result<Vec<(EntryPath, EntryPath)>> {
        let (from, to) = (from.trim_end_matches('/'), to.trim_end_matches('/'));
        let refuse = |reason: String| Error::Move {
            from: from.to_owned(),
            to: to.to_owned(),
            reason,
        };
        let matched = self.current.matching(from);
        if matched.is_empty() {
            return Err(Error::NoSuchPath(from.to_owned()));
        }
        let is_file = matched.len() == 1 && matched[0].as_str() == from;
        if to == from {
            return Err(refuse("it is already there".into()));
        }
        if !is_file && to.starts_with(&format!("{from}/")) {
            return Err(refuse("a folder cannot go inside itself".into()));
        }
        let moves = matched
            .iter()
            .map(|old| {
                let rest = &old.as_str()[from.len()..];
                EntryPath::new(format!("{to}{rest}")).map(|new| (old.clone(), new))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut next = self.current.clone();
        let entries: Vec<Entry> = matched
            .iter()
            .map(|p| next.remove(p.as_str()).expect("matched paths exist"))
            .collect();
        // a file where the folder would go, or a folder where the file would go
        if !is_file && next.get(to).is_some() {
            return Err(refuse(format!("'{to}' is a file")));
        }
        if is_file && !next.matching(&format!("{to}/")).is_empty() {
            return Err(refuse(format!("'{to}' is a folder")));
        }
        for ((_, new), entry) in moves.iter().zip(entries) {
            if next.get(new.as_str()).is_some() {
                return Err(refuse(format!("'{new}' already holds a file")));
            }
            next.insert(new.clone(), entry)?;
        }
        self.current = next;
        Ok(moves)
    }

    /// Undo every change at `target` (a file, or every path under the folder `target/`): paths
    /// the base has get its entry back, paths it lacks go. Returns how many paths changed; fails
    /// with "no such file or directory" when neither the draft nor the base has `target`.
    pub fn revert(&mut self, target: &str) -> Result<usize> {
        let mut paths = self.current.matching(target);
        paths.extend(self.base.matching(target));
        if paths.is_empty() {
            return Err(Error::NoSuchPath(target.to_owned()));
        }
        paths.sort();
        paths.dedup();
        let mut changed = 0;
        for path in paths {
            let (now, was) = (
                self.current.get(path.as_str()),
                self.base.get(path.as_str()),
            );
            if now == was {
                continue;
            }
            changed += 1;
            match was.cloned() {
                Some(entry) => {
                    self.current.insert(path, entry)?;
                }
                None => {
                    self.current.remove(path.as_str());
                }
            }
        }
        Ok(changed)
    }

    /// Make the folder `folder` hold exactly `entries` (paths under `folder/`): what it held and
    /// `entries` lack goes, the rest is put. All or nothing; an entry outside the folder is
    /// refused before anything changes.
    pub fn replace_dir(
        &mut self,
        folder: &str,
        entries: impl IntoIterator<Item = (EntryPath, Entry)>,
    ) -> Result<()> {
        let folder = folder.trim_end_matches('/');
        let prefix = format!("{folder}/");
        let mut next = self.current.clone();
        let held: Vec<EntryPath> = match folder {
            "" => self.current.iter().map(|(p, _)| p.clone()).collect(),
            _ => self.current.matching(&prefix),
        };
        for old in held {
            next.remove(old.as_str());
        }
        for (path, entry) in entries {
            if !folder.is_empty() && !path.as_str().starts_with(&prefix) {
                return Err(Error::InvalidPath {
                    path: path.to_string(),
                    reason: "not inside the folder being replaced",
                });
            }
            next.insert(path, entry)?;
        }
        self.current = next;
        Ok(())
    }

    /// Replace the entry at `path`, which must exist.
    pub fn modify(&mut self, path: EntryPath, entry: Entry) -> Result<()> {
        if self.current.get(path.as_str()).is_none() {
            return Err(Error::NoSuchPath(path.to_string()));
        }
        self.put(path, entry)
    }

    /// The draft's contents now.
    pub fn manifest(&self) -> &Manifest {
        &self.current
    }

    /// The manifest the draft started from.
    pub fn base(&self) -> &Manifest {
        &self.base
    }

    /// The patch that turns the base into this draft.
    pub fn patch(&self) -> Patch {
        diff(&self.base, &self.current)
    }

    /// How the entry at `path` compares with the base, if the draft has it.
    pub fn change(&self, path: &str) -> Option<Change> {
        let now = self.current.get(path)?;
        Some(match self.base.get(path) {
            None => Change::Added,
            Some(old) if old == now => Change::Unchanged,
            Some(_) => Change::Modified,
        })
    }

    /// Counts of added, modified, removed and unchanged paths.
    pub fn summary(&self) -> Summary {
        let mut s = Summary {
            removed: self
                .base
                .iter()
                .filter(|(p, _)| self.current.get(p.as_str()).is_none())
                .count(),
            ..Summary::default()
        };
        for (path, _) in self.current.iter() {
            match self.change(path.as_str()) {
                Some(Change::Added) => s.added += 1,
                Some(Change::Modified) => s.modified += 1,
                Some(Change::Unchanged) | None => s.unchanged += 1,
            }
        }
        s
    }
}

#[cfg(test)]
mod tests;
