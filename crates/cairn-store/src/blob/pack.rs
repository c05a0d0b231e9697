//! Packs on `object_store`: `packs/<entity>/<project>/<pack id>`, written through staging like
//! blobs, so a pack appears whole and verified or not at all.

use std::ops::Range;

use bytes::Bytes;
use cairn_core::pack::{PackHeader, PackId, PackVerifier};
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{GetOptions, GetRange};

use super::{ByteStream, ObjectBlobStore, StoredPack, hex_id};
use crate::error::{Error, Result};
use crate::recipe::PackKey;

impl ObjectBlobStore {
    fn pack_location(key: &PackKey) -> Path {
        Path::from(format!("packs/{}/{}", key.owner, key.id))
    }

    pub(super) async fn put_pack_impl(
        &self,
        owner: &str,
        body: ByteStream,
        limit: u64,
    ) -> Result<(PackKey, PackHeader)> {
        let staging = Path::from(format!("staging/{}", hex_id()));
        let step = |v: &mut PackVerifier, piece: &[u8]| {
            if v.position() + piece.len() as u64 > limit {
                return Some(Error::TooLarge { limit });
            }
            v.update(piece).err().map(Error::Invalid)
        };
        let mut verified = None;
        let end = |v: PackVerifier| {
            let raw = v.header_bytes().map(<[u8]>::to_vec);
            match v.finish() {
                Ok(header) => {
                    verified = Some((header, raw.expect("a finished pack has a header")));
                    None
                }
                Err(e) => Some(Error::Invalid(e)),
            }
        };
        self.write_checked(&staging, body, PackVerifier::new(), step, end)
            .await?;
        let (header, raw) = verified.expect("verified when the write succeeded");
        let key = PackKey {
            owner: owner.to_owned(),
            id: PackId::of(owner, &raw),
        };
        let published = self
            .publish_copy(&staging, &Self::pack_location(&key))
            .await;
        let _ = self.store.delete(&staging).await;
        published?;
        Ok((key, header))
    }

    pub(super) async fn pack_header_impl(&self, key: &PackKey) -> Result<Option<PackHeader>> {
        let prefix = match self.pack_bytes_impl(key, 0..12).await {
            Ok(b) => b,
            Err(Error::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let count = PackHeader::count(&prefix).map_err(|e| corrupt(key, e))?;
        let raw = match self
            .pack_bytes_impl(key, 0..PackHeader::encoded_len(count))
            .await
        {
            Ok(b) => b,
            // deleted between the two reads
            Err(Error::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        PackHeader::decode(&raw)
            .map(Some)
            .map_err(|e| corrupt(key, e))
    }

    pub(super) async fn pack_bytes_impl(&self, key: &PackKey, range: Range<u64>) -> Result<Bytes> {
        let options = GetOptions {
            range: Some(GetRange::Bounded(range)),
            ..GetOptions::default()
        };
        match self
            .store
            .get_opts(&Self::pack_location(key), options)
            .await
        {
            Ok(r) => Ok(r.bytes().await?),
            Err(object_store::Error::NotFound { .. }) => {
                Err(Error::NotFound(format!("pack {key}")))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub(super) async fn list_packs_impl(&self) -> Result<Vec<StoredPack>> {
        let listed: Vec<_> = self
            .store
            .list(Some(&Path::from("packs")))
            .try_collect()
            .await?;
        let mut out = Vec::with_capacity(listed.len());
        for meta in listed {
            let name = meta.location.as_ref();
            let Some(key) = name.strip_prefix("packs/").and_then(|k| k.parse().ok()) else {
                tracing::warn!(object = name, "not a pack; left alone");
                continue;
            };
            out.push(StoredPack {
                key,
                size: meta.size,
                written: meta.last_modified,
            });
        }
        Ok(out)
    }

    pub(super) async fn delete_pack_impl(&self, key: &PackKey) -> Result<()> {
        match self.store.delete(&Self::pack_location(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

fn corrupt(key: &PackKey, e: cairn_core::Error) -> Error {
    Error::Corrupt(format!("pack {key}: {e}"))
}
