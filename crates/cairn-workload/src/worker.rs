//! One simulated client: random operations on a few shared artifacts, each answered with what
//! the registry acknowledged.

use std::collections::BTreeMap;

use cairn_core::wire::{CommitRequest, UpsertRequest};
use cairn_core::{ArtifactDigest, ArtifactName, Digest, Entry, EntryPath, Manifest, Patch};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};

use crate::registry::{Error, Registry, Result};

/// An operation a worker can take.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum Op {
    /// Upload a few new blobs and commit them as a whole new version.
    Commit,
    /// Patch the worker's last version: add a file, replace one, remove one.
    Patch,
    /// Two upserts of new files and a finish.
    Distributed,
    /// Point the worker's own alias at its last version.
    MoveAlias,
    /// Ask which of 100 digests (half known, half random) are missing.
    MissingCheck,
    /// Download one file of a version the worker committed and verify it.
    Download,
    /// Upload a few new blobs and commit nothing (garbage for a collection to free).
    Orphan,
    /// Upload again blobs an earlier `Orphan` left (a collection may be freeing them right
    /// now) and commit them as a new version.
    Revive,
}

impl Op {
    /// Every operation.
    pub const ALL: [Op; 8] = [
        Op::Commit,
        Op::Patch,
        Op::Distributed,
        Op::MoveAlias,
        Op::MissingCheck,
        Op::Download,
        Op::Orphan,
        Op::Revive,
    ];

    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Op::Commit => "commit",
            Op::Patch => "patch",
            Op::Distributed => "distributed",
            Op::MoveAlias => "alias",
            Op::MissingCheck => "missing-check",
            Op::Download => "download",
            Op::Orphan => "orphan",
            Op::Revive => "revive",
        }
    }
}

/// Relative weights of the operations, and the blob sizes.
#[derive(Clone, Debug)]
pub struct Mix {
    /// `(op, weight)`.
    pub weights: Vec<(Op, u32)>,
    /// Files per commit.
    pub files: usize,
    /// Blob sizes are uniform in this range (bytes).
    pub blob_size: std::ops::Range<usize>,
    /// One blob in this many is `large_blob` bytes instead (0: never).
    pub large_every: u32,
    /// Size of the occasional large blob.
    pub large_blob: usize,
}

impl Default for Mix {
    fn default() -> Self {
        Self {
            weights: vec![
                (Op::Commit, 3),
                (Op::Patch, 3),
                (Op::Distributed, 1),
                (Op::MoveAlias, 2),
                (Op::MissingCheck, 3),
                (Op::Download, 4),
            ],
            files: 4,
            blob_size: 256..16 * 1024,
            large_every: 0,
            large_blob: 4 << 20,
        }
    }
}

/// What the registry acknowledged for one operation.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Ack {
    /// A committed version (new, or an identical existing one).
    Version {
        /// The artifact.
        artifact: ArtifactName,
        /// `N` of `vN`.
        index: u64,
        /// Its digest.
        digest: ArtifactDigest,
        /// The manifest the worker sent (after its patch).
        manifest: Box<Manifest>,
    },
    /// An alias now naming `vN`.
    Alias {
        /// The artifact.
        artifact: ArtifactName,
        /// The alias.
        alias: String,
        /// `N`.
        index: u64,
    },
    /// A read that returned what it should.
    Read {
        /// Bytes downloaded.
        bytes: u64,
    },
}

/// One client. Workers share the artifacts; each patches and aliases only its own versions.
#[derive(Debug)]
pub struct Worker {
    id: usize,
    registry: Registry,
    artifacts: Vec<ArtifactName>,
    rng: StdRng,
    /// The last version this worker committed per artifact, with its manifest.
    last: BTreeMap<ArtifactName, (u64, Manifest)>,
    seq: u64,
    mix: Mix,
    attempt: Option<Ack>,
    /// The bytes of the blobs the current step uploaded (uploaded again when a commit finds a
    /// collection freed them in between).
    uploaded: Vec<Vec<u8>>,
    /// Blobs `Orphan` left unreferenced, for `Revive`.
    orphans: Vec<Vec<u8>>,
}

/// A commit that names blobs the project does not hold (a collection forgot them).
fn missing_blobs(e: &Error) -> bool {
    matches!(e, Error::Status { status, body, .. } if *status == 409 && body.contains("\"missing\""))
}

impl Worker {
    /// Worker `id` of a run seeded with `seed`, on `artifacts` of the registry's project.
    pub fn new(
        id: usize,
        registry: Registry,
        artifacts: Vec<ArtifactName>,
        mix: Mix,
        seed: u64,
    ) -> Self {
        Self {
            id,
            registry,
            artifacts,
            rng: StdRng::seed_from_u64(seed ^ (id as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            last: BTreeMap::new(),
            seq: 0,
            mix,
            attempt: None,
            uploaded: Vec::new(),
            orphans: Vec::new(),
        }
    }

    /// Talk to `registry` from now on (a restarted registry: fresh connections).
    pub fn retarget(&mut self, registry: Registry) {
        self.registry = registry;
    }

    /// What the last step would have acknowledged, for a step that changes something with
    /// one request whose answer may be lost (an alias move): after a failure, the caller knows
    /// the registry may or may not have done it.
    pub fn attempted(&self) -> Option<&Ack> {
        self.attempt.as_ref()
    }

    /// The alias this worker moves.
    pub fn alias(&self) -> String {
        format!("w{}", self.id)
    }

    /// A random operation from the mix.
    pub fn pick(&mut self) -> Op {
        let total: u32 = self.mix.weights.iter().map(|(_, w)| w).sum();
        let mut at = self.rng.random_range(0..total.max(1));
        for (op, w) in &self.mix.weights {
            if at < *w {
                return *op;
            }
            at -= w;
        }
        Op::Commit
    }

    /// Take `op`. Operations that need an earlier version of this worker commit one instead
    /// when there is none yet.
    pub async fn step(&mut self, op: Op) -> Result<Ack> {
        let artifact = self.artifacts[self.rng.random_range(0..self.artifacts.len())].clone();
        let last = self.last.get(&artifact).cloned();
        self.attempt = None;
        self.uploaded.clear();
        let ack = match (op, last) {
            (Op::Orphan, _) => {
                for _ in 0..self.mix.files.max(1) {
                    let bytes = self.blob();
                    self.registry.put_blob(bytes.clone()).await?;
                    self.orphans.push(bytes);
                }
                let excess = self.orphans.len().saturating_sub(64);
                self.orphans.drain(..excess);
                Ack::Read { bytes: 0 }
            }
            (Op::Revive, _) if !self.orphans.is_empty() => self.revive(&artifact).await?,
            (Op::Patch, Some((index, base))) => self.patch(&artifact, index, base).await?,
            (Op::Distributed, _) => self.distributed(&artifact).await?,
            (Op::MoveAlias, Some((index, _))) => {
                let alias = self.alias();
                let ack = Ack::Alias {
                    artifact: artifact.clone(),
                    alias: alias.clone(),
                    index,
                };
                self.attempt = Some(ack.clone());
                self.registry.set_alias(&artifact, &alias, index).await?;
                ack
            }
            (Op::MissingCheck, _) => self.missing_check().await?,
            (Op::Download, Some((index, manifest))) => {
                let (path, entry) = self.any_entry(&manifest);
                let digest = entry.stored_blob().expect("workers store every entry");
                let bytes = self
                    .registry
                    .download(&artifact, index, path.as_str(), &digest)
                    .await?;
                Ack::Read { bytes }
            }
            _ => self.commit(&artifact).await?,
        };
        if let Ack::Version {
            artifact,
            index,
            manifest,
            ..
        } = &ack
        {
            self.last
                .insert(artifact.clone(), (*index, (**manifest).clone()));
        }
        Ok(ack)
    }

    fn any_entry<'m>(&mut self, m: &'m Manifest) -> (&'m EntryPath, &'m Entry) {
        let n = self.rng.random_range(0..m.len());
        m.iter().nth(n).expect("non-empty manifest")
    }

    fn blob(&mut self) -> Vec<u8> {
        let large = self.mix.large_every > 0 && self.rng.random_range(0..self.mix.large_every) == 0;
        let len = if large {
            self.mix.large_blob
        } else {
            self.rng.random_range(self.mix.blob_size.clone())
        };
        let mut bytes = vec![0; len];
        self.rng.fill_bytes(&mut bytes);
        bytes
    }

    fn path(&mut self) -> EntryPath {
        self.seq += 1;
        EntryPath::new(format!("w{}/d{}/f{}.bin", self.id, self.seq % 7, self.seq))
            .expect("a valid path")
    }

    /// Upload a new blob and return its entry.
    async fn new_entry(&mut self) -> Result<Entry> {
        let bytes = self.blob();
        self.upload(bytes).await
    }

    async fn upload(&mut self, bytes: Vec<u8>) -> Result<Entry> {
        let len = bytes.len() as u64;
        // half as one whole blob, half as chunks in a pack
        let digest = if self.rng.random_bool(0.5) {
            self.registry.put_blob(bytes.clone()).await?
        } else {
            self.registry.put_chunked(bytes.clone()).await?
        };
        self.uploaded.push(bytes);
        Ok(Entry::blob(digest, len))
    }

    /// `call`, uploading this step's blobs again while it answers that some are missing (a
    /// collection with a short grace freed them between the upload and the call).
    async fn holding<T, F>(&self, call: impl Fn(Registry) -> F) -> Result<T>
    where
        F: std::future::Future<Output = Result<T>>,
    {
        let mut tries = 0;
        loop {
            match call(self.registry.clone()).await {
                Err(e) if missing_blobs(&e) && tries < 20 => {
                    tries += 1;
                    for bytes in &self.uploaded {
                        self.registry.put_blob(bytes.clone()).await?;
                    }
                }
                other => return other,
            }
        }
    }

    async fn revive(&mut self, artifact: &ArtifactName) -> Result<Ack> {
        let mut m = Manifest::new();
        for _ in 0..self.mix.files.max(1).min(self.orphans.len()) {
            let bytes = self.orphans[self.rng.random_range(0..self.orphans.len())].clone();
            let entry = self.upload(bytes).await?;
            let path = self.path();
            m.insert(path, entry).expect("fresh paths");
        }
        self.commit_manifest(artifact, m).await
    }

    /// Commit `manifest` whole as a new version.
    async fn commit_manifest(&self, artifact: &ArtifactName, manifest: Manifest) -> Result<Ack> {
        let body = CommitRequest {
            type_: Some("dataset".parse().expect("a type")),
            manifest: Some(manifest.clone()),
            ..Default::default()
        };
        self.send_commit(artifact, body, manifest).await
    }

    /// Send `body` (uploading this step's blobs again if a collection freed them); `after` is
    /// the manifest the version must have.
    async fn send_commit(
        &self,
        artifact: &ArtifactName,
        body: CommitRequest,
        after: Manifest,
    ) -> Result<Ack> {
        let res = self
            .holding(|r| {
                let body = body.clone();
                async move { r.commit(artifact, &body).await }
            })
            .await?;
        Self::acked(artifact, res, after)
    }

    async fn new_files(&mut self) -> Result<Manifest> {
        let mut m = Manifest::new();
        for _ in 0..self.mix.files.max(1) {
            let entry = self.new_entry().await?;
            let path = self.path();
            m.insert(path, entry).expect("fresh paths");
        }
        Ok(m)
    }

    fn acked(
        artifact: &ArtifactName,
        res: cairn_core::wire::CommitResponse,
        manifest: Manifest,
    ) -> Result<Ack> {
        if res.digest != manifest.digest() {
            return Err(Error::Corrupt(format!(
                "{artifact}:v{}: the registry acknowledged digest {} for a manifest hashing to {}",
                res.index,
                res.digest,
                manifest.digest()
            )));
        }
        Ok(Ack::Version {
            artifact: artifact.clone(),
            index: res.index,
            digest: res.digest,
            manifest: Box::new(manifest),
        })
    }

    async fn commit(&mut self, artifact: &ArtifactName) -> Result<Ack> {
        let manifest = self.new_files().await?;
        self.commit_manifest(artifact, manifest).await
    }

    async fn patch(
        &mut self,
        artifact: &ArtifactName,
        base: u64,
        manifest: Manifest,
    ) -> Result<Ack> {
        let mut patch = Patch::default();
        let (replaced, _) = self.any_entry(&manifest);
        let replaced = replaced.clone();
        let entry = self.new_entry().await?;
        patch.put.insert(replaced, entry);
        if manifest.len() > 2 {
            let (removed, _) = self.any_entry(&manifest);
            if !patch.put.contains_key(removed) {
                patch.remove.push(removed.as_str().to_owned());
            }
        }
        let entry = self.new_entry().await?;
        let path = self.path();
        patch.put.insert(path, entry);
        let after = cairn_core::apply(&manifest, &patch).expect("a patch of the worker's own base");
        let body = CommitRequest {
            base: Some(format!("v{base}").parse().expect("a version ref")),
            patch: Some(patch),
            ..Default::default()
        };
        self.send_commit(artifact, body, after).await
    }

    async fn distributed(&mut self, artifact: &ArtifactName) -> Result<Ack> {
        self.seq += 1;
        let id = format!("w{}-{}-{}", self.id, self.seq, self.rng.next_u32());
        let mut union = Manifest::new();
        for _ in 0..2 {
            let part = self.new_files().await?;
            for (p, e) in part.iter() {
                union.insert(p.clone(), e.clone()).expect("fresh paths");
            }
            let body = UpsertRequest {
                type_: Some("dataset".parse().expect("a type")),
                manifest: Some(part),
                ..Default::default()
            };
            self.holding(|r| {
                let (body, id) = (body.clone(), id.clone());
                async move { r.upsert(artifact, &id, &body).await }
            })
            .await?;
        }
        let res = self
            .holding(|r| {
                let id = id.clone();
                async move { r.finish(artifact, &id).await }
            })
            .await?;
        Self::acked(artifact, res, union)
    }

    async fn missing_check(&mut self) -> Result<Ack> {
        let known: Vec<Digest> = self
            .last
            .values()
            .flat_map(|(_, m)| m.stored_blobs())
            .take(50)
            .collect();
        let mut asked = known.clone();
        for _ in 0..100 - known.len() {
            let mut b = [0u8; 16];
            self.rng.fill_bytes(&mut b);
            asked.push(Digest::of(&b));
        }
        let missing = self.registry.missing(asked).await?;
        if let Some(d) = missing.iter().find(|d| known.contains(d)) {
            return Err(Error::Corrupt(format!(
                "{d} is committed but reported missing"
            )));
        }
        if missing.len() != 100 - known.len() {
            return Err(Error::Corrupt(format!(
                "{} of {} random digests reported missing",
                missing.len(),
                100 - known.len()
            )));
        }
        Ok(Ack::Read { bytes: 0 })
    }
}
