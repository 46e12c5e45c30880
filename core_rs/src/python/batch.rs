//! Batch evaluation: many accounts against one market with the GIL released, split over
//! the machine's cores, and the compact `Results` / `Result` objects whose figures are
//! built as Python objects only when read.

use super::errors::to_pyerr;
use super::results::{self, Field};
use super::{same_rulebook, PyAccount, PyMarket};
use crate::error::{Error, Reason};
use crate::result::Evaluation;
use crate::rulebook::Rulebook;
use pyo3::exceptions::{PyIndexError, PyKeyError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use std::sync::Arc;

/// What to do with an account that fails: raise (the first, by index) or keep its error
/// in its slot.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    Raise,
    Return,
}

impl OnError {
    pub fn parse(s: &str) -> Result<OnError, Error> {
        match s {
            "raise" => Ok(OnError::Raise),
            "return" => Ok(OnError::Return),
            _ => Err(Error::at(
                Reason::InvalidArgument,
                "errors",
                format!("{s:?} is not \"raise\" or \"return\""),
            )),
        }
    }
}

/// One account's outcome; an error's field is prefixed `accounts[i]`.
pub type Slot = Result<Evaluation, Error>;

/// `f(i, item)` over `items` on up to `available_parallelism` threads, results in input
/// order; a worker that panics yields `on_panic()` for each of its items. (Call it with
/// the GIL released.)
pub fn par_map<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(usize, &T) -> R + Sync,
    on_panic: impl Fn() -> R + Sync,
) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(items.len().max(1));
    if threads <= 1 {
        return items.iter().enumerate().map(|(i, x)| f(i, x)).collect();
    }
    let chunk = items.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = items
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| {
                scope.spawn(move || {
                    part.iter().enumerate().map(|(j, x)| f(c * chunk + j, x)).collect::<Vec<_>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for (c, h) in handles.into_iter().enumerate() {
            match h.join() {
                Ok(part) => out.extend(part),
                Err(_) => out.extend((0..items.len().min((c + 1) * chunk) - c * chunk).map(|_| on_panic())),
            }
        }
        out
    })
}

/// Evaluates every account (without the GIL, on all cores); results keep their order.
pub fn run(py: Python<'_>, rb: &Arc<Rulebook>, market: &PyMarket, accounts: &[Py<PyAccount>]) -> Vec<Slot> {
    let accounts: Vec<&PyAccount> = accounts.iter().map(Py::get).collect();
    py.detach(|| {
        par_map(
            &accounts,
            |i, a| {
                let at = format!("accounts[{i}]");
                crate::error::catch(|| {
                    same_rulebook(rb, &a.rb, &at)?;
                    crate::evaluate(rb, &market.inner, &a.inner).map_err(|e| e.under(&at))
                })
            },
            || Err(Error::internal("engine fault in a batch worker")),
        )
    })
}

/// Raises the first failed slot's error under `OnError::Raise`.
pub fn check(py: Python<'_>, slots: &[Slot], on_error: OnError) -> PyResult<()> {
    if on_error == OnError::Raise {
        if let Some(Err(e)) = slots.iter().find(|s| s.is_err()) {
            return Err(to_pyerr(py, e.clone()));
        }
    }
    Ok(())
}

/// A failed slot as its exception object (`MarginError` subclass).
pub fn error_object<'py>(py: Python<'py>, e: &Error) -> Bound<'py, PyAny> {
    to_pyerr(py, e.clone()).into_value(py).into_bound(py).into_any()
}

/// Parses `fields`: SPEC §10 top-level keys.
pub fn parse_fields(fields: Option<Vec<String>>) -> Result<Option<Vec<Field>>, Error> {
    let Some(names) = fields else { return Ok(None) };
    let mut out = Vec::with_capacity(names.len());
    for (i, n) in names.iter().enumerate() {
        let f = Field::parse(n).ok_or_else(|| {
            let known = Field::names().collect::<Vec<_>>().join(", ");
            Error::at(
                Reason::InvalidArgument,
                format!("fields[{i}]"),
                format!("{n:?} is not a result key ({known})"),
            )
        })?;
        if !out.contains(&f) {
            out.push(f);
        }
    }
    Ok(Some(out))
}

struct Batch {
    rb: Arc<Rulebook>,
    slots: Vec<Slot>,
    fields: Option<Vec<Field>>,
}

impl Batch {
    fn selected(&self, f: Field) -> bool {
        self.fields.as_ref().is_none_or(|o| o.contains(&f))
    }
}

/// The outcome of `Rulebook.evaluate_batch`: one slot per account, in order. A slot is a
/// `Result`, or (with `errors="return"`) the `MarginError` of an account that failed.
/// Figures become Python objects only when read.
#[pyclass(frozen, name = "Results", module = "multimargin._core")]
pub struct PyResults {
    batch: Arc<Batch>,
}

/// One account's evaluation (SPEC §10), read on demand: `r.liquidatable`, `r["pools"]`,
/// `r.to_dict()`. With `fields`, the mapping view holds only those keys.
#[pyclass(frozen, name = "Result", module = "multimargin._core")]
pub struct PyResult1 {
    batch: Arc<Batch>,
    index: usize,
}

impl PyResults {
    pub fn new(rb: Arc<Rulebook>, slots: Vec<Slot>, fields: Option<Vec<Field>>) -> PyResults {
        PyResults { batch: Arc::new(Batch { rb, slots, fields }) }
    }

    fn slot<'py>(&self, py: Python<'py>, i: usize) -> PyResult<Bound<'py, PyAny>> {
        Ok(match &self.batch.slots[i] {
            Ok(_) => Bound::new(py, PyResult1 { batch: self.batch.clone(), index: i })?.into_any(),
            Err(e) => error_object(py, e),
        })
    }
}

#[pymethods]
impl PyResults {
    fn __len__(&self) -> usize {
        self.batch.slots.len()
    }

    fn __getitem__<'py>(&self, py: Python<'py>, index: isize) -> PyResult<Bound<'py, PyAny>> {
        let n = self.batch.slots.len() as isize;
        let i = if index < 0 { index + n } else { index };
        if !(0..n).contains(&i) {
            return Err(PyIndexError::new_err("Results index out of range"));
        }
        self.slot(py, i as usize)
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let list = PyList::empty(py);
        for i in 0..self.batch.slots.len() {
            list.append(self.slot(py, i)?)?;
        }
        Ok(list.try_iter()?.into_any())
    }

    /// One key for every account, in order: its value, `None` where the result has no
    /// such key, the `MarginError` where the account failed.
    fn column<'py>(&self, py: Python<'py>, field: &str) -> PyResult<Bound<'py, PyList>> {
        let b = &self.batch;
        let f = Field::parse(field)
            .filter(|&f| b.selected(f))
            .ok_or_else(|| PyKeyError::new_err(field.to_string()))?;
        let list = PyList::empty(py);
        for s in &b.slots {
            match s {
                Ok(e) => {
                    list.append(results::value(py, &b.rb, e, f)?.unwrap_or_else(|| py.None().into_bound(py)))?
                }
                Err(e) => list.append(error_object(py, e))?,
            }
        }
        Ok(list)
    }

    /// `(index, MarginError)` of every account that failed (empty under `errors="raise"`).
    fn errors<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for (i, s) in self.batch.slots.iter().enumerate() {
            if let Err(e) = s {
                list.append(PyTuple::new(py, [i.into_pyobject(py)?.into_any(), error_object(py, e)])?)?;
            }
        }
        Ok(list)
    }

    /// Every slot as a dict (the selected keys) or its `MarginError`.
    fn to_dicts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let b = &self.batch;
        let list = PyList::empty(py);
        for s in &b.slots {
            match s {
                Ok(e) => list.append(results::dict(py, &b.rb, e, b.fields.as_deref())?)?,
                Err(e) => list.append(error_object(py, e))?,
            }
        }
        Ok(list)
    }

    fn __repr__(&self) -> String {
        let failed = self.batch.slots.iter().filter(|s| s.is_err()).count();
        format!("Results(len={}, failed={failed})", self.batch.slots.len())
    }
}

impl PyResult1 {
    fn eval(&self) -> &Evaluation {
        match &self.batch.slots[self.index] {
            Ok(e) => e,
            Err(_) => unreachable!("a Result is made only for an evaluated slot"),
        }
    }
}

#[pymethods]
impl PyResult1 {
    /// `FUTURES` or `MARGIN`.
    #[getter]
    fn kind(&self) -> &'static str {
        match self.eval() {
            Evaluation::Futures(_) => "FUTURES",
            Evaluation::Margin(_) => "MARGIN",
        }
    }

    /// True when the account is liquidatable (any pool, for futures).
    #[getter]
    fn liquidatable(&self) -> bool {
        self.eval().liquidatable()
    }

    /// The margin-call rule (margin accounts); `None` for futures.
    #[getter]
    fn margin_call(&self) -> Option<bool> {
        match self.eval() {
            Evaluation::Futures(_) => None,
            Evaluation::Margin(m) => Some(m.margin_call),
        }
    }

    /// The margin level (margin accounts; `None` when undefined, and for futures, whose
    /// levels are per pool).
    #[getter]
    fn margin_level(&self) -> Option<String> {
        match self.eval() {
            Evaluation::Futures(_) => None,
            Evaluation::Margin(m) => m.margin_level.map(|d| d.to_string()),
        }
    }

    /// The result's keys (the selected ones), in SPEC §10 order.
    fn keys(&self) -> Vec<&'static str> {
        results::fields(self.eval()).iter().filter(|&&f| self.batch.selected(f)).map(|f| f.name()).collect()
    }

    fn __getitem__<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Bound<'py, PyAny>> {
        self.get(py, key)?.ok_or_else(|| PyKeyError::new_err(key.to_string()))
    }

    fn __contains__(&self, key: &str) -> bool {
        Field::parse(key).is_some_and(|f| self.batch.selected(f) && results::fields(self.eval()).contains(&f))
    }

    /// The value of `key`, or `None` when this result does not have it.
    fn get<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
        match Field::parse(key).filter(|&f| self.batch.selected(f)) {
            Some(f) => results::value(py, &self.batch.rb, self.eval(), f),
            None => Ok(None),
        }
    }

    /// The SPEC §10 result as a dict (the selected keys), as `Rulebook.evaluate` returns it.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(results::dict(py, &self.batch.rb, self.eval(), self.batch.fields.as_deref())?.into_any())
    }

    fn __repr__(&self) -> String {
        let liquidatable = if self.liquidatable() { "True" } else { "False" };
        format!("Result(kind='{}', liquidatable={liquidatable})", self.kind())
    }
}
