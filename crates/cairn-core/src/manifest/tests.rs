use super::*;

fn p(s: &str) -> EntryPath {
    EntryPath::new(s).unwrap()
}

fn blob(content: &str) -> Entry {
    Entry::blob(Digest::of(content.as_bytes()), content.len() as u64)
}

#[test]
fn empty_digest_is_the_header_hash() {
    let want = Digest::of(b"cairn-artifact-manifest-v1\n").hex();
    assert_eq!(Manifest::new().digest().to_string(), want);
}

#[test]
fn digest_follows_the_spec_encoding() {
    let mut m = Manifest::new();
    m.insert(p("b.txt"), blob("b")).unwrap();
    m.insert(p("a.txt"), blob("a")).unwrap();
    let mut bytes = DIGEST_HEADER.to_vec();
    for (path, c) in [("a.txt", "a"), ("b.txt", "b")] {
        bytes.extend_from_slice(format!("{path}\0{}\n", Digest::of(c.as_bytes())).as_bytes());
    }
    assert_eq!(m.digest().to_string(), Digest::of(&bytes).hex());
}

#[test]
fn digest_ignores_insertion_order_size_ref_and_extra() {
    let mut a = Manifest::new();
    let mut b = Manifest::new();
    for name in ["z", "a", "m/n", "m"] {
        a.insert(p(name), blob(name)).unwrap();
    }
    for name in ["m", "m/n", "a", "z"] {
        b.insert(p(name), blob(name)).unwrap();
    }
    assert_eq!(a.digest(), b.digest());
    let before = a.digest();
    let mut e = a.get("a").unwrap().clone();
    e.size = 999;
    e.extra = Some(serde_json::from_str(r#"{"k":"v"}"#).unwrap());
    a.insert(p("a"), e).unwrap();
    assert_eq!(a.digest(), before);
    // a ref with the same digest still leaves the artifact digest alone
    let mut e = a.get("z").unwrap().clone();
    e.reference = Some("file:///z".into());
    a.insert(p("z"), e).unwrap();
    assert_eq!(a.digest(), before);
    // a changed digest changes it
    a.insert(p("z"), blob("other")).unwrap();
    assert_ne!(a.digest(), before);
}

#[test]
fn digest_sorts_by_utf8_bytes_not_utf16() {
    // U+FF61 sorts after U+1F600 in UTF-16 code units but before it in UTF-8 bytes
    let mut m = Manifest::new();
    m.insert(p("\u{1F600}"), blob("1")).unwrap();
    m.insert(p("\u{FF61}"), blob("2")).unwrap();
    let order: Vec<_> = m.iter().map(|(p, _)| p.as_str().to_owned()).collect();
    assert_eq!(order, ["\u{FF61}", "\u{1F600}"]);
    let mut bytes = DIGEST_HEADER.to_vec();
    for (path, c) in [("\u{FF61}", "2"), ("\u{1F600}", "1")] {
        bytes.extend_from_slice(format!("{path}\0{}\n", Digest::of(c.as_bytes())).as_bytes());
    }
    assert_eq!(m.digest().to_string(), Digest::of(&bytes).hex());
}

#[test]
fn canonical_bytes_sort_keys_without_whitespace() {
    let json = r#"{ "version": 1, "contents": {
        "ext/b.bin": {"size": 9, "ref": "s3://bucket/b.bin", "digest": "\"etag\"", "extra": {"z": 1, "a": {"y": 2, "b": 3}}},
        "data/a.csv": {"size": 123, "digest": "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}
    }}"#;
    let m = Manifest::from_json(json.as_bytes()).unwrap();
    let canonical = String::from_utf8(m.canonical_bytes()).unwrap();
    assert_eq!(
        canonical,
        r#"{"contents":{"data/a.csv":{"digest":"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad","size":123},"ext/b.bin":{"digest":"\"etag\"","extra":{"a":{"b":3,"y":2},"z":1},"ref":"s3://bucket/b.bin","size":9}},"version":1}"#
    );
    assert_eq!(Manifest::from_json(canonical.as_bytes()).unwrap(), m);
}

#[test]
fn rejects_bad_manifests_naming_the_problem() {
    let cases = [
        (
            r#"{"version":2,"contents":{}}"#,
            "unsupported manifest version 2",
        ),
        (
            r#"{"version":1,"contents":{"../x":{"digest":"sha256:00","size":1}}}"#,
            "'../x'",
        ),
        (
            r#"{"version":1,"contents":{"x":{"digest":"etag","size":1}}}"#,
            "entry 'x' has digest 'etag' but no ref",
        ),
        (
            r#"{"version":1,"contents":{"x":{"digest":"sha256:XYZ","ref":"file:///x"}}}"#,
            "",
        ),
        (r#"{"version":1}"#, "contents"),
    ];
    for (json, needle) in cases {
        match Manifest::from_json(json.as_bytes()) {
            Err(e) => assert!(e.to_string().contains(needle), "{json}: {e}"),
            // an opaque ref digest that merely looks like a bad sha256 is allowed
            Ok(m) => assert!(needle.is_empty() && m.len() == 1, "{json}"),
        }
    }
}

#[test]
fn stored_blobs_skip_references() {
    let mut m = Manifest::new();
    m.insert(p("a"), blob("a")).unwrap();
    m.insert(p("b"), blob("a")).unwrap();
    let mut r = blob("r");
    r.reference = Some("file:///r".into());
    m.insert(p("r"), r).unwrap();
    assert_eq!(m.stored_blobs().len(), 1);
    assert_eq!(m.total_size(), 3);
}

#[test]
fn matching_is_exact_then_prefix() {
    let mut m = Manifest::new();
    for name in [
        "a.txt",
        "x/a.txt",
        "dir/1",
        "dir/sub/2",
        "dir2/3",
        "dir.txt",
    ] {
        m.insert(p(name), blob(name)).unwrap();
    }
    assert_eq!(m.matching("a.txt"), [p("a.txt")]);
    assert_eq!(m.matching("dir"), [p("dir/1"), p("dir/sub/2")]);
    assert_eq!(m.matching("dir/"), [p("dir/1"), p("dir/sub/2")]);
    assert_eq!(m.matching("a.txt/"), Vec::<EntryPath>::new());
    assert!(m.matching("nothing").is_empty());
}
