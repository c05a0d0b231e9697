//! Progress reports, for progress bars (the CLI draws them with indicatif).

/// What is being measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Hashing local files.
    Hash,
    /// Uploading blobs.
    Upload,
    /// Downloading files.
    Download,
}

/// Receives progress in bytes. Every method has a do-nothing default.
pub trait Progress: Send + Sync {
    /// A phase starts with `total` bytes to go.
    fn begin(&self, _phase: Phase, _total: u64) {}
    /// `bytes` more are done.
    fn advance(&self, _phase: Phase, _bytes: u64) {}
    /// The phase is over.
    fn end(&self, _phase: Phase) {}
}

/// Reports nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl Progress for Silent {}
