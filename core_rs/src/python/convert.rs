//! Python objects ⇄ the JSON values the core reads and writes.
//!
//! Input: dicts (str keys), lists/tuples, str, bool, int, float, None and
//! `decimal.Decimal` (written out in plain notation, then validated like any decimal
//! string), or a whole document as JSON text. A float stays a JSON number, which the core
//! refuses where a decimal is expected (SPEC §1: `INVALID_DECIMAL`).

use super::errors::to_pyerr;
use crate::error::{Error, Reason};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType};
use serde_json::{Map, Number, Value};

static DECIMAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn decimal_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    DECIMAL.import(py, "decimal", "Decimal")
}

/// Converts a Python object (or JSON text) to a JSON value; `what` names the argument
/// in errors about the JSON text.
pub fn from_py(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Value> {
    if let Ok(s) = obj.cast::<PyString>() {
        let text = s.to_str()?;
        return serde_json::from_str(text).map_err(|e| {
            to_pyerr(obj.py(), Error::at(Reason::InvalidArgument, what, format!("invalid JSON: {e}")))
        });
    }
    value(obj, 0)
}

/// Converts a Python object to a JSON value (a str stays a JSON string).
pub fn plain(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    value(obj, 0)
}

const MAX_DEPTH: usize = 64;

fn value(obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    let py = obj.py();
    if depth > MAX_DEPTH {
        return Err(to_pyerr(py, Error::new(Reason::InvalidArgument, "input nested too deeply")));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_str()?.to_string()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::Number(i.into()));
        }
        // An integer beyond 64 bits is out of every range; keep it a (non-integer) number.
        let f: f64 = obj.extract()?;
        return Ok(Number::from_f64(f).map_or(Value::Null, Value::Number));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Ok(Number::from_f64(f.value()).map_or_else(|| Value::String(f.to_string()), Value::Number));
    }
    if obj.is_instance(decimal_type(py)?)? {
        // Plain notation ("100000", never "1E+5"); NaN/Infinity stay invalid text.
        let text: String = py.import("builtins")?.getattr("format")?.call1((obj, "f"))?.extract()?;
        return Ok(Value::String(text));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut m = Map::new();
        for (k, v) in d.iter() {
            let key = k.cast::<PyString>().map_err(|_| {
                to_pyerr(py, Error::new(Reason::InvalidArgument, "object keys must be strings"))
            })?;
            m.insert(key.to_str()?.to_string(), value(&v, depth + 1)?);
        }
        return Ok(Value::Object(m));
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return l.iter().map(|v| value(&v, depth + 1)).collect::<PyResult<Vec<_>>>().map(Value::Array);
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return t.iter().map(|v| value(&v, depth + 1)).collect::<PyResult<Vec<_>>>().map(Value::Array);
    }
    let type_name = obj.get_type().name()?.to_string();
    Err(to_pyerr(py, Error::new(Reason::InvalidArgument, format!("unsupported input type {type_name}"))))
}

/// Converts a JSON value to Python objects (dict, list, str, int, float, bool, None).
pub fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.into_pyobject(py)?.into_any(),
            None => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(a) => {
            let l = PyList::empty(py);
            for x in a {
                l.append(to_py(py, x)?)?;
            }
            l.into_any()
        }
        Value::Object(m) => {
            let d = PyDict::new(py);
            for (k, x) in m {
                d.set_item(k, to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}
