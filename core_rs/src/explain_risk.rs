//! The risk part of an explanation (SPEC §5.2, §5.3, §6, §8): each threshold with the
//! distance to it, in margin-level points and as a move of the account's largest
//! exposure, and the constraint that binds each max borrow and max transfer-out.
//!
//! * **Largest exposure**: of the market's price inputs that the account depends on —
//!   the index price of each asset other than USDT (fixed at 1), the mark of each
//!   contract with a position — the one whose signed USDT exposure has the largest
//!   absolute value (first in rulebook order on a tie). Exposure of an index price:
//!   margin `(holdings − borrowed − interest) × p(a)`; futures `Σ_pools equity[a] × p(a)`.
//!   Exposure of a mark: `size × m(s) × p(settlement)`.
//! * **Move to a threshold**: only that one price changes. Bisection over 10^-8 steps
//!   between the current price `p` (condition false) and the end of the price range,
//!   `10^-8` going down or `10^9` going up (condition true), finds a price `q` at which
//!   the threshold's condition holds while one step nearer `p` it does not; `None` when
//!   the condition is false at that end. The condition is evaluated exactly (as
//!   `evaluate` decides it) at every step; the move is `(q − p) / p` rounded toward 0.
//!   When the condition is monotone in the price — Classic (`TA − t × TL` is linear in
//!   one price), and futures while `t × mmr < 1` — `q` is the nearest such price; a Pro
//!   account's haircut and MMR tiers can make it non-monotone, and `q` is then one
//!   crossing, not necessarily the nearest.
//! * **Binding constraint** of a reported maximum `M`: every constraint of its SPEC rule
//!   that fails at `M + 10^-8` (the maximum is the largest multiple of 10^-8 meeting all).

use crate::account::{Account, FuturesAccount, FuturesMode, MarginAccount, MarginMode, Market};
use crate::decimal::{Dec, Exact};
use crate::error::Result;
use crate::futures::{pools, PoolCalc};
use crate::json::ranges::MAX_QTY;
use crate::margin::{calc, MarginCalc};
use crate::ratio::Ratio;
use crate::result::{Evaluation, PoolId};
use crate::rulebook::{AssetId, ContractId, Rulebook};
use serde_json::{json, Value};

/// The largest price (SPEC §1: `0 < p ≤ 10^9`).
const MAX_PRICE: Dec = Dec::from_units(1_000_000_000 * 100_000_000);

/// A price input of the market.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceInput {
    /// The index price of an asset.
    Index(AssetId),
    /// The mark price of a contract.
    Mark(ContractId),
}

impl PriceInput {
    fn current(self, market: &Market) -> Option<Dec> {
        match self {
            PriceInput::Index(a) => market.price(a),
            PriceInput::Mark(c) => market.mark(c),
        }
    }

    /// The market with this input at `price`.
    pub fn with(self, rb: &Rulebook, market: &Market, price: Dec) -> Result<Market> {
        let mut m = market.clone();
        match self {
            PriceInput::Index(a) => m.set_price(rb, a, price)?,
            PriceInput::Mark(c) => m.set_mark(c, price)?,
        }
        Ok(m)
    }

    fn describe(self, rb: &Rulebook) -> (&'static str, String) {
        match self {
            PriceInput::Index(a) => ("index", rb.asset(a).code.clone()),
            PriceInput::Mark(c) => ("mark", rb.contract(c).symbol.clone()),
        }
    }
}

/// The account's largest exposure (see the module documentation).
#[derive(Debug, Clone, Copy)]
pub struct Exposure {
    /// The price input.
    pub input: PriceInput,
    /// Its current price.
    pub price: Dec,
    /// Signed exposure in USDT, exact.
    pub usdt: Exact,
}

fn pick(best: &mut Option<Exposure>, input: PriceInput, price: Dec, usdt: Exact) -> Result<()> {
    if usdt.is_zero()? {
        return Ok(());
    }
    let larger = match best {
        None => true,
        Some(b) => usdt.abs().try_cmp(b.usdt.abs())?.is_gt(),
    };
    if larger {
        *best = Some(Exposure { input, price, usdt });
    }
    Ok(())
}

/// The largest exposure of an account; `None` when no movable price carries any.
pub fn largest_exposure(rb: &Rulebook, market: &Market, account: &Account) -> Result<Option<Exposure>> {
    let mut best = None;
    match account {
        Account::Margin(m) => {
            for (a, price) in market.prices() {
                if Some(a) == rb.usdt() {
                    continue;
                }
                let net = m.holdings[a].exact() - m.borrowed[a] - m.interest[a];
                pick(&mut best, PriceInput::Index(a), price, net * price)?;
            }
        }
        Account::Futures(f) => {
            let calcs = pools(rb, market, f)?;
            for (a, price) in market.prices() {
                if Some(a) == rb.usdt() {
                    continue;
                }
                let equity: Exact =
                    calcs.iter().flat_map(|p| p.assets()).filter(|x| x.asset == a).map(|x| x.equity).sum();
                pick(&mut best, PriceInput::Index(a), price, equity * price)?;
            }
            for pos in f.positions.iter().filter(|p| !p.size.is_zero()) {
                let settlement = rb.contract(pos.contract).settlement;
                let (Some(mark), Some(ps)) = (market.mark(pos.contract), market.price(settlement)) else {
                    continue;
                };
                pick(&mut best, PriceInput::Mark(pos.contract), mark, pos.size.exact() * mark * ps)?;
            }
        }
    }
    Ok(best)
}

/// The price of `input` nearest its current one, going `down` or up, at which `reaches`
/// holds, with the move `(q − p) / p` rounded toward 0 (see the module documentation).
pub fn price_move(
    rb: &Rulebook,
    market: &Market,
    input: PriceInput,
    down: bool,
    reaches: &dyn Fn(&Market) -> Result<bool>,
) -> Result<Option<(Dec, Dec)>> {
    let Some(p) = input.current(market) else { return Ok(None) };
    let at = |q: Dec| -> Result<bool> { reaches(&input.with(rb, market, q)?) };
    let q = if at(p)? {
        p
    } else {
        let end = if down { Dec::STEP } else { MAX_PRICE };
        if end == p || !at(end)? {
            return Ok(None);
        }
        // Invariant: `at(yes)` holds, `at(no)` does not.
        let (mut yes, mut no) = (end.units(), p.units());
        while (yes - no).abs() > 1 {
            let mid = no + (yes - no) / 2;
            if at(Dec::from_units(mid))? {
                yes = mid;
            } else {
                no = mid;
            }
        }
        Dec::from_units(yes)
    };
    let diff = q.exact() - p;
    let r = if down { Exact::div_ceil8(diff, p.exact())? } else { Exact::div_floor8(diff, p.exact())? };
    Ok(Some((q, r)))
}

fn s(d: Dec) -> Value {
    Value::String(d.to_string())
}

fn opt(r: Option<Ratio>) -> Value {
    r.map_or(Value::Null, |r| Value::String(r.to_string()))
}

/// `num / den − t` rounded down; `None` when `den = 0` (a ratio: beyond `Dec` when `den`
/// is tiny).
fn distance(num: Exact, den: Exact, t: Dec) -> Result<Option<Ratio>> {
    Ok(Ratio::level(num - den * t, den)?)
}

fn level(num: Exact, den: Exact) -> Result<Option<Ratio>> {
    Ok(Ratio::level(num, den)?)
}

fn move_json(m: Option<(Dec, Dec)>) -> Value {
    m.map_or(Value::Null, |(price, r)| json!({ "price": s(price), "move": s(r) }))
}

#[allow(clippy::too_many_arguments)]
fn threshold_json(
    rb: &Rulebook,
    market: &Market,
    exposure: Option<Exposure>,
    name: String,
    rule: String,
    t: Dec,
    (num, den): (Exact, Exact),
    reaches: &dyn Fn(&Market) -> Result<bool>,
) -> Result<Value> {
    let (down, up) = match exposure {
        Some(e) => (
            price_move(rb, market, e.input, true, reaches)?,
            price_move(rb, market, e.input, false, reaches)?,
        ),
        None => (None, None),
    };
    Ok(json!({
        "name": name,
        "rule": rule,
        "threshold": s(t),
        "margin_level": opt(level(num, den)?),
        "distance": opt(distance(num, den, t)?),
        "reached": reaches(market)?,
        "move_down": move_json(down),
        "move_up": move_json(up),
    }))
}

fn exposure_json(rb: &Rulebook, e: Option<Exposure>) -> Result<Value> {
    let Some(e) = e else { return Ok(Value::Null) };
    let (kind, name) = e.input.describe(rb);
    Ok(json!({ "kind": kind, "name": name, "price": s(e.price), "exposure": s(e.usdt.floor8()?) }))
}

/// Thresholds, distances and binding constraints of an account (JSON for `explain`).
pub fn risk(rb: &Rulebook, market: &Market, account: &Account) -> Result<Value> {
    let exposure = largest_exposure(rb, market, account)?;
    let evaluation = crate::evaluate(rb, market, account)?;
    let mut out = json!({ "largest_exposure": exposure_json(rb, exposure)? });
    match (account, &evaluation) {
        (Account::Futures(f), Evaluation::Futures(r)) => {
            let t = rb.settings.liquidation_futures;
            let mut thresholds = Vec::new();
            for pool in pools(rb, market, f)? {
                let id = pool.id;
                let reaches = move |m: &Market| -> Result<bool> {
                    let calcs = pools(rb, m, f)?;
                    match calcs.iter().find(|p| p.id == id) {
                        Some(p) => p.liquidatable(t),
                        None => Ok(false),
                    }
                };
                thresholds.push(threshold_json(
                    rb,
                    market,
                    exposure,
                    format!("liquidation, pool {}", id.name(rb)),
                    format!("EM < 0, or MM > 0 and EM ≤ {t} × MM"),
                    t,
                    (pool.em, pool.mm),
                    &reaches,
                )?);
            }
            out["thresholds"] = Value::Array(thresholds);
            let mut transfers = Vec::new();
            for (a, _) in f.wallet.iter().enumerate().filter(|(_, w)| w.is_positive()) {
                let max = r.max_transfer_out.iter().find(|(x, _)| *x == a).map_or(Dec::ZERO, |x| x.1);
                transfers.push(binding_json(rb, a, max, futures_transfer_binding(rb, market, f, a, max)?));
            }
            out["max_transfer_out"] = Value::Array(transfers);
        }
        (Account::Margin(m), Evaluation::Margin(r)) => {
            let c = calc(rb, market, m)?;
            let ratio = match m.mode {
                MarginMode::Classic => (c.ta, c.tl),
                MarginMode::Pro => (c.nc() - c.ool, c.mm),
            };
            let (liq, rule) = match m.mode {
                MarginMode::Classic => (rb.settings.liquidation_classic, "TA ≤ {t} × TL, TL > 0"),
                MarginMode::Pro => {
                    (rb.settings.liquidation_pro, "NC − OOL < 0, or MM > 0 and NC − OOL ≤ {t} × MM")
                }
            };
            let mut thresholds = Vec::new();
            for (name, t) in [("margin call", m.mcr()), ("liquidation", liq)] {
                let mode = m.mode;
                let reaches = move |mk: &Market| calc(rb, mk, m)?.at_or_below(mode, t);
                let rule = rule.replace("{t}", &t.to_string());
                thresholds.push(threshold_json(
                    rb,
                    market,
                    exposure,
                    name.to_string(),
                    rule,
                    t,
                    ratio,
                    &reaches,
                )?);
            }
            out["thresholds"] = Value::Array(thresholds);
            let mut borrows = Vec::new();
            let mut transfers = Vec::new();
            for a in 0..rb.assets().len() {
                if rb.asset(a).borrow.is_some() {
                    let max = r.max_borrow.iter().find(|(x, _)| *x == a).map_or(Dec::ZERO, |x| x.1);
                    borrows.push(binding_json(rb, a, max, margin_borrow_binding(rb, market, m, a, max)?));
                }
                if m.holdings[a].is_positive() {
                    let max = r.max_transfer_out.iter().find(|(x, _)| *x == a).map_or(Dec::ZERO, |x| x.1);
                    transfers.push(binding_json(
                        rb,
                        a,
                        max,
                        margin_transfer_binding(rb, market, m, &c, a, max)?,
                    ));
                }
            }
            out["max_borrow"] = Value::Array(borrows);
            out["max_transfer_out"] = Value::Array(transfers);
        }
        _ => unreachable!("evaluate keeps the account's kind"),
    }
    Ok(out)
}

fn binding_json(rb: &Rulebook, a: AssetId, max: Dec, binding: Vec<String>) -> Value {
    json!({ "asset": rb.asset(a).code, "amount": s(max), "binding": binding })
}

fn above(max: Dec) -> Dec {
    Dec::from_units(max.units() + 1)
}

/// The constraints of margin max borrow (SPEC §6.1–§6.3) that fail at `max + 10^-8`.
pub fn margin_borrow_binding(
    rb: &Rulebook,
    market: &Market,
    m: &MarginAccount,
    x: AssetId,
    max: Dec,
) -> Result<Vec<String>> {
    let Some(b) = &rb.asset(x).borrow else { return Ok(vec!["no borrow section".into()]) };
    let Some(price) = market.price(x) else { return Ok(vec!["no index price".into()]) };
    let b1 = above(max);
    let mut out = Vec::new();
    let holdings = m.holdings[x].exact() + b1;
    let borrowed = m.borrowed[x].exact() + b1;
    if holdings.try_cmp(MAX_QTY.exact())?.is_gt() || borrowed.try_cmp(MAX_QTY.exact())?.is_gt() {
        out.push("10^15 range".to_string());
    }
    if let Some(limit) = b.vip_limit(m.vip_level) {
        if borrowed.try_cmp(limit.exact())?.is_gt() {
            out.push(format!("VIP {} limit {limit}", m.vip_level));
        }
    }
    let mut after = m.clone();
    after.holdings[x] = Dec::from_units(m.holdings[x].units() + b1.units());
    after.borrowed[x] = Dec::from_units(m.borrowed[x].units() + b1.units());
    let c = calc(rb, market, &after)?;
    match m.mode {
        MarginMode::Classic => {
            if borrowed.try_cmp(b.classic_limit.exact())?.is_gt() {
                out.push(format!("classic_limit {}", b.classic_limit));
            }
            let l = i128::from(m.classic_leverage);
            if (c.cv * Exact::int(l - 1)).try_cmp(c.tl * Exact::int(l))?.is_lt() {
                out.push(format!("CV ≥ R × TL (R = {l}/{})", l - 1));
            }
        }
        MarginMode::Pro => {
            let imr = if rb.is_restricted(m.region.as_deref()) { &b.imr_restricted } else { &b.imr };
            if let Some(limit) = imr.last_bound() {
                let lv = (borrowed + m.interest[x]) * price;
                if lv.try_cmp(limit.exact())?.is_gt() {
                    out.push(format!("Pro tier limit {limit} (liability value)"));
                }
            }
            if c.available().is_negative()? {
                out.push("available ≥ 0".to_string());
            }
        }
    }
    Ok(out)
}

/// The constraints of margin max transfer-out (SPEC §6.1, §6.2) failing at `max + 10^-8`.
pub fn margin_transfer_binding(
    rb: &Rulebook,
    market: &Market,
    m: &MarginAccount,
    c: &MarginCalc,
    x: AssetId,
    max: Dec,
) -> Result<Vec<String>> {
    let t1 = above(max);
    if t1.exact().try_cmp(c.free[x])?.is_gt() {
        // Beyond the free balance the holdings could go negative: nothing else is asked.
        return Ok(vec!["free balance".into()]);
    }
    let mut after = m.clone();
    after.holdings[x] = Dec::from_units(m.holdings[x].units() - t1.units());
    let c1 = calc(rb, market, &after)?;
    let mut out = Vec::new();
    match m.mode {
        MarginMode::Classic => {
            let bar = rb.settings.classic_transfer_bar;
            if c1.tl.is_positive()? && c1.cv.try_cmp(c1.tl * bar)?.is_lt() {
                out.push(format!("CV ≥ {bar} × TL (classic_transfer_bar)"));
            }
        }
        MarginMode::Pro => {
            if c1.available().is_negative()? {
                out.push("available ≥ 0".to_string());
            }
        }
    }
    Ok(out)
}

fn holds(pool: &PoolCalc, mode: FuturesMode, a: AssetId) -> bool {
    match pool.id {
        PoolId::Cross => mode == FuturesMode::MultiAsset,
        PoolId::Settlement(c) => c == a,
        PoolId::Isolated(_) => false,
    }
}

/// The constraints of futures max transfer-out (SPEC §5.3) failing at `max + 10^-8`.
pub fn futures_transfer_binding(
    rb: &Rulebook,
    market: &Market,
    f: &FuturesAccount,
    a: AssetId,
    max: Dec,
) -> Result<Vec<String>> {
    let t1 = above(max);
    if t1 > f.wallet[a] {
        return Ok(vec!["wallet balance".into()]);
    }
    let mut after = f.clone();
    after.wallet[a] = Dec::from_units(f.wallet[a].units() - t1.units());
    let mut out = Vec::new();
    for pool in pools(rb, market, &after)? {
        if holds(&pool, f.mode, a) && pool.available().is_negative()? {
            out.push(format!("available ≥ 0 in pool {}", pool.id.name(rb)));
        }
    }
    Ok(out)
}
