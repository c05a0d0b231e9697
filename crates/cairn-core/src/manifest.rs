//! The manifest (semantics §4): paths → entries, its canonical bytes, and the artifact digest
//! (semantics §3) that decides whether two versions hold the same content.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::digest::{ArtifactDigest, Digest, EntryDigest, Hasher};
use crate::error::{Error, Result};
use crate::path::EntryPath;

/// The bytes every artifact digest starts with.
pub const DIGEST_HEADER: &[u8] = b"cairn-artifact-manifest-v1\n";

/// One file of an artifact: a stored blob, or a reference (`ref`) the registry holds no bytes
/// for. Fields are declared in key order so serde writes them canonically.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Entry {
    /// `sha256:<hex>` of the content, or a reference's opaque digest.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub digest: EntryDigest,
    /// Anything else the client wants kept with the entry; unknown keys are preserved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<Map<String, Value>>,
    /// The URI of a reference entry.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Size in bytes.
    #[serde(default)]
    pub size: u64,
}

impl Entry {
    /// A stored file with this digest and size.
    pub fn blob(digest: Digest, size: u64) -> Self {
        Self {
            digest: EntryDigest::Blob(digest),
            extra: None,
            reference: None,
            size,
        }
    }

    /// The blob the registry must hold for this entry: its digest unless it is a reference.
    pub fn stored_blob(&self) -> Option<Digest> {
        match self.reference {
            Some(_) => None,
            None => self.digest.blob(),
        }
    }

    /// Whether this entry may stand at `path` in a manifest: a stored entry (no `ref`) needs a
    /// blob digest.
    pub fn check(&self, path: &EntryPath) -> Result<()> {
        if self.reference.is_none() && self.digest.blob().is_none() {
            return Err(Error::StoredEntryNeedsBlobDigest {
                path: path.clone(),
                digest: self.digest.to_string(),
            });
        }
        Ok(())
    }
}

/// An artifact's contents: entries keyed by path, kept in UTF-8 byte order.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Manifest {
    entries: BTreeMap<EntryPath, Entry>,
}

#[derive(Serialize, Deserialize)]
struct Wire<C> {
    contents: C,
    version: u64,
}

impl Manifest {
    /// The empty manifest (a legal version).
    pub fn new() -> Self {
        Self::default()
    }

    /// Build from entries, checking that every stored entry has a blob digest.
    pub fn from_entries(entries: BTreeMap<EntryPath, Entry>) -> Result<Self> {
        for (path, entry) in &entries {
            entry.check(path)?;
        }
        Ok(Self { entries })
    }

    /// Parse the JSON form of semantics §4.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        serde_json::from_slice(bytes).map_err(|e| Error::Json(e.to_string()))
    }

    /// The canonical bytes: keys sorted, no whitespace.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let contents: BTreeMap<&EntryPath, Entry> = self
            .entries
            .iter()
            .map(|(p, e)| {
                let mut e = e.clone();
                e.extra = e.extra.map(sorted_map);
                (p, e)
            })
            .collect();
        serde_json::to_vec(&Wire {
            contents,
            version: 1,
        })
        .expect("a manifest always serialises")
    }

    /// The artifact digest of semantics §3 (only paths and digests count).
    pub fn digest(&self) -> ArtifactDigest {
        let mut h = Hasher::new();
        h.update(DIGEST_HEADER);
        self.write_digest_stream(|bytes| h.update(bytes));
        ArtifactDigest::from_digest(h.finish())
    }

    /// What this manifest's entries add to the artifact digest: `{path}\0{digest}\n` per entry,
    /// in path order. A manifest split into consecutive pages has the digest
    /// [`ArtifactDigest::of_streams`] of its pages' streams, so a store can keep each page's
    /// stream and never parse a page it did not change.
    pub fn digest_stream(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.entries.len() * 96);
        self.write_digest_stream(|bytes| out.extend_from_slice(bytes));
        out
    }

    fn write_digest_stream(&self, mut out: impl FnMut(&[u8])) {
        for (path, entry) in &self.entries {
            out(path.as_str().as_bytes());
            out(b"\0");
            out(entry.digest.to_string().as_bytes());
            out(b"\n");
        }
    }

    /// Set the entry at `path`, returning the one it replaced.
    pub fn insert(&mut self, path: EntryPath, entry: Entry) -> Result<Option<Entry>> {
        entry.check(&path)?;
        Ok(self.entries.insert(path, entry))
    }

    /// Remove the entry at exactly `path`.
    pub fn remove(&mut self, path: &str) -> Option<Entry> {
        self.entries.remove(path)
    }

    /// The entry at `path`.
    pub fn get(&self, path: &str) -> Option<&Entry> {
        self.entries.get(path)
    }

    /// Entries in path order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&EntryPath, &Entry)> {
        self.entries.iter()
    }

    /// The entries map.
    pub fn entries(&self) -> &BTreeMap<EntryPath, Entry> {
        &self.entries
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Sum of entry sizes.
    pub fn total_size(&self) -> u64 {
        self.entries.values().map(|e| e.size).sum()
    }

    /// The distinct blobs the registry must hold for this manifest (references excluded).
    pub fn stored_blobs(&self) -> std::collections::BTreeSet<Digest> {
        self.entries
            .values()
            .filter_map(Entry::stored_blob)
            .collect()
    }

    /// The paths `target` names: exactly `target`, or else every path under `target/`.
    /// A trailing `/` on `target` asks for the directory only.
    pub fn matching(&self, target: &str) -> Vec<EntryPath> {
        let dir = target.trim_end_matches('/');
        if dir.len() == target.len() && self.entries.contains_key(target) {
            return vec![EntryPath::new(target).expect("keys are valid paths")];
        }
        let prefix = format!("{dir}/");
        self.entries
            .range::<str, _>((
                std::ops::Bound::Included(prefix.as_str()),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|(p, _)| p.as_str().starts_with(&prefix))
            .map(|(p, _)| p.clone())
            .collect()
    }
}

fn sorted_map(map: Map<String, Value>) -> Map<String, Value> {
    let mut pairs: Vec<_> = map.into_iter().collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    pairs
        .into_iter()
        .map(|(k, v)| (k, sorted_value(v)))
        .collect()
}

fn sorted_value(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(sorted_map(m)),
        Value::Array(a) => Value::Array(a.into_iter().map(sorted_value).collect()),
        other => other,
    }
}

impl Serialize for Manifest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        Wire {
            contents: &self.entries,
            version: 1,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Manifest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        let wire = Wire::<BTreeMap<EntryPath, Entry>>::deserialize(d)?;
        if wire.version != 1 {
            return Err(D::Error::custom(Error::UnsupportedManifestVersion(
                wire.version,
            )));
        }
        Manifest::from_entries(wire.contents).map_err(D::Error::custom)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Manifest {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .property("version", ObjectBuilder::new().schema_type(Type::Integer))
            .required("version")
            .property(
                "contents",
                ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .additional_properties(Some(<Entry as utoipa::PartialSchema>::schema()))
                    .description(Some("entries keyed by path")),
            )
            .required("contents")
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Manifest {}

#[cfg(test)]
mod tests;
