//! MD5s beside SHA-256: what other registries' clients (the W&B SDK) name files by.
//! Never an identity inside Cairn: an MD5 resolves to a blob only within the project that
//! recorded it (MD5 collisions can be made).

use cairn_core::Digest;

use crate::error::Error;

/// An MD5 digest (16 bytes); written as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Md5(pub [u8; 16]);

impl std::fmt::Display for Md5 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl std::str::FromStr for Md5 {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::Unprocessable(format!("{s:?} is not an MD5 (32 hex digits)"));
        if s.len() != 32 || !s.is_ascii() {
            return Err(bad());
        }
        let mut out = [0u8; 16];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(Self(out))
    }
}

/// A blob a project holds, with its MD5.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct BlobMd5 {
    /// The MD5 of its bytes.
    pub md5: Md5,
    /// Its SHA-256.
    pub digest: Digest,
    /// Its size.
    pub size: u64,
}

#[cfg(test)]
mod tests {
    use super::Md5;

    #[test]
    fn hex_round_trip_and_refusals() {
        let m: Md5 = "d41d8cd98f00b204e9800998ecf8427e".parse().unwrap();
        assert_eq!(m.to_string(), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(m.0[0], 0xd4);
        for bad in [
            "",
            "d41d8cd98f00b204e9800998ecf8427",
            "g41d8cd98f00b204e9800998ecf8427e",
        ] {
            let e = bad.parse::<Md5>().unwrap_err().to_string();
            assert!(e.contains("not an MD5"), "{e}");
        }
    }
}
