//! Property tests: drafts, patches, diffs and the streaming hasher agree with each other for
//! random manifests and random edit sequences.

use cairn_core::{Digest, Draft, Entry, EntryPath, Hasher, Manifest, apply, diff, merge};
use proptest::prelude::*;

/// Paths from a small alphabet so that edits often hit the same paths and directories.
fn path() -> impl Strategy<Value = EntryPath> {
    prop::collection::vec(
        prop::sample::select(vec!["a", "b", "dir", "x.txt", "é", "😀", "..z"]),
        1..4,
    )
    .prop_map(|segs| EntryPath::new(segs.join("/")).unwrap())
}

fn entry() -> impl Strategy<Value = Entry> {
    (0u8..6, 0u64..4).prop_map(|(content, size)| Entry::blob(Digest::of(&[content]), size))
}

fn manifest() -> impl Strategy<Value = Manifest> {
    prop::collection::btree_map(path(), entry(), 0..24)
        .prop_map(|entries| Manifest::from_entries(entries).unwrap())
}

#[derive(Clone, Debug)]
enum Edit {
    Add(EntryPath, Entry),
    Put(EntryPath, Entry),
    Remove(String),
    AddMany(Vec<(EntryPath, Entry)>, bool),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (path(), entry()).prop_map(|(p, e)| Edit::Add(p, e)),
        (path(), entry()).prop_map(|(p, e)| Edit::Put(p, e)),
        (path(), any::<bool>()).prop_map(|(p, slash)| Edit::Remove(if slash {
            format!("{p}/")
        } else {
            p.to_string()
        })),
        (
            prop::collection::vec((path(), entry()), 0..5),
            any::<bool>()
        )
            .prop_map(|(v, merge)| Edit::AddMany(v, merge)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn draft_patch_applies_to_its_base(base in manifest(), edits in prop::collection::vec(edit(), 0..16)) {
        let mut draft = Draft::from_base(base.clone());
        for e in edits {
            // failing edits (duplicate paths, removes that match nothing) must leave the draft as it was
            let before = draft.clone();
            let ok = match e {
                Edit::Add(p, e) => draft.add(p, e).is_ok(),
                Edit::Put(p, e) => draft.put(p, e).is_ok(),
                Edit::Remove(t) => draft.remove(&t).is_ok(),
                Edit::AddMany(v, merge) => draft.add_many(v, merge).is_ok(),
            };
            if !ok {
                prop_assert_eq!(&draft, &before);
            }
        }
        let patch = draft.patch();
        prop_assert_eq!(&apply(&base, &patch).unwrap(), draft.manifest());
        // the wire form carries the same patch
        let json = serde_json::to_vec(&patch).unwrap();
        prop_assert_eq!(serde_json::from_slice::<cairn_core::Patch>(&json).unwrap(), patch);
    }

    #[test]
    fn diff_turns_a_into_b(a in manifest(), b in manifest()) {
        prop_assert_eq!(apply(&a, &diff(&a, &b)).unwrap(), b.clone());
        prop_assert!(diff(&b, &b).is_empty());
    }

    #[test]
    fn canonical_bytes_round_trip(m in manifest()) {
        let bytes = m.canonical_bytes();
        let back = Manifest::from_json(&bytes).unwrap();
        prop_assert_eq!(back.canonical_bytes(), bytes);
        prop_assert_eq!(back.digest(), m.digest());
    }

    #[test]
    fn merge_is_a_union_or_a_conflict(a in manifest(), b in manifest()) {
        match merge(&a, &b) {
            Ok(u) => {
                for (p, e) in a.iter().chain(b.iter()) {
                    prop_assert_eq!(&u.get(p.as_str()).unwrap().digest, &e.digest);
                }
                prop_assert_eq!(u.len(), a.iter().filter(|(p, _)| b.get(p.as_str()).is_none()).count() + b.len());
            }
            Err(cairn_core::Error::Conflicts(paths)) => {
                prop_assert!(!paths.is_empty());
                for p in paths {
                    prop_assert_ne!(&a.get(p.as_str()).unwrap().digest, &b.get(p.as_str()).unwrap().digest);
                }
            }
            Err(other) => prop_assert!(false, "unexpected error {}", other),
        }
    }

    #[test]
    fn chunked_hashing_matches_one_piece(
        data in prop::collection::vec(any::<u8>(), 0..5000),
        cuts in prop::collection::vec(0usize..5000, 0..12),
    ) {
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
        cuts.sort_unstable();
        let mut h = Hasher::new();
        let mut start = 0;
        for c in cuts.into_iter().chain([data.len()]) {
            h.update(&data[start..c]);
            start = c;
        }
        prop_assert_eq!(h.len(), data.len() as u64);
        prop_assert_eq!(h.finish(), Digest::of(&data));
    }
}
