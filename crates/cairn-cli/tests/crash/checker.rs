//! The invariants a registry must keep across crashes, checked through its API after each
//! restart: every acknowledged version still there with its digest; indices contiguous;
//! every listed version whole (its manifest hashes to its digest, every blob present and
//! hashing right); aliases where an acknowledged (or cut-off) move put them; no interrupted
//! upload left in staging.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use futures::{StreamExt, TryStreamExt};

use cairn_core::{ArtifactDigest, ArtifactName, Digest};
use cairn_store::BlobStore;
use cairn_workload::{Ack, Registry};

/// Everything the registry acknowledged, and alias moves it may have made.
#[derive(Default)]
pub struct Ledger {
    versions: BTreeMap<(ArtifactName, u64), ArtifactDigest>,
    /// `(artifact, alias)` → the indices it may name: the last acknowledged move and any
    /// move cut off by a kill after it (`None`: the alias may not exist, when no move of it
    /// was ever acknowledged).
    aliases: BTreeMap<(ArtifactName, String), BTreeSet<Option<u64>>>,
}

impl Ledger {
    pub fn record(&mut self, acks: Vec<Ack>, maybe: Vec<Ack>) {
        for ack in acks {
            match ack {
                Ack::Version {
                    artifact,
                    index,
                    digest,
                    ..
                } => {
                    if let Some(old) = self.versions.insert((artifact.clone(), index), digest) {
                        assert_eq!(
                            old, digest,
                            "{artifact}:v{index} acknowledged twice, differently"
                        );
                    }
                }
                Ack::Alias {
                    artifact,
                    alias,
                    index,
                } => {
                    self.aliases
                        .insert((artifact, alias), BTreeSet::from([Some(index)]));
                }
                Ack::Read { .. } => {}
            }
        }
        for ack in maybe {
            if let Ack::Alias {
                artifact,
                alias,
                index,
            } = ack
            {
                self.aliases
                    .entry((artifact, alias))
                    .or_insert_with(|| BTreeSet::from([None]))
                    .insert(Some(index));
            }
        }
    }

    pub fn versions(&self) -> usize {
        self.versions.len()
    }
}

/// What has been verified so far (versions and blobs are immutable: each is read once).
pub struct Checker {
    artifacts: Vec<ArtifactName>,
    staging: Option<PathBuf>,
    versions: BTreeMap<(ArtifactName, u64), ArtifactDigest>,
    blobs: BTreeSet<Digest>,
}

impl Checker {
    pub fn new(artifacts: Vec<ArtifactName>, staging: Option<PathBuf>) -> Self {
        Self {
            artifacts,
            staging,
            versions: BTreeMap::new(),
            blobs: BTreeSet::new(),
        }
    }

    pub fn versions(&self) -> usize {
        self.versions.len()
    }

    pub fn blobs(&self) -> usize {
        self.blobs.len()
    }

    pub async fn check(&mut self, reg: &Registry, ledger: &Ledger) -> Result<(), String> {
        let e = |e: cairn_workload::Error| e.to_string();
        let mut downloads = Vec::new();
        for artifact in &self.artifacts {
            let listed = match reg.versions(artifact).await {
                Ok(listed) => listed,
                Err(cairn_workload::Error::Status { status, .. }) if status == 404 => vec![],
                Err(other) => return Err(other.to_string()),
            };
            for (i, v) in listed.iter().enumerate() {
                if v.index != i as u64 {
                    let all: Vec<u64> = listed.iter().map(|v| v.index).collect();
                    return Err(format!("{artifact}: indices are not contiguous: {all:?}"));
                }
                let key = (artifact.clone(), v.index);
                if let Some(seen) = self.versions.get(&key) {
                    if *seen != v.digest {
                        return Err(format!(
                            "{artifact}:v{i} changed digest {seen} -> {}",
                            v.digest
                        ));
                    }
                    continue;
                }
                let manifest = reg.manifest(artifact, v.index).await.map_err(e)?;
                if manifest.digest() != v.digest || manifest.len() as u64 != v.file_count {
                    return Err(format!(
                        "{artifact}:v{i} is half there: {} entries hashing to {}, listed as {} entries {}",
                        manifest.len(),
                        manifest.digest(),
                        v.file_count,
                        v.digest
                    ));
                }
                for (path, entry) in manifest.iter() {
                    let digest = entry.stored_blob().expect("stored entries");
                    if self.blobs.insert(digest) {
                        downloads.push((
                            artifact.clone(),
                            v.index,
                            path.as_str().to_owned(),
                            digest,
                        ));
                    }
                }
                self.versions.insert(key, v.digest);
            }
            if !listed.is_empty() {
                reg.version(artifact, "latest").await.map_err(e)?;
            }
        }
        // every new blob, once, a few at a time
        futures::stream::iter(downloads)
            .map(|(artifact, index, path, digest)| async move {
                reg.download(&artifact, index, &path, &digest).await
            })
            .buffer_unordered(8)
            .try_collect::<Vec<_>>()
            .await
            .map_err(e)?;
        for ((artifact, index), digest) in &ledger.versions {
            match self.versions.get(&(artifact.clone(), *index)) {
                Some(d) if d == digest => {}
                Some(d) => {
                    return Err(format!(
                        "acknowledged {artifact}:v{index} {digest} is now {d}"
                    ));
                }
                None => return Err(format!("acknowledged {artifact}:v{index} {digest} is gone")),
            }
        }
        for ((artifact, alias), allowed) in &ledger.aliases {
            match reg.version(artifact, alias).await {
                Ok(v) if allowed.contains(&Some(v.index)) => {}
                Err(cairn_workload::Error::Status { status, .. })
                    if status == 404 && allowed.contains(&None) => {}
                Ok(v) => {
                    return Err(format!(
                        "{artifact}:{alias} names v{}, but the moves were to {allowed:?}",
                        v.index
                    ));
                }
                Err(other) => return Err(format!("{artifact}:{alias}: {other}")),
            }
        }
        if let Some(dir) = &self.staging {
            let left: Vec<_> = std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.file_name())
                .collect();
            if !left.is_empty() {
                return Err(format!(
                    "interrupted uploads left in staging after restart: {left:?}"
                ));
            }
        }
        Ok(())
    }
}

/// `PRAGMA integrity_check` says `ok`.
pub async fn sqlite_integrity(db: &std::path::Path) {
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let (verdict,): (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(verdict, "ok");
}

/// The last restart removed every interrupted upload from the bucket's staging area.
pub async fn staging_is_clean(location: &str) {
    let blobs = cairn_store::ObjectBlobStore::open(location).unwrap();
    let left = blobs
        .clean_staging(std::time::Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(left, 0, "interrupted uploads left in staging after restart");
}

/// After the last restart, straight from the stores: every pack a recipe names is in the blob
/// store (no visible chunk without its bytes), and every blob a project holds has its bytes,
/// as a recipe or stored whole (no holding a commit could rely on without them).
pub async fn stores_agree(database: &str, blob_location: &str) {
    use sqlx::Connection;
    let blobs = cairn_store::ObjectBlobStore::open(blob_location).unwrap();
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(database).await.unwrap();
    let packs: Vec<String> = sqlx::query_scalar("SELECT DISTINCT pack FROM recipe_packs")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    for key in &packs {
        let key: cairn_store::recipe::PackKey = key.parse().unwrap();
        assert!(
            blobs.pack_header(&key).await.unwrap().is_some(),
            "a recipe names pack {key}, which is gone"
        );
    }
    let held: Vec<Vec<u8>> = sqlx::query_scalar("SELECT DISTINCT digest FROM project_blobs")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    let recipes: BTreeSet<Vec<u8>> = sqlx::query_scalar("SELECT digest FROM recipes")
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .collect();
    for raw in held {
        let digest = Digest::from_bytes(raw.clone().try_into().unwrap());
        assert!(
            recipes.contains(&raw) || blobs.size(&digest).await.unwrap().is_some(),
            "blob {digest} is held but neither its recipe nor its bytes are stored"
        );
    }
}
