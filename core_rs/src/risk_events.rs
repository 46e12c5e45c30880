//! The SPEC §8 transition, applied after every state change and price update: a
//! liquidatable ACTIVE account first has all its open orders cancelled and is
//! re-evaluated; if it is still liquidatable it becomes LIQUIDATING.

use crate::account::{Account, MarginMode, Market, Status};
use crate::decimal::{Dec, Exact};
use crate::error::{Reason, Result};
use crate::futures::pools;
use crate::margin::calc;
use crate::parameters::RiskMode;
use crate::ratio::Ratio;
use crate::result::PoolId;
use crate::rulebook::Rulebook;

/// What the transition did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RiskAction {
    /// Nothing: not liquidatable, or already liquidating.
    None,
    /// The account was liquidatable; cancelling its orders made it not liquidatable.
    OrdersCancelled,
    /// The account is liquidatable (after cancelling its orders): now LIQUIDATING.
    LiquidationStarted,
}

impl RiskAction {
    /// The wire name.
    pub fn name(self) -> &'static str {
        match self {
            RiskAction::None => "NONE",
            RiskAction::OrdersCancelled => "ORDERS_CANCELLED",
            RiskAction::LiquidationStarted => "LIQUIDATION_STARTED",
        }
    }
}

/// The figures of the liquidation rule (rounded per SPEC §1): the mode's margin level
/// and its numerator and denominator — futures `EM / MM` of one pool, Classic `TA /
/// TL`, Pro `(NC − OOL) / MM` — and the liquidation threshold they are compared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskFigures {
    /// The pool the figures are of (futures only).
    pub pool: Option<PoolId>,
    /// numerator / denominator rounded down; `None` when the denominator is 0.
    pub margin_level: Option<Ratio>,
    /// EM, TA or NC − OOL, rounded down.
    pub numerator: Dec,
    /// MM, TL or MM, rounded up.
    pub denominator: Dec,
    /// `liquidation.<mode>`.
    pub threshold: Dec,
    /// The account's margin-call ratio for its mode (margin accounts only).
    pub margin_call_ratio: Option<Dec>,
}

/// The result of the §8 transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// What happened.
    pub action: RiskAction,
    /// The account after the transition (orders cancelled, status set).
    pub account: Account,
    /// Indices of the cancelled orders (all of them, when any were cancelled).
    pub cancelled: Vec<usize>,
    /// Liquidatable after the transition.
    pub liquidatable: bool,
    /// Margin accounts: in the margin-call zone after the transition; futures: false.
    pub margin_call: bool,
    /// The figures that decided: after cancelling for `LiquidationStarted`, before it for
    /// `OrdersCancelled`, the current ones otherwise. `None` for a futures account
    /// without any pool.
    pub figures: Option<RiskFigures>,
}

impl Transition {
    /// An operator may end a liquidation only when the account is not liquidatable now.
    pub fn may_end_liquidation(&self) -> bool {
        !self.liquidatable
    }
}

struct Assessment {
    liquidatable: bool,
    margin_call: bool,
    figures: Option<RiskFigures>,
}

fn ratio(num: Exact, den: Exact) -> Result<Option<Ratio>> {
    Ok(Ratio::level(num, den)?)
}

fn assess(rb: &Rulebook, market: &Market, account: &Account) -> Result<Assessment> {
    match account {
        Account::Futures(f) => {
            let t = rb.liquidation_threshold(RiskMode::Futures);
            let ps = pools(rb, market, f)?;
            let mut first_liquidatable = None;
            for (i, p) in ps.iter().enumerate() {
                if p.liquidatable(t)? {
                    first_liquidatable = Some(i);
                    break;
                }
            }
            let figures = match first_liquidatable.or(if ps.is_empty() { None } else { Some(0) }) {
                None => None,
                Some(i) => {
                    let p = &ps[i];
                    Some(RiskFigures {
                        pool: Some(p.id),
                        margin_level: ratio(p.em, p.mm)?,
                        numerator: p.em.floor8()?,
                        denominator: p.mm.ceil8()?,
                        threshold: t,
                        margin_call_ratio: None,
                    })
                }
            };
            Ok(Assessment { liquidatable: first_liquidatable.is_some(), margin_call: false, figures })
        }
        Account::Margin(m) => {
            let c = calc(rb, market, m)?;
            let t = rb.liquidation_threshold(m.mode.into());
            let (num, den) = match m.mode {
                MarginMode::Classic => (c.ta, c.tl),
                MarginMode::Pro => (c.nc() - c.ool, c.mm),
            };
            Ok(Assessment {
                liquidatable: c.at_or_below(m.mode, t)?,
                margin_call: c.at_or_below(m.mode, m.mcr())?,
                figures: Some(RiskFigures {
                    pool: None,
                    margin_level: ratio(num, den)?,
                    numerator: num.floor8()?,
                    denominator: den.ceil8()?,
                    threshold: t,
                    margin_call_ratio: Some(m.mcr()),
                }),
            })
        }
    }
}

fn status(a: &Account) -> Status {
    match a {
        Account::Futures(f) => f.status,
        Account::Margin(m) => m.status,
    }
}

fn order_count(a: &Account) -> usize {
    match a {
        Account::Futures(f) => f.orders.len(),
        Account::Margin(m) => m.orders.len(),
    }
}

/// SPEC §8 on `account` at `market`. Returns `Ok(None)` when a needed price is missing:
/// the account cannot be judged and is left as it is *(ours)*.
///
/// An ACTIVE liquidatable account has all its open orders cancelled and is re-evaluated:
/// no longer liquidatable → [`RiskAction::OrdersCancelled`]; still liquidatable →
/// status LIQUIDATING and [`RiskAction::LiquidationStarted`] (its orders cancelled too).
/// A LIQUIDATING account is only evaluated.
/// What a price update must know of an account first (SPEC §8): whether it is
/// liquidatable and in margin call at `market` — `None` when a needed price is missing.
/// Cheaper than [`transition`]: no copy of the account, no figures beyond the ratios.
///
/// ```
/// use multimargin_core::{account::{Account, Form, Market}, risk_events::flags, rulebook::Rulebook};
/// let rb = Rulebook::from_json_str(include_str!("../../server/multimargin/rulebooks/default.json")).unwrap();
/// let v = serde_json::json!({"kind": "MARGIN", "holdings": {"USDT": "100"}, "borrowed": {"USDT": "95"}});
/// let a = Account::from_json(&rb, &v, Form::Scenario).unwrap();
/// assert_eq!(flags(&rb, &Market::empty(&rb), &a).unwrap(), Some((true, true)));
/// ```
pub fn flags(rb: &Rulebook, market: &Market, account: &Account) -> Result<Option<(bool, bool)>> {
    match assess(rb, market, account) {
        Ok(a) => Ok(Some((a.liquidatable, a.margin_call))),
        Err(e) if e.reason == Reason::PriceUnavailable => Ok(None),
        Err(e) => Err(e),
    }
}

pub fn transition(rb: &Rulebook, market: &Market, account: &Account) -> Result<Option<Transition>> {
    let unknown =
        |e: crate::error::Error| if e.reason == Reason::PriceUnavailable { Ok(None) } else { Err(e) };
    let before = match assess(rb, market, account) {
        Ok(a) => a,
        Err(e) => return unknown(e),
    };
    if status(account) == Status::Liquidating || !before.liquidatable {
        return Ok(Some(Transition {
            action: RiskAction::None,
            account: account.clone(),
            cancelled: Vec::new(),
            liquidatable: before.liquidatable,
            margin_call: before.margin_call,
            figures: before.figures,
        }));
    }
    let mut out = account.clone();
    let cancelled: Vec<usize> = (0..order_count(account)).collect();
    let after = if cancelled.is_empty() {
        before
    } else {
        match &mut out {
            Account::Futures(f) => f.orders.clear(),
            Account::Margin(m) => m.orders.clear(),
        }
        match assess(rb, market, &out) {
            Ok(a) if !a.liquidatable => {
                return Ok(Some(Transition {
                    action: RiskAction::OrdersCancelled,
                    account: out,
                    cancelled,
                    liquidatable: false,
                    margin_call: a.margin_call,
                    figures: before.figures,
                }))
            }
            Ok(a) => a,
            Err(e) => return unknown(e),
        }
    };
    match &mut out {
        Account::Futures(f) => f.status = Status::Liquidating,
        Account::Margin(m) => m.status = Status::Liquidating,
    }
    Ok(Some(Transition {
        action: RiskAction::LiquidationStarted,
        account: out,
        cancelled,
        liquidatable: true,
        margin_call: after.margin_call,
        figures: after.figures,
    }))
}

/// SPEC §8: an operator may end a liquidation only when the account is no longer
/// liquidatable (a missing price is `PRICE_UNAVAILABLE`: it cannot be judged).
pub fn may_end_liquidation(rb: &Rulebook, market: &Market, account: &Account) -> Result<bool> {
    Ok(!assess(rb, market, account)?.liquidatable)
}
