//! Evaluation results (SPEC §10) and their JSON form.

use crate::account::MarginMode;
use crate::decimal::Dec;
use crate::error::{Error, Reason, Result};
use crate::ratio::Ratio;
use crate::rulebook::{AssetId, ContractId, Rulebook};
use serde_json::{Map, Value};

/// A pool's identity (SPEC §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolId {
    /// The MULTI_ASSET cross pool.
    Cross,
    /// A SINGLE_ASSET cross pool of one settlement asset.
    Settlement(AssetId),
    /// An isolated position's pool.
    Isolated(ContractId),
}

impl PoolId {
    /// The wire id: `CROSS`, the asset code, or `ISOLATED:<symbol>`.
    pub fn name(&self, rb: &Rulebook) -> String {
        match *self {
            PoolId::Cross => "CROSS".to_string(),
            PoolId::Settlement(a) => rb.asset(a).code.clone(),
            PoolId::Isolated(c) => format!("ISOLATED:{}", rb.contract(c).symbol),
        }
    }
}

/// A reported pool (every number rounded per SPEC §1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolResult {
    /// The pool.
    pub id: PoolId,
    /// EM, rounded down.
    pub effective_margin: Dec,
    /// IM, rounded up.
    pub initial_margin: Dec,
    /// MM, rounded up.
    pub maintenance_margin: Dec,
    /// EM − IM, rounded down.
    pub available: Dec,
    /// EM / MM rounded down; `None` when MM = 0.
    pub margin_level: Option<Ratio>,
    /// Liquidation rule on exact values.
    pub liquidatable: bool,
    /// Non-zero per-asset equity, rounded down.
    pub equity: Vec<(AssetId, Dec)>,
    /// Non-zero per-asset value, rounded down.
    pub value: Vec<(AssetId, Dec)>,
}

/// A futures evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuturesResult {
    /// Pools in SPEC §10 order.
    pub pools: Vec<PoolResult>,
    /// True when any pool is liquidatable.
    pub liquidatable: bool,
    /// Non-zero max transfer-out per asset.
    pub max_transfer_out: Vec<(AssetId, Dec)>,
}

/// Pro-only figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProFigures {
    /// NC = CV − TL, rounded down.
    pub net_collateral: Dec,
    /// OOL, rounded up.
    pub open_order_loss: Dec,
    /// IM, rounded up.
    pub initial_margin: Dec,
    /// MM, rounded up.
    pub maintenance_margin: Dec,
    /// NC − OOL − IM, rounded down.
    pub available: Dec,
}

/// A margin evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarginResult {
    /// The mode evaluated.
    pub mode: MarginMode,
    /// TA, rounded down.
    pub total_asset_value: Dec,
    /// TL, rounded up.
    pub total_liability_value: Dec,
    /// CV, rounded down.
    pub collateral_value: Dec,
    /// Pro figures (Pro mode only).
    pub pro: Option<ProFigures>,
    /// Classic TA/TL or Pro (NC − OOL)/MM, rounded down.
    pub margin_level: Option<Ratio>,
    /// Classic CV/TL, rounded down.
    pub collateral_margin_level: Option<Ratio>,
    /// Liquidation rule on exact values.
    pub liquidatable: bool,
    /// Margin-call rule on exact values.
    pub margin_call: bool,
    /// Non-zero max borrow per borrow-enabled asset.
    pub max_borrow: Vec<(AssetId, Dec)>,
    /// Non-zero max transfer-out per asset.
    pub max_transfer_out: Vec<(AssetId, Dec)>,
}

/// The result of evaluating an account of either kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evaluation {
    /// Futures.
    Futures(FuturesResult),
    /// Margin.
    Margin(Box<MarginResult>),
}

/// One unmet condition of a check (order, mode switch, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The SPEC §11 reason.
    pub reason: Reason,
    /// A sentence naming the condition.
    pub message: String,
}

impl Rejection {
    /// A rejection.
    pub fn new(reason: Reason, message: impl Into<String>) -> Rejection {
        Rejection { reason, message: message.into() }
    }
    /// A rejection from an error.
    pub fn from_error(e: &Error) -> Rejection {
        Rejection { reason: e.reason, message: e.message.clone() }
    }
}

/// Keeps the entries that are non-zero (after rounding); callers iterate in asset order.
pub fn nonzero(items: impl Iterator<Item = Result<(AssetId, Dec)>>) -> Result<Vec<(AssetId, Dec)>> {
    let mut out = Vec::with_capacity(items.size_hint().0);
    for item in items {
        let (a, d) = item?;
        if !d.is_zero() {
            out.push((a, d));
        }
    }
    debug_assert!(out.windows(2).all(|w| w[0].0 < w[1].0));
    Ok(out)
}

fn s(d: Dec) -> Value {
    Value::String(d.to_string())
}

fn opt(r: Option<Ratio>) -> Value {
    r.map_or(Value::Null, |r| Value::String(r.to_string()))
}

fn asset_map(rb: &Rulebook, items: &[(AssetId, Dec)]) -> Value {
    Value::Object(items.iter().map(|&(a, d)| (rb.asset(a).code.clone(), s(d))).collect())
}

impl Evaluation {
    /// The SPEC §10 result object, keys in the order the spec lists them.
    pub fn to_json(&self, rb: &Rulebook) -> Value {
        let mut m = Map::new();
        match self {
            Evaluation::Futures(f) => {
                let pools = f
                    .pools
                    .iter()
                    .map(|p| {
                        let mut pm = Map::new();
                        pm.insert("id".into(), Value::String(p.id.name(rb)));
                        pm.insert("effective_margin".into(), s(p.effective_margin));
                        pm.insert("initial_margin".into(), s(p.initial_margin));
                        pm.insert("maintenance_margin".into(), s(p.maintenance_margin));
                        pm.insert("available".into(), s(p.available));
                        pm.insert("margin_level".into(), opt(p.margin_level));
                        pm.insert("liquidatable".into(), Value::Bool(p.liquidatable));
                        pm.insert("equity".into(), asset_map(rb, &p.equity));
                        pm.insert("value".into(), asset_map(rb, &p.value));
                        Value::Object(pm)
                    })
                    .collect();
                m.insert("pools".into(), Value::Array(pools));
                m.insert("liquidatable".into(), Value::Bool(f.liquidatable));
                m.insert("max_transfer_out".into(), asset_map(rb, &f.max_transfer_out));
            }
            Evaluation::Margin(r) => {
                m.insert("total_asset_value".into(), s(r.total_asset_value));
                m.insert("total_liability_value".into(), s(r.total_liability_value));
                m.insert("collateral_value".into(), s(r.collateral_value));
                match (&r.pro, r.mode) {
                    (Some(p), _) => {
                        m.insert("net_collateral".into(), s(p.net_collateral));
                        m.insert("open_order_loss".into(), s(p.open_order_loss));
                        m.insert("initial_margin".into(), s(p.initial_margin));
                        m.insert("maintenance_margin".into(), s(p.maintenance_margin));
                        m.insert("available".into(), s(p.available));
                        m.insert("margin_level".into(), opt(r.margin_level));
                    }
                    (None, _) => {
                        m.insert("margin_level".into(), opt(r.margin_level));
                        m.insert("collateral_margin_level".into(), opt(r.collateral_margin_level));
                    }
                }
                m.insert("liquidatable".into(), Value::Bool(r.liquidatable));
                m.insert("margin_call".into(), Value::Bool(r.margin_call));
                m.insert("max_borrow".into(), asset_map(rb, &r.max_borrow));
                m.insert("max_transfer_out".into(), asset_map(rb, &r.max_transfer_out));
            }
        }
        Value::Object(m)
    }

    /// True when the account is liquidatable.
    pub fn liquidatable(&self) -> bool {
        match self {
            Evaluation::Futures(f) => f.liquidatable,
            Evaluation::Margin(m) => m.liquidatable,
        }
    }
}
