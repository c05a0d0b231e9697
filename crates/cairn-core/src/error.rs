//! The one error type of cairn-core. Every message names the value that was wrong.

use crate::path::EntryPath;

/// Everything that can be wrong with a digest, a name, a path, a manifest, a draft or a patch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A blob digest that is not `sha256:` followed by 64 lowercase hex characters.
    #[error("invalid digest '{0}': expected 'sha256:' followed by 64 lowercase hex characters")]
    InvalidDigest(String),
    /// An artifact digest that is not 64 lowercase hex characters.
    #[error("invalid artifact digest '{0}': expected 64 lowercase hex characters")]
    InvalidArtifactDigest(String),
    /// A reference digest that is empty, too long, or holds a NUL or newline.
    #[error("invalid reference digest '{0}': expected 1 to 1024 characters without NUL or newline")]
    InvalidReferenceDigest(String),
    /// An entity, project, artifact, type or distributed id that breaks the name rule.
    #[error("invalid {kind} name '{value}': {reason}")]
    InvalidName {
        /// what was being named: "entity", "project", "artifact", "type", "distributed id"
        kind: &'static str,
        /// the offending value
        value: String,
        /// which rule it broke
        reason: &'static str,
    },
    /// A type in the reserved `cairn-` namespace.
    #[error("type {0} is reserved")]
    ReservedType(String),
    /// An alias that breaks the alias rule.
    #[error("invalid alias '{value}': {reason}")]
    InvalidAlias {
        /// the offending alias
        value: String,
        /// which rule it broke
        reason: &'static str,
    },
    /// A version reference (`vN`) that is not a number in range.
    #[error("invalid version '{0}': expected v followed by a version number")]
    InvalidVersion(String),
    /// A full artifact path that cannot be parsed.
    #[error("invalid artifact path '{value}': {reason}")]
    InvalidArtifactPath {
        /// the offending full path
        value: String,
        /// what was wrong with it
        reason: &'static str,
    },
    /// An entry path that breaks semantics §2.
    #[error("invalid artifact path: '{path}' ({reason})")]
    InvalidPath {
        /// the offending path
        path: String,
        /// which rule it broke
        reason: &'static str,
    },
    /// A manifest whose `version` is not 1.
    #[error("unsupported manifest version {0}: expected 1")]
    UnsupportedManifestVersion(u64),
    /// A stored (non-reference) entry whose digest is not a `sha256:` blob digest.
    #[error(
        "entry '{path}' has digest '{digest}' but no ref: a stored entry needs a sha256 digest"
    )]
    StoredEntryNeedsBlobDigest {
        /// the entry's path
        path: EntryPath,
        /// the digest it carried
        digest: String,
    },
    /// Adding a path that exists with another digest, without overwrite.
    #[error("cannot add the same path twice: '{0}'")]
    DuplicatePath(EntryPath),
    /// Removing (or modifying) something that matches nothing.
    #[error("no such file or directory: {0}")]
    NoSuchPath(String),
    /// Moving a file or folder of a draft where it cannot go.
    #[error("cannot move '{from}' to '{to}': {reason}")]
    Move {
        /// the file or folder moved
        from: String,
        /// where it was to go
        to: String,
        /// why it cannot
        reason: String,
    },
    /// Distributed upserts that disagree on paths.
    #[error("conflicting entries for {}: the same path with a different digest", list(.0))]
    Conflicts(Vec<EntryPath>),
    /// Metadata that is not an object or has too many keys.
    #[error("invalid metadata: {0}")]
    InvalidMetadata(String),
    /// A chunk, segment or pack hash that is not 64 lowercase hex characters.
    #[error("invalid {what} '{value}': expected 64 lowercase hex characters")]
    InvalidHash {
        /// which kind of hash
        what: &'static str,
        /// the offending value
        value: String,
    },
    /// A pack body that breaks the pack format (docs/chunking.md).
    #[error("invalid pack: {0}")]
    InvalidPack(String),
    /// JSON that does not parse into the expected shape.
    #[error("invalid JSON: {0}")]
    Json(String),
}

fn list(paths: &[EntryPath]) -> String {
    const SHOWN: usize = 10;
    let mut s = paths
        .iter()
        .take(SHOWN)
        .map(|p| format!("'{p}'"))
        .collect::<Vec<_>>()
        .join(", ");
    if paths.len() > SHOWN {
        s.push_str(&format!(" and {} more", paths.len() - SHOWN));
    }
    s
}

/// cairn-core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
