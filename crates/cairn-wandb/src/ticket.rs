//! Signed, expiring URLs: the SDK adds no credentials to the upload and download URLs it is
//! handed, so each carries what it grants (one blob or manifest, one project) and an expiry,
//! signed with HMAC-SHA-256 under a secret every replica reads from the metadata store.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cairn_core::{ArtifactName, Digest};
use cairn_server::AppState;
use cairn_store::{Md5, ProjectKey};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};

use crate::error::{Result, WandbError};

type HmacSha256 = Hmac<sha2_hmac::Sha256>;

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

#[derive(Serialize, Deserialize)]
struct Signed {
    #[serde(flatten)]
    grant: Grant,
    /// Expiry, Unix seconds.
    x: i64,
}

/// Signs and checks tickets under the registry's URL secret.
#[derive(Clone)]
pub struct Signer {
    secret: Vec<u8>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer")
    }
}

impl Signer {
    /// The registry's URL secret: made once, at random, by the first replica to need it.
    pub async fn load(state: &AppState) -> Result<Self> {
        if let Some(s) = state.meta.compat_state(SECRET_KEY).await? {
            return Ok(Self {
                secret: s.into_bytes(),
            });
        }
        let fresh: [u8; 32] = rand::random();
        let hex: String = fresh.iter().map(|b| format!("{b:02x}")).collect();
        // the first writer wins; read back whichever that was
        state.meta.set_compat_state(SECRET_KEY, &hex, true).await?;
        let kept = state.meta.compat_state(SECRET_KEY).await?;
        Ok(Self {
            secret: kept.unwrap_or(hex).into_bytes(),
        })
    }

    fn mac(&self, payload: &str) -> HmacSha256 {
        let mut mac =
            HmacSha256::new_from_slice(&self.secret).expect("HMAC takes keys of any length");
        mac.update(payload.as_bytes());
        mac
    }

    /// A ticket (the last segment of a signed URL) granting `grant` for [`TTL_SECS`].
    pub fn sign(&self, grant: Grant) -> String {
        self.sign_until(grant, cairn_server::auth::now_secs() + TTL_SECS)
    }

    fn sign_until(&self, grant: Grant, expiry: i64) -> String {
        let signed = Signed { grant, x: expiry };
        let json = serde_json::to_vec(&signed).expect("a grant serialises");
        let payload = URL_SAFE_NO_PAD.encode(json);
        let tag = URL_SAFE_NO_PAD.encode(self.mac(&payload).finalize().into_bytes());
        format!("{payload}.{tag}")
    }

    /// What a ticket grants, if its signature holds and it has not expired.
    pub fn verify(&self, ticket: &str) -> Result<Grant> {
        let (payload, tag) = ticket
            .split_once('.')
            .ok_or_else(|| WandbError::Ticket("this is not a signed Cairn URL".into()))?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| WandbError::Ticket("this URL's signature is malformed".into()))?;
        // constant-time comparison
        self.mac(payload)
            .verify_slice(&tag)
            .map_err(|_| WandbError::Ticket("this URL's signature does not match".into()))?;
        let raw = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| WandbError::Ticket("this URL's payload is malformed".into()))?;
        let signed: Signed = serde_json::from_slice(&raw)
            .map_err(|_| WandbError::Ticket("this URL's payload is malformed".into()))?;
        if signed.x < cairn_server::auth::now_secs() {
            return Err(WandbError::Ticket(
                "this signed URL has expired: ask for a new one".into(),
            ));
        }
        Ok(signed.grant)
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

    fn signer(secret: &str) -> Signer {
        Signer {
            secret: secret.as_bytes().to_vec(),
        }
    }

    #[test]
    fn tickets_verify_only_under_their_secret_and_before_expiry() {
        let s = signer("one");
        let grant = Grant::PutManifest { s: "abc".into() };
        assert_eq!(s.verify(&s.sign(grant.clone())).unwrap(), grant);
        let e = signer("two").verify(&s.sign(grant.clone())).unwrap_err();
        assert!(e.to_string().contains("does not match"), "{e}");
        let old = s.sign_until(grant.clone(), cairn_server::auth::now_secs() - 1);
        let e = s.verify(&old).unwrap_err();
        assert!(e.to_string().contains("expired"), "{e}");
        // the payload cannot be swapped under a signature
        let other = s.sign(Grant::PutManifest { s: "xyz".into() });
        let (payload, _) = other.split_once('.').unwrap();
        let (_, tag) = s
            .sign(grant)
            .split_once('.')
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .unwrap();
        assert!(s.verify(&format!("{payload}.{tag}")).is_err());
        assert!(s.verify("no-dot").is_err());
    }
}
