//! Conformance suites: every [`BlobStore`](crate::BlobStore) and
//! [`MetadataStore`](crate::MetadataStore) backend runs these (see `tests/`).
