//! Metadata between Python and JSON (through the json module: any JSON-serializable value).

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyModule};
use serde_json::{Map, Value};

/// A JSON object from a Python dict (through the json module: any JSON-serializable value).
pub(crate) fn to_json_map(
    py: Python<'_>,
    dict: &Bound<'_, PyDict>,
) -> PyResult<Map<String, Value>> {
    let text: String = PyModule::import(py, "json")?
        .call_method1("dumps", (dict,))?
        .extract()?;
    match serde_json::from_str(&text) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(pyo3::exceptions::PyValueError::new_err(
            "metadata must be a dict of JSON values",
        )),
    }
}

/// A Python object from JSON.
pub(crate) fn from_json<'py>(
    py: Python<'py>,
    value: &Map<String, Value>,
) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(value).expect("a JSON map serializes");
    PyModule::import(py, "json")?.call_method1("loads", (text,))
}
