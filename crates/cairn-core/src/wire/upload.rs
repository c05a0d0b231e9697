//! Resumable upload sessions: a large blob sent as numbered parts, in parallel and in any order,
//! verified as a whole when completed.

use serde::{Deserialize, Serialize};

use crate::digest::Digest;

/// The size of every part but the last (the registry may choose another; the session says).
pub const DEFAULT_PART_SIZE: u64 = 16 * 1024 * 1024;

/// Clients send blobs of at least this many bytes through an upload session (smaller ones in
/// one `PUT`).
pub const RESUMABLE_THRESHOLD: u64 = 64 * 1024 * 1024;

/// `POST {P}/uploads`: start (or, for the same digest and size, resume) an upload session.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UploadRequest {
    /// The SHA-256 of the whole blob.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
}

/// A part the registry holds.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadPart {
    /// Its number, from 0.
    pub number: u32,
    /// Its size in bytes.
    pub size: u64,
}

/// An upload session (`POST {P}/uploads`, `GET {P}/uploads/{id}`).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadSession {
    /// The session id.
    pub id: String,
    /// The blob's SHA-256.
    pub digest: Digest,
    /// The blob's size.
    pub size: u64,
    /// Every part is this size except the last, which holds the rest.
    pub part_size: u64,
    /// Parts numbered `0..part_count`.
    pub part_count: u32,
    /// The parts received so far, by number.
    pub parts: Vec<UploadPart>,
    /// When the session and its parts are deleted (seconds since the Unix epoch) unless
    /// completed.
    pub expires_at: i64,
}

impl UploadSession {
    /// The number of parts a blob of `size` takes.
    pub fn count(size: u64, part_size: u64) -> u32 {
        size.div_ceil(part_size).max(1) as u32
    }

    /// The size part `number` must have, or `None` past the last part.
    pub fn part_len(size: u64, part_size: u64, number: u32) -> Option<u64> {
        let start = u64::from(number) * part_size;
        (number < Self::count(size, part_size)).then(|| (size - start.min(size)).min(part_size))
    }

    /// The parts not received yet.
    pub fn missing(&self) -> Vec<u32> {
        let have: std::collections::BTreeSet<u32> = self.parts.iter().map(|p| p.number).collect();
        (0..self.part_count).filter(|n| !have.contains(n)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cover_the_blob_exactly() {
        for (size, part) in [(0, 4), (1, 4), (4, 4), (5, 4), (17, 4)] {
            let n = UploadSession::count(size, part);
            let total: u64 = (0..n)
                .map(|i| UploadSession::part_len(size, part, i).unwrap())
                .sum();
            assert_eq!(total, size, "size {size}");
            assert_eq!(UploadSession::part_len(size, part, n), None);
        }
        assert_eq!(UploadSession::part_len(17, 4, 4), Some(1));
    }
}
