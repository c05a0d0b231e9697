use super::*;

#[test]
fn names_follow_the_rule() {
    for good in ["a", "A-b_c.9", &"x".repeat(128), "..x", ".x"] {
        assert!(Entity::new(good).is_ok(), "{good}");
        assert!(ArtifactName::new(good).is_ok(), "{good}");
    }
    for bad in ["", ".", "..", "a/b", "a b", "a:b", "ü", &"x".repeat(129)] {
        let err = Project::new(bad).unwrap_err();
        assert!(
            err.to_string().contains(&format!("'{bad}'")),
            "{bad}: {err}"
        );
    }
}

#[test]
fn reserved_types() {
    assert_eq!(
        TypeName::new("cairn-internal").unwrap_err().to_string(),
        "type cairn-internal is reserved"
    );
    assert!(TypeName::new("dataset").is_ok());
    assert!(TypeName::new("my-cairn-thing").is_ok());
    assert!(TypeName::new("bad type").is_err());
}

#[test]
fn aliases() {
    for good in [
        "best",
        "latest",
        "prod v2",
        "v",
        "v1a",
        "va",
        "É",
        &"é".repeat(128),
    ] {
        assert!(Alias::new(good).is_ok(), "{good}");
    }
    for bad in ["", "a/b", "a:b", "v0", "v12", "a\nb", &"x".repeat(129)] {
        let err = Alias::new(bad).unwrap_err();
        assert!(err.to_string().contains(&format!("'{bad}'")), "{err}");
    }
    assert!(Alias::latest().is_latest());
}

#[test]
fn version_refs() {
    assert_eq!("v3".parse::<VersionRef>().unwrap(), VersionRef::Index(3));
    assert_eq!(
        "latest".parse::<VersionRef>().unwrap(),
        VersionRef::latest()
    );
    assert!(
        matches!("best".parse::<VersionRef>().unwrap(), VersionRef::Alias(a) if a.as_str() == "best")
    );
    assert!("v99999999999999999999999".parse::<VersionRef>().is_err());
    assert_eq!(VersionRef::Index(7).to_string(), "v7");
}

#[test]
fn full_paths() {
    let none = Defaults::default();
    let p = ArtifactPath::parse("ent/proj/data:best", &none).unwrap();
    assert_eq!(p.to_string(), "ent/proj/data:best");
    let p = ArtifactPath::parse("ent/proj/data", &none).unwrap();
    assert_eq!(p.reference, VersionRef::latest());
    let p = ArtifactPath::parse("ent/proj/data:v2", &none).unwrap();
    assert_eq!(p.reference, VersionRef::Index(2));

    let defaults = Defaults {
        entity: Some(Entity::new("me").unwrap()),
        project: Some(Project::new("p").unwrap()),
    };
    assert_eq!(
        ArtifactPath::parse("data", &defaults).unwrap().to_string(),
        "me/p/data:latest"
    );
    assert_eq!(
        ArtifactPath::parse("q/data:v1", &defaults)
            .unwrap()
            .to_string(),
        "me/q/data:v1"
    );
    let err = ArtifactPath::parse("a/b/c/d", &defaults).unwrap_err();
    assert!(err.to_string().contains("'a/b/c/d'"), "{err}");
    assert!(
        ArtifactPath::parse("data", &none)
            .unwrap_err()
            .to_string()
            .contains("no entity")
    );
    // split on the first ':' only: the rest belongs to the ref, which cannot hold ':'
    assert!(ArtifactPath::parse("e/p/n:a:b", &none).is_err());
    assert!(ArtifactPath::parse("e/p/n:", &none).is_err());
    assert!(ArtifactPath::parse("e/p/bad name", &none).is_err());
}
