//! Python bindings: the extension module `multimargin._core`.
//!
//! Bindings only: conversion between Python objects and the core's JSON input, the error
//! mapping, and GIL handling. Every entry point runs the core behind [`guard`], so a Rust
//! panic surfaces as `multimargin.InternalError`, never as a crash.

mod batch;
mod convert;
mod errors;
mod money;
mod results;

use crate::account::{
    parse_futures_order, parse_margin_order, Account, Form, FuturesMode, MarginMode, Market,
};
use crate::decimal::Dec;
use crate::error::{Error, Reason};
use crate::json::{ranges, At, Range};
use crate::result::Rejection;
use crate::rulebook::Rulebook;
use crate::{eligibility, explain, flows, futures, margin, Scenario};
use convert::{from_py, to_py};
use errors::{guard, to_pyerr};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::{json, Value};
use std::sync::Arc;

/// A validated rulebook (SPEC §3), compiled once and shared by accounts and markets.
#[pyclass(frozen, name = "Rulebook", module = "multimargin._core")]
pub struct PyRulebook {
    inner: Arc<Rulebook>,
    source: Value,
}

/// Prices and marks compiled against a rulebook.
#[pyclass(frozen, name = "Market", module = "multimargin._core")]
pub struct PyMarket {
    rb: Arc<Rulebook>,
    inner: Market,
}

/// An account state (SPEC §4) compiled against a rulebook.
///
/// `Account(rulebook, account)` takes a SPEC §10 scenario `account` object and refuses
/// any other key (`InvalidInputError`, field = the key's path; `_` keys are comments).
/// `Account.from_state` is the engine's form: it also takes `status`, `sub_account`,
/// `copy_trading` (futures) and `pro_terms_accepted` (margin).
#[pyclass(frozen, name = "Account", module = "multimargin._core")]
pub struct PyAccount {
    rb: Arc<Rulebook>,
    inner: Account,
    /// `orders[i].order_id` as given ("" when absent): flows name the orders they cancel.
    order_ids: Vec<String>,
}

fn same_rulebook(a: &Arc<Rulebook>, b: &Arc<Rulebook>, what: &str) -> Result<(), Error> {
    if Arc::ptr_eq(a, b) {
        Ok(())
    } else {
        Err(Error::at(Reason::InvalidArgument, what, "was compiled against a different Rulebook object"))
    }
}

fn rejections_json(rs: &[Rejection]) -> Value {
    Value::Array(rs.iter().map(|r| json!({"reason": r.reason.code(), "message": r.message})).collect())
}

impl PyRulebook {
    fn check(&self, account: &PyAccount, market: &PyMarket) -> Result<(), Error> {
        same_rulebook(&self.inner, &account.rb, "account")?;
        same_rulebook(&self.inner, &market.rb, "market")
    }
}

#[pymethods]
impl PyRulebook {
    /// Parses and validates a rulebook given as a dict or as JSON text.
    #[new]
    fn new(py: Python<'_>, rulebook: &Bound<'_, PyAny>) -> PyResult<Self> {
        let source = from_py(rulebook, "rulebook")?;
        let inner = guard(py, || Rulebook::from_json(&source))?;
        Ok(PyRulebook { inner: Arc::new(inner), source })
    }

    /// Asset codes, in code-point order.
    #[getter]
    fn assets(&self) -> Vec<String> {
        self.inner.assets().iter().map(|a| a.code.clone()).collect()
    }

    /// Contract symbols, in code-point order.
    #[getter]
    fn contracts(&self) -> Vec<String> {
        self.inner.contracts().iter().map(|c| c.symbol.clone()).collect()
    }

    /// The SPEC §3.4 settings and per-asset parameters, typed.
    #[getter]
    fn settings(&self) -> money::PySettings {
        money::PySettings::of(self.inner.clone())
    }

    /// The VIP borrow limit of `asset` for an account of VIP `level` (SPEC §3.2, §6.3) as
    /// a decimal string; `None` when the asset cannot be borrowed or has no `vip_limits`.
    fn vip_limit(&self, py: Python<'_>, asset: &str, level: i64) -> PyResult<Option<String>> {
        guard(py, || {
            let a = self.inner.asset_id(asset).ok_or_else(|| {
                Error::at(Reason::UnknownAsset, "asset", format!("{asset:?} is not in the rulebook"))
            })?;
            let max = i64::from(crate::rulebook::MAX_VIP_LEVEL);
            if !(0..=max).contains(&level) {
                return Err(Error::at(Reason::OutOfRange, "vip_level", format!("must be in 0..={max}")));
            }
            Ok(self.inner.vip_limit(a, level as u8).map(|d| d.to_string()))
        })
    }

    /// The rulebook as given (a new dict each call).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.source)
    }

    /// The rulebook as compact JSON text, keys in their given order.
    fn to_json(&self) -> String {
        self.source.to_string()
    }

    /// Evaluates an account (SPEC §5/§6); returns the §10 result.
    fn evaluate<'py>(
        &self,
        py: Python<'py>,
        account: &PyAccount,
        market: &PyMarket,
    ) -> PyResult<Bound<'py, PyAny>> {
        let v = guard(py, || {
            self.check(account, market)?;
            Ok(crate::evaluate(&self.inner, &market.inner, &account.inner)?.to_json(&self.inner))
        })?;
        to_py(py, &v)
    }

    /// Evaluates many accounts against one market with the GIL released; returns the
    /// results in order, as dicts (only the keys in `fields`, SPEC §10 top-level keys,
    /// when given). `errors="raise"`: the first failing account (by index) raises, its
    /// field prefixed `accounts[i]`; `errors="return"`: its slot holds that
    /// `MarginError` instead.
    #[pyo3(signature = (accounts, market, *, fields = None, errors = "raise"))]
    fn evaluate_many<'py>(
        &self,
        py: Python<'py>,
        accounts: Vec<Py<PyAccount>>,
        market: &PyMarket,
        fields: Option<Vec<String>>,
        errors: &str,
    ) -> PyResult<Bound<'py, PyList>> {
        let on_error = batch::OnError::parse(errors).map_err(|e| to_pyerr(py, e))?;
        let fields = batch::parse_fields(fields).map_err(|e| to_pyerr(py, e))?;
        same_rulebook(&self.inner, &market.rb, "market").map_err(|e| to_pyerr(py, e))?;
        let slots = batch::run(py, &self.inner, market, &accounts);
        batch::check(py, &slots, on_error)?;
        let list = PyList::empty(py);
        for s in &slots {
            match s {
                Ok(e) => list.append(results::dict(py, &self.inner, e, fields.as_deref())?)?,
                Err(e) => list.append(batch::error_object(py, e))?,
            }
        }
        Ok(list)
    }

    /// Like `evaluate_many`, but returns a compact `Results`: nothing is built as Python
    /// objects until read (`results[i].liquidatable`, `results.column("margin_level")`,
    /// `results[i].to_dict()`). `fields` (SPEC §10 top-level keys) limits the mapping
    /// view of each result to those keys.
    #[pyo3(signature = (accounts, market, *, fields = None, errors = "raise"))]
    fn evaluate_batch(
        &self,
        py: Python<'_>,
        accounts: Vec<Py<PyAccount>>,
        market: &PyMarket,
        fields: Option<Vec<String>>,
        errors: &str,
    ) -> PyResult<batch::PyResults> {
        let on_error = batch::OnError::parse(errors).map_err(|e| to_pyerr(py, e))?;
        let fields = batch::parse_fields(fields).map_err(|e| to_pyerr(py, e))?;
        same_rulebook(&self.inner, &market.rb, "market").map_err(|e| to_pyerr(py, e))?;
        let slots = batch::run(py, &self.inner, market, &accounts);
        batch::check(py, &slots, on_error)?;
        Ok(batch::PyResults::new(self.inner.clone(), slots, fields))
    }

    /// A readable breakdown of an evaluation (tier slices, requirements).
    fn explain<'py>(
        &self,
        py: Python<'py>,
        account: &PyAccount,
        market: &PyMarket,
    ) -> PyResult<Bound<'py, PyAny>> {
        let v = guard(py, || {
            self.check(account, market)?;
            explain::explain(&self.inner, &market.inner, &account.inner)
        })?;
        to_py(py, &v)
    }

    /// The pre-trade check of an order (SPEC §5.4 futures, §6 margin), no state change.
    /// Returns `{"accepted", "rejections": [{"reason", "message"}], "requirement",
    /// "available"}`.
    fn check_order<'py>(
        &self,
        py: Python<'py>,
        account: &PyAccount,
        market: &PyMarket,
        order: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let order = from_py(order, "order")?;
        let v = guard(py, || {
            self.check(account, market)?;
            let at = At::root(&order, "order");
            let check = match &account.inner {
                Account::Futures(f) => {
                    let o = parse_futures_order(&self.inner, at)?;
                    crate::account::check_supported(&self.inner, o.contract, "order.symbol".into())?;
                    if o.leverage.is_none() && f.position(o.contract).is_none() {
                        return Err(Error::at(
                            Reason::InvalidArgument,
                            "order.leverage",
                            "an order needs a leverage when there is no position on its symbol",
                        ));
                    }
                    futures::check_order(&self.inner, &market.inner, f, &o)?
                }
                Account::Margin(m) => {
                    let o = parse_margin_order(&self.inner, at)?;
                    margin::check_order(&self.inner, &market.inner, m, &o)?
                }
            };
            Ok(json!({
                "accepted": check.accepted(),
                "rejections": rejections_json(&check.rejections),
                "requirement": check.requirement.to_string(),
                "available": check.available.to_string(),
            }))
        })?;
        to_py(py, &v)
    }

    /// Every unmet condition for switching the account to `target` mode (SPEC §9).
    fn check_mode_switch<'py>(
        &self,
        py: Python<'py>,
        account: &PyAccount,
        market: &PyMarket,
        target: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let v = guard(py, || {
            self.check(account, market)?;
            let bad_target = || {
                Error::at(
                    Reason::InvalidArgument,
                    "target_mode",
                    format!("{target:?} is not a mode of this account's kind"),
                )
            };
            let rs = match &account.inner {
                Account::Futures(f) => {
                    let t = match target {
                        "SINGLE_ASSET" => FuturesMode::SingleAsset,
                        "MULTI_ASSET" => FuturesMode::MultiAsset,
                        _ => return Err(bad_target()),
                    };
                    eligibility::futures_mode_switch(f, t)
                }
                Account::Margin(m) => {
                    let t = match target {
                        "CLASSIC" => MarginMode::Classic,
                        "PRO" => MarginMode::Pro,
                        _ => return Err(bad_target()),
                    };
                    eligibility::margin_mode_switch(&self.inner, &market.inner, m, t)?
                }
            };
            Ok(rejections_json(&rs))
        })?;
        to_py(py, &v)
    }

    /// Every unmet condition for setting the Classic leverage (SPEC §9).
    fn check_classic_leverage<'py>(
        &self,
        py: Python<'py>,
        account: &PyAccount,
        market: &PyMarket,
        leverage: i64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let v = guard(py, || {
            self.check(account, market)?;
            if leverage != 3 && leverage != 5 {
                return Err(Error::at(Reason::OutOfRange, "leverage", "classic leverage is 3 or 5"));
            }
            match &account.inner {
                Account::Margin(m) => Ok(rejections_json(&eligibility::classic_leverage_change(
                    &self.inner,
                    &market.inner,
                    m,
                    leverage as u32,
                )?)),
                Account::Futures(_) => {
                    Err(Error::at(Reason::InvalidArgument, "account", "not a margin account"))
                }
            }
        })?;
        to_py(py, &v)
    }

    /// Every unmet condition for turning copy trading on (SPEC §9).
    fn check_copy_trading_on<'py>(
        &self,
        py: Python<'py>,
        account: &PyAccount,
    ) -> PyResult<Bound<'py, PyAny>> {
        let v = guard(py, || {
            same_rulebook(&self.inner, &account.rb, "account")?;
            match &account.inner {
                Account::Futures(f) => Ok(rejections_json(&eligibility::copy_trading_on(f))),
                Account::Margin(_) => {
                    Err(Error::at(Reason::InvalidArgument, "account", "not a futures account"))
                }
            }
        })?;
        to_py(py, &v)
    }

    fn __repr__(&self) -> String {
        format!("Rulebook(assets={}, contracts={})", self.inner.assets().len(), self.inner.contracts().len())
    }
}

#[pymethods]
impl PyMarket {
    /// Compiles index prices and mark prices (dicts of decimal strings) for a rulebook.
    #[new]
    #[pyo3(signature = (rulebook, prices=None, marks=None))]
    fn new(
        py: Python<'_>,
        rulebook: &PyRulebook,
        prices: Option<&Bound<'_, PyAny>>,
        marks: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let p = prices.map(|p| from_py(p, "prices")).transpose()?;
        let m = marks.map(|m| from_py(m, "marks")).transpose()?;
        let inner = guard(py, || Market::from_json(&rulebook.inner, p.as_ref(), m.as_ref()))?;
        Ok(PyMarket { rb: rulebook.inner.clone(), inner })
    }

    /// Index prices as `{asset: decimal string}` (USDT included).
    fn prices<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (a, p) in self.inner.prices() {
            d.set_item(&self.rb.asset(a).code, p.to_string())?;
        }
        Ok(d)
    }

    /// Mark prices as `{symbol: decimal string}`.
    fn marks<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (c, p) in self.inner.marks() {
            d.set_item(&self.rb.contract(c).symbol, p.to_string())?;
        }
        Ok(d)
    }
}

impl PyAccount {
    fn compile(py: Python<'_>, rb: &PyRulebook, doc: &Bound<'_, PyAny>, form: Form) -> PyResult<Self> {
        let v = from_py(doc, "account")?;
        let inner = guard(py, || Account::from_json(&rb.inner, &v, form))?;
        let order_ids = match v.get("orders") {
            Some(Value::Array(os)) => os
                .iter()
                .map(|o| o.get("order_id").and_then(Value::as_str).unwrap_or("").to_string())
                .collect(),
            _ => Vec::new(),
        };
        Ok(PyAccount { rb: rb.inner.clone(), inner, order_ids })
    }
}

#[pymethods]
impl PyAccount {
    /// Compiles an account (the `account` object of a SPEC §10 scenario) for a rulebook.
    /// Keys outside the scenario format are refused.
    #[new]
    fn new(py: Python<'_>, rulebook: &PyRulebook, account: &Bound<'_, PyAny>) -> PyResult<Self> {
        PyAccount::compile(py, rulebook, account, Form::Scenario)
    }

    /// Compiles an engine account state: the scenario keys plus the SPEC §4 `status`,
    /// `sub_account`, `copy_trading` (futures) and `pro_terms_accepted` (margin).
    #[staticmethod]
    fn from_state(py: Python<'_>, rulebook: &PyRulebook, state: &Bound<'_, PyAny>) -> PyResult<Self> {
        PyAccount::compile(py, rulebook, state, Form::State)
    }

    /// `FUTURES` or `MARGIN`.
    #[getter]
    fn kind(&self) -> &'static str {
        match self.inner {
            Account::Futures(_) => "FUTURES",
            Account::Margin(_) => "MARGIN",
        }
    }

    /// The account's mode.
    #[getter]
    fn mode(&self) -> &'static str {
        match &self.inner {
            Account::Futures(f) => match f.mode {
                FuturesMode::SingleAsset => "SINGLE_ASSET",
                FuturesMode::MultiAsset => "MULTI_ASSET",
            },
            Account::Margin(m) => match m.mode {
                MarginMode::Classic => "CLASSIC",
                MarginMode::Pro => "PRO",
            },
        }
    }
}

/// Parses and evaluates a scenario (dict or JSON text); `default_rulebook` is used when
/// the scenario has no `rulebook`. Returns the §10 result.
#[pyfunction]
#[pyo3(signature = (scenario, default_rulebook=None))]
fn evaluate_scenario<'py>(
    py: Python<'py>,
    scenario: &Bound<'py, PyAny>,
    default_rulebook: Option<&PyRulebook>,
) -> PyResult<Bound<'py, PyAny>> {
    let v = from_py(scenario, "scenario")?;
    let (s, e) = guard(py, || {
        let s = Scenario::from_json(&v, default_rulebook.map(|r| r.inner.as_ref()))?;
        let e = s.evaluate()?;
        Ok((s, e))
    })?;
    Ok(results::evaluation(py, &s.rulebook, &e)?.into_any())
}

/// Parses and explains a scenario (see `Rulebook.explain`).
#[pyfunction]
#[pyo3(signature = (scenario, default_rulebook=None))]
fn explain_scenario<'py>(
    py: Python<'py>,
    scenario: &Bound<'py, PyAny>,
    default_rulebook: Option<&PyRulebook>,
) -> PyResult<Bound<'py, PyAny>> {
    let v = from_py(scenario, "scenario")?;
    let out = guard(py, || {
        let s = Scenario::from_json(&v, default_rulebook.map(|r| r.inner.as_ref()))?;
        explain::explain(&s.rulebook, &s.market, &s.account)
    })?;
    to_py(py, &out)
}

fn range_named(kind: &str) -> Option<Range> {
    Some(match kind {
        "signed_quantity" => ranges::SIGNED_QTY,
        "quantity" => ranges::QTY,
        "amount" => ranges::AMOUNT,
        "price" => ranges::PRICE,
        "ratio" => ranges::RATIO,
        "rate" => ranges::RATE,
        _ => return None,
    })
}

/// Validates a decimal string against a SPEC §1 range (`signed_quantity`, `quantity`,
/// `amount`, `price`, `ratio`, `rate`); returns its canonical form. Errors name `field`.
#[pyfunction]
fn check_decimal(py: Python<'_>, value: &Bound<'_, PyAny>, kind: &str, field: &str) -> PyResult<String> {
    // The value itself (a str is the decimal text, not a JSON document).
    let v = convert::plain(value)?;
    guard(py, || {
        let range =
            range_named(kind).ok_or_else(|| Error::internal(format!("unknown decimal range {kind:?}")))?;
        Ok(At::root(&v, field).dec_in(range)?.to_string())
    })
}

fn dec_arg(s: &str, field: &str) -> Result<Dec, Error> {
    At::root(&Value::String(s.to_string()), field).dec()
}

/// SPEC §7.2 conversion cost: `ceil8(amount × p(d) / (p(s) × discount[s]))`.
#[pyfunction]
fn conversion_cost(
    py: Python<'_>,
    amount: &str,
    debt_price: &str,
    payer_price: &str,
    discount: &str,
) -> PyResult<String> {
    guard(py, || {
        flows::conversion_cost(
            dec_arg(amount, "amount")?,
            dec_arg(debt_price, "debt_price")?,
            dec_arg(payer_price, "payer_price")?,
            dec_arg(discount, "discount")?,
        )
        .map(|d| d.to_string())
    })
}

/// SPEC §7.3: debt of `d` covered by a payer's whole wallet:
/// `floor8(wallet × p(s) × discount[s] / p(d))`.
#[pyfunction]
fn conversion_cover(
    py: Python<'_>,
    wallet: &str,
    payer_price: &str,
    discount: &str,
    debt_price: &str,
) -> PyResult<String> {
    guard(py, || {
        flows::conversion_cover(
            dec_arg(wallet, "wallet")?,
            dec_arg(payer_price, "payer_price")?,
            dec_arg(discount, "discount")?,
            dec_arg(debt_price, "debt_price")?,
        )
        .map(|d| d.to_string())
    })
}

/// SPEC §7.1 futures hourly interest: `ceil8(max(0, debt − interest_free) × rate)`.
#[pyfunction]
fn futures_hourly_interest(
    py: Python<'_>,
    debt: &str,
    interest_free: &str,
    hourly_rate: &str,
) -> PyResult<String> {
    guard(py, || {
        flows::futures_hourly_interest(
            dec_arg(debt, "debt")?,
            dec_arg(interest_free, "interest_free")?,
            dec_arg(hourly_rate, "hourly_rate")?,
        )
        .map(|d| d.to_string())
    })
}

/// SPEC §7.1 margin hourly interest: `ceil8(principal × rate)`.
#[pyfunction]
fn margin_hourly_interest(py: Python<'_>, principal: &str, hourly_rate: &str) -> PyResult<String> {
    guard(py, || {
        flows::margin_hourly_interest(dec_arg(principal, "principal")?, dec_arg(hourly_rate, "hourly_rate")?)
            .map(|d| d.to_string())
    })
}

/// The extension module.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyRulebook>()?;
    m.add_class::<PyMarket>()?;
    m.add_class::<PyAccount>()?;
    m.add_class::<batch::PyResults>()?;
    m.add_class::<batch::PyResult1>()?;
    m.add_function(wrap_pyfunction!(evaluate_scenario, m)?)?;
    m.add_function(wrap_pyfunction!(explain_scenario, m)?)?;
    m.add_function(wrap_pyfunction!(check_decimal, m)?)?;
    m.add_function(wrap_pyfunction!(conversion_cost, m)?)?;
    m.add_function(wrap_pyfunction!(conversion_cover, m)?)?;
    m.add_function(wrap_pyfunction!(futures_hourly_interest, m)?)?;
    m.add_function(wrap_pyfunction!(margin_hourly_interest, m)?)?;
    money::register(m)?;
    m.add("REASONS", Reason::ALL.iter().map(|r| r.code()).collect::<Vec<_>>())?;
    Ok(())
}
