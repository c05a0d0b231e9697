//! Patches (semantics §6): the put/remove set between a base manifest and a new one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::manifest::{Entry, Manifest};
use crate::path::EntryPath;

/// Changes against a base: every `remove` first (each must match something in the base:
/// the exact path, else everything under `p/`), then every `put` (set or replace).
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Patch {
    /// Entries to set, keyed by path.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, Entry>))]
    pub put: BTreeMap<EntryPath, Entry>,
    /// Paths or directories to remove (a trailing `/` names a directory only).
    #[serde(default)]
    pub remove: Vec<String>,
}

impl Patch {
    /// Whether the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.put.is_empty() && self.remove.is_empty()
    }

    /// Check every remove target is a path (optionally with a trailing `/`) and every put
    /// entry is well formed.
    pub fn check(&self) -> Result<()> {
        for target in &self.remove {
            EntryPath::new(target.strip_suffix('/').unwrap_or(target)).map_err(|e| match e {
                Error::InvalidPath { reason, .. } => Error::InvalidPath {
                    path: target.clone(),
                    reason,
                },
                other => other,
            })?;
        }
        Manifest::from_entries(self.put.clone()).map(drop)
    }
}

/// The manifest that results from applying `patch` to `base`.
pub fn apply(base: &Manifest, patch: &Patch) -> Result<Manifest> {
    patch.check()?;
    let mut out = base.clone();
    for target in &patch.remove {
        let matched = base.matching(target);
        if matched.is_empty() {
            return Err(Error::NoSuchPath(target.clone()));
        }
        for path in matched {
            out.remove(path.as_str());
        }
    }
    for (path, entry) in &patch.put {
        out.insert(path.clone(), entry.clone())?;
    }
    Ok(out)
}

/// The patch that turns `from` into `to`: `apply(from, &diff(from, to)) == to`.
pub fn diff(from: &Manifest, to: &Manifest) -> Patch {
    let remove = from
        .iter()
        .filter(|(p, _)| to.get(p.as_str()).is_none())
        .map(|(p, _)| p.to_string())
        .collect();
    let put = to
        .iter()
        .filter(|(p, e)| from.get(p.as_str()) != Some(*e))
        .map(|(p, e)| (p.clone(), e.clone()))
        .collect();
    Patch { put, remove }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Digest;

    fn manifest(files: &[(&str, &str)]) -> Manifest {
        let mut m = Manifest::new();
        for (p, c) in files {
            m.insert(
                EntryPath::new(*p).unwrap(),
                Entry::blob(Digest::of(c.as_bytes()), c.len() as u64),
            )
            .unwrap();
        }
        m
    }

    #[test]
    fn removes_then_puts() {
        let base = manifest(&[("a", "1"), ("dir/x", "2"), ("dir/y", "3"), ("keep", "4")]);
        let patch = Patch {
            put: manifest(&[("dir/x", "new"), ("b", "5")]).entries().clone(),
            remove: vec!["dir".into(), "a".into()],
        };
        let out = apply(&base, &patch).unwrap();
        assert_eq!(
            out,
            manifest(&[("b", "5"), ("dir/x", "new"), ("keep", "4")])
        );
    }

    #[test]
    fn remove_that_matches_nothing_names_it() {
        let base = manifest(&[("x/a.txt", "1")]);
        let patch = Patch {
            put: BTreeMap::new(),
            remove: vec!["a.txt".into()],
        };
        assert_eq!(
            apply(&base, &patch).unwrap_err().to_string(),
            "no such file or directory: a.txt"
        );
    }

    #[test]
    fn removes_are_checked_against_the_base() {
        // both match something in the base, even though the first already removed the second
        let base = manifest(&[("d/a", "1"), ("d/b", "2")]);
        let patch = Patch {
            put: BTreeMap::new(),
            remove: vec!["d".into(), "d/a".into()],
        };
        assert!(apply(&base, &patch).unwrap().is_empty());
    }

    #[test]
    fn bad_remove_targets_are_rejected() {
        let base = manifest(&[("a", "1")]);
        for bad in ["", "../a", "/a", "a//"] {
            let patch = Patch {
                put: BTreeMap::new(),
                remove: vec![bad.into()],
            };
            let err = apply(&base, &patch).unwrap_err();
            assert!(
                err.to_string().contains(&format!("'{bad}'")),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn diff_round_trips() {
        let a = manifest(&[("a", "1"), ("b", "2"), ("c/d", "3")]);
        let b = manifest(&[("b", "2"), ("c/d", "changed"), ("e", "4")]);
        let d = diff(&a, &b);
        assert_eq!(d.remove, ["a"]);
        assert_eq!(d.put.len(), 2);
        assert_eq!(apply(&a, &d).unwrap(), b);
        assert!(diff(&a, &a).is_empty());
    }
}
