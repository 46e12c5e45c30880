//! Core errors → `multimargin.errors` exceptions, by one exhaustive match.

use crate::error::{catch, Error};
use pyo3::prelude::*;

/// Builds the Python exception for a core error: `cls(message, reason, field)`.
pub fn to_pyerr(py: Python<'_>, e: Error) -> PyErr {
    let built = py
        .import("multimargin.errors")
        .and_then(|m| m.getattr(e.reason.class().python_exception()))
        .and_then(|cls| cls.call1((e.message.as_str(), e.reason.code(), e.field.as_deref())));
    match built {
        Ok(exc) => PyErr::from_value(exc),
        Err(import_failure) => import_failure,
    }
}

/// Runs core code and maps its error (or panic) to the Python exception.
pub fn guard<T>(py: Python<'_>, f: impl FnOnce() -> Result<T, Error>) -> PyResult<T> {
    catch(f).map_err(|e| to_pyerr(py, e))
}
