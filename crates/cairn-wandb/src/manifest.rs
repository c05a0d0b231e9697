//! W&B's manifest v1 (`wandb_manifest.json`) and its translation to and from Cairn's: a file
//! is named there by the base64 of its MD5, which resolves to a blob only through the
//! project's MD5 index.

use std::collections::{BTreeMap, HashMap};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cairn_core::{Digest, Entry, EntryDigest, EntryPath, Manifest};
use cairn_server::AppState;
use cairn_store::{Md5, ProjectKey};
use md5::Digest as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Result, WandbError};

/// A W&B manifest (version 1).
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct WbManifest {
    /// Always 1.
    pub version: u32,
    /// `wandb-storage-policy-v1`.
    #[serde(rename = "storagePolicy")]
    pub storage_policy: String,
    /// `{"storageLayout": "V2"}`.
    #[serde(rename = "storagePolicyConfig", default)]
    pub storage_policy_config: Value,
    /// Path → entry.
    #[serde(default)]
    pub contents: BTreeMap<String, WbEntry>,
}

/// One file of a W&B manifest.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct WbEntry {
    /// Base64 MD5 of the bytes (or, for a reference, what its handler chose).
    pub digest: String,
    /// Bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// A reference's URI.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The W&B artifact the file was first logged in (not kept: Cairn names blobs by content).
    #[serde(rename = "birthArtifactID", default, skip_serializing)]
    pub birth_artifact_id: Option<String>,
    /// Whatever else the client keeps with the entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<Map<String, Value>>,
}

impl WbManifest {
    /// An empty manifest in the form this layer writes.
    pub fn new() -> Self {
        Self {
            version: 1,
            storage_policy: "wandb-storage-policy-v1".into(),
            storage_policy_config: serde_json::json!({ "storageLayout": "V2" }),
            contents: BTreeMap::new(),
        }
    }

    /// Parse an uploaded manifest, naming what is wrong with it.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let m: Self = serde_json::from_slice(bytes)
            .map_err(|e| WandbError::Invalid(format!("the uploaded W&B manifest: {e}")))?;
        if m.version != 1 {
            return Err(WandbError::Invalid(format!(
                "W&B manifest version {} (only version 1 is understood)",
                m.version
            )));
        }
        Ok(m)
    }

    /// W&B's artifact digest: hex MD5 of `wandb-artifact-manifest-v1\n` and `path:digest\n`
    /// for every entry in path order.
    pub fn digest(&self) -> String {
        let mut h = md5::Md5::new();
        h.update(b"wandb-artifact-manifest-v1\n");
        for (path, e) in &self.contents {
            h.update(format!("{path}:{}\n", e.digest).as_bytes());
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// An MD5 as W&B writes it (base64).
pub fn b64(md5: &Md5) -> String {
    STANDARD.encode(md5.0)
}

/// An MD5 from W&B's base64 form.
pub fn md5_of(b64: &str) -> Result<Md5> {
    let raw = STANDARD
        .decode(b64)
        .map_err(|_| WandbError::Invalid(format!("{b64:?} is not a base64 MD5")))?;
    let bytes: [u8; 16] = raw
        .try_into()
        .map_err(|_| WandbError::Invalid(format!("{b64:?} is not a base64 MD5 (16 bytes)")))?;
    Ok(Md5(bytes))
}

/// Cairn's manifest for a W&B one: every stored file resolved through the project's MD5
/// index (a file the project never received is an error naming it), references kept as
/// reference entries.
pub async fn to_cairn(state: &AppState, project: &ProjectKey, wb: &WbManifest) -> Result<Manifest> {
    let mut md5s = Vec::new();
    for e in wb.contents.values().filter(|e| e.reference.is_none()) {
        md5s.push(md5_of(&e.digest)?);
    }
    let mut known: HashMap<Md5, (Digest, u64)> = HashMap::new();
    for chunk in md5s.chunks(1000) {
        for b in state.meta.md5_blobs(project, chunk).await? {
            known.insert(b.md5, (b.digest, b.size));
        }
    }
    let mut entries = BTreeMap::new();
    for (path, e) in &wb.contents {
        let at = EntryPath::new(path.clone())?;
        let entry = match &e.reference {
            Some(uri) => Entry {
                digest: e.digest.parse::<EntryDigest>()?,
                extra: e.extra.clone(),
                reference: Some(uri.clone()),
                size: e.size.unwrap_or(0),
            },
            None => {
                let md5 = md5_of(&e.digest)?;
                let (digest, size) = known.get(&md5).copied().ok_or_else(|| {
                    WandbError::Invalid(format!(
                        "file {path:?} (MD5 {}) was never uploaded to {project}",
                        e.digest
                    ))
                })?;
                if let Some(declared) = e.size
                    && declared != size
                {
                    return Err(WandbError::Invalid(format!(
                        "file {path:?} is declared {declared} bytes but its MD5 names a blob of {size}"
                    )));
                }
                Entry {
                    digest: EntryDigest::Blob(digest),
                    extra: e.extra.clone(),
                    reference: None,
                    size,
                }
            }
        };
        entries.insert(at, entry);
    }
    Ok(Manifest::from_entries(entries)?)
}

/// The W&B form of a Cairn manifest (MD5s computed for blobs that lack one).
pub async fn from_cairn(
    state: &AppState,
    project: &ProjectKey,
    m: &Manifest,
) -> Result<WbManifest> {
    let blobs: Vec<Digest> = m.stored_blobs().into_iter().collect();
    let md5s = crate::md5sum::of_blobs(state, project, &blobs).await?;
    let mut wb = WbManifest::new();
    for (path, e) in m.iter() {
        let digest = match (&e.reference, e.stored_blob()) {
            (None, Some(d)) => b64(&md5s[&d]),
            _ => match &e.digest {
                EntryDigest::Blob(d) => d.to_string(),
                EntryDigest::Opaque(s) => s.clone(),
            },
        };
        wb.contents.insert(
            path.to_string(),
            WbEntry {
                digest,
                size: Some(e.size),
                reference: e.reference.clone(),
                birth_artifact_id: None,
                extra: e.extra.clone(),
            },
        );
    }
    Ok(wb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_wandbs() {
        // an empty manifest: MD5 of the header line alone
        let header: String = md5::Md5::digest(b"wandb-artifact-manifest-v1\n")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(WbManifest::new().digest(), header);
        let mut m = WbManifest::new();
        for (p, d) in [("b.txt", "Bb=="), ("a.txt", "Aa==")] {
            m.contents.insert(
                p.into(),
                WbEntry {
                    digest: d.into(),
                    size: Some(1),
                    reference: None,
                    birth_artifact_id: None,
                    extra: None,
                },
            );
        }
        let text = "wandb-artifact-manifest-v1\na.txt:Aa==\nb.txt:Bb==\n";
        let want: String = md5::Md5::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(m.digest(), want);
    }

    #[test]
    fn md5_base64_round_trip() {
        let m = Md5([7; 16]);
        assert_eq!(md5_of(&b64(&m)).unwrap(), m);
        assert!(md5_of("AAAA").unwrap_err().to_string().contains("16 bytes"));
        assert!(md5_of("not base64!").is_err());
    }

    #[test]
    fn parse_names_the_problem() {
        let e = WbManifest::parse(b"{\"version\": 2, \"storagePolicy\": \"x\"}").unwrap_err();
        assert!(e.to_string().contains("version 2"), "{e}");
        let e = WbManifest::parse(b"[]").unwrap_err();
        assert!(e.to_string().contains("W&B manifest"), "{e}");
    }
}
