//! The JSON bodies of the HTTP API (`docs/api.md`), defined once for the server, the
//! SDK and the web app.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::digest::{ArtifactDigest, Digest, serde_via_str};
use crate::error::{Error, Result};
use crate::manifest::Manifest;
use crate::name::{Alias, ArtifactName, DistributedId, RunId, TypeName, VersionRef};
use crate::patch::Patch;

mod chunks;
mod lineage;
mod link;
mod quota;
mod upload;

pub use chunks::{
    AssembleOutcome, AssembleRequest, BlobRecipe, KnownChunks, KnownRequest, MAX_ASSEMBLE_BLOBS,
    MAX_BASES, MAX_KNOWN_CHECK, MAX_PACKS, PackReceipt, RecipePart, next_group, plan_parts,
};
pub use lineage::{Lineage, Run, RunRequest, UseRequest, VersionKey};
pub use link::{Link, LinkRequest};
pub use quota::{QuotaRequest, Usage};
pub use upload::{
    DEFAULT_PART_SIZE, RESUMABLE_THRESHOLD, UploadPart, UploadRequest, UploadSession,
};

/// Most top-level keys version metadata may have.
pub const MAX_METADATA_KEYS: usize = 100;

/// Check semantics §5's metadata rule: a JSON object with at most 100 top-level keys.
pub fn check_metadata(metadata: &Map<String, Value>) -> Result<()> {
    if metadata.len() > MAX_METADATA_KEYS {
        return Err(Error::InvalidMetadata(format!(
            "{} top-level keys, at most {MAX_METADATA_KEYS} are allowed",
            metadata.len()
        )));
    }
    Ok(())
}

/// A committed version's number, written `vN`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct VersionIndex(pub u64);

impl FromStr for VersionIndex {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.parse::<VersionRef>() {
            Ok(VersionRef::Index(i)) => Ok(Self(i)),
            _ => Err(Error::InvalidVersion(s.to_owned())),
        }
    }
}

impl fmt::Display for VersionIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

serde_via_str!(VersionIndex);

/// `GET /api/v1/health`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// Always `ok`.
    pub status: String,
    /// The largest blob one `PUT` may carry, in bytes.
    pub max_blob_size: u64,
    /// The largest blob an upload session may carry (clients send files of at least
    /// [`RESUMABLE_THRESHOLD`] bytes that way, and refuse bigger ones up front).
    #[serde(default)]
    pub max_upload_size: u64,
}

/// `GET /api/v1/whoami`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Whoami {
    /// The token's name or owner.
    pub user: String,
    /// Entities the token reaches (`*` for an admin token).
    pub entities: Vec<String>,
    /// `read`, `write` or `admin`.
    pub role: String,
    /// The one project the token reaches, if it is limited to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// When the token stops working (RFC 3339), if it expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// `POST {P}/blobs/missing` request and answer.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MissingBlobs {
    /// Asked: the digests to check (at most 10,000).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub digests: Vec<Digest>,
    /// Answered: the subset not stored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<Digest>,
}

/// Most digests one missing-check may ask about.
pub const MAX_MISSING_CHECK: usize = 10_000;

/// Paging of lists: `next` is the key to pass as `after` for the following page.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams, utoipa::ToSchema))]
pub struct ListQuery {
    /// At most this many items (default 100, at most 10,000).
    pub limit: Option<u32>,
    /// Start after this key (an earlier answer's `next`).
    pub after: Option<String>,
    /// `asc` (default) or `desc`, for versions.
    pub order: Option<String>,
    /// Only artifacts of this type.
    #[serde(rename = "type")]
    pub type_: Option<String>,
}

/// One collection in `GET {P}/artifacts`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArtifactSummary {
    /// Collection name.
    pub name: ArtifactName,
    /// Its type.
    #[serde(rename = "type")]
    pub type_: TypeName,
    /// Committed, not deleted, versions.
    pub versions: u64,
    /// The version `latest` names.
    pub latest: Option<VersionIndex>,
    /// When the collection was made (RFC 3339).
    #[serde(default)]
    pub created_at: String,
    /// When its newest version was committed (RFC 3339), if it has any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

/// One project in `GET /api/v1/projects`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectSummary {
    /// Its entity.
    pub entity: crate::name::Entity,
    /// The project.
    pub project: crate::name::Project,
    /// Its collections.
    pub artifacts: u64,
    /// Their versions.
    pub versions: u64,
    /// When its newest version was committed (RFC 3339), if it has any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

/// `GET /api/v1/projects`: the projects the token reaches that hold artifacts, by entity and
/// name (at most [`MAX_PROJECTS`]).
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectList {
    /// The projects.
    pub projects: Vec<ProjectSummary>,
}

/// Most projects `GET /api/v1/projects` lists.
pub const MAX_PROJECTS: usize = 10_000;

/// `GET {P}/artifacts`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArtifactList {
    /// This page.
    pub artifacts: Vec<ArtifactSummary>,
    /// Pass as `after` for the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// `GET {P}/artifacts/{name}`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArtifactInfo {
    /// Collection name.
    pub name: ArtifactName,
    /// Its type.
    #[serde(rename = "type")]
    pub type_: TypeName,
    /// Every alias and the version it names.
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, String>))]
    pub aliases: BTreeMap<Alias, VersionIndex>,
    /// Committed, not deleted, versions.
    pub versions: u64,
}

/// Where a version is in its life.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum VersionState {
    /// Committed and visible.
    Committed,
    /// A distributed version still collecting upserts.
    Pending,
}

/// A version, as `GET …/versions/{ref}` answers it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Version {
    /// Collection name.
    pub name: ArtifactName,
    /// Its type.
    #[serde(rename = "type")]
    pub type_: TypeName,
    /// `vN`.
    pub version: VersionIndex,
    /// `N`.
    pub index: u64,
    /// The artifact digest.
    pub digest: ArtifactDigest,
    /// Aliases naming this version.
    pub aliases: Vec<Alias>,
    /// Sum of entry sizes.
    pub size: u64,
    /// Number of entries.
    pub file_count: u64,
    /// Free text.
    pub description: Option<String>,
    /// A JSON object.
    pub metadata: Map<String, Value>,
    /// RFC 3339.
    pub created_at: String,
    /// The version this one was drafted from.
    pub base: Option<VersionIndex>,
    /// Always `committed` here.
    pub state: VersionState,
    /// The run that logged this version.
    #[serde(default)]
    pub logged_by: Option<RunId>,
}

/// `GET {P}/artifacts/{name}/versions`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersionList {
    /// This page.
    pub versions: Vec<Version>,
    /// Pass as `after` for the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// `POST {P}/artifacts/{name}/versions`: exactly one of `manifest` or `patch` (with `base`).
#[derive(Clone, PartialEq, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CommitRequest {
    /// The collection's type.
    #[serde(rename = "type")]
    pub type_: Option<TypeName>,
    /// The full contents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<Manifest>,
    /// The version a patch applies to (or, with `manifest`, recorded for lineage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub base: Option<VersionRef>,
    /// Changes against `base`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<Patch>,
    /// Aliases to put on the version (`latest` is always added).
    #[serde(default)]
    pub aliases: Vec<Alias>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A JSON object of at most 100 keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    /// Fail with 409 unless `latest` is this version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_latest: Option<VersionIndex>,
    /// The run logging this version (lineage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<RunId>,
}

/// The answer to a commit or a finish.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommitResponse {
    /// `vN` of the new version, or of the existing one with the same content.
    pub version: VersionIndex,
    /// `N`.
    pub index: u64,
    /// The artifact digest.
    pub digest: ArtifactDigest,
    /// False when identical content was already committed (dedup).
    pub created: bool,
    /// Aliases now naming the version.
    pub aliases: Vec<Alias>,
    /// Paths the commit added that will not download everywhere (names too long, reserved on
    /// Windows, differing only in case…; see `cairn_core::portable`). The version is committed
    /// all the same.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// `PATCH {P}/artifacts/{name}/versions/{ref}`.
#[derive(Clone, PartialEq, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct VersionUpdate {
    /// New description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// New metadata (replaces the old).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

/// `PUT {P}/artifacts/{name}/aliases/{alias}`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AliasTarget {
    /// The version the alias should name.
    pub version: VersionIndex,
}

/// `POST …/distributed/{id}/upsert` and `…/finish`.
#[derive(Clone, PartialEq, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpsertRequest {
    /// The collection's type.
    #[serde(rename = "type")]
    pub type_: Option<TypeName>,
    /// This run's entries (optional on finish).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<Manifest>,
    /// Aliases for the finished version.
    #[serde(default)]
    pub aliases: Vec<Alias>,
    /// Description of the finished version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Metadata of the finished version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    /// The run sending this request; the finishing run is recorded as `logged_by`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<RunId>,
}

/// A pending distributed version (`GET …/distributed/{id}` and the upsert answer).
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingVersion {
    /// Always `pending`.
    pub state: VersionState,
    /// Entries upserted so far.
    pub file_count: u64,
    /// The distributed id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distributed_id: Option<DistributedId>,
    /// The collection's type.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<TypeName>,
    /// Aliases gathered for the finished version.
    #[serde(default)]
    pub aliases: Vec<Alias>,
    /// The union so far (on inspect).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<Manifest>,
}

/// An error body (`application/problem+json`, RFC 9457) with Cairn's extension fields.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub type_: String,
    /// Short summary of the kind.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What exactly went wrong, naming the offending value.
    pub detail: String,
    /// Blobs a commit needs that are not stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<Vec<Digest>>,
    /// Paths that conflict with a pending version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflicts: Option<Vec<String>>,
    /// The path a problem is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A reference entry's URI (the file route cannot serve references).
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// `POST /api/v1/tokens`: make a token no stronger than the caller's — an entity, optionally
/// one project of it, a role, and an expiry. Short-lived project tokens are what a dashboard
/// hands to an embedded uploader. Only an admin token for every entity may make tokens that
/// never expire; every other caller must set `expires_in` (at most 7 days) and stays within its
/// own entity, project, role and expiry.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// Who or what the token is for.
    #[serde(default)]
    pub name: Option<String>,
    /// The entity it reaches; absent: the caller's entity (every entity for a global admin).
    #[serde(default)]
    pub entity: Option<crate::name::Entity>,
    /// The one project of the entity it reaches; absent: the caller's project, if limited.
    #[serde(default)]
    pub project: Option<crate::name::Project>,
    /// `read`, `write` or `admin`.
    pub role: String,
    /// Seconds until the token stops working.
    #[serde(default)]
    pub expires_in: Option<u64>,
}

/// The answer to a token request: the secret, shown once.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// When it stops working (RFC 3339), if it expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}
