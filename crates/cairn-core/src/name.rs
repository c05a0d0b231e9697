//! Names (semantics §1): entities, projects, artifacts, types, aliases, distributed ids,
//! version references and the full `entity/project/name:ref` path.

use std::fmt;
use std::str::FromStr;

use crate::digest::serde_via_str;
use crate::error::{Error, Result};

const MAX_NAME: usize = 128;

fn check_name(kind: &'static str, value: &str) -> Result<()> {
    let reason = if value.is_empty() {
        "empty"
    } else if value.len() > MAX_NAME {
        "longer than 128 characters"
    } else if value == "." || value == ".." {
        "'.' and '..' are not names"
    } else if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    {
        "only letters, digits, '_', '.' and '-' are allowed"
    } else {
        return Ok(());
    };
    Err(Error::InvalidName {
        kind,
        value: value.to_owned(),
        reason,
    })
}

/// A `[A-Za-z0-9_.-]{1,128}` name newtype, with extra checks where a kind needs them.
macro_rules! name_type {
    ($(#[$doc:meta])* $t:ident, $kind:literal $(, $extra:expr)?) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $t(String);

        impl $t {
            /// Validate and wrap.
            pub fn new(value: impl Into<String>) -> Result<Self> {
                let value = value.into();
                check_name($kind, &value)?;
                $( ($extra)(&value)?; )?
                Ok(Self(value))
            }

            /// The name as a string.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $t {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                Self::new(s)
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        serde_via_str!($t);
    };
}

name_type!(
    /// An entity (a user or a team).
    Entity,
    "entity"
);
name_type!(
    /// A project inside an entity.
    Project,
    "project"
);
name_type!(
    /// An artifact (collection) name, unique per project across types.
    ArtifactName,
    "artifact"
);
name_type!(
    /// The id that groups distributed upserts into one pending version.
    DistributedId,
    "distributed id"
);
name_type!(
    /// A run's id (assigned by the registry).
    RunId,
    "run id"
);
name_type!(
    /// An artifact type (`dataset`, `model`, …); `cairn-*` is reserved.
    TypeName,
    "type",
    |v: &str| if v.starts_with("cairn-") {
        Err(Error::ReservedType(v.to_owned()))
    } else {
        Ok(())
    }
);

/// Whether `s` is of the registry-managed form `v<digits>`.
fn is_version_form(s: &str) -> bool {
    s.len() > 1 && s.starts_with('v') && s[1..].bytes().all(|b| b.is_ascii_digit())
}

/// A user alias: 1–128 characters, no `/`, `:` or control character, not `v<digits>`.
/// `latest` is an alias too (the registry adds it to every commit).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Alias(String);

impl Alias {
    /// Validate and wrap.
    pub fn new(value: impl Into<String>) -> Result<Self> {
        let value = value.into();
        let reason = if value.is_empty() {
            "empty"
        } else if value.chars().count() > MAX_NAME {
            "longer than 128 characters"
        } else if value.contains(['/', ':']) {
            "'/' and ':' are not allowed"
        } else if value.chars().any(char::is_control) {
            "control characters are not allowed"
        } else if is_version_form(&value) {
            "aliases of the form v<number> are managed by the registry"
        } else {
            return Ok(Self(value));
        };
        Err(Error::InvalidAlias { value, reason })
    }

    /// The `latest` alias.
    pub fn latest() -> Self {
        Self(LATEST.to_owned())
    }

    /// Whether this is `latest`.
    pub fn is_latest(&self) -> bool {
        self.0 == LATEST
    }

    /// The alias as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Alias {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

impl fmt::Display for Alias {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Alias {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

serde_via_str!(Alias);

const LATEST: &str = "latest";

/// What follows the `:` of a full path: `vN` or an alias (`latest` included).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum VersionRef {
    /// `vN`.
    Index(u64),
    /// An alias; `latest` is the alias the registry moves on every commit.
    Alias(Alias),
}

impl VersionRef {
    /// `latest`.
    pub fn latest() -> Self {
        Self::Alias(Alias::latest())
    }
}

impl FromStr for VersionRef {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        if is_version_form(s) {
            return s[1..]
                .parse()
                .map(Self::Index)
                .map_err(|_| Error::InvalidVersion(s.to_owned()));
        }
        Alias::new(s).map(Self::Alias)
    }
}

impl fmt::Display for VersionRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Index(i) => write!(f, "v{i}"),
            Self::Alias(a) => a.fmt(f),
        }
    }
}

serde_via_str!(VersionRef);

/// The entity and project a short path (`name`, `project/name`) is completed with.
#[derive(Clone, Debug, Default)]
pub struct Defaults {
    /// Used when the path has fewer than three parts.
    pub entity: Option<Entity>,
    /// Used when the path has only one part.
    pub project: Option<Project>,
}

/// A full artifact path `entity/project/name:ref`.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct ArtifactPath {
    /// The entity.
    pub entity: Entity,
    /// The project.
    pub project: Project,
    /// The collection.
    pub name: ArtifactName,
    /// The version; `latest` when the path has no `:`.
    pub reference: VersionRef,
}

impl ArtifactPath {
    /// Parse `entity/project/name:ref`, `project/name[:ref]` or `name[:ref]`, completing short
    /// forms from `defaults`. The split is on the first `:`.
    pub fn parse(s: &str, defaults: &Defaults) -> Result<Self> {
        let bad = |reason| Error::InvalidArtifactPath {
            value: s.to_owned(),
            reason,
        };
        let (names, reference) = match s.split_once(':') {
            Some((names, r)) => (names, r.parse()?),
            None => (s, VersionRef::latest()),
        };
        let parts: Vec<&str> = names.split('/').collect();
        let (entity, project, name) = match parts.as_slice() {
            [e, p, n] => (Entity::new(*e)?, Project::new(*p)?, *n),
            [p, n] => {
                let e = defaults.entity.clone();
                (
                    e.ok_or_else(|| bad("no entity given and no default entity set"))?,
                    Project::new(*p)?,
                    *n,
                )
            }
            [n] => {
                let e = defaults.entity.clone();
                let p = defaults.project.clone();
                (
                    e.ok_or_else(|| bad("no entity given and no default entity set"))?,
                    p.ok_or_else(|| bad("no project given and no default project set"))?,
                    *n,
                )
            }
            _ => return Err(bad("expected at most entity/project/name")),
        };
        Ok(Self {
            entity,
            project,
            name: ArtifactName::new(name)?,
            reference,
        })
    }
}

impl fmt::Display for ArtifactPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}:{}",
            self.entity, self.project, self.name, self.reference
        )
    }
}

#[cfg(test)]
mod tests;
