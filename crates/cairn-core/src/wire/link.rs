//! Download links: a URL for one file of a version that needs no token, for a browser's own
//! download manager (it streams to disk, shows progress, resumes) or for a tool that cannot
//! send headers.

use serde::{Deserialize, Serialize};

use crate::digest::Digest;

/// `POST {P}/artifacts/{name}/versions/{ref}/links`: a link to the file at `path`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    /// The file's path in the version.
    pub path: String,
}

/// A download link: `GET url` (no token; `Range` supported) answers the file until
/// `expires_at`, as an attachment named after the file.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Link {
    /// Absolute path on the registry: `/api/v1/links/{ticket}`.
    pub url: String,
    /// RFC 3339, UTC.
    pub expires_at: String,
    /// The file's digest.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub digest: Digest,
    /// The file's size in bytes.
    pub size: u64,
}
