//! # cairn-py
//!
//! The Python package `cairn`, built from the Rust SDK ([`cairn_client`]) with PyO3 and maturin:
//! the W&B Artifacts API (`cairn.init`, `cairn.Artifact`, `run.log_artifact`,
//! `run.upsert_artifact` / `finish_artifact`, `run.use_artifact`, `cairn.Api().artifact`,
//! `new_draft`, `download`, `verify`) on a Cairn registry.
//!
//! Every call that hashes, uploads or downloads runs in Rust with the GIL released (other Python
//! threads keep running; the SDK hashes on every core and transfers in parallel), and checks
//! for Ctrl-C while it waits. The Python side (`python/cairn/`) only re-exports this module and
//! adds `login` and `cairn.run`.

mod artifact;
mod error;
mod manifest;
mod metadata;
mod run;
mod version;

use std::future::Future;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use cairn_client::{Api, Bars, Progress};
use pyo3::prelude::*;

use crate::error::OrRaise;

/// The runtime every call blocks on (from any Python thread, GIL released).
static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("cairn")
        .build()
        .expect("the tokio runtime starts")
});

/// Run `fut` to completion with the GIL released, raising `KeyboardInterrupt` (and dropping the
/// work, which leaves nothing half-committed) when Python sees a signal meanwhile.
pub(crate) fn block<F>(py: Python<'_>, fut: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    py.detach(|| {
        RUNTIME.block_on(async {
            let mut fut = std::pin::pin!(fut);
            loop {
                tokio::select! {
                    out = &mut fut => return Ok(out),
                    () = tokio::time::sleep(Duration::from_millis(100)) => {
                        Python::attach(|py| py.check_signals())?;
                    }
                }
            }
        })
    })
}

/// Progress bars on stderr, unless `CAIRN_SILENT` is set (indicatif draws nothing when stderr
/// is not a terminal).
pub(crate) fn bars() -> Arc<dyn Progress> {
    let silent = std::env::var("CAIRN_SILENT").is_ok_and(|v| !v.is_empty() && v != "0");
    Arc::new(Bars::new(silent))
}

/// A connection from the config file and `CAIRN_*` variables, with progress bars.
pub(crate) fn connect() -> PyResult<Api> {
    Ok(Api::from_env().or_raise()?.with_progress(bars()))
}

/// The extension module behind `import cairn`.
#[pymodule(name = "_cairn")]
mod cairn_module {
    #[pymodule_export]
    use crate::artifact::PyArtifact;
    #[pymodule_export]
    use crate::error::{ArtifactFinalizedError, CairnError, CommError, CorruptError, UsageError};
    #[pymodule_export]
    use crate::manifest::{PyManifest, PyManifestEntry};
    #[pymodule_export]
    use crate::run::{PyApi, PyRun, current_run, init};
}
