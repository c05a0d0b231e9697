//! Signed, expiring grants for URLs that carry no credentials (a browser's download link; the
//! W&B SDK's upload and download URLs): a ticket is the grant serialised with its expiry,
//! HMAC-SHA-256 under a secret every replica reads from the metadata store, so any replica
//! verifies what another signed.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::ApiResult;

type HmacSha256 = Hmac<sha2_hmac::Sha256>;

#[derive(Serialize, Deserialize)]
struct Signed<G> {
    #[serde(flatten)]
    grant: G,
    /// Expiry, Unix seconds.
    x: i64,
}

/// Signs and checks tickets under one of the registry's secrets.
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
    /// A signer under a fixed secret (tests).
    pub fn with_secret(secret: &[u8]) -> Self {
        Self {
            secret: secret.to_vec(),
        }
    }

    /// The registry's secret called `name`: made once, at random, by the first replica to need
    /// it, and kept in the metadata store.
    pub async fn load(state: &AppState, name: &str) -> ApiResult<Self> {
        if let Some(s) = state.meta.compat_state(name).await? {
            return Ok(Self::with_secret(s.as_bytes()));
        }
        let fresh: [u8; 32] = rand::random();
        let hex: String = fresh.iter().map(|b| format!("{b:02x}")).collect();
        // the first writer wins; read back whichever that was
        state.meta.set_compat_state(name, &hex, true).await?;
        let kept = state.meta.compat_state(name).await?;
        Ok(Self::with_secret(kept.unwrap_or(hex).as_bytes()))
    }

    fn mac(&self, payload: &str) -> HmacSha256 {
        let mut mac =
            HmacSha256::new_from_slice(&self.secret).expect("HMAC takes keys of any length");
        mac.update(payload.as_bytes());
        mac
    }

    /// A ticket (URL-safe) granting `grant` until `expiry` (Unix seconds). `grant` must
    /// serialise as a map (a struct, or an enum with a tag).
    pub fn sign<G: Serialize>(&self, grant: &G, expiry: i64) -> String {
        let json = serde_json::to_vec(&Signed { grant, x: expiry }).expect("a grant serialises");
        let payload = URL_SAFE_NO_PAD.encode(json);
        let tag = URL_SAFE_NO_PAD.encode(self.mac(&payload).finalize().into_bytes());
        format!("{payload}.{tag}")
    }

    /// What a ticket grants, if its signature holds and it has not expired; else why not.
    pub fn verify<G: DeserializeOwned>(&self, ticket: &str) -> Result<G, &'static str> {
        let (payload, tag) = ticket
            .split_once('.')
            .ok_or("this is not a signed Cairn URL")?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| "this URL's signature is malformed")?;
        // constant-time comparison
        self.mac(payload)
            .verify_slice(&tag)
            .map_err(|_| "this URL's signature does not match")?;
        let raw = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| "this URL's payload is malformed")?;
        let signed: Signed<G> =
            serde_json::from_slice(&raw).map_err(|_| "this URL's payload is malformed")?;
        if signed.x < crate::auth::now_secs() {
            return Err("this signed URL has expired: ask for a new one");
        }
        Ok(signed.grant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    struct Grant {
        s: String,
    }

    #[test]
    fn tickets_verify_only_under_their_secret_and_before_expiry() {
        let s = Signer::with_secret(b"one");
        let later = crate::auth::now_secs() + 60;
        let grant = Grant { s: "abc".into() };
        assert_eq!(s.verify::<Grant>(&s.sign(&grant, later)), Ok(grant.clone()));
        let other = Signer::with_secret(b"two");
        assert_eq!(
            other.verify::<Grant>(&s.sign(&grant, later)),
            Err("this URL's signature does not match")
        );
        let old = s.sign(&grant, crate::auth::now_secs() - 1);
        assert_eq!(
            s.verify::<Grant>(&old),
            Err("this signed URL has expired: ask for a new one")
        );
        // the payload cannot be swapped under a signature
        let swapped = s.sign(&Grant { s: "xyz".into() }, later);
        let (payload, _) = swapped.split_once('.').unwrap();
        let signed = s.sign(&grant, later);
        let (_, tag) = signed.split_once('.').unwrap();
        assert!(s.verify::<Grant>(&format!("{payload}.{tag}")).is_err());
        assert_eq!(
            s.verify::<Grant>("no-dot"),
            Err("this is not a signed Cairn URL")
        );
    }
}
