//! The SDK's one error type.

use std::path::PathBuf;

use cairn_core::Digest;
use cairn_core::wire::Problem;

/// What can go wrong talking to a registry or touching local files.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Missing or unreadable configuration.
    #[error("configuration: {0}")]
    Config(String),
    /// A rule of cairn-core (a name, a path, a duplicate add…).
    #[error(transparent)]
    Core(#[from] cairn_core::Error),
    /// The registry answered with a problem.
    #[error("the registry answered {status}: {}", .problem.detail)]
    Api {
        /// HTTP status.
        status: u16,
        /// The problem document.
        problem: Box<Problem>,
    },
    /// The registry could not be reached or the transfer broke (shown with every cause:
    /// `error sending request for url (…): client error (Connect): tcp connect error:
    /// Connection refused`; not a `source`, so reports do not repeat them).
    #[error("{}", causes(.0))]
    Http(reqwest::Error),
    /// A local file or directory.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What happened.
        source: std::io::Error,
    },
    /// Downloaded bytes that do not hash to the manifest's digest.
    #[error("{} downloaded as {actual}, but the manifest says {expected}", .path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The manifest's digest.
        expected: Digest,
        /// What the bytes hash to.
        actual: Digest,
    },
    /// A delta download received bytes that do not hash to the chunk they were asked for.
    #[error("{}: the registry sent bytes at offset {offset} that do not hash to chunk {chunk}", .path.display())]
    CorruptChunk {
        /// the file
        path: std::path::PathBuf,
        /// where the chunk starts in it
        offset: u64,
        /// the chunk asked for
        chunk: cairn_core::chunk::ChunkHash,
    },
    /// A reference that cannot be resolved.
    #[error("reference {uri}: {reason}")]
    Reference {
        /// The URI.
        uri: String,
        /// What went wrong.
        reason: String,
    },
    /// A download the local folder cannot take as it is (a symbolic link on the way, a file
    /// where a folder is, a name too long…); nothing was written.
    #[error("cannot download into {}: {}", .root.display(), crate::root::describe(.problems))]
    Unwritable {
        /// The download root.
        root: PathBuf,
        /// Each path that cannot be written, and why.
        problems: Vec<String>,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// The HTTP status, if the registry answered with a problem.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The SDK's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<reqwest::Error> for Error {
    fn from(e: reqwest::Error) -> Self {
        Self::Http(e)
    }
}

/// An error and its causes, joined with `: `.
fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = cause.source();
    }
    out
}
