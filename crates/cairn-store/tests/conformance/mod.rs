//! Conformance suites every backend runs: `blob::run` for blob stores, `meta::run` for
//! metadata stores.

pub mod blob;
pub mod meta;
