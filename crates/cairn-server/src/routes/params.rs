//! Typed path parameters: each validates as it parses, so a bad name is a 422 naming it.

use cairn_core::{Alias, ArtifactName, Digest, DistributedId, Entity, Project, RunId, VersionRef};
use cairn_store::ProjectKey;
use serde::Deserialize;
use utoipa::IntoParams;

macro_rules! params {
    ($($(#[$doc:meta])* $t:ident { $($(#[$fattr:meta])* $field:ident: $ty:ty),* })*) => {$(
        $(#[$doc])*
        #[derive(Debug, Deserialize, IntoParams)]
        #[into_params(parameter_in = Path)]
        pub(crate) struct $t {
            /// The entity.
            pub entity: Entity,
            /// The project.
            pub project: Project,
            $($(#[$fattr])* pub $field: $ty,)*
        }

        impl $t {
            pub(crate) fn key(&self) -> ProjectKey {
                ProjectKey { entity: self.entity.clone(), project: self.project.clone() }
            }
        }
    )*};
}

params! {
    /// `{P}`.
    ProjectParams {}
    /// `{P}/blobs/{digest}`.
    BlobParams {
        /// `sha256:<hex>`.
        digest: Digest
    }
    /// `{P}/artifacts/{name}`.
    ArtifactParams {
        /// The collection.
        name: ArtifactName
    }
    /// `{P}/artifacts/{name}/versions/{ref}`.
    VersionParams {
        /// The collection.
        name: ArtifactName,
        /// `latest`, `vN` or an alias.
        #[serde(rename = "ref")]
        #[param(rename = "ref")]
        reference: VersionRef
    }
    /// `{P}/artifacts/{name}/versions/{ref}/files/{path}`.
    FileParams {
        /// The collection.
        name: ArtifactName,
        /// `latest`, `vN` or an alias.
        #[serde(rename = "ref")]
        #[param(rename = "ref")]
        reference: VersionRef,
        /// The entry's path.
        path: String
    }
    /// `{P}/artifacts/{name}/aliases/{alias}`.
    AliasParams {
        /// The collection.
        name: ArtifactName,
        /// The alias.
        alias: Alias
    }
    /// `{P}/artifacts/{name}/distributed/{id}`.
    DistributedParams {
        /// The collection.
        name: ArtifactName,
        /// The distributed id.
        id: DistributedId
    }
    /// `{P}/runs/{id}`.
    RunParams {
        /// The run.
        id: RunId
    }
    /// `{P}/uploads/{id}`.
    UploadParams {
        /// The upload session.
        id: String
    }
    /// `{P}/uploads/{id}/parts/{n}`.
    PartParams {
        /// The upload session.
        id: String,
        /// The part's number, from 0.
        n: u32
    }
}
