//! The SDK's errors as Python exceptions, with the SDK's messages: `ValueError` for names,
//! paths and rules, `FileNotFoundError` (and the other `OSError`s) for local files and for
//! removing nothing, `CommError` (with `.status`) when the registry refuses.

use cairn_client::Error;
use pyo3::exceptions::{
    PyException, PyFileExistsError, PyFileNotFoundError, PyIsADirectoryError, PyNotADirectoryError,
    PyOSError, PyPermissionError, PyValueError,
};
use pyo3::prelude::*;

pyo3::create_exception!(
    cairn,
    CairnError,
    PyException,
    "Base class of Cairn's own exceptions."
);
pyo3::create_exception!(
    cairn,
    CommError,
    CairnError,
    "The registry could not be reached or refused the request; `.status` is the HTTP status (None without an answer)."
);
pyo3::create_exception!(
    cairn,
    UsageError,
    CairnError,
    "Missing configuration or a call in the wrong place (no token, no project, a finished run)."
);
pyo3::create_exception!(
    cairn,
    ArtifactFinalizedError,
    CairnError,
    "The artifact is logged or fetched and cannot change: use `new_draft()`."
);
pyo3::create_exception!(
    cairn,
    CorruptError,
    CairnError,
    "Downloaded bytes that do not hash to the manifest's digest."
);

/// Turn an SDK result into a Python one.
pub(crate) trait OrRaise<T> {
    /// The value, or the SDK error as its Python exception.
    fn or_raise(self) -> PyResult<T>;
}

impl<T> OrRaise<T> for Result<T, Error> {
    fn or_raise(self) -> PyResult<T> {
        self.map_err(raise)
    }
}

impl<T> OrRaise<T> for Result<T, cairn_core::Error> {
    fn or_raise(self) -> PyResult<T> {
        self.map_err(|e| raise(Error::Core(e)))
    }
}

/// Parse a name, alias or other cairn-core value; a bad one raises ValueError.
pub(crate) fn parse<T: std::str::FromStr<Err = cairn_core::Error>>(text: &str) -> PyResult<T> {
    text.parse::<T>().or_raise()
}

/// The Python exception for an SDK error.
pub(crate) fn raise(e: Error) -> PyErr {
    let message = e.to_string();
    match &e {
        Error::Core(cairn_core::Error::NoSuchPath(_)) => PyFileNotFoundError::new_err(message),
        Error::Core(_) | Error::Reference { .. } => PyValueError::new_err(message),
        Error::Config(_) => UsageError::new_err(message),
        Error::Corrupt { .. } | Error::CorruptChunk { .. } => CorruptError::new_err(message),
        // the local folder cannot take the download as it is: an OSError, as for a file clash
        Error::Unwritable { .. } => PyFileExistsError::new_err(message),
        Error::Io { source, .. } => {
            use std::io::ErrorKind::*;
            match source.kind() {
                NotFound => PyFileNotFoundError::new_err(message),
                PermissionDenied => PyPermissionError::new_err(message),
                AlreadyExists => PyFileExistsError::new_err(message),
                IsADirectory => PyIsADirectoryError::new_err(message),
                NotADirectory => PyNotADirectoryError::new_err(message),
                _ => PyOSError::new_err(message),
            }
        }
        Error::Api { .. } | Error::Http(_) => {
            let err = CommError::new_err(message);
            let status = e.status();
            Python::attach(|py| {
                // a fresh exception object takes any attribute
                let _ = err.value(py).setattr("status", status);
            });
            err
        }
    }
}

/// A change to a logged or fetched artifact.
pub(crate) fn finalized(what: &str) -> PyErr {
    ArtifactFinalizedError::new_err(format!(
        "cannot {what}: this artifact is logged or fetched and cannot change; use new_draft()"
    ))
}
