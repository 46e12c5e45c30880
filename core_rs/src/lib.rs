//! multimargin core: exact multi-asset margin and collateral math.
//!
//! The contract is `SPEC.md`: numbers (§1), rulebooks (§3), futures accounts (§5),
//! margin accounts (§6), liabilities (§7) and the scenario format (§10). Domain code is
//! plain Rust; the Python bindings live in [`python`] behind the `python` feature, so
//! `cargo test` needs no interpreter.
//!
//! ```
//! use multimargin_core::{evaluate_scenario_str};
//! let out = evaluate_scenario_str(r#"{
//!   "rulebook": {"assets": {
//!     "USDT": {"collateral_tiers": [[null, "1"]], "haircut_tiers": [[null, "1"]], "discount": "1"},
//!     "ETH": {"collateral_tiers": [["100","0.9"],["200","0.8"],["300","0.7"],["400","0.6"]],
//!             "haircut_tiers": [[null, "1"]], "discount": "0.9"}}},
//!   "prices": {"ETH": "4000"},
//!   "account": {"kind": "FUTURES", "mode": "MULTI_ASSET", "wallet": {"ETH": "350"}}
//! }"#, None).unwrap();
//! assert_eq!(out["pools"][0]["effective_margin"], "1080000");
//! ```

pub mod account;
pub mod decimal;
mod divide;
pub mod eligibility;
pub mod error;
pub mod explain;
pub mod explain_risk;
mod fixed;
mod fixed_pool;
#[cfg(test)]
mod fixed_tests;
pub mod flows;
pub mod futures;
mod futures_order;
pub mod json;
pub mod liability;
pub mod margin;
mod margin_fixed;
pub mod market;
pub mod parameters;
pub mod ratio;
pub mod repay;
pub mod result;
pub mod risk_events;
pub mod rulebook;
pub mod settings;
pub mod solve;
mod solve_fixed;
pub mod tiers;

#[cfg(feature = "python")]
pub mod python;

use account::{Account, Form, Market};
use error::{Error, Reason, Result};
use result::Evaluation;
use rulebook::Rulebook;
use serde_json::Value;
use std::borrow::Cow;

/// Evaluates an account under a rulebook and market (SPEC §5, §6).
pub fn evaluate(rb: &Rulebook, market: &Market, account: &Account) -> Result<Evaluation> {
    Ok(match account {
        Account::Futures(f) => Evaluation::Futures(futures::evaluate(rb, market, f)?),
        Account::Margin(m) => Evaluation::Margin(Box::new(margin::evaluate(rb, market, m)?)),
    })
}

/// A parsed scenario (SPEC §10): its rulebook, market and account.
pub struct Scenario<'r> {
    /// The scenario's own rulebook, or the default one it fell back to.
    pub rulebook: Cow<'r, Rulebook>,
    /// Prices and marks.
    pub market: Market,
    /// The account.
    pub account: Account,
}

impl<'r> Scenario<'r> {
    /// Parses a scenario document; `default` is used when it has no `rulebook`.
    pub fn from_json(value: &Value, default: Option<&'r Rulebook>) -> Result<Scenario<'r>> {
        if !value.is_object() {
            return Err(Error::new(Reason::InvalidArgument, "a scenario must be a JSON object"));
        }
        let m = json::At::root(value, "").fields(&["rulebook", "prices", "marks", "account"])?;
        let rulebook = match (m.get("rulebook").filter(|v| !v.is_null()), default) {
            (Some(v), _) => Cow::Owned(Rulebook::from_json(v)?),
            (None, Some(rb)) => Cow::Borrowed(rb),
            (None, None) => {
                return Err(Error::at(
                    Reason::InvalidArgument,
                    "rulebook",
                    "is required (no default rulebook)",
                ))
            }
        };
        let market = Market::from_json(&rulebook, m.get("prices"), m.get("marks"))?;
        let account = match m.get("account") {
            Some(v) => Account::from_json(&rulebook, v, Form::Scenario)?,
            None => return Err(Error::at(Reason::InvalidArgument, "account", "is required")),
        };
        Ok(Scenario { rulebook, market, account })
    }

    /// Evaluates the scenario.
    pub fn evaluate(&self) -> Result<Evaluation> {
        evaluate(&self.rulebook, &self.market, &self.account)
    }
}

/// Parses and evaluates a scenario given as JSON text; returns the §10 result.
pub fn evaluate_scenario_str(text: &str, default: Option<&Rulebook>) -> Result<Value> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| Error::new(Reason::InvalidArgument, format!("invalid JSON: {e}")))?;
    let s = Scenario::from_json(&v, default)?;
    Ok(s.evaluate()?.to_json(&s.rulebook))
}
