//! Runs and lineage: which run logged a version, which runs used it.

use serde::{Deserialize, Serialize};

use crate::name::{ArtifactName, DistributedId, RunId, VersionRef};
use crate::wire::VersionIndex;

/// `POST {P}/runs`: start a run.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// A name for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The group; distributed upserts and finishes default to it as their id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<DistributedId>,
    /// What kind of job this is (`train`, `preprocess`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_type: Option<String>,
}

/// A version named by collection and number.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersionKey {
    /// The collection.
    pub name: ArtifactName,
    /// The version.
    pub version: VersionIndex,
}

/// A run, with what it logged and used.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Run {
    /// Assigned by the registry.
    pub id: RunId,
    /// A name for people.
    pub name: Option<String>,
    /// The group.
    pub group: Option<DistributedId>,
    /// The job type.
    pub job_type: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// Versions this run logged.
    #[serde(default)]
    pub logged: Vec<VersionKey>,
    /// Versions this run used.
    #[serde(default)]
    pub used: Vec<VersionKey>,
}

/// `POST {P}/runs/{id}/use`: record that a run uses a version, and resolve it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UseRequest {
    /// The collection.
    pub name: ArtifactName,
    /// `latest`, `vN` or an alias.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub version: VersionRef,
}

/// `GET …/versions/{ref}/lineage`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Lineage {
    /// The run that logged the version.
    pub logged_by: Option<RunId>,
    /// The runs that used it, in the order they first did.
    pub used_by: Vec<RunId>,
}
