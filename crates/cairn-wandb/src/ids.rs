//! W&B ids: opaque base64 strings. Cairn's are made of what they name, so any replica can
//! resolve them: a committed version is `CairnVersion:entity/project/name:vN`, an artifact
//! being saved `CairnSave:<uuid>` (its state kept in the metadata store).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cairn_core::{ArtifactName, Entity, Project};
use cairn_store::ProjectKey;

use crate::error::{Result, WandbError};

/// What an artifact id names.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ArtifactId {
    /// A committed version.
    Version {
        /// Its project.
        project: ProjectKey,
        /// Its collection.
        name: ArtifactName,
        /// `N` of `vN`.
        index: u64,
    },
    /// An artifact the SDK is saving (see `ops::save`).
    Save(String),
}

fn encode(s: &str) -> String {
    STANDARD.encode(s)
}

impl ArtifactId {
    /// The id as the SDK sees it.
    pub fn encode(&self) -> String {
        match self {
            Self::Version {
                project,
                name,
                index,
            } => encode(&format!("CairnVersion:{project}/{name}:v{index}")),
            Self::Save(id) => encode(&format!("CairnSave:{id}")),
        }
    }

    /// Read an id the SDK sends back.
    pub fn decode(id: &str) -> Result<Self> {
        let bad = || WandbError::NotFound(format!("no artifact with id {id:?}"));
        let raw = STANDARD.decode(id).map_err(|_| bad())?;
        let raw = String::from_utf8(raw).map_err(|_| bad())?;
        if let Some(save) = raw.strip_prefix("CairnSave:") {
            return Ok(Self::Save(save.to_owned()));
        }
        let rest = raw.strip_prefix("CairnVersion:").ok_or_else(bad)?;
        let (path, index) = rest.rsplit_once(":v").ok_or_else(bad)?;
        let mut parts = path.splitn(3, '/');
        let (Some(e), Some(p), Some(n)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        Ok(Self::Version {
            project: ProjectKey {
                entity: e.parse::<Entity>().map_err(|_| bad())?,
                project: p.parse::<Project>().map_err(|_| bad())?,
            },
            name: n.parse().map_err(|_| bad())?,
            index: index.parse().map_err(|_| bad())?,
        })
    }
}

/// A project's id.
pub fn project(p: &ProjectKey) -> String {
    encode(&format!("Project:{p}"))
}

/// A collection's id.
pub fn collection(p: &ProjectKey, name: &ArtifactName) -> String {
    encode(&format!("ArtifactSequence:{p}/{name}"))
}

/// An artifact type's id (within a project).
pub fn artifact_type(p: &ProjectKey, name: &str) -> String {
    encode(&format!("ArtifactType:{p}/{name}"))
}

/// A user's id: the token's name.
pub fn user(name: &str) -> String {
    encode(&format!("User:{name}"))
}

/// A run's id.
pub fn run(p: &ProjectKey, run: &str) -> String {
    encode(&format!("Run:{p}/{run}"))
}

/// A (W&B) manifest's id: the save it belongs to.
pub fn manifest(save: &str) -> String {
    encode(&format!("CairnManifest:{save}"))
}

/// The save a manifest id belongs to.
pub fn manifest_save(id: &str) -> Result<String> {
    STANDARD
        .decode(id)
        .ok()
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|s| s.strip_prefix("CairnManifest:").map(str::to_owned))
        .ok_or_else(|| WandbError::NotFound(format!("no artifact manifest with id {id:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_refuse_others() {
        let v = ArtifactId::Version {
            project: ProjectKey {
                entity: "acme".parse().unwrap(),
                project: "vision".parse().unwrap(),
            },
            name: "my-data".parse().unwrap(),
            index: 12,
        };
        assert_eq!(ArtifactId::decode(&v.encode()).unwrap(), v);
        let s = ArtifactId::Save("1234".into());
        assert_eq!(ArtifactId::decode(&s.encode()).unwrap(), s);
        assert_eq!(manifest_save(&manifest("abc")).unwrap(), "abc");
        for bad in [
            "",
            "!!",
            &encode("Run:acme/vision/x"),
            &encode("CairnVersion:a/b:v1"),
        ] {
            assert!(ArtifactId::decode(bad).is_err(), "{bad}");
        }
    }
}
