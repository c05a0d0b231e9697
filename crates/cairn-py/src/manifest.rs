//! `cairn.Manifest` and `cairn.ManifestEntry`: a version's paths → digests, read-only.

use cairn_core::{Entry, EntryPath, Manifest};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// One entry: `path`, `digest` (`sha256:…`, or a reference's digest), `size`, `ref` (the URI
/// of a reference, else None).
#[pyclass(name = "ManifestEntry", module = "cairn", frozen, eq)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PyManifestEntry {
    #[pyo3(get)]
    path: String,
    #[pyo3(get)]
    digest: String,
    #[pyo3(get)]
    size: u64,
    #[pyo3(get, name = "ref")]
    reference: Option<String>,
}

impl PyManifestEntry {
    pub(crate) fn new(path: &EntryPath, entry: &Entry) -> Self {
        Self {
            path: path.to_string(),
            digest: entry.digest.to_string(),
            size: entry.size,
            reference: entry.reference.clone(),
        }
    }
}

#[pymethods]
impl PyManifestEntry {
    fn __repr__(&self) -> String {
        format!(
            "ManifestEntry(path={:?}, digest={:?}, size={})",
            self.path, self.digest, self.size
        )
    }
}

/// A manifest: `entries` maps each path to its `ManifestEntry`; `len()`, `in`, iteration over
/// paths; `digest` is the artifact digest; `to_json()` the canonical JSON.
#[pyclass(name = "Manifest", module = "cairn", frozen)]
#[derive(Clone, Debug)]
pub struct PyManifest {
    manifest: Manifest,
}

impl PyManifest {
    pub(crate) fn new(manifest: Manifest) -> Self {
        Self { manifest }
    }
}

#[pymethods]
impl PyManifest {
    /// Path → entry, in path order.
    #[getter]
    fn entries<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (path, entry) in self.manifest.iter() {
            dict.set_item(path.as_str(), PyManifestEntry::new(path, entry))?;
        }
        Ok(dict)
    }

    /// The artifact digest (64 hex characters).
    #[getter]
    fn digest(&self) -> String {
        self.manifest.digest().to_string()
    }

    /// The canonical JSON of the manifest.
    fn to_json(&self) -> String {
        String::from_utf8_lossy(&self.manifest.canonical_bytes()).into_owned()
    }

    fn __len__(&self) -> usize {
        self.manifest.len()
    }

    fn __contains__(&self, path: &str) -> bool {
        self.manifest.get(path).is_some()
    }

    fn __iter__(&self) -> PyResult<Py<PyAny>> {
        Python::attach(|py| {
            let paths: Vec<&str> = self.manifest.iter().map(|(p, _)| p.as_str()).collect();
            Ok(paths.into_pyobject(py)?.try_iter()?.into_any().unbind())
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "Manifest({} entries, {} bytes)",
            self.manifest.len(),
            self.manifest.total_size()
        )
    }
}
