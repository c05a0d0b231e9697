//! Distributed merge (semantics §7): partial manifests from many runs unioned into one pending
//! version, refusing paths that disagree.

use crate::error::{Error, Result};
use crate::manifest::Manifest;

/// The union of `pending` and `partial`. The same path with the same digest is idempotent (the
/// entry already pending is kept); the same path with another digest is a conflict, reported
/// for every such path, and then nothing is merged.
pub fn merge(pending: &Manifest, partial: &Manifest) -> Result<Manifest> {
    let conflicts: Vec<_> = partial
        .iter()
        .filter(|(p, e)| {
            pending
                .get(p.as_str())
                .is_some_and(|old| old.digest != e.digest)
        })
        .map(|(p, _)| p.clone())
        .collect();
    if !conflicts.is_empty() {
        return Err(Error::Conflicts(conflicts));
    }
    let mut out = pending.clone();
    for (path, entry) in partial.iter() {
        if out.get(path.as_str()).is_none() {
            out.insert(path.clone(), entry.clone())?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Digest;
    use crate::manifest::Entry;
    use crate::path::EntryPath;

    fn manifest(files: &[(&str, &str)]) -> Manifest {
        let mut m = Manifest::new();
        for (p, c) in files {
            let e = Entry::blob(Digest::of(c.as_bytes()), c.len() as u64);
            m.insert(EntryPath::new(*p).unwrap(), e).unwrap();
        }
        m
    }

    #[test]
    fn union_of_runs() {
        let run1 = manifest(&[("image1.png", "1")]);
        let run2 = manifest(&[("image2.png", "2")]);
        let run3 = manifest(&[("image3.png", "3")]);
        let mut pending = Manifest::new();
        for partial in [&run1, &run2, &run1, &run3] {
            pending = merge(&pending, partial).unwrap();
        }
        assert_eq!(
            pending,
            manifest(&[
                ("image1.png", "1"),
                ("image2.png", "2"),
                ("image3.png", "3")
            ])
        );
    }

    #[test]
    fn conflicts_name_every_path_and_change_nothing() {
        let pending = manifest(&[("a", "1"), ("b", "2"), ("c", "3")]);
        let partial = manifest(&[("a", "x"), ("b", "2"), ("c", "y"), ("d", "4")]);
        let err = merge(&pending, &partial).unwrap_err();
        assert_eq!(
            err,
            Error::Conflicts(vec![
                EntryPath::new("a").unwrap(),
                EntryPath::new("c").unwrap()
            ])
        );
        assert!(err.to_string().contains("'a', 'c'"), "{err}");
    }
}
