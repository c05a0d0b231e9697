//! Typed digests: blob digests (`sha256:<hex>`), entry digests (a blob digest or a reference's
//! opaque digest), artifact digests (64 hex, no prefix), and the streaming hasher every part of
//! Cairn uses.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};

const PREFIX: &str = "sha256:";

/// The SHA-256 digest of a blob's bytes, written `sha256:<64 lowercase hex>`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest([u8; 32]);

impl Digest {
    /// The digest of `bytes`, hashed in one piece.
    pub fn of(bytes: &[u8]) -> Self {
        let mut h = Hasher::new();
        h.update(bytes);
        h.finish()
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// From raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 64 lowercase hex characters, without the `sha256:` prefix.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }
}

fn parse_hex32(hex_str: &str) -> Option<[u8; 32]> {
    if hex_str.len() != 64
        || !hex_str
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_str, &mut out).ok()?;
    Some(out)
}

impl FromStr for Digest {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        s.strip_prefix(PREFIX)
            .and_then(parse_hex32)
            .map(Self)
            .ok_or_else(|| Error::InvalidDigest(s.to_owned()))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}", self.hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

/// A streaming SHA-256 hasher: feed it byte chunks of any size, in order.
#[derive(Clone, Default)]
pub struct Hasher {
    inner: Sha256,
    len: u64,
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hasher").field("len", &self.len).finish()
    }
}

impl Hasher {
    /// A fresh hasher.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed the next chunk.
    pub fn update(&mut self, chunk: &[u8]) {
        self.inner.update(chunk);
        self.len += chunk.len() as u64;
    }

    /// Bytes fed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing has been fed yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The SHA-256 state (for [`crate::checkpoint`]).
    pub(crate) fn sha256(&self) -> &Sha256 {
        &self.inner
    }

    /// A hasher in `inner`'s state, having seen `len` bytes (for [`crate::checkpoint`]).
    pub(crate) fn from_parts(inner: Sha256, len: u64) -> Self {
        Self { inner, len }
    }

    /// The digest of everything fed.
    pub fn finish(self) -> Digest {
        Digest(self.inner.finalize().into())
    }
}

/// The digest of a manifest entry: a stored blob's SHA-256, or a reference's opaque digest
/// (an ETag, a URI, …: 1–1024 characters without NUL or newline).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum EntryDigest {
    /// `sha256:<hex>` of the content.
    Blob(Digest),
    /// Anything else a reference may carry.
    Opaque(String),
}

impl EntryDigest {
    /// The blob digest, if this is one.
    pub fn blob(&self) -> Option<Digest> {
        match self {
            Self::Blob(d) => Some(*d),
            Self::Opaque(_) => None,
        }
    }
}

impl From<Digest> for EntryDigest {
    fn from(d: Digest) -> Self {
        Self::Blob(d)
    }
}

impl FromStr for EntryDigest {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        if let Ok(d) = s.parse::<Digest>() {
            return Ok(Self::Blob(d));
        }
        if s.is_empty() || s.len() > 1024 || s.contains(['\0', '\n']) {
            return Err(Error::InvalidReferenceDigest(s.to_owned()));
        }
        Ok(Self::Opaque(s.to_owned()))
    }
}

impl fmt::Display for EntryDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Blob(d) => d.fmt(f),
            Self::Opaque(s) => f.write_str(s),
        }
    }
}

/// The artifact digest of semantics §3: 64 lowercase hex characters, no prefix.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ArtifactDigest([u8; 32]);

impl ArtifactDigest {
    /// Wrap a finished hash.
    pub(crate) fn from_digest(d: Digest) -> Self {
        Self(*d.as_bytes())
    }

    /// The digest of a manifest given as the [`Manifest::digest_stream`](crate::Manifest::digest_stream)s
    /// of consecutive pages, in order.
    ///
    /// ```
    /// use cairn_core::{ArtifactDigest, Digest, Entry, EntryPath, Manifest};
    /// let mut whole = Manifest::new();
    /// let (mut low, mut high) = (Manifest::new(), Manifest::new());
    /// for (i, p) in ["a", "b/c", "d"].into_iter().enumerate() {
    ///     let e = Entry::blob(Digest::of(p.as_bytes()), 1);
    ///     let path = EntryPath::new(p).unwrap();
    ///     whole.insert(path.clone(), e.clone()).unwrap();
    ///     if i < 2 { low.insert(path, e).unwrap(); } else { high.insert(path, e).unwrap(); }
    /// }
    /// let pages = [low.digest_stream(), high.digest_stream()];
    /// assert_eq!(ArtifactDigest::of_streams(pages.iter().map(Vec::as_slice)), whole.digest());
    /// ```
    pub fn of_streams<'a>(streams: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut h = ArtifactHasher::new();
        for s in streams {
            h.update(s);
        }
        h.finish()
    }
}

/// [`ArtifactDigest::of_streams`] one page at a time, for pages that arrive as a stream.
#[derive(Debug)]
pub struct ArtifactHasher(Hasher);

impl ArtifactHasher {
    /// Nothing hashed yet but the header.
    pub fn new() -> Self {
        let mut h = Hasher::new();
        h.update(crate::manifest::DIGEST_HEADER);
        Self(h)
    }

    /// The next page's digest stream.
    pub fn update(&mut self, stream: &[u8]) {
        self.0.update(stream);
    }

    /// The artifact digest of every page given.
    pub fn finish(self) -> ArtifactDigest {
        ArtifactDigest::from_digest(self.0.finish())
    }
}

impl Default for ArtifactHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl FromStr for ArtifactDigest {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        parse_hex32(s)
            .map(Self)
            .ok_or_else(|| Error::InvalidArtifactDigest(s.to_owned()))
    }
}

impl fmt::Display for ArtifactDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for ArtifactDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ArtifactDigest({self})")
    }
}

/// Serialize as the display string and parse with `FromStr` (serde's errors carry our message).
macro_rules! serde_via_str {
    ($($t:ty),*) => {$(
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}
pub(crate) use serde_via_str;

serde_via_str!(Digest, EntryDigest, ArtifactDigest);

#[cfg(test)]
mod tests {
    use super::*;

    const ABC: &str = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn known_vector() {
        assert_eq!(Digest::of(b"abc").to_string(), ABC);
        assert_eq!(ABC.parse::<Digest>().unwrap(), Digest::of(b"abc"));
    }

    #[test]
    fn rejects_malformed_digests() {
        for bad in [
            "",
            "sha256:",
            &ABC[7..],
            &ABC.to_uppercase(),
            &ABC.replace("sha256", "SHA256"),
            &ABC.replace("sha256:", "md5:"),
            &format!("{ABC}0"),
            &ABC[..ABC.len() - 1],
            &ABC.replace('a', "g"),
            &format!(" {ABC}"),
        ] {
            let err = bad.parse::<Digest>().unwrap_err();
            assert_eq!(err, Error::InvalidDigest(bad.to_string()), "{bad}");
            assert!(err.to_string().contains(bad));
        }
    }

    #[test]
    fn serde_round_trip_and_errors_name_the_value() {
        let d = Digest::of(b"x");
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), d);
        let err = serde_json::from_str::<Digest>("\"sha256:nothex\"").unwrap_err();
        assert!(err.to_string().contains("sha256:nothex"), "{err}");
    }

    #[test]
    fn entry_digest_accepts_blob_or_opaque() {
        assert_eq!(
            ABC.parse::<EntryDigest>().unwrap(),
            EntryDigest::Blob(Digest::of(b"abc"))
        );
        assert_eq!(
            "\"etag\"".parse::<EntryDigest>().unwrap(),
            EntryDigest::Opaque("\"etag\"".into())
        );
        for bad in ["", "a\nb", "a\0b", &"x".repeat(1025)] {
            assert!(bad.parse::<EntryDigest>().is_err());
        }
        assert!("x".repeat(1024).parse::<EntryDigest>().is_ok());
    }

    #[test]
    fn artifact_digest_is_bare_hex() {
        let hex = &ABC[7..];
        assert_eq!(hex.parse::<ArtifactDigest>().unwrap().to_string(), hex);
        assert!(ABC.parse::<ArtifactDigest>().is_err());
    }

    #[test]
    fn hasher_counts_bytes() {
        let mut h = Hasher::new();
        assert!(h.is_empty());
        h.update(b"ab");
        h.update(b"c");
        assert_eq!(h.len(), 3);
        assert_eq!(h.finish(), Digest::of(b"abc"));
    }
}
