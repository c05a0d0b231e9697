use std::collections::BTreeMap;

use cairn_core::{Digest, Entry, EntryPath, Manifest};
use futures::StreamExt;

use super::*;

fn entry(i: u64) -> Entry {
    Entry::blob(Digest::of(&i.to_le_bytes()), i)
}

/// A shuffled order of `n` paths, then every tenth again with another entry (in later runs).
fn arrivals(n: u64) -> Vec<(EntryPath, Entry)> {
    let path = |i: u64| EntryPath::new(format!("d{:02}/f{i:06}", i % 37)).unwrap();
    // a permutation of 0..n: i * 7919 mod n (n not a multiple of 7919)
    let mut out: Vec<_> = (0..n)
        .map(|k| (k * 7919) % n)
        .map(|i| (path(i), entry(i)))
        .collect();
    out.extend((0..n).step_by(10).map(|i| (path(i), entry(i + 1))));
    out
}

async fn read(spool: Spool) -> (Vec<Manifest>, Vec<String>) {
    let (pieces, warnings) = spool.pages();
    let pieces: Vec<Manifest> = pieces.map(|p| p.unwrap()).collect().await;
    (pieces, warnings.await.unwrap())
}

fn expected(items: &[(EntryPath, Entry)]) -> BTreeMap<EntryPath, Entry> {
    items.iter().cloned().collect() // later inserts win
}

fn check(pieces: &[Manifest], want: &BTreeMap<EntryPath, Entry>) {
    assert!(
        pieces
            .iter()
            .all(|p| p.len() <= PAGE_ENTRIES && !p.is_empty())
    );
    assert!(
        pieces[..pieces.len() - 1]
            .iter()
            .all(|p| p.len() == PAGE_ENTRIES)
    );
    let got: Vec<(EntryPath, Entry)> = pieces
        .iter()
        .flat_map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())))
        .collect();
    let want: Vec<(EntryPath, Entry)> = want.clone().into_iter().collect();
    assert_eq!(got.len(), want.len());
    assert!(got == want, "the merged entries differ from the whole map");
}

#[tokio::test]
async fn entries_in_any_order_come_out_sorted_in_pages_the_last_of_a_path_winning() {
    let dir = tempfile::tempdir().unwrap();
    let items = arrivals(20_011);
    // ~4,000 entries a run: five run files and the last run in memory
    let mut spool = Spool::with_run_limit(dir.path().to_owned(), 4000 * 120);
    for (p, e) in items.clone() {
        spool.push(p, e).unwrap();
    }
    assert!(spool.runs.len() >= 4, "{} runs", spool.runs.len());
    let (pieces, warnings) = read(spool).await;
    check(&pieces, &expected(&items));
    assert!(warnings.is_empty(), "{warnings:?}");
    // the run files are gone with the merge
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn past_the_run_file_limit_runs_are_merged_into_one() {
    let dir = tempfile::tempdir().unwrap();
    let items = arrivals(3001);
    // ~10 entries a run: 330 runs, merged whenever MAX_RUNS files are on disk
    let mut spool = Spool::with_run_limit(dir.path().to_owned(), 10 * 120);
    for (p, e) in items.clone() {
        spool.push(p, e).unwrap();
        assert!(spool.runs.len() < MAX_RUNS);
    }
    let (pieces, _) = read(spool).await;
    check(&pieces, &expected(&items));
}

#[tokio::test]
async fn a_manifest_held_whole_gets_the_grouped_warnings_and_a_spilled_one_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    let paths = ["Data/a.txt", "data/A.txt", "x/CON"];
    let mut whole = Spool::new(dir.path().to_owned());
    let mut spilled = Spool::with_run_limit(dir.path().to_owned(), 1);
    for (i, p) in paths.iter().enumerate() {
        whole
            .push(EntryPath::new(*p).unwrap(), entry(i as u64))
            .unwrap();
        spilled
            .push(EntryPath::new(*p).unwrap(), entry(i as u64))
            .unwrap();
    }
    let (_, grouped) = read(whole).await;
    assert_eq!(grouped.len(), 3, "{grouped:?}");
    assert!(grouped[1].starts_with("Data/a.txt and data/A.txt differ only in case"));
    let (_, scanned) = read(spilled).await;
    assert_eq!(scanned.len(), 2, "{scanned:?}");
    assert!(scanned[0].starts_with("x/CON:"));
    assert!(scanned[1].starts_with("data differs only in case"));
}

#[tokio::test]
async fn no_entries_no_pieces() {
    let dir = tempfile::tempdir().unwrap();
    let (pieces, warnings) = read(Spool::new(dir.path().to_owned())).await;
    assert!(pieces.is_empty() && warnings.is_empty());
}

#[test]
fn run_folders_left_by_a_killed_registry_are_removed_and_live_ones_kept() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("commit-old");
    let live = dir.path().join("commit-live");
    let other = dir.path().join("keep-me");
    for d in [&old, &live, &other] {
        std::fs::create_dir(d).unwrap();
        std::fs::write(d.join("run-1"), b"[]").unwrap();
    }
    let hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 3600);
    for d in [&old, &other] {
        std::fs::File::open(d)
            .unwrap()
            .set_modified(hours_ago)
            .unwrap();
    }
    clear_stale(dir.path());
    assert!(!old.exists());
    assert!(live.exists() && other.exists());
}
