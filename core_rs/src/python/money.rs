//! Bindings of the money flows (SPEC §6–§8: [`crate::liability`], [`crate::repay`],
//! [`crate::risk_events`]) and of the typed settings ([`crate::settings`]).
//!
//! Each flow takes a compiled `Account` (and `Market` where prices matter) and returns a
//! dict of the NEW values of what changed — `wallet` (futures) or `holdings`,
//! `borrowed`, `interest` (margin) — the orders to cancel, the §7.5 records and the
//! account after the flow, compiled (to chain flows without recompiling), so the engine
//! only assigns and never does the arithmetic itself.

use super::errors::guard;
use super::{same_rulebook, PyAccount, PyMarket, PyRulebook};
use crate::account::{Account, Status};
use crate::decimal::Dec;
use crate::error::{Error, Reason};
use crate::json::{ranges, At, Range};
use crate::liability::{self, Flow, Record, RepayAmount};
use crate::parameters::{parse_margin_mode, RiskMode};
use crate::risk_events::{self, Transition};
use crate::rulebook::{AssetId, Rulebook};
use crate::{liability::free, liability::locked, repay};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::Value;
use std::sync::Arc;

fn dec_in(s: &str, range: Range, field: &str) -> Result<Dec, Error> {
    At::root(&Value::String(s.to_string()), field).dec_in(range)
}

fn opt(d: Option<Dec>) -> String {
    d.map_or_else(String::new, |d| d.to_string())
}

fn code(rb: &Rulebook, a: Option<AssetId>) -> String {
    a.map_or_else(String::new, |a| rb.asset(a).code.clone())
}

fn record<'py>(py: Python<'py>, rb: &Rulebook, r: &Record) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item(intern!(py, "kind"), r.kind.name())?;
    d.set_item(intern!(py, "asset"), &rb.asset(r.asset).code)?;
    d.set_item(intern!(py, "amount"), r.amount.to_string())?;
    d.set_item(intern!(py, "base"), opt(r.base))?;
    d.set_item(intern!(py, "rate"), opt(r.rate))?;
    d.set_item(intern!(py, "interest_free"), opt(r.interest_free))?;
    d.set_item(intern!(py, "interest_repaid"), opt(r.interest_repaid))?;
    d.set_item(intern!(py, "principal_repaid"), opt(r.principal_repaid))?;
    d.set_item(intern!(py, "payer_asset"), code(rb, r.payer))?;
    d.set_item(intern!(py, "payer_amount"), opt(r.payer_amount))?;
    d.set_item(intern!(py, "debt_price"), opt(r.debt_price))?;
    d.set_item(intern!(py, "payer_price"), opt(r.payer_price))?;
    d.set_item(intern!(py, "discount"), opt(r.discount))?;
    Ok(d)
}

/// `{code: new value}` of the entries that differ between `old` and `new`.
fn changed<'py>(py: Python<'py>, rb: &Rulebook, old: &[Dec], new: &[Dec]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (a, (o, n)) in old.iter().zip(new).enumerate() {
        if o != n {
            d.set_item(&rb.asset(a).code, n.to_string())?;
        }
    }
    Ok(d)
}

/// The ids (as given in the account's `orders[i].order_id`) and indices of orders.
fn cancelled<'py>(py: Python<'py>, acct: &PyAccount, idx: &[usize], d: &Bound<'py, PyDict>) -> PyResult<()> {
    let ids: Vec<&str> = idx.iter().map(|&i| acct.order_ids.get(i).map_or("", String::as_str)).collect();
    d.set_item(intern!(py, "cancel_orders"), ids)?;
    d.set_item(intern!(py, "cancel_order_indices"), idx.to_vec())?;
    Ok(())
}

fn flow_dict<'py>(py: Python<'py>, acct: &PyAccount, flow: &Flow) -> PyResult<Bound<'py, PyDict>> {
    let rb = &acct.rb;
    let d = PyDict::new(py);
    let empty = || PyDict::new(py);
    match (&acct.inner, &flow.account) {
        (Account::Futures(o), Account::Futures(n)) => {
            d.set_item(intern!(py, "wallet"), changed(py, rb, &o.wallet, &n.wallet)?)?;
            d.set_item(intern!(py, "holdings"), empty())?;
            d.set_item(intern!(py, "borrowed"), empty())?;
            d.set_item(intern!(py, "interest"), empty())?;
        }
        (Account::Margin(o), Account::Margin(n)) => {
            d.set_item(intern!(py, "wallet"), empty())?;
            d.set_item(intern!(py, "holdings"), changed(py, rb, &o.holdings, &n.holdings)?)?;
            d.set_item(intern!(py, "borrowed"), changed(py, rb, &o.borrowed, &n.borrowed)?)?;
            d.set_item(intern!(py, "interest"), changed(py, rb, &o.interest, &n.interest)?)?;
        }
        _ => return Err(super::errors::to_pyerr(py, Error::internal("a flow changed the account kind"))),
    }
    cancelled(py, acct, &flow.cancelled, &d)?;
    let records = PyList::empty(py);
    for r in &flow.records {
        records.append(record(py, rb, r)?)?;
    }
    d.set_item(intern!(py, "records"), records)?;
    let order_ids = acct
        .order_ids
        .iter()
        .enumerate()
        .filter(|(i, _)| !flow.cancelled.contains(i))
        .map(|(_, id)| id.clone());
    let after = PyAccount { rb: rb.clone(), inner: flow.account.clone(), order_ids: order_ids.collect() };
    d.set_item(intern!(py, "account"), Py::new(py, after)?)?;
    Ok(d)
}

fn with_market(acct: &PyAccount, market: &PyMarket) -> Result<(), Error> {
    same_rulebook(&acct.rb, &market.rb, "market")
}

fn asset(rb: &Rulebook, code: &str, field: &str) -> Result<AssetId, Error> {
    rb.need_asset(code, field)
}

fn repay_amount(amount: Option<&str>) -> Result<RepayAmount, Error> {
    Ok(match amount {
        None => RepayAmount::All,
        Some(a) => RepayAmount::Exactly(dec_in(a, ranges::AMOUNT, "amount")?),
    })
}

/// Per asset with holdings or locked funds: `holdings`, `locked` (rounded up) and `free`
/// (rounded down), SPEC §6. Margin accounts only.
#[pyfunction]
fn margin_balances<'py>(py: Python<'py>, account: &PyAccount) -> PyResult<Bound<'py, PyDict>> {
    let rb = &account.rb;
    let rows = guard(py, || {
        let m = liability::margin_of(&account.inner, "margin_balances")?;
        let (lk, fr) = (locked(rb, m), free(rb, m)?);
        let mut rows = Vec::new();
        for a in 0..lk.len() {
            if m.holdings[a].is_zero() && lk[a].is_zero()? {
                continue;
            }
            rows.push((a, m.holdings[a], lk[a].ceil8()?, fr[a].floor8()?));
        }
        Ok(rows)
    })?;
    let d = PyDict::new(py);
    for (a, h, l, f) in rows {
        let row = PyDict::new(py);
        row.set_item(intern!(py, "holdings"), h.to_string())?;
        row.set_item(intern!(py, "locked"), l.to_string())?;
        row.set_item(intern!(py, "free"), f.to_string())?;
        d.set_item(&rb.asset(a).code, row)?;
    }
    Ok(d)
}

/// SPEC §7.3 transfer-in (a futures transfer into debt repays first).
#[pyfunction]
fn transfer_in<'py>(
    py: Python<'py>,
    account: &PyAccount,
    asset: &str,
    amount: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let flow = guard(py, || {
        let a = self::asset(&account.rb, asset, "asset")?;
        liability::transfer_in(&account.inner, a, dec_in(amount, ranges::AMOUNT, "amount")?)
    })?;
    flow_dict(py, account, &flow)
}

/// Transfer-out within the max transfer-out (SPEC §5.3, §6.1, §6.2), not while liquidating.
#[pyfunction]
fn transfer_out<'py>(
    py: Python<'py>,
    account: &PyAccount,
    market: &PyMarket,
    asset: &str,
    amount: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let flow = guard(py, || {
        with_market(account, market)?;
        let a = self::asset(&account.rb, asset, "asset")?;
        let amount = dec_in(amount, ranges::AMOUNT, "amount")?;
        liability::transfer_out(&account.rb, &market.inner, &account.inner, a, amount)
    })?;
    flow_dict(py, account, &flow)
}

/// A batch of ledger entries `(asset, signed amount)` (SPEC §7.4); errors name
/// `entries[i].asset` / `entries[i].amount`.
#[pyfunction]
fn post_ledger_entries<'py>(
    py: Python<'py>,
    account: &PyAccount,
    entries: Vec<(String, String)>,
) -> PyResult<Bound<'py, PyDict>> {
    let flow = guard(py, || {
        let mut parsed = Vec::with_capacity(entries.len());
        for (i, (code, amount)) in entries.iter().enumerate() {
            let a = self::asset(&account.rb, code, &format!("entries[{i}].asset"))?;
            parsed.push((a, dec_in(amount, ranges::SIGNED_QTY, &format!("entries[{i}].amount"))?));
        }
        liability::ledger_entries(&account.rb, &account.inner, &parsed)
    })?;
    flow_dict(py, account, &flow)
}

/// A margin borrow (SPEC §6.3) with the first hour's interest charged at once (§7.1).
#[pyfunction]
fn borrow<'py>(
    py: Python<'py>,
    account: &PyAccount,
    market: &PyMarket,
    asset: &str,
    amount: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let flow = guard(py, || {
        with_market(account, market)?;
        let a = self::asset(&account.rb, asset, "asset")?;
        let amount = dec_in(amount, ranges::AMOUNT, "amount")?;
        liability::borrow(&account.rb, &market.inner, &account.inner, a, amount)
    })?;
    flow_dict(py, account, &flow)
}

/// SPEC §7.3 manual futures repay: `payer_asset` pays for `amount` (None = all) of the
/// debt of `asset`.
#[pyfunction]
#[pyo3(signature = (account, market, asset, payer_asset, amount=None))]
fn repay_futures<'py>(
    py: Python<'py>,
    account: &PyAccount,
    market: &PyMarket,
    asset: &str,
    payer_asset: &str,
    amount: Option<&str>,
) -> PyResult<Bound<'py, PyDict>> {
    let flow = guard(py, || {
        with_market(account, market)?;
        let rb = &account.rb;
        let d = self::asset(rb, asset, "asset")?;
        if payer_asset.is_empty() {
            return Err(Error::at(
                Reason::InvalidArgument,
                "payer_asset",
                "a futures repay names the paying asset (SPEC §7.3)",
            ));
        }
        let s = self::asset(rb, payer_asset, "payer_asset")?;
        repay::repay_futures(rb, &market.inner, &account.inner, d, s, repay_amount(amount)?)
    })?;
    flow_dict(py, account, &flow)
}

/// SPEC §7.4 margin repay of `amount` (None = all) of `asset`, from its own free
/// holdings or converted from those of `payer_asset` (None or "" = no conversion).
#[pyfunction]
#[pyo3(signature = (account, market, asset, amount=None, payer_asset=None))]
fn repay_margin<'py>(
    py: Python<'py>,
    account: &PyAccount,
    market: &PyMarket,
    asset: &str,
    amount: Option<&str>,
    payer_asset: Option<&str>,
) -> PyResult<Bound<'py, PyDict>> {
    let flow = guard(py, || {
        with_market(account, market)?;
        let rb = &account.rb;
        let x = self::asset(rb, asset, "asset")?;
        let payer = match payer_asset.filter(|p| !p.is_empty()) {
            Some(p) => Some(self::asset(rb, p, "payer_asset")?),
            None => None,
        };
        repay::repay_margin(rb, &market.inner, &account.inner, x, payer, repay_amount(amount)?)
    })?;
    flow_dict(py, account, &flow)
}

/// Interest for ONE hour boundary (SPEC §7.1); the engine loops over the hours.
#[pyfunction]
fn interest_hour<'py>(py: Python<'py>, account: &PyAccount) -> PyResult<Bound<'py, PyDict>> {
    let flow = guard(py, || liability::interest_hour(&account.rb, &account.inner))?;
    flow_dict(py, account, &flow)
}

/// SPEC §7.3 threshold auto-repay of a futures account (never refused; unpriced debts
/// and payers are skipped).
#[pyfunction]
fn threshold_auto_repay<'py>(
    py: Python<'py>,
    account: &PyAccount,
    market: &PyMarket,
) -> PyResult<Bound<'py, PyDict>> {
    let flow = guard(py, || {
        with_market(account, market)?;
        repay::threshold_auto_repay(&account.rb, &market.inner, &account.inner)
    })?;
    flow_dict(py, account, &flow)
}

fn transition_dict<'py>(py: Python<'py>, acct: &PyAccount, t: &Transition) -> PyResult<Bound<'py, PyDict>> {
    let rb = &acct.rb;
    let d = PyDict::new(py);
    let status = match &t.account {
        Account::Futures(f) => f.status,
        Account::Margin(m) => m.status,
    };
    d.set_item(intern!(py, "action"), t.action.name())?;
    d.set_item(intern!(py, "status"), if status == Status::Liquidating { "LIQUIDATING" } else { "ACTIVE" })?;
    cancelled(py, acct, &t.cancelled, &d)?;
    d.set_item(intern!(py, "liquidatable"), t.liquidatable)?;
    d.set_item(intern!(py, "margin_call"), t.margin_call)?;
    d.set_item(intern!(py, "may_end_liquidation"), t.may_end_liquidation())?;
    match &t.figures {
        None => d.set_item(intern!(py, "figures"), py.None())?,
        Some(f) => {
            let fd = PyDict::new(py);
            fd.set_item(intern!(py, "pool"), f.pool.map_or_else(String::new, |p| p.name(rb)))?;
            fd.set_item(intern!(py, "margin_level"), f.margin_level.map(|m| m.to_string()))?;
            fd.set_item(intern!(py, "numerator"), f.numerator.to_string())?;
            fd.set_item(intern!(py, "denominator"), f.denominator.to_string())?;
            fd.set_item(intern!(py, "threshold"), f.threshold.to_string())?;
            fd.set_item(intern!(py, "margin_call_ratio"), opt(f.margin_call_ratio))?;
            d.set_item(intern!(py, "figures"), fd)?;
        }
    }
    Ok(d)
}

/// The SPEC §8 transition at `market`; None when a needed price is missing (the account
/// is then left as it is).
#[pyfunction]
fn risk_transition<'py>(
    py: Python<'py>,
    account: &PyAccount,
    market: &PyMarket,
) -> PyResult<Option<Bound<'py, PyDict>>> {
    let t = guard(py, || {
        with_market(account, market)?;
        risk_events::transition(&account.rb, &market.inner, &account.inner)
    })?;
    t.map(|t| transition_dict(py, account, &t)).transpose()
}

/// SPEC §8 after a price update, for many accounts at once: `(liquidatable,
/// margin_call)` of each at `market`, or None where a needed price is missing. Runs
/// without the GIL, split over the machine's cores; results keep the input order.
#[pyfunction]
fn risk_flags_many(
    py: Python<'_>,
    accounts: Vec<Py<PyAccount>>,
    market: &PyMarket,
) -> PyResult<Vec<Option<(bool, bool)>>> {
    let accounts: Vec<&PyAccount> = accounts.iter().map(Py::get).collect();
    for (i, a) in accounts.iter().enumerate() {
        same_rulebook(&a.rb, &market.rb, &format!("accounts[{i}]"))
            .map_err(|e| super::errors::to_pyerr(py, e))?;
    }
    let flags: Result<Vec<_>, Error> = py
        .detach(|| {
            super::batch::par_map(
                &accounts,
                |_, a| crate::error::catch(|| risk_events::flags(&a.rb, &market.inner, &a.inner)),
                || Err(Error::internal("engine fault in a batch worker")),
            )
        })
        .into_iter()
        .collect();
    flags.map_err(|e| super::errors::to_pyerr(py, e))
}

/// SPEC §8: an operator may end a liquidation only when the account is no longer
/// liquidatable; a missing price raises `PriceUnavailableError`.
#[pyfunction]
fn may_end_liquidation(py: Python<'_>, account: &PyAccount, market: &PyMarket) -> PyResult<bool> {
    guard(py, || {
        with_market(account, market)?;
        risk_events::may_end_liquidation(&account.rb, &market.inner, &account.inner)
    })
}

/// The SPEC §3.4 settings of a rulebook and the per-asset parameters the flows use,
/// typed (decimal strings), defaults filled in.
#[pyclass(frozen, name = "Settings", module = "multimargin._core")]
pub struct PySettings {
    rb: Arc<Rulebook>,
}

impl PySettings {
    /// The settings of a compiled rulebook.
    pub fn of(rb: Arc<Rulebook>) -> Self {
        PySettings { rb }
    }

    fn asset(&self, code: &str) -> Result<AssetId, Error> {
        self.rb.need_asset(code, "asset")
    }
}

#[pymethods]
impl PySettings {
    /// The settings of `rulebook`.
    #[new]
    fn new(rulebook: &PyRulebook) -> Self {
        PySettings { rb: rulebook.inner.clone() }
    }

    /// `liquidation.<mode>` for `FUTURES`, `CLASSIC` or `PRO`.
    fn liquidation_threshold(&self, py: Python<'_>, mode: &str) -> PyResult<String> {
        guard(py, || Ok(self.rb.liquidation_threshold(RiskMode::parse(mode, "mode")?).to_string()))
    }

    /// `mcr_default.<mode>` for `CLASSIC` or `PRO`.
    fn mcr_default(&self, py: Python<'_>, mode: &str) -> PyResult<String> {
        guard(py, || Ok(self.rb.mcr_default(parse_margin_mode(mode, "mode")?).to_string()))
    }

    /// `mcr_range` as `(low, high)`, inclusive.
    #[getter]
    fn mcr_range(&self) -> (String, String) {
        let (lo, hi) = self.rb.mcr_range();
        (lo.to_string(), hi.to_string())
    }

    /// Validates a margin-call ratio (SPEC §9 "set MCR"): a decimal with ≤ 8 fractional
    /// digits inside `mcr_range` (else `OUT_OF_RANGE` at `field`); returns it canonical.
    #[pyo3(signature = (value, field="ratio"))]
    fn check_mcr(&self, py: Python<'_>, value: &str, field: &str) -> PyResult<String> {
        guard(py, || {
            let v = dec_in(value, ranges::RATE, field)?;
            Ok(self.rb.check_mcr(v, field)?.to_string())
        })
    }

    /// Collateral margin level required after a Classic transfer-out.
    #[getter]
    fn classic_transfer_bar(&self) -> String {
        self.rb.classic_transfer_bar().to_string()
    }

    /// Pro margin level required to switch into Pro.
    #[getter]
    fn pro_switch_in_bar(&self) -> String {
        self.rb.pro_switch_in_bar().to_string()
    }

    /// Assets in threshold auto-repay payer order.
    #[getter]
    fn payer_order(&self) -> Vec<String> {
        self.rb.payer_order().iter().map(|&a| self.rb.asset(a).code.clone()).collect()
    }

    /// Restricted regions (Pro IMR floor).
    #[getter]
    fn restricted_regions(&self) -> Vec<String> {
        self.rb.restricted_regions().to_vec()
    }

    /// The Pro IMR floor in restricted regions.
    #[getter]
    fn restricted_imr_floor(&self) -> String {
        self.rb.restricted_imr_floor().to_string()
    }

    /// Settlement assets of LINEAR contracts (SINGLE_ASSET pool assets), code order.
    #[getter]
    fn linear_settlement_assets(&self) -> Vec<String> {
        self.rb.linear_settlement_assets().into_iter().map(|a| self.rb.asset(a).code.clone()).collect()
    }

    /// The discount of `asset` when it pays for another asset's debt.
    fn discount(&self, py: Python<'_>, asset: &str) -> PyResult<String> {
        guard(py, || Ok(self.rb.discount(self.asset(asset)?).to_string()))
    }

    /// The margin borrow rate per hour of `asset`; None when it cannot be borrowed.
    fn borrow_hourly_rate(&self, py: Python<'_>, asset: &str) -> PyResult<Option<String>> {
        guard(py, || Ok(self.rb.borrow_hourly_rate(self.asset(asset)?).map(|r| r.to_string())))
    }

    /// The futures liability section of `asset` (`hourly_rate`, `interest_free`, `mmr`,
    /// `auto_repay_threshold`, `auto_repay_ratio`), or None.
    fn liability<'py>(&self, py: Python<'py>, asset: &str) -> PyResult<Option<Bound<'py, PyDict>>> {
        let a = guard(py, || self.asset(asset))?;
        let Some(l) = self.rb.liability(a) else { return Ok(None) };
        let d = PyDict::new(py);
        d.set_item(intern!(py, "hourly_rate"), l.hourly_rate.to_string())?;
        d.set_item(intern!(py, "interest_free"), l.interest_free.to_string())?;
        d.set_item(intern!(py, "mmr"), l.mmr.to_string())?;
        d.set_item(intern!(py, "auto_repay_threshold"), l.auto_repay_threshold.to_string())?;
        d.set_item(intern!(py, "auto_repay_ratio"), l.auto_repay_ratio.to_string())?;
        Ok(Some(d))
    }
}

/// Registers the flow functions and the `Settings` class on the extension module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySettings>()?;
    m.add_function(wrap_pyfunction!(margin_balances, m)?)?;
    m.add_function(wrap_pyfunction!(transfer_in, m)?)?;
    m.add_function(wrap_pyfunction!(transfer_out, m)?)?;
    m.add_function(wrap_pyfunction!(post_ledger_entries, m)?)?;
    m.add_function(wrap_pyfunction!(borrow, m)?)?;
    m.add_function(wrap_pyfunction!(repay_futures, m)?)?;
    m.add_function(wrap_pyfunction!(repay_margin, m)?)?;
    m.add_function(wrap_pyfunction!(interest_hour, m)?)?;
    m.add_function(wrap_pyfunction!(threshold_auto_repay, m)?)?;
    m.add_function(wrap_pyfunction!(risk_flags_many, m)?)?;
    m.add_function(wrap_pyfunction!(risk_transition, m)?)?;
    m.add_function(wrap_pyfunction!(may_end_liquidation, m)?)?;
    Ok(())
}
