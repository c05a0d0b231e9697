//! # cairn-workload
//!
//! Registry traffic for tests and benchmarks. A [`Worker`] plays one client: it uploads
//! random blobs and commits whole versions, patches its own earlier versions, builds
//! distributed versions from two upserts and a finish, moves its alias, asks which blobs are
//! missing and downloads files, verifying every byte it reads. Every step it takes returns an
//! [`Ack`] — what the registry acknowledged — so a caller can later check that all of it is
//! still there (the crash harness) or time it (the load generator, `cairn-load`).

pub mod latency;
pub mod registry;
pub mod worker;

pub use latency::Latencies;
pub use registry::{Error, InFlight, Registry};
pub use worker::{Ack, Mix, Op, Worker};
