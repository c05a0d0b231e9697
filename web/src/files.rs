//! Files from the user: dropped files and whole folders (walked fully), picked files, and
//! hashing and chunking them in slices with cairn-core (never a whole file in memory).

use cairn_core::Digest;
use cairn_core::chunk::{Chunk, Chunker, decode_chunk_list, encode_chunk_list};
use js_sys::{Array, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    DataTransfer, File, FileSystemDirectoryEntry, FileSystemEntry, FileSystemFileEntry,
    ReadableStreamByobReader,
};

/// Bytes read per slice while hashing.
pub const SLICE: u64 = 8 << 20;

/// A file with the relative path it was dropped or picked with.
#[derive(Clone, Debug)]
pub struct Picked {
    /// Relative path (folders kept).
    pub path: String,
    /// The file.
    pub file: File,
    /// Its size in bytes once known (NaN before): the first `File.size` of a file makes the
    /// browser stat it, so staging asks the workers for many at once.
    pub size: f64,
}

impl Picked {
    /// A file with its relative path (its size not yet read).
    pub fn new(path: String, file: File) -> Self {
        Self {
            path,
            file,
            size: f64::NAN,
        }
    }
}

/// The entries of a drop, taken synchronously (the `DataTransfer` empties after the event).
pub fn entries_of(dt: &DataTransfer) -> Vec<FileSystemEntry> {
    let items = dt.items();
    (0..items.length())
        .filter_map(|i| items.get(i))
        .filter_map(|item| item.webkit_get_as_entry().ok().flatten())
        .collect()
}

/// The files of a drop: folders walked fully, else the plain files. The drop's entries are
/// taken at once (the `DataTransfer` empties after the event); the walk is what is awaited.
pub fn dropped(
    ev: &web_sys::DragEvent,
) -> impl std::future::Future<Output = Result<Vec<Picked>, String>> + use<> {
    let dt = ev.data_transfer();
    let entries = dt.as_ref().map(entries_of).unwrap_or_default();
    let plain = match entries.is_empty() {
        true => dt.and_then(|d| d.files()).map(|list| from_input(&list)),
        false => None,
    };
    async move {
        match plain {
            Some(files) => Ok(files),
            None => walk(entries).await,
        }
    }
}

async fn file_of(entry: &FileSystemFileEntry) -> Result<File, String> {
    let promise = Promise::new(&mut |resolve, reject| {
        entry.file_with_callback_and_callback(&resolve, &reject);
    });
    JsFuture::from(promise)
        .await
        .map_err(|_| format!("cannot read {}", entry.full_path()))?
        .dyn_into()
        .map_err(|_| "not a file".into())
}

/// Read a directory to the end: `readEntries` answers in batches until it answers none.
async fn children(dir: &FileSystemDirectoryEntry) -> Result<Vec<FileSystemEntry>, String> {
    let reader = dir.create_reader();
    let mut out = Vec::new();
    loop {
        let promise = Promise::new(&mut |resolve, reject| {
            let _ = reader.read_entries_with_callback_and_callback(&resolve, &reject);
        });
        let batch: Array = JsFuture::from(promise)
            .await
            .map_err(|_| format!("cannot list {}", dir.full_path()))?
            .into();
        if batch.length() == 0 {
            return Ok(out);
        }
        out.extend(
            batch
                .iter()
                .filter_map(|e| e.dyn_into::<FileSystemEntry>().ok()),
        );
    }
}

/// Every file under the dropped entries, with paths relative to the drop.
pub async fn walk(roots: Vec<FileSystemEntry>) -> Result<Vec<Picked>, String> {
    let mut out = Vec::new();
    let mut stack = roots;
    while let Some(entry) = stack.pop() {
        if entry.is_directory() {
            stack.extend(children(entry.unchecked_ref()).await?);
        } else if entry.is_file() {
            let file = file_of(entry.unchecked_ref()).await?;
            out.push(Picked::new(
                entry.full_path().trim_start_matches('/').to_owned(),
                file,
            ));
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// The files of an `<input type="file">` (folder inputs give `webkitRelativePath`).
pub fn from_input(files: &web_sys::FileList) -> Vec<Picked> {
    (0..files.length())
        .filter_map(|i| files.get(i))
        .map(|file| {
            let rel = js_sys::Reflect::get(&file, &JsValue::from_str("webkitRelativePath"))
                .ok()
                .and_then(|v| v.as_string())
                .filter(|p| !p.is_empty());
            Picked::new(rel.unwrap_or_else(|| file.name()), file)
        })
        .collect()
}

/// The files a file input's `change` event picked (none if it was not a file input); the input
/// is emptied, so picking the same files again fires again.
pub fn take_picked(ev: &web_sys::Event) -> Vec<Picked> {
    let Some(input) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
    else {
        return Vec::new();
    };
    let picked = input.files().map(|l| from_input(&l)).unwrap_or_default();
    input.set_value("");
    picked
}

/// Files up to this size are read in one call (a byte stream costs more to set up than to read).
const READ_WHOLE: u64 = 1 << 20;
/// Files up to this size keep their bytes after hashing, so packs are built from memory rather
/// than by reading thousands of small files again.
pub const KEEP: u64 = 64 << 10;

/// A file's SHA-256 and its chunks (chunker v1), from one pass over its bytes.
#[derive(Clone, Debug)]
pub struct Hashed {
    pub digest: Digest,
    pub chunks: Vec<Chunk>,
    /// The bytes of a small file (up to [`KEEP`]).
    pub kept: Option<Uint8Array>,
}

/// The same digest and chunks (whether bytes were kept does not matter).
impl PartialEq for Hashed {
    fn eq(&self, other: &Self) -> bool {
        self.digest == other.digest && self.chunks == other.chunks
    }
}

impl Hashed {
    /// The chunk list as bytes (`CAIRNCL1`), to pass between a worker and the page or to keep.
    pub fn chunk_list(&self) -> Vec<u8> {
        let pairs: Vec<_> = self.chunks.iter().map(|c| (c.hash, c.len)).collect();
        encode_chunk_list(&pairs)
    }

    /// From a digest and a chunk list made by [`Hashed::chunk_list`].
    pub fn from_parts(digest: Digest, chunk_list: &[u8]) -> Result<Self, String> {
        Ok(Self {
            digest,
            chunks: decode_chunk_list(chunk_list).map_err(|e| e.to_string())?,
            kept: None,
        })
    }
}

/// Hash and chunk a file, reporting bytes done; `cancelled` stops it between reads. Reads
/// through the file's byte stream into one reused buffer (memory stays flat: no garbage per
/// read), or slice by slice where the browser's file streams are not byte streams.
pub async fn hash(
    file: &File,
    mut progress: impl FnMut(u64),
    cancelled: impl Fn() -> bool,
) -> Result<Hashed, String> {
    let size = file.size() as u64;
    if size <= READ_WHOLE {
        if cancelled() {
            return Err("cancelled".into());
        }
        return hash_whole(file, &mut progress).await;
    }
    match ReadableStreamByobReader::new(&file.stream()) {
        Ok(reader) => hash_stream(file, reader, &mut progress, &cancelled).await,
        Err(_) => hash_slices(file, &mut progress, &cancelled).await,
    }
}

async fn hash_whole(file: &File, progress: &mut impl FnMut(u64)) -> Result<Hashed, String> {
    let buf = JsFuture::from(file.array_buffer())
        .await
        .map_err(|_| format!("cannot read {}", file.name()))?;
    let bytes = Uint8Array::new(&buf);
    let (digest, chunks) = cairn_core::chunk::chunk_all(&bytes.to_vec());
    progress(bytes.length() as u64);
    let kept = (bytes.length() as u64 <= KEEP).then_some(bytes);
    Ok(Hashed {
        digest,
        chunks,
        kept,
    })
}

async fn hash_stream(
    file: &File,
    reader: ReadableStreamByobReader,
    progress: &mut impl FnMut(u64),
    cancelled: &impl Fn() -> bool,
) -> Result<Hashed, String> {
    let unreadable = |_| format!("cannot read {}", file.name());
    let mut h = Chunker::new();
    let mut chunks = Vec::new();
    // small files get a small buffer (allocating and zeroing 8 MiB costs more than hashing 1 MiB)
    let len = (file.size() as u64).clamp(64 << 10, SLICE) as u32;
    let mut scratch = vec![0u8; len as usize];
    let mut view = Uint8Array::new_with_length(len);
    let mut done = 0;
    loop {
        if cancelled() {
            let _ = reader.cancel();
            return Err("cancelled".into());
        }
        let read = JsFuture::from(reader.read_with_array_buffer_view(&view))
            .await
            .map_err(unreadable)?;
        let chunk: Uint8Array = Reflect::get(&read, &"value".into())
            .map_err(unreadable)?
            .unchecked_into();
        if Reflect::get(&read, &"done".into())
            .map_err(unreadable)?
            .is_truthy()
        {
            break;
        }
        let n = chunk.length() as usize;
        chunk.copy_to(&mut scratch[..n]);
        h.update(&scratch[..n], &mut chunks);
        done += n as u64;
        progress(done);
        // the read moved the buffer into `chunk`: hand the whole of it back for the next read
        view = Uint8Array::new(&chunk.buffer());
    }
    let digest = h.finish(&mut chunks);
    Ok(Hashed {
        digest,
        chunks,
        kept: None,
    })
}

async fn hash_slices(
    file: &File,
    progress: &mut impl FnMut(u64),
    cancelled: &impl Fn() -> bool,
) -> Result<Hashed, String> {
    let size = file.size() as u64;
    let mut h = Chunker::new();
    let mut chunks = Vec::new();
    let mut offset = 0;
    while offset < size {
        if cancelled() {
            return Err("cancelled".into());
        }
        let end = (offset + SLICE).min(size);
        let blob = file
            .slice_with_f64_and_f64(offset as f64, end as f64)
            .map_err(|_| format!("cannot read {}", file.name()))?;
        let buf = JsFuture::from(blob.array_buffer())
            .await
            .map_err(|_| format!("cannot read {}", file.name()))?;
        h.update(&Uint8Array::new(&buf).to_vec(), &mut chunks);
        offset = end;
        progress(offset);
    }
    let digest = h.finish(&mut chunks);
    Ok(Hashed {
        digest,
        chunks,
        kept: None,
    })
}
