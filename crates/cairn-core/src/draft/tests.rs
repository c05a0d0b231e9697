use super::*;
use crate::digest::Digest;
use crate::patch::apply;

fn p(s: &str) -> EntryPath {
    EntryPath::new(s).unwrap()
}

fn blob(c: &str) -> Entry {
    Entry::blob(Digest::of(c.as_bytes()), c.len() as u64)
}

fn base() -> Manifest {
    let mut m = Manifest::new();
    for (path, c) in [
        ("a.txt", "a"),
        ("dir_to_remove/1", "1"),
        ("dir_to_remove/2", "2"),
        ("x/a.txt", "xa"),
        ("modified_file.txt", "old"),
    ] {
        m.insert(p(path), blob(c)).unwrap();
    }
    m
}

#[test]
fn add_same_digest_is_a_noop_and_different_fails() {
    let mut d = Draft::from_base(base());
    let mut same = blob("a");
    same.size = 42;
    d.add(p("a.txt"), same).unwrap();
    assert_eq!(
        d.manifest().get("a.txt").unwrap().size,
        1,
        "existing entry kept"
    );
    assert!(d.patch().is_empty());
    let err = d.add(p("a.txt"), blob("other")).unwrap_err();
    assert_eq!(err.to_string(), "cannot add the same path twice: 'a.txt'");
    d.put(p("a.txt"), blob("other")).unwrap();
    assert_eq!(d.change("a.txt"), Some(Change::Modified));
}

#[test]
fn the_workflow_example() {
    let mut d = Draft::from_base(base());
    d.add(p("file_to_add.txt"), blob("new")).unwrap();
    assert_eq!(d.remove("dir_to_remove/").unwrap().len(), 2);
    d.remove("modified_file.txt").unwrap();
    d.add(p("modified_file.txt"), blob("fixed")).unwrap();
    let patch = d.patch();
    assert_eq!(patch.remove, ["dir_to_remove/1", "dir_to_remove/2"]);
    assert_eq!(patch.put.len(), 2);
    assert_eq!(&apply(d.base(), &patch).unwrap(), d.manifest());
    assert_eq!(
        d.summary(),
        Summary {
            added: 1,
            modified: 1,
            removed: 2,
            unchanged: 2
        }
    );
}

#[test]
fn remove_is_exact_then_prefix_and_errors_name_the_target() {
    let mut d = Draft::from_base(base());
    assert_eq!(d.remove("a.txt").unwrap(), [p("a.txt")]);
    assert!(
        d.manifest().get("x/a.txt").is_some(),
        "a.txt never matches x/a.txt"
    );
    assert_eq!(
        d.remove("a.txt").unwrap_err().to_string(),
        "no such file or directory: a.txt"
    );
    assert_eq!(d.remove("dir_to_remove").unwrap().len(), 2);
    assert!(d.remove("dir_to_").is_err());
}

#[test]
fn add_many_is_all_or_nothing() {
    let mut d = Draft::from_base(base());
    let batch = vec![(p("n1"), blob("n1")), (p("a.txt"), blob("changed"))];
    assert_eq!(
        d.add_many(batch.clone(), false).unwrap_err(),
        Error::DuplicatePath(p("a.txt"))
    );
    assert!(d.manifest().get("n1").is_none(), "nothing applied");
    d.add_many(batch, true).unwrap();
    assert_eq!(d.change("n1"), Some(Change::Added));
    assert_eq!(d.change("a.txt"), Some(Change::Modified));
}

#[test]
fn modify_needs_an_existing_path() {
    let mut d = Draft::from_base(base());
    d.modify(p("a.txt"), blob("z")).unwrap();
    assert_eq!(
        d.modify(p("nope"), blob("z")).unwrap_err().to_string(),
        "no such file or directory: nope"
    );
}

#[test]
fn unchanged_draft_keeps_the_base_digest() {
    let mut d = Draft::from_base(base());
    d.remove("a.txt").unwrap();
    d.add(p("a.txt"), blob("a")).unwrap();
    assert!(d.patch().is_empty());
    assert_eq!(d.manifest().digest(), d.base().digest());
}
