//! OpenAPI schemas for the string-shaped types (feature `openapi`).

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

use crate::chunk::ChunkHash;
use crate::digest::{ArtifactDigest, Digest, EntryDigest};
use crate::name::{
    Alias, ArtifactName, DistributedId, Entity, Project, RunId, TypeName, VersionRef,
};
use crate::pack::{PackId, StreamId};
use crate::path::EntryPath;
use crate::segment::SegmentHash;
use crate::wire::VersionIndex;

macro_rules! string_schema {
    ($($t:ty => $pattern:expr, $doc:literal;)*) => {$(
        impl utoipa::PartialSchema for $t {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern($pattern)
                    .description(Some($doc))
                    .into()
            }
        }
        impl utoipa::ToSchema for $t {}
    )*};
}

const NAME: Option<&str> = Some("^[A-Za-z0-9_.-]{1,128}$");

string_schema! {
    Digest => Some("^sha256:[0-9a-f]{64}$"), "SHA-256 of a blob's bytes";
    EntryDigest => None::<&str>, "a blob digest, or a reference's opaque digest";
    ArtifactDigest => Some("^[0-9a-f]{64}$"), "the artifact digest (semantics §3)";
    EntryPath => None::<&str>, "a canonical relative POSIX path";
    Entity => NAME, "an entity";
    Project => NAME, "a project";
    ArtifactName => NAME, "an artifact (collection) name";
    DistributedId => NAME, "a distributed id";
    RunId => NAME, "a run id";
    TypeName => NAME, "an artifact type; cairn-* is reserved";
    Alias => Some("^[^/:]{1,128}$"), "an alias (not v<number>)";
    VersionRef => None::<&str>, "latest, vN or an alias";
    VersionIndex => Some("^v[0-9]+$"), "a version number";
    ChunkHash => Some("^[0-9a-f]{64}$"), "BLAKE3 of a chunk's bytes";
    SegmentHash => Some("^[0-9a-f]{64}$"), "a segment: BLAKE3 over its chunks' hashes and lengths";
    PackId => Some("^[0-9a-f]{64}$"), "a pack uploaded to this project";
    StreamId => Some("^[0-9a-f]{64}$"), "a client's random name for one file's packs, in order";
}
