//! Storage quotas: how much a project holds, and the most it may.

use serde::{Deserialize, Serialize};

/// `GET {P}/usage`, and the answer to `PUT {P}/quota`: the bytes the project holds (each blob
/// counted once however many versions name it) against its quota.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Usage {
    /// Bytes of the blobs the project holds.
    pub bytes: u64,
    /// How many blobs.
    pub blobs: u64,
    /// The most bytes it may hold; absent: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<u64>,
}

/// `PUT {P}/quota` (admin): `{"bytes": 500000000000}` sets the quota, `{"bytes": null}` lifts
/// it. Lowering it below what the project holds refuses new uploads, and deletes nothing.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct QuotaRequest {
    /// The quota in bytes, or `null` for none.
    pub bytes: Option<u64>,
}
