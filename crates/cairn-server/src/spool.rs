//! A full manifest's entries as a commit body delivers them (in any order), sorted in bounded
//! memory and handed to the store as page-sized pieces in path order.
//!
//! Entries gather in a run of at most [`RUN_BYTES`] (estimated); a full run is sorted and
//! written to a temporary file, and the next one starts. Reading merges the files and the last
//! run (still in memory) into pieces of [`PAGE_ENTRIES`]: the registry holds one run, one
//! buffered reader per file and two pieces in flight, whatever the manifest's size. A path
//! given twice keeps its last entry, as a JSON object parsed whole does. Past [`MAX_RUNS`]
//! files the runs are merged into one, so a huge manifest never opens more than that many.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use cairn_core::{Entry, EntryPath, Manifest, portable};
use cairn_store::{ManifestPages, PAGE_ENTRIES};
use futures::StreamExt;
use tokio::sync::{mpsc, oneshot};

/// Estimated bytes of entries one run holds in memory before it is written out.
pub const RUN_BYTES: usize = 16 << 20;
/// Run files at most; past it they are merged into one.
const MAX_RUNS: usize = 160;
/// Buffer of each run file's reader and writer.
const IO_BUFFER: usize = 32 << 10;

type Item = (EntryPath, Entry);

/// Entries received so far (see the module's documentation).
#[derive(Debug)]
pub struct Spool {
    parent: PathBuf,
    dir: Option<tempfile::TempDir>,
    /// Sorted run files, oldest first.
    runs: Vec<PathBuf>,
    run: Vec<Item>,
    run_bytes: usize,
    /// Run files named so far (names are never reused).
    named: usize,
    /// A run is written out past this many (estimated) bytes: [`RUN_BYTES`] but in tests.
    run_limit: usize,
    entries: u64,
}

/// Roughly what `item` takes in memory.
fn weight(item: &Item) -> usize {
    let (path, entry) = item;
    std::mem::size_of::<Item>()
        + path.as_str().len()
        + entry.reference.as_ref().map_or(0, String::len)
        + entry.extra.as_ref().map_or(0, |m| {
            // a JSON value in memory is a few times its text
            4 * serde_json::to_string(m).map_or(0, |s| s.len())
        })
}

/// Sort `run` by path, keeping the last of equal paths.
fn sort_run(run: &mut Vec<Item>) {
    run.sort_by(|a, b| a.0.cmp(&b.0)); // stable: equal paths keep their order
    let mut out: Vec<Item> = Vec::with_capacity(run.len());
    for item in run.drain(..) {
        match out.last_mut() {
            Some(last) if last.0 == item.0 => *last = item,
            _ => out.push(item),
        }
    }
    *run = out;
}

impl Spool {
    /// An empty spool whose run files go to a fresh folder under `parent`.
    pub fn new(parent: PathBuf) -> Self {
        Self {
            parent,
            dir: None,
            runs: Vec::new(),
            run: Vec::new(),
            run_bytes: 0,
            run_limit: RUN_BYTES,
            named: 0,
            entries: 0,
        }
    }

    /// Runs of `bytes` instead of [`RUN_BYTES`] (tests: many runs from few entries).
    #[cfg(test)]
    fn with_run_limit(parent: PathBuf, bytes: usize) -> Self {
        Self {
            run_limit: bytes,
            ..Self::new(parent)
        }
    }

    /// Entries pushed (a path given twice counts twice).
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// Take the next entry.
    pub fn push(&mut self, path: EntryPath, entry: Entry) -> io::Result<()> {
        let item = (path, entry);
        self.run_bytes += weight(&item);
        self.run.push(item);
        self.entries += 1;
        if self.run_bytes >= self.run_limit {
            self.spill()?;
        }
        Ok(())
    }

    fn file(&mut self) -> io::Result<PathBuf> {
        if self.dir.is_none() {
            std::fs::create_dir_all(&self.parent)?;
            self.dir = Some(
                tempfile::Builder::new()
                    .prefix("commit-")
                    .tempdir_in(&self.parent)?,
            );
        }
        let dir = self.dir.as_ref().expect("created above").path();
        self.named += 1;
        Ok(dir.join(format!("run-{}", self.named)))
    }

    /// Write the current run out, sorted.
    fn spill(&mut self) -> io::Result<()> {
        let mut run = std::mem::take(&mut self.run);
        self.run_bytes = 0;
        sort_run(&mut run);
        let path = self.file()?;
        write_run(&path, run.into_iter().map(Ok))?;
        self.runs.push(path);
        if self.runs.len() >= MAX_RUNS {
            let merged = self.file()?;
            let runs = std::mem::take(&mut self.runs);
            write_run(&merged, Merge::new(&runs, Vec::new())?)?;
            for r in &runs {
                std::fs::remove_file(r)?;
            }
            self.runs.push(merged);
        }
        Ok(())
    }

    /// The entries as page-sized pieces in path order, and the path warnings of the whole
    /// manifest once the last piece is read. Runs on a blocking thread; the run files are
    /// deleted when it ends (or the pieces are dropped).
    pub fn pages(mut self) -> (ManifestPages, oneshot::Receiver<Vec<String>>) {
        let (tx, rx) = mpsc::channel::<cairn_store::Result<Manifest>>(2);
        let (warn_tx, warn_rx) = oneshot::channel();
        sort_run(&mut self.run);
        tokio::task::spawn_blocking(move || {
            let _files = self.dir; // deleted when this ends
            // a manifest held whole gets the exact grouped warnings of a whole-body commit
            let mut scan = (!self.runs.is_empty()).then(portable::Scan::default);
            let exact = scan
                .is_none()
                .then(|| portable::warnings(self.run.iter().map(|(p, _)| p)));
            let send = |piece: cairn_store::Result<Manifest>| tx.blocking_send(piece).is_ok();
            let merge = match Merge::new(&self.runs, self.run) {
                Ok(m) => m,
                Err(e) => {
                    send(Err(spool_error(e)));
                    return;
                }
            };
            let mut page = BTreeMap::new();
            for item in merge {
                let (path, entry) = match item {
                    Ok(item) => item,
                    Err(e) => {
                        send(Err(spool_error(e)));
                        return;
                    }
                };
                if let Some(scan) = &mut scan {
                    scan.push(&path);
                }
                page.insert(path, entry);
                if page.len() == PAGE_ENTRIES {
                    let piece = Manifest::from_entries(std::mem::take(&mut page));
                    if !send(piece.map_err(cairn_store::Error::Invalid)) {
                        return; // the commit failed: nobody reads on
                    }
                }
            }
            if !page.is_empty()
                && !send(Manifest::from_entries(page).map_err(cairn_store::Error::Invalid))
            {
                return;
            }
            let _ = warn_tx.send(scan.map_or_else(|| exact.unwrap_or_default(), |s| s.finish()));
        });
        let pieces = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|piece| (piece, rx))
        });
        (pieces.boxed(), warn_rx)
    }
}

/// Run folders older than this are left by a registry that stopped mid-commit.
const STALE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Delete the run folders under `parent` that a registry killed mid-commit left behind (those
/// untouched for an hour: a live commit writes a run file at least every few seconds).
pub fn clear_stale(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > STALE));
        if old && entry.file_name().to_string_lossy().starts_with("commit-") {
            match std::fs::remove_dir_all(entry.path()) {
                Ok(()) => {
                    tracing::info!(path = %entry.path().display(), "removed a stale commit spool")
                }
                Err(e) => {
                    tracing::warn!(path = %entry.path().display(), error = %e, "could not remove a stale commit spool")
                }
            }
        }
    }
}

fn spool_error(e: io::Error) -> cairn_store::Error {
    cairn_store::Error::Corrupt(format!("reading a commit's spooled manifest: {e}"))
}

fn write_run(path: &PathBuf, items: impl Iterator<Item = io::Result<Item>>) -> io::Result<()> {
    let mut out = BufWriter::with_capacity(IO_BUFFER, File::create(path)?);
    for item in items {
        serde_json::to_writer(&mut out, &item?)?;
        out.write_all(b"\n")?;
    }
    out.into_inner()
        .map_err(io::IntoInnerError::into_error)?
        .sync_data()?;
    Ok(())
}

type RunReader =
    serde_json::StreamDeserializer<'static, serde_json::de::IoRead<BufReader<File>>, Item>;

/// One sorted source of a merge.
enum Source {
    File(RunReader),
    Memory(std::vec::IntoIter<Item>),
}

impl Source {
    fn next(&mut self) -> io::Result<Option<Item>> {
        match self {
            Self::File(r) => r.next().transpose().map_err(io::Error::from),
            Self::Memory(items) => Ok(items.next()),
        }
    }
}

/// The k-way merge of sorted runs (later runs win on equal paths).
struct Merge {
    sources: Vec<Source>,
    heads: Vec<Option<Entry>>,
    /// (path, source index), smallest first.
    heap: BinaryHeap<Reverse<(EntryPath, usize)>>,
}

impl Merge {
    /// The runs in `files` (oldest first), then `last` (sorted, newest).
    fn new(files: &[PathBuf], last: Vec<Item>) -> io::Result<Self> {
        let mut sources = Vec::with_capacity(files.len() + 1);
        for f in files {
            let reader = BufReader::with_capacity(IO_BUFFER, File::open(f)?);
            sources.push(Source::File(
                serde_json::Deserializer::from_reader(reader).into_iter(),
            ));
        }
        sources.push(Source::Memory(last.into_iter()));
        let mut merge = Self {
            heads: (0..sources.len()).map(|_| None).collect(),
            sources,
            heap: BinaryHeap::new(),
        };
        for i in 0..merge.sources.len() {
            merge.refill(i)?;
        }
        Ok(merge)
    }

    fn refill(&mut self, i: usize) -> io::Result<()> {
        if let Some((path, entry)) = self.sources[i].next()? {
            self.heads[i] = Some(entry);
            self.heap.push(Reverse((path, i)));
        }
        Ok(())
    }

    fn step(&mut self) -> io::Result<Option<Item>> {
        let Some(Reverse((path, i))) = self.heap.pop() else {
            return Ok(None);
        };
        let mut entry = self.heads[i].take().expect("a head for every heap item");
        self.refill(i)?;
        // the same path from later runs: the latest wins
        while let Some(Reverse((next, _))) = self.heap.peek() {
            if *next != path {
                break;
            }
            let Some(Reverse((_, j))) = self.heap.pop() else {
                break;
            };
            entry = self.heads[j].take().expect("a head for every heap item");
            self.refill(j)?;
        }
        Ok(Some((path, entry)))
    }
}

impl Iterator for Merge {
    type Item = io::Result<Item>;
    fn next(&mut self) -> Option<Self::Item> {
        self.step().transpose()
    }
}

#[cfg(test)]
mod tests;
