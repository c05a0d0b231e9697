//! # cairn-core
//!
//! The rules every part of Cairn shares — registry, SDK, CLI and the browser app — so they can
//! never disagree on a digest, a path or a patch: typed SHA-256 digests and a streaming hasher,
//! the content-defined chunker,
//! names and entry paths, the manifest and its artifact digest, drafts, patches, distributed
//! merges, and the JSON wire types of the HTTP API. Pure Rust, no I/O; builds for
//! `wasm32-unknown-unknown`.
//!
//! ```
//! use cairn_core::{Digest, Draft, Entry, EntryPath, Manifest, patch};
//!
//! // a committed version's manifest…
//! let mut base = Manifest::new();
//! base.insert(EntryPath::new("data/a.csv")?, Entry::blob(Digest::of(b"a,b\n"), 4))?;
//!
//! // …edited as a draft: only the change travels
//! let mut draft = Draft::from_base(base.clone());
//! draft.add(EntryPath::normalize("./data\\b.csv")?, Entry::blob(Digest::of(b"c\n"), 2))?;
//! let patch = draft.patch();
//! assert_eq!(patch.put.len(), 1);
//! assert_eq!(&patch::apply(&base, &patch)?, draft.manifest());
//! assert_ne!(draft.manifest().digest(), base.digest());
//! # Ok::<(), cairn_core::Error>(())
//! ```

pub mod checkpoint;
pub mod chunk;
pub mod digest;
pub mod draft;
pub mod error;
pub mod manifest;
pub mod merge;
pub mod name;
pub mod pack;
pub mod patch;
pub mod path;
pub mod portable;
#[cfg(feature = "openapi")]
mod schema;
pub mod segment;
pub mod wire;

pub use digest::{ArtifactDigest, ArtifactHasher, Digest, EntryDigest, Hasher};
pub use draft::{Change, Draft, Summary};
pub use error::{Error, Result};
pub use manifest::{Entry, Manifest};
pub use merge::merge;
pub use name::{
    Alias, ArtifactName, ArtifactPath, Defaults, DistributedId, Entity, Project, RunId, TypeName,
    VersionRef,
};
pub use patch::{Patch, apply, diff};
pub use path::EntryPath;
pub use wire::VersionIndex;
