//! Resumable upload sessions on the object store, shared by every replica:
//! `uploads/<id>/session.json` (owner, digest, size, part size, expiry), `uploads/<id>/part-<n>`
//! (streamed in, and visible only once complete, so a part is either there whole or not at all), and
//! `uploads/index/<owner-hash>-<digest>` → id, so that opening the same blob again (a re-run
//! after a crash, a page reload) resumes the session. Completing streams the parts in order
//! into the verified [`BlobStore::stage`]: the blob is staged only if the whole hashes right,
//! and published by the caller (see [`crate::holding`]).

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use cairn_core::Digest;
use cairn_core::wire::{UploadPart, UploadSession};
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, PutMode, PutOptions};
use serde::{Deserialize, Serialize};

use super::{BlobStore, ByteStream, ObjectBlobStore, Staged, hex_id};
use crate::error::{Error, Result};

/// What `session.json` holds.
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    owner: String,
    digest: Digest,
    size: u64,
    part_size: u64,
    expires_at: i64,
}

fn dir(id: &str) -> Path {
    Path::from(format!("uploads/{id}"))
}

fn session_path(id: &str) -> Path {
    Path::from(format!("uploads/{id}/session.json"))
}

fn part_path(id: &str, number: u32) -> Path {
    Path::from(format!("uploads/{id}/part-{number:06}"))
}

fn index_path(owner: &str, digest: &Digest) -> Path {
    let owner = Digest::of(owner.as_bytes()).hex();
    Path::from(format!("uploads/index/{}-{}", &owner[..16], digest.hex()))
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Ids are 32 hex characters (they name directories: nothing else gets in).
fn check_id(id: &str) -> Result<()> {
    if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(Error::NotFound(format!("upload session {id}")))
    }
}

impl ObjectBlobStore {
    async fn read_json<T: serde::de::DeserializeOwned>(&self, path: &Path) -> Result<Option<T>> {
        match self.store.get(path).await {
            Ok(r) => {
                let bytes = r.bytes().await?;
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| Error::Corrupt(format!("{path}: {e}")))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The session id an index entry names, if it exists.
    async fn read_index(&self, at: &Path) -> Result<Option<String>> {
        match self.store.get(at).await {
            Ok(r) => Ok(Some(
                String::from_utf8_lossy(&r.bytes().await?).into_owned(),
            )),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The session `id` of `owner`, unexpired; an expired one is deleted on the way.
    async fn stored(&self, owner: &str, id: &str) -> Result<Stored> {
        check_id(id)?;
        let missing = || Error::NotFound(format!("upload session {id}"));
        let s: Stored = self
            .read_json(&session_path(id))
            .await?
            .ok_or_else(missing)?;
        if s.owner != owner {
            return Err(missing());
        }
        if s.expires_at <= now() {
            self.remove_session(id, Some((&s.owner, &s.digest))).await?;
            return Err(Error::NotFound(format!("upload session {id} (expired)")));
        }
        Ok(s)
    }

    async fn received(&self, id: &str) -> Result<Vec<UploadPart>> {
        let prefix = dir(id);
        let mut parts: Vec<UploadPart> = self
            .store
            .list(Some(&prefix))
            .try_filter_map(|m| async move {
                let name = m.location.filename().unwrap_or_default();
                Ok(name
                    .strip_prefix("part-")
                    .and_then(|n| n.parse::<u32>().ok())
                    .map(|number| UploadPart {
                        number,
                        size: m.size,
                    }))
            })
            .try_collect()
            .await?;
        parts.sort_by_key(|p| p.number);
        Ok(parts)
    }

    async fn view(&self, id: &str, s: &Stored) -> Result<UploadSession> {
        Ok(UploadSession {
            id: id.to_string(),
            digest: s.digest,
            size: s.size,
            part_size: s.part_size,
            part_count: UploadSession::count(s.size, s.part_size),
            parts: self.received(id).await?,
            expires_at: s.expires_at,
        })
    }

    async fn remove_session(&self, id: &str, index: Option<(&str, &Digest)>) -> Result<()> {
        let objects: Vec<Path> = self
            .store
            .list(Some(&dir(id)))
            .map_ok(|m| m.location)
            .try_collect()
            .await?;
        // parts first, the session last: a crash in between leaves a session that lists fewer
        // parts, never parts without a session
        for path in objects
            .iter()
            .filter(|p| p.filename() != Some("session.json"))
        {
            delete_quietly(self.store.as_ref(), path).await?;
        }
        if let Some((owner, digest)) = index {
            let at = index_path(owner, digest);
            if self.read_index(&at).await?.as_deref() == Some(id) {
                delete_quietly(self.store.as_ref(), &at).await?;
            }
        }
        delete_quietly(self.store.as_ref(), &session_path(id)).await?;
        if let Some(root) = &self.root {
            // the local store's hidden half-written files (`part-000003#1`) of a crash
            match std::fs::remove_dir_all(root.join("uploads").join(id)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(super::object::local_error(e)),
            }
        }
        Ok(())
    }

    pub(crate) async fn open_upload_impl(
        &self,
        owner: &str,
        digest: &Digest,
        size: u64,
        part_size: u64,
        ttl: Duration,
    ) -> Result<UploadSession> {
        let index = index_path(owner, digest);
        if let Some(id) = self.read_index(&index).await? {
            match self.stored(owner, &id).await {
                Ok(s) if s.size == size => return self.view(&id, &s).await,
                Ok(_) | Err(Error::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let id = hex_id();
        let stored = Stored {
            owner: owner.to_string(),
            digest: *digest,
            size,
            part_size,
            expires_at: now() + ttl.as_secs() as i64,
        };
        let json = serde_json::to_vec(&stored).expect("a session serializes");
        self.store.put(&session_path(&id), json.into()).await?;
        // the last opener wins the index; an earlier session of the same blob still completes
        let options = PutOptions {
            mode: PutMode::Overwrite,
            ..PutOptions::default()
        };
        self.store
            .put_opts(&index, Bytes::from(id.clone()).into(), options)
            .await?;
        self.view(&id, &stored).await
    }

    pub(crate) async fn upload_impl(&self, owner: &str, id: &str) -> Result<UploadSession> {
        let s = self.stored(owner, id).await?;
        self.view(id, &s).await
    }

    pub(crate) async fn put_part_impl(
        &self,
        owner: &str,
        id: &str,
        number: u32,
        body: ByteStream,
    ) -> Result<UploadPart> {
        let s = self.stored(owner, id).await?;
        let Some(expected) = UploadSession::part_len(s.size, s.part_size, number) else {
            return Err(Error::Unprocessable(format!(
                "part {number} is past the end: this upload has parts 0 to {}",
                UploadSession::count(s.size, s.part_size) - 1
            )));
        };
        let wrong = |got: u64| {
            Error::Unprocessable(format!(
                "part {number} must be {expected} bytes, got {got}{}",
                if got > expected { " or more" } else { "" }
            ))
        };
        // streamed, not buffered, and visible only once whole
        let counted = |received: &mut u64, chunk: &[u8]| {
            *received += chunk.len() as u64;
            (*received > expected).then(|| wrong(*received))
        };
        let complete = |received: u64| (received != expected).then(|| wrong(received));
        self.write_checked(&part_path(id, number), body, 0u64, counted, complete)
            .await?;
        Ok(UploadPart {
            number,
            size: expected,
        })
    }

    pub(crate) async fn complete_upload_impl(
        &self,
        owner: &str,
        id: &str,
    ) -> Result<(UploadSession, Staged)> {
        let s = self.stored(owner, id).await?;
        let session = self.view(id, &s).await?;
        let missing = session.missing();
        if !missing.is_empty() {
            return Err(Error::IncompleteUpload(missing));
        }
        let store = self.store.clone();
        let id_owned = id.to_string();
        let parts: Vec<(Option<Path>, Path)> = (0..session.part_count)
            .map(|n| (n.checked_sub(1).map(|p| part_path(id, p)), part_path(id, n)))
            .collect();
        // each part is deleted once the next one is being read: the disk (or bucket) holds
        // the blob about once, not twice, while it is assembled
        let body: ByteStream = futures::stream::iter(parts)
            .then(move |(done, path)| {
                let store = store.clone();
                async move {
                    if let Some(done) = done {
                        store.delete(&done).await?;
                    }
                    store.get(&path).await.map(|r| r.into_stream())
                }
            })
            .try_flatten()
            .map_err(std::io::Error::other)
            .boxed();
        let outcome = self.stage(&s.digest, body, s.size).await;
        // verified and staged, or refused: either way the parts are done with (a blob that
        // does not hash right is started again, not patched; a crash in the middle leaves a
        // session missing its first parts, which the client sends again)
        self.remove_session(&id_owned, Some((&s.owner, &s.digest)))
            .await?;
        Ok((session, outcome?))
    }

    pub(crate) async fn abort_upload_impl(&self, owner: &str, id: &str) -> Result<()> {
        let s = self.stored(owner, id).await?;
        self.remove_session(id, Some((&s.owner, &s.digest))).await
    }

    /// Delete expired sessions (and parts whose session is gone), and index entries of
    /// sessions that no longer exist.
    pub(crate) async fn clean_uploads_impl(&self) -> Result<usize> {
        let mut by_id: BTreeMap<String, Vec<Path>> = BTreeMap::new();
        let mut index = Vec::new();
        let mut listing = self.store.list(Some(&Path::from("uploads")));
        while let Some(meta) = listing.try_next().await? {
            let second = match meta.location.parts().nth(1) {
                Some(p) => p.as_ref().to_string(),
                None => continue,
            };
            if second == "index" {
                index.push(meta.location);
            } else {
                by_id.entry(second).or_default().push(meta.location);
            }
        }
        let mut removed = 0;
        for id in by_id.keys() {
            let live = match self.read_json::<Stored>(&session_path(id)).await? {
                Some(s) => s.expires_at > now(),
                // parts without a session: a crash during removal
                None => false,
            };
            if !live {
                self.remove_session(id, None).await?;
                removed += 1;
            }
        }
        for at in index {
            let Some(id) = self.read_index(&at).await? else {
                continue;
            };
            let alive = by_id.contains_key(&id)
                && self
                    .read_json::<Stored>(&session_path(&id))
                    .await?
                    .is_some();
            if !alive {
                delete_quietly(self.store.as_ref(), &at).await?;
            }
        }
        Ok(removed)
    }
}

async fn delete_quietly(store: &dyn ObjectStore, path: &Path) -> Result<()> {
    match store.delete(path).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
