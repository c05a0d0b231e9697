//! The checks behind each fuzz target: parse untrusted input, and when it parses, check the
//! properties that must hold of the result (round trips, canonical forms, patch algebra).
//! A panic here is a finding.

use arbitrary::{Arbitrary, Unstructured};
use cairn_core::{
    Alias, ArtifactDigest, ArtifactName, ArtifactPath, Defaults, Digest, DistributedId, Entity,
    Entry, EntryPath, Manifest, Patch, Project, RunId, TypeName, VersionRef, apply, diff,
};

/// Manifests (the body of a commit): canonical bytes parse back to the same manifest and
/// digest, and the digest stream gives the same digest.
pub fn manifest(data: &[u8]) {
    let Ok(m) = Manifest::from_json(data) else {
        return;
    };
    for (path, _) in m.iter() {
        EntryPath::new(path.as_str()).expect("a parsed manifest holds only canonical paths");
    }
    let canonical = m.canonical_bytes();
    let again = Manifest::from_json(&canonical).expect("canonical bytes parse");
    assert_eq!(again, m);
    assert_eq!(again.canonical_bytes(), canonical);
    let stream = m.digest_stream();
    assert_eq!(ArtifactDigest::of_streams([stream.as_slice()]), m.digest());
}

#[derive(Arbitrary, Debug)]
struct PatchInput {
    base: Vec<(String, u8)>,
    remove: Vec<String>,
    put: Vec<(String, u8)>,
}

fn entry(b: u8) -> Entry {
    Entry::blob(Digest::of(&[b]), u64::from(b))
}

/// Patches: the JSON parser, and `apply` on arbitrary bases: the result holds every put,
/// everything else comes unchanged from the base, and `diff` gives a patch that rebuilds it.
pub fn patch(data: &[u8]) {
    let _ = serde_json::from_slice::<Patch>(data).map(|p| p.check());
    let Ok(input) = PatchInput::arbitrary(&mut Unstructured::new(data)) else {
        return;
    };
    let mut base = Manifest::new();
    for (p, b) in input.base {
        if let Ok(path) = EntryPath::new(p) {
            base.insert(path, entry(b)).expect("a valid path");
        }
    }
    let mut patch = Patch {
        remove: input.remove,
        ..Patch::default()
    };
    for (p, b) in input.put {
        if let Ok(path) = EntryPath::new(p) {
            patch.put.insert(path, entry(b));
        }
    }
    let Ok(after) = apply(&base, &patch) else {
        return;
    };
    for (path, e) in &patch.put {
        assert_eq!(after.get(path.as_str()), Some(e), "put {path:?} missing");
    }
    for (path, e) in after.iter() {
        if !patch.put.contains_key(path) {
            assert_eq!(base.get(path.as_str()), Some(e), "{path:?} came from nowhere");
        }
    }
    let back = diff(&base, &after);
    assert_eq!(apply(&base, &back).expect("a diff applies"), after);
    assert!(diff(&after, &after).is_empty());
}

/// Entry paths: what `new` accepts is canonical and survives JSON; `normalize` gives a
/// canonical path, is idempotent and agrees with `new` on canonical input.
pub fn path(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = EntryPath::new(s) {
        assert_eq!(p.as_str(), s);
        assert!(!s.starts_with('/') && !s.contains('\\') && s.len() <= 1024);
        assert!(s.split('/').all(|seg| !matches!(seg, "" | "." | "..")));
        let json = serde_json::to_string(&p).expect("serialize");
        assert_eq!(serde_json::from_str::<EntryPath>(&json).expect("parse back"), p);
        assert_eq!(EntryPath::normalize(s).expect("canonical input normalizes"), p);
    }
    if let Ok(p) = EntryPath::normalize(s) {
        EntryPath::new(p.as_str()).expect("normalize gives a canonical path");
        assert_eq!(EntryPath::normalize(p.as_str()).expect("idempotent"), p);
    }
}

fn round_trip<T>(s: &str, exact: bool)
where
    T: std::str::FromStr + std::fmt::Display + PartialEq + std::fmt::Debug,
    T::Err: std::fmt::Debug,
{
    if let Ok(v) = s.parse::<T>() {
        let shown = v.to_string();
        if exact {
            assert_eq!(shown, s);
        }
        assert_eq!(shown.parse::<T>().expect("its display parses"), v);
    }
}

/// Names of every kind and version references: what parses displays as itself and parses
/// back.
pub fn name(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    round_trip::<Entity>(s, true);
    round_trip::<Project>(s, true);
    round_trip::<ArtifactName>(s, true);
    round_trip::<TypeName>(s, true);
    round_trip::<Alias>(s, true);
    round_trip::<DistributedId>(s, true);
    round_trip::<RunId>(s, true);
    // `v007` is `v7`
    round_trip::<VersionRef>(s, false);
}

/// Full artifact paths (`entity/project/name:ref` and short forms with defaults): what parses
/// displays in full and parses back without defaults.
pub fn full_path(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let defaults = Defaults {
        entity: Some("ent".parse().expect("an entity")),
        project: Some("proj".parse().expect("a project")),
    };
    for d in [Defaults::default(), defaults] {
        if let Ok(p) = ArtifactPath::parse(s, &d) {
            let full = p.to_string();
            assert_eq!(ArtifactPath::parse(&full, &Defaults::default()).expect("full form parses"), p);
        }
    }
}

/// Pack bodies (`POST {P}/packs`, fed to the verifier as they stream): whatever the pieces,
/// an accepted body is exactly its header followed by chunks that hash to their entries, and
/// the verdict does not depend on how the body was cut.
pub fn pack(data: &[u8]) {
    use cairn_core::chunk::ChunkHash;
    use cairn_core::pack::{PackHeader, PackVerifier};
    let Some((&cut, body)) = data.split_first() else {
        return;
    };
    let verdict = |piece: usize| {
        let mut v = PackVerifier::new();
        for p in body.chunks(piece.max(1)) {
            v.update(p)?;
        }
        v.finish()
    };
    let whole = verdict(body.len());
    let pieces = verdict(usize::from(cut));
    assert_eq!(whole.is_ok(), pieces.is_ok(), "the verdict depends on the cut");
    let Ok(header) = whole else {
        return;
    };
    assert_eq!(pieces.unwrap(), header);
    let encoded = header.encode();
    assert_eq!(&body[..encoded.len()], encoded.as_slice());
    assert_eq!(
        PackHeader::encoded_len(header.entries.len()) + header.data_len(),
        body.len() as u64
    );
    for (entry, at) in header.locations() {
        let bytes = &body[at as usize..at as usize + entry.len as usize];
        assert_eq!(ChunkHash::of(bytes), entry.hash);
    }
}
