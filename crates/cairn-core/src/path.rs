//! Entry paths inside an artifact (semantics §2): validation, and the client-side normaliser.

use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;

use crate::digest::serde_via_str;
use crate::error::{Error, Result};

/// Longest path, in UTF-8 bytes.
pub const MAX_PATH_BYTES: usize = 1024;

/// A canonical relative POSIX path inside an artifact. Ordered by UTF-8 bytes, which is the
/// order the artifact digest uses.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryPath(String);

fn invalid(path: &str, reason: &'static str) -> Error {
    Error::InvalidPath {
        path: path.to_owned(),
        reason,
    }
}

/// Why `path` is not canonical, if it isn't.
fn check(path: &str) -> Result<()> {
    if path.is_empty() {
        return Err(invalid(path, "empty"));
    }
    if path.len() > MAX_PATH_BYTES {
        return Err(invalid(path, "longer than 1024 bytes"));
    }
    if path.starts_with('/') {
        return Err(invalid(path, "absolute"));
    }
    if path.contains('\\') {
        return Err(invalid(path, "contains a backslash"));
    }
    if path.chars().any(char::is_control) {
        return Err(invalid(path, "contains a control character"));
    }
    let b = path.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return Err(invalid(path, "starts with a Windows drive"));
    }
    for segment in path.split('/') {
        match segment {
            "" => return Err(invalid(path, "has an empty segment")),
            "." => return Err(invalid(path, "has a '.' segment")),
            ".." => return Err(invalid(path, "has a '..' segment")),
            _ => {}
        }
    }
    Ok(())
}

impl EntryPath {
    /// Accept `path` only if it is already canonical (what the server does).
    pub fn new(path: impl Into<String>) -> Result<Self> {
        let path = path.into();
        check(&path)?;
        Ok(Self(path))
    }

    /// Turn what a user typed or a file system gave into a canonical path (what clients do):
    /// backslashes become `/`, and empty and `.` segments are dropped (`./a//b` → `a/b`).
    /// Absolute paths, drives and `..` are still rejected.
    pub fn normalize(raw: &str) -> Result<Self> {
        let slashed = raw.replace('\\', "/");
        if slashed.starts_with('/') {
            return Err(invalid(raw, "absolute"));
        }
        let joined = slashed
            .split('/')
            .filter(|s| !s.is_empty() && *s != ".")
            .collect::<Vec<_>>()
            .join("/");
        check(&joined).map_err(|e| match e {
            Error::InvalidPath { reason, .. } => invalid(raw, reason),
            other => other,
        })?;
        Ok(Self(joined))
    }

    /// The path as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this path is `dir` itself or lies under `dir/`.
    pub fn is_within(&self, dir: &str) -> bool {
        self.0
            .strip_prefix(dir)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }
}

impl FromStr for EntryPath {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

impl fmt::Display for EntryPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for EntryPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl Borrow<str> for EntryPath {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for EntryPath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

serde_via_str!(EntryPath);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_the_spec_cases() {
        for bad in [
            "",
            ".",
            "../f",
            "nested/../f",
            "/f",
            "//f",
            "a//b",
            "a/./b",
            "\\f",
            "C:\\f",
            "C:f",
            "a\0b",
            "a\nb",
            "a/",
            "a/.",
            "..",
            "x\u{7f}",
        ] {
            let err = EntryPath::new(bad).unwrap_err();
            assert!(
                err.to_string()
                    .starts_with(&format!("invalid artifact path: '{bad}'")),
                "{bad:?}: {err}"
            );
        }
        assert!(EntryPath::new("x".repeat(1025)).is_err());
    }

    #[test]
    fn accepts_the_spec_cases() {
        for good in [
            "file.txt",
            "nested/file.txt",
            "..notevil",
            "a/..notevil/b..",
            "name with spaces.txt",
            "!@#$%^&[]()|',~",
            "dir/!@#$%^&[]()|',~ x",
            "ünïcödé/日本.txt",
            "ab:c",
            &"x".repeat(1024),
        ] {
            assert_eq!(EntryPath::new(good).unwrap().as_str(), good);
        }
    }

    #[test]
    fn normalizes_client_input() {
        for (raw, want) in [
            ("./a/b", "a/b"),
            ("a\\b\\c.txt", "a/b/c.txt"),
            (".\\a\\b", "a/b"),
            ("a//b/", "a/b"),
            ("a/./b", "a/b"),
            ("file.txt", "file.txt"),
        ] {
            assert_eq!(EntryPath::normalize(raw).unwrap().as_str(), want, "{raw}");
        }
        for bad in ["/abs", "\\abs", "C:\\f", "a/../b", ".", "./", ""] {
            let err = EntryPath::normalize(bad).unwrap_err();
            assert!(
                err.to_string().contains(&format!("'{bad}'")),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn within_is_segment_aware() {
        let p = EntryPath::new("x/a.txt").unwrap();
        assert!(p.is_within("x"));
        assert!(p.is_within("x/a.txt"));
        assert!(!p.is_within("a.txt"));
        assert!(!EntryPath::new("xy/a").unwrap().is_within("x"));
    }
}
