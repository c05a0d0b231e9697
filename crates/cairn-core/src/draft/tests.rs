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

fn paths(d: &Draft) -> Vec<&str> {
    d.manifest().iter().map(|(p, _)| p.as_str()).collect()
}

#[test]
fn rename_moves_a_file_or_a_folder_with_the_same_entries() {
    let mut d = Draft::from_base(base());
    let moves = d.rename("a.txt", "docs/a.txt").unwrap();
    assert_eq!(moves, vec![(p("a.txt"), p("docs/a.txt"))]);
    assert_eq!(d.manifest().get("docs/a.txt"), Some(&blob("a")));
    let moved = d.rename("dir_to_remove/", "kept").unwrap();
    assert_eq!(moved.len(), 2);
    assert_eq!(
        paths(&d),
        [
            "docs/a.txt",
            "kept/1",
            "kept/2",
            "modified_file.txt",
            "x/a.txt"
        ]
    );
    // the patch carries the same digests: nothing new to upload
    let patch = d.patch();
    assert!(
        patch
            .put
            .values()
            .all(|e| base().iter().any(|(_, b)| b.digest == e.digest))
    );
    assert_eq!(patch.remove.len(), 3);
}

#[test]
fn rename_is_all_or_nothing_and_says_why_it_refuses() {
    let mut d = Draft::from_base(base());
    d.put(p("y/a.txt"), blob("ya")).unwrap();
    let before = d.clone();
    let refused = |d: &mut Draft, from: &str, to: &str| d.rename(from, to).unwrap_err().to_string();
    assert_eq!(
        refused(&mut d, "x", "y"),
        "cannot move 'x' to 'y': 'y/a.txt' already holds a file"
    );
    assert_eq!(
        refused(&mut d, "x", "x/deeper"),
        "cannot move 'x' to 'x/deeper': a folder cannot go inside itself"
    );
    assert_eq!(
        refused(&mut d, "x", "a.txt"),
        "cannot move 'x' to 'a.txt': 'a.txt' is a file"
    );
    assert_eq!(
        refused(&mut d, "a.txt", "x"),
        "cannot move 'a.txt' to 'x': 'x' is a folder"
    );
    assert_eq!(
        refused(&mut d, "a.txt", "a.txt"),
        "cannot move 'a.txt' to 'a.txt': it is already there"
    );
    assert!(refused(&mut d, "a.txt", "../up").starts_with("invalid artifact path: '../up'"));
    assert_eq!(
        refused(&mut d, "nope", "z"),
        "no such file or directory: nope"
    );
    assert_eq!(d, before, "nothing changed");
}

#[test]
fn revert_undoes_the_changes_at_a_file_or_under_a_folder() {
    let mut d = Draft::from_base(base());
    d.remove("dir_to_remove").unwrap();
    d.put(p("dir_to_remove/3"), blob("3")).unwrap();
    d.put(p("x/a.txt"), blob("new")).unwrap();
    d.put(p("x/b.txt"), blob("b")).unwrap();
    assert_eq!(d.revert("dir_to_remove").unwrap(), 3);
    assert_eq!(
        d.manifest().get("dir_to_remove/1"),
        base().get("dir_to_remove/1")
    );
    assert!(d.manifest().get("dir_to_remove/3").is_none());
    assert_eq!(d.revert("x/b.txt").unwrap(), 1);
    assert_eq!(
        d.change("x/a.txt"),
        Some(Change::Modified),
        "only the file named"
    );
    assert_eq!(d.revert("x/").unwrap(), 1);
    assert!(d.patch().is_empty());
    assert_eq!(d.revert("x").unwrap(), 0, "nothing left to undo");
    assert_eq!(
        d.revert("nope").unwrap_err().to_string(),
        "no such file or directory: nope"
    );
}

#[test]
fn replace_dir_makes_a_folder_hold_exactly_the_new_files() {
    let mut d = Draft::from_base(base());
    d.replace_dir(
        "dir_to_remove",
        [
            (p("dir_to_remove/2"), blob("two")),
            (p("dir_to_remove/9"), blob("9")),
        ],
    )
    .unwrap();
    let s = d.summary();
    assert_eq!((s.added, s.modified, s.removed, s.unchanged), (1, 1, 1, 3));
    // an entry outside the folder: refused, nothing changed
    let before = d.clone();
    let err = d
        .replace_dir("x", [(p("x/ok"), blob("ok")), (p("elsewhere"), blob("e"))])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid artifact path: 'elsewhere' (not inside the folder being replaced)"
    );
    assert_eq!(d, before);
    // the root: everything
    d.replace_dir("", [(p("only"), blob("o"))]).unwrap();
    assert_eq!(paths(&d), ["only"]);
}
