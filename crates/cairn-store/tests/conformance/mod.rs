//! Conformance suites every backend runs: `blob::run` and `upload::run` for blob stores, `meta::run` (which
//! includes `large::run`) for metadata stores.

pub mod blob;
pub mod large;
pub mod meta;
pub mod upload;
