//! MD5 beside SHA-256: uploads hashed with both at once, and the MD5s of blobs uploaded
//! natively computed (once, then recorded) when a W&B client first asks for them.

use std::collections::HashMap;

use cairn_core::Digest;
use cairn_server::AppState;
use cairn_store::{BlobMd5, Md5, ProjectKey};
use futures::TryStreamExt;
use md5::Digest as _;

use crate::error::Result;

/// Hashes bytes with MD5 and SHA-256 as they pass.
#[derive(Default)]
pub struct Both {
    md5: md5::Md5,
    sha: cairn_core::digest::Hasher,
    size: u64,
}

impl std::fmt::Debug for Both {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Both").field("size", &self.size).finish()
    }
}

impl Both {
    /// Feed bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.md5.update(bytes);
        self.sha.update(bytes);
        self.size += bytes.len() as u64;
    }

    /// Bytes fed so far.
    pub fn len(&self) -> u64 {
        self.size
    }

    /// The MD5, the SHA-256 and the byte count.
    pub fn finish(self) -> BlobMd5 {
        BlobMd5 {
            md5: Md5(self.md5.finalize().into()),
            digest: self.sha.finish(),
            size: self.size,
        }
    }
}

/// The MD5 of each of these blobs `project` holds, computing (and recording) those not known
/// yet by reading their bytes once.
pub async fn of_blobs(
    state: &AppState,
    project: &ProjectKey,
    digests: &[Digest],
) -> Result<HashMap<Digest, Md5>> {
    let mut out: HashMap<Digest, Md5> = HashMap::with_capacity(digests.len());
    for chunk in digests.chunks(1000) {
        for b in state.meta.md5s_of(project, chunk).await? {
            out.insert(b.digest, b.md5);
        }
    }
    let mut computed = Vec::new();
    for digest in digests {
        if out.contains_key(digest) {
            continue;
        }
        let mut both = Both::default();
        let mut bytes =
            cairn_store::content::read(state.meta.as_ref(), &state.blobs, digest, None).await?;
        while let Some(piece) = bytes.try_next().await.map_err(cairn_store::Error::Body)? {
            both.update(&piece);
        }
        let blob = both.finish();
        if blob.digest != *digest {
            return Err(cairn_store::Error::Corrupt(format!(
                "blob {digest} reads back as {}",
                blob.digest
            ))
            .into());
        }
        out.insert(*digest, blob.md5);
        computed.push(blob);
        if computed.len() >= 1000 {
            state.meta.record_md5(project, &computed).await?;
            computed.clear();
        }
    }
    if !computed.is_empty() {
        state.meta.record_md5(project, &computed).await?;
    }
    Ok(out)
}
