//! Signed, expiring URLs: the SDK adds no credentials to the upload and download URLs it is
//! handed, so each carries what it grants (one blob or manifest, one project) and an expiry,
//! signed by `cairn_server::signed` under the registry's W&B URL secret.

use cairn_core::{ArtifactName, Digest};
use cairn_server::AppState;
use cairn_store::{Md5, ProjectKey};
use serde::{Deserialize, Serialize};

use crate::error::{Result, WandbError};

/// How long a signed URL stays valid.
pub const TTL_SECS: i64 = 24 * 3600;

const SECRET_KEY: &str = "wandb:url-secret";

/// What a signed URL allows.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(tag = "k")]
pub enum Grant {
    /// Upload the blob with this MD5 into the project.
    PutBlob {
        /// `entity/project`.
        p: String,
        /// Hex MD5 the bytes must have.
        m: String,
    },
    /// Upload the W&B manifest of a save.
    PutManifest {
        /// The save.
        s: String,
    },
    /// A run file (`output.log`, `config.yaml`…): accepted and discarded.
    PutRunFile,
    /// Download a blob the project holds.
    GetBlob {
        /// `entity/project`.
        p: String,
        /// Its SHA-256.
        d: String,
    },
    /// Download a version's manifest in W&B's form.
    GetManifest {
        /// `entity/project`.
        p: String,
        /// The collection.
        n: String,
        /// `N` of `vN`.
        i: u64,
    },
}

impl Grant {
    /// Upload of the blob with this MD5.
    pub fn put_blob(p: &ProjectKey, md5: &Md5) -> Self {
        Self::PutBlob {
            p: p.to_string(),
            m: md5.to_string(),
        }
    }

    /// Download of this blob.
    pub fn get_blob(p: &ProjectKey, digest: &Digest) -> Self {
        Self::GetBlob {
            p: p.to_string(),
            d: digest.to_string(),
        }
    }

    /// Download of a version's W&B manifest.
    pub fn get_manifest(p: &ProjectKey, name: &ArtifactName, index: u64) -> Self {
        Self::GetManifest {
            p: p.to_string(),
            n: name.to_string(),
            i: index,
        }
    }
}

/// `entity/project` back into a key.
pub fn project_of(s: &str) -> Result<ProjectKey> {
    let (e, p) = s
        .split_once('/')
        .ok_or_else(|| WandbError::Ticket(format!("bad project {s:?} in a signed URL")))?;
    Ok(ProjectKey {
        entity: e.parse()?,
        project: p.parse()?,
    })
}

/// Signs and checks W&B tickets under the registry's W&B URL secret.
#[derive(Clone, Debug)]
pub struct Signer(cairn_server::signed::Signer);

impl Signer {
    /// The registry's W&B URL secret (made by the first replica to need it).
    pub async fn load(state: &AppState) -> Result<Self> {
        Ok(Self(
            cairn_server::signed::Signer::load(state, SECRET_KEY).await?,
        ))
    }

    /// A ticket (the last segment of a signed URL) granting `grant` for [`TTL_SECS`].
    pub fn sign(&self, grant: Grant) -> String {
        self.0
            .sign(&grant, cairn_server::auth::now_secs() + TTL_SECS)
    }

    /// What a ticket grants, if its signature holds and it has not expired.
    pub fn verify(&self, ticket: &str) -> Result<Grant> {
        self.0
            .verify(ticket)
            .map_err(|why| WandbError::Ticket(why.to_owned()))
    }
}

/// What a ticket grants ([`Signer::verify`] under the registry's secret).
pub async fn verify(state: &AppState, ticket: &str) -> Result<Grant> {
    Signer::load(state).await?.verify(ticket)
}

/// The URL of a ticket under the registry's address as the client called it.
pub fn url(base: &str, verb: &str, ticket: &str) -> String {
    format!("{}/wandb/v1/{verb}/{ticket}", base.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_comes_back_from_its_ticket_and_a_bad_one_is_a_ticket_error() {
        let s = Signer(cairn_server::signed::Signer::with_secret(b"one"));
        let grant = Grant::get_blob(&project_of("ent/proj").unwrap(), &Digest::of(b"x"));
        assert_eq!(s.verify(&s.sign(grant.clone())).unwrap(), grant);
        let other = Signer(cairn_server::signed::Signer::with_secret(b"two"));
        let e = other.verify(&s.sign(grant)).unwrap_err();
        assert!(matches!(e, WandbError::Ticket(_)), "{e}");
        assert!(e.to_string().contains("does not match"), "{e}");
    }
}
