//! Evaluation results → Python dicts, built directly from the result structs (no
//! intermediate JSON), keys in SPEC §10 order, numbers as decimal strings.

use crate::decimal::Dec;
use crate::result::{Evaluation, PoolResult};
use crate::rulebook::{AssetId, Rulebook};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

fn dec<'py>(py: Python<'py>, d: Dec) -> Bound<'py, PyString> {
    PyString::new(py, &d.to_string())
}

fn opt<'py>(py: Python<'py>, d: Option<Dec>) -> Bound<'py, PyAny> {
    match d {
        Some(d) => dec(py, d).into_any(),
        None => py.None().into_bound(py),
    }
}

fn asset_map<'py>(py: Python<'py>, rb: &Rulebook, items: &[(AssetId, Dec)]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for &(a, v) in items {
        d.set_item(&rb.asset(a).code, dec(py, v))?;
    }
    Ok(d)
}

fn pool<'py>(py: Python<'py>, rb: &Rulebook, p: &PoolResult) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item(intern!(py, "id"), p.id.name(rb))?;
    d.set_item(intern!(py, "effective_margin"), dec(py, p.effective_margin))?;
    d.set_item(intern!(py, "initial_margin"), dec(py, p.initial_margin))?;
    d.set_item(intern!(py, "maintenance_margin"), dec(py, p.maintenance_margin))?;
    d.set_item(intern!(py, "available"), dec(py, p.available))?;
    d.set_item(intern!(py, "margin_level"), opt(py, p.margin_level))?;
    d.set_item(intern!(py, "liquidatable"), p.liquidatable)?;
    d.set_item(intern!(py, "equity"), asset_map(py, rb, &p.equity)?)?;
    d.set_item(intern!(py, "value"), asset_map(py, rb, &p.value)?)?;
    Ok(d)
}

/// The SPEC §10 result as a Python dict (same content as `Evaluation::to_json`).
pub fn evaluation<'py>(py: Python<'py>, rb: &Rulebook, e: &Evaluation) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    match e {
        Evaluation::Futures(f) => {
            let pools = PyList::empty(py);
            for p in &f.pools {
                pools.append(pool(py, rb, p)?)?;
            }
            d.set_item(intern!(py, "pools"), pools)?;
            d.set_item(intern!(py, "liquidatable"), f.liquidatable)?;
            d.set_item(intern!(py, "max_transfer_out"), asset_map(py, rb, &f.max_transfer_out)?)?;
        }
        Evaluation::Margin(r) => {
            d.set_item(intern!(py, "total_asset_value"), dec(py, r.total_asset_value))?;
            d.set_item(intern!(py, "total_liability_value"), dec(py, r.total_liability_value))?;
            d.set_item(intern!(py, "collateral_value"), dec(py, r.collateral_value))?;
            match &r.pro {
                Some(p) => {
                    d.set_item(intern!(py, "net_collateral"), dec(py, p.net_collateral))?;
                    d.set_item(intern!(py, "open_order_loss"), dec(py, p.open_order_loss))?;
                    d.set_item(intern!(py, "initial_margin"), dec(py, p.initial_margin))?;
                    d.set_item(intern!(py, "maintenance_margin"), dec(py, p.maintenance_margin))?;
                    d.set_item(intern!(py, "available"), dec(py, p.available))?;
                    d.set_item(intern!(py, "margin_level"), opt(py, r.margin_level))?;
                }
                None => {
                    d.set_item(intern!(py, "margin_level"), opt(py, r.margin_level))?;
                    d.set_item(intern!(py, "collateral_margin_level"), opt(py, r.collateral_margin_level))?;
                }
            }
            d.set_item(intern!(py, "liquidatable"), r.liquidatable)?;
            d.set_item(intern!(py, "margin_call"), r.margin_call)?;
            d.set_item(intern!(py, "max_borrow"), asset_map(py, rb, &r.max_borrow)?)?;
            d.set_item(intern!(py, "max_transfer_out"), asset_map(py, rb, &r.max_transfer_out)?)?;
        }
    }
    Ok(d)
}
