//! Evaluation results → Python objects, built directly from the result structs (no
//! intermediate JSON), keys in SPEC §10 order, numbers as decimal strings. One builder
//! per top-level key ([`Field`]), so a whole dict and a single figure read on demand
//! (`multimargin.Result`) share the same code.

use crate::account::MarginMode;
use crate::decimal::Dec;
use crate::result::{Evaluation, PoolResult};
use crate::rulebook::{AssetId, Rulebook};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyList, PyString};

/// A top-level key of the SPEC §10 result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Pools,
    TotalAssetValue,
    TotalLiabilityValue,
    CollateralValue,
    NetCollateral,
    OpenOrderLoss,
    InitialMargin,
    MaintenanceMargin,
    Available,
    MarginLevel,
    CollateralMarginLevel,
    Liquidatable,
    MarginCall,
    MaxBorrow,
    MaxTransferOut,
}

use Field::*;

/// The keys of a futures result, in SPEC §10 order.
const FUTURES: &[Field] = &[Pools, Liquidatable, MaxTransferOut];
/// The keys of a Classic margin result.
const CLASSIC: &[Field] = &[
    TotalAssetValue,
    TotalLiabilityValue,
    CollateralValue,
    MarginLevel,
    CollateralMarginLevel,
    Liquidatable,
    MarginCall,
    MaxBorrow,
    MaxTransferOut,
];
/// The keys of a Pro margin result.
const PRO: &[Field] = &[
    TotalAssetValue,
    TotalLiabilityValue,
    CollateralValue,
    NetCollateral,
    OpenOrderLoss,
    InitialMargin,
    MaintenanceMargin,
    Available,
    MarginLevel,
    Liquidatable,
    MarginCall,
    MaxBorrow,
    MaxTransferOut,
];

/// Every key, for parsing names.
const ALL: &[Field] = &[
    Pools,
    TotalAssetValue,
    TotalLiabilityValue,
    CollateralValue,
    NetCollateral,
    OpenOrderLoss,
    InitialMargin,
    MaintenanceMargin,
    Available,
    MarginLevel,
    CollateralMarginLevel,
    Liquidatable,
    MarginCall,
    MaxBorrow,
    MaxTransferOut,
];

impl Field {
    /// The wire name.
    pub fn name(self) -> &'static str {
        match self {
            Pools => "pools",
            TotalAssetValue => "total_asset_value",
            TotalLiabilityValue => "total_liability_value",
            CollateralValue => "collateral_value",
            NetCollateral => "net_collateral",
            OpenOrderLoss => "open_order_loss",
            InitialMargin => "initial_margin",
            MaintenanceMargin => "maintenance_margin",
            Available => "available",
            MarginLevel => "margin_level",
            CollateralMarginLevel => "collateral_margin_level",
            Liquidatable => "liquidatable",
            MarginCall => "margin_call",
            MaxBorrow => "max_borrow",
            MaxTransferOut => "max_transfer_out",
        }
    }

    /// The key named `name`, if it is one of SPEC §10.
    pub fn parse(name: &str) -> Option<Field> {
        ALL.iter().copied().find(|f| f.name() == name)
    }

    /// Every key name, in a stable order (for error messages).
    pub fn names() -> impl Iterator<Item = &'static str> {
        ALL.iter().map(|f| f.name())
    }

    fn key<'py>(self, py: Python<'py>) -> &'py Bound<'py, PyString> {
        match self {
            Pools => intern!(py, "pools"),
            TotalAssetValue => intern!(py, "total_asset_value"),
            TotalLiabilityValue => intern!(py, "total_liability_value"),
            CollateralValue => intern!(py, "collateral_value"),
            NetCollateral => intern!(py, "net_collateral"),
            OpenOrderLoss => intern!(py, "open_order_loss"),
            InitialMargin => intern!(py, "initial_margin"),
            MaintenanceMargin => intern!(py, "maintenance_margin"),
            Available => intern!(py, "available"),
            MarginLevel => intern!(py, "margin_level"),
            CollateralMarginLevel => intern!(py, "collateral_margin_level"),
            Liquidatable => intern!(py, "liquidatable"),
            MarginCall => intern!(py, "margin_call"),
            MaxBorrow => intern!(py, "max_borrow"),
            MaxTransferOut => intern!(py, "max_transfer_out"),
        }
    }
}

/// The keys of a result, in SPEC §10 order.
pub fn fields(e: &Evaluation) -> &'static [Field] {
    match e {
        Evaluation::Futures(_) => FUTURES,
        Evaluation::Margin(m) if m.mode == MarginMode::Pro => PRO,
        Evaluation::Margin(_) => CLASSIC,
    }
}

fn dec<'py>(py: Python<'py>, d: Dec) -> Bound<'py, PyAny> {
    PyString::new(py, &d.to_string()).into_any()
}

fn opt<'py>(py: Python<'py>, d: Option<impl std::fmt::Display>) -> Bound<'py, PyAny> {
    match d {
        Some(d) => PyString::new(py, &d.to_string()).into_any(),
        None => py.None().into_bound(py),
    }
}

fn asset_map<'py>(py: Python<'py>, rb: &Rulebook, items: &[(AssetId, Dec)]) -> PyResult<Bound<'py, PyAny>> {
    let d = PyDict::new(py);
    for &(a, v) in items {
        d.set_item(&rb.asset(a).code, dec(py, v))?;
    }
    Ok(d.into_any())
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

/// The value of key `f` of a result, `None` when the result has no such key.
pub fn value<'py>(
    py: Python<'py>,
    rb: &Rulebook,
    e: &Evaluation,
    f: Field,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let v = match e {
        Evaluation::Futures(r) => match f {
            Pools => {
                let pools = PyList::empty(py);
                for p in &r.pools {
                    pools.append(pool(py, rb, p)?)?;
                }
                pools.into_any()
            }
            Liquidatable => PyBool::new(py, r.liquidatable).to_owned().into_any(),
            MaxTransferOut => asset_map(py, rb, &r.max_transfer_out)?,
            _ => return Ok(None),
        },
        Evaluation::Margin(r) => {
            if !fields(e).contains(&f) {
                return Ok(None);
            }
            let pro = |g: fn(&crate::result::ProFigures) -> Dec| r.pro.as_ref().map(g);
            match f {
                TotalAssetValue => dec(py, r.total_asset_value),
                TotalLiabilityValue => dec(py, r.total_liability_value),
                CollateralValue => dec(py, r.collateral_value),
                NetCollateral => opt(py, pro(|p| p.net_collateral)),
                OpenOrderLoss => opt(py, pro(|p| p.open_order_loss)),
                InitialMargin => opt(py, pro(|p| p.initial_margin)),
                MaintenanceMargin => opt(py, pro(|p| p.maintenance_margin)),
                Available => opt(py, pro(|p| p.available)),
                MarginLevel => opt(py, r.margin_level),
                CollateralMarginLevel => opt(py, r.collateral_margin_level),
                Liquidatable => PyBool::new(py, r.liquidatable).to_owned().into_any(),
                MarginCall => PyBool::new(py, r.margin_call).to_owned().into_any(),
                MaxBorrow => asset_map(py, rb, &r.max_borrow)?,
                MaxTransferOut => asset_map(py, rb, &r.max_transfer_out)?,
                Pools => return Ok(None),
            }
        }
    };
    Ok(Some(v))
}

/// The result's keys in SPEC §10 order, those in `only` when given, as a dict.
pub fn dict<'py>(
    py: Python<'py>,
    rb: &Rulebook,
    e: &Evaluation,
    only: Option<&[Field]>,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for &f in fields(e) {
        if only.is_some_and(|o| !o.contains(&f)) {
            continue;
        }
        if let Some(v) = value(py, rb, e, f)? {
            d.set_item(f.key(py), v)?;
        }
    }
    Ok(d)
}

/// The SPEC §10 result as a Python dict (same content as `Evaluation::to_json`).
pub fn evaluation<'py>(py: Python<'py>, rb: &Rulebook, e: &Evaluation) -> PyResult<Bound<'py, PyDict>> {
    dict(py, rb, e, None)
}
