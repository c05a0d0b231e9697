//! The one error type of cairn-store, by meaning; the server maps it to HTTP in one place.

use cairn_core::{Alias, Digest, EntryPath, VersionIndex};

/// What went wrong in a storage operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request broke a rule of cairn-core (a name, a path, a patch…).
    #[error(transparent)]
    Invalid(cairn_core::Error),
    /// A request that is well formed but cannot be carried out as asked.
    #[error("{0}")]
    Unprocessable(String),
    /// An artifact, version, alias or pending version that does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// Committing a name that exists with another type.
    #[error(
        "artifact {name} already exists with type {existing}; cannot create another with type {requested}"
    )]
    TypeClash {
        /// the collection
        name: String,
        /// its type
        existing: String,
        /// the type asked for
        requested: String,
    },
    /// `expect_latest` did not hold.
    #[error("latest is {actual}, not {expected} as the commit expected")]
    LatestMoved {
        /// what the commit expected
        expected: VersionIndex,
        /// what `latest` names (none when the collection has no version)
        actual: String,
    },
    /// A commit or upsert names blobs the project does not have.
    #[error("{} blob(s) are not stored; upload them first", .0.len())]
    MissingBlobs(Vec<Digest>),
    /// Upserts that disagree on paths.
    #[error("conflicting entries for {} path(s): the same path with a different digest", .0.len())]
    Conflicts(Vec<EntryPath>),
    /// Deleting a version that still carries custom aliases.
    #[error("version {version} still has aliases {}; delete them first or pass delete_aliases=true", list(.aliases))]
    HasAliases {
        /// the version
        version: VersionIndex,
        /// its custom aliases
        aliases: Vec<Alias>,
    },
    /// The bytes received do not hash to the digest they were sent under.
    #[error("the bytes received hash to {actual}, not {expected}")]
    DigestMismatch {
        /// the digest in the request
        expected: Digest,
        /// what the bytes hash to
        actual: Digest,
    },
    /// Completing an upload session before all its parts arrived.
    #[error("the upload is incomplete: part(s) {} not received", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))]
    IncompleteUpload(Vec<u32>),
    /// A body over the size limit.
    #[error("the blob is larger than the limit of {limit} bytes")]
    TooLarge {
        /// the limit in bytes
        limit: u64,
    },
    /// The blob is being deleted by garbage collection right now; uploading it again succeeds
    /// once the deletion is done (seconds).
    #[error(
        "blob {0} is being deleted by garbage collection right now; upload it again in a few seconds"
    )]
    Collecting(Digest),
    /// Taking the lock that lets one garbage collection run at a time failed.
    #[error("garbage-collection lock: {0}")]
    Lock(std::io::Error),
    /// Reading the request body failed (the client went away, say).
    #[error("reading the upload failed: {0}")]
    Body(std::io::Error),
    /// The metadata database failed.
    #[error("metadata database: {0}")]
    Database(#[from] sqlx::Error),
    /// Applying the database schema failed.
    #[error("metadata database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The blob store failed.
    #[error("blob store: {0}")]
    Blob(#[from] object_store::Error),
    /// Stored data that does not parse (a bug or corruption, never the client's fault).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}

impl From<cairn_core::Error> for Error {
    /// Distributed conflicts keep their own variant (409 with the paths); every other core
    /// error is invalid input.
    fn from(e: cairn_core::Error) -> Self {
        match e {
            cairn_core::Error::Conflicts(paths) => Self::Conflicts(paths),
            other => Self::Invalid(other),
        }
    }
}

impl Error {
    /// Whether the storage under the registry is full: the disk of the blob store (`ENOSPC`)
    /// or of the database (SQLite's `SQLITE_FULL`, PostgreSQL's `disk_full`). Writes go through
    /// staging and transactions, so such a failure leaves nothing half-written.
    pub fn is_out_of_space(&self) -> bool {
        if let Self::Database(sqlx::Error::Database(db)) = self {
            let code = db.code();
            if matches!(code.as_deref(), Some("13" | "53100"))
                || db.message().contains("database or disk is full")
            {
                return true;
            }
        }
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(self);
        while let Some(e) = cause {
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(io_out_of_space)
            {
                return true;
            }
            cause = e.source();
        }
        false
    }
}

/// Whether an I/O error says the disk is full (`ENOSPC`).
pub fn io_out_of_space(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(28)
}

fn list(aliases: &[Alias]) -> String {
    aliases
        .iter()
        .map(|a| a.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// cairn-store's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
