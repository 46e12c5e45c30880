//! Margin accounts (SPEC §6): Classic and Pro levels, max borrow, max transfer-out and
//! the order check.

use crate::account::{MarginAccount, MarginMode, MarginOrder, Market, Side, Status};
use crate::decimal::{Dec, Exact};
use crate::error::{Reason, Result};
use crate::futures::OrderCheck;
use crate::json::ranges::MAX_QTY;
use crate::ratio::Ratio;
use crate::result::{MarginResult, ProFigures, Rejection};
use crate::rulebook::{AssetId, Rulebook};
use crate::solve::{largest_amount, solve, Curve, Headroom, Term};
use crate::tiers::{Dir, TierTable};

/// The exact figures of a margin account.
#[derive(Debug, Clone)]
pub struct MarginCalc {
    /// Total asset value.
    pub ta: Exact,
    /// Total liability value.
    pub tl: Exact,
    /// Collateral value.
    pub cv: Exact,
    /// Open-order loss (SPEC §6.2).
    pub ool: Exact,
    /// Pro initial margin.
    pub im: Exact,
    /// Pro maintenance margin.
    pub mm: Exact,
    /// `holdings[a] × p(a)` per asset.
    pub(crate) holdings_value: Vec<Exact>,
    /// `LV_a = (borrowed[a] + interest[a]) × p(a)` per asset.
    pub(crate) liability_value: Vec<Exact>,
    /// `free[a] = max(0, holdings[a] − locked[a])` per asset.
    pub free: Vec<Exact>,
    /// The account's region is restricted (Pro IMR floor, SPEC §3.4).
    pub(crate) restricted: bool,
    /// The sums at fixed scales when the fixed-scale path computed them (OOL is 0).
    pub(crate) fixed: Option<crate::fixed::MarginSums>,
}

impl MarginCalc {
    /// Pro net collateral `CV − TL`.
    pub fn nc(&self) -> Exact {
        self.cv - self.tl
    }
    /// Pro `available = NC − OOL − IM`.
    pub fn available(&self) -> Exact {
        self.nc() - self.ool - self.im
    }
    /// Pro `NC − OOL`, the numerator of the Pro margin level.
    fn pro_equity(&self) -> Exact {
        self.nc() - self.ool
    }
    /// Classic margin level `TA / TL` (None when TL = 0), exact comparison helpers use
    /// cross-multiplication; this is the reported (rounded) figure.
    pub fn classic_ml(&self) -> Result<Option<Ratio>> {
        ratio(self.ta, self.tl)
    }
    /// Classic collateral margin level `CV / TL`.
    pub fn classic_cml(&self) -> Result<Option<Ratio>> {
        ratio(self.cv, self.tl)
    }
    /// Pro margin level `(NC − OOL) / MM`.
    pub fn pro_ml(&self) -> Result<Option<Ratio>> {
        ratio(self.pro_equity(), self.mm)
    }

    /// True when the account is at or below `threshold` under its mode's rule:
    /// Classic `TL > 0 and TA ≤ t × TL`; Pro `NC − OOL < 0, or MM > 0 and NC − OOL ≤ t × MM`.
    pub fn at_or_below(&self, mode: MarginMode, threshold: Dec) -> Result<bool> {
        match mode {
            MarginMode::Classic => {
                Ok(self.tl.is_positive()? && self.ta.try_cmp(self.tl * threshold)?.is_le())
            }
            MarginMode::Pro => {
                let eq = self.pro_equity();
                Ok(eq.is_negative()? || (self.mm.is_positive()? && eq.try_cmp(self.mm * threshold)?.is_le()))
            }
        }
    }
}

fn ratio(num: Exact, den: Exact) -> Result<Option<Ratio>> {
    Ok(Ratio::level(num, den)?)
}

/// The Pro IMR table of an asset for the account's region (SPEC §3.4 floor).
pub(crate) fn imr_table(rb: &Rulebook, restricted: bool, a: AssetId) -> Option<&TierTable> {
    let b = rb.asset(a).borrow.as_ref()?;
    Some(if restricted { &b.imr_restricted } else { &b.imr })
}

/// What an order locks: (asset, quantity) — SPEC §6.
pub fn locked_by(o: &MarginOrder) -> (AssetId, Exact) {
    match o.side {
        Side::Buy => (o.quote, o.quantity.exact() * o.price),
        Side::Sell => (o.base, o.quantity.exact()),
    }
}

/// `max(0, V(give) − V(get))` of one order, `V = qty × p × first haircut rate` (SPEC §6.2).
fn open_order_loss(rb: &Rulebook, market: &Market, o: &MarginOrder) -> Result<Exact> {
    let weighted = |a: AssetId, q: Exact| -> Result<Exact> {
        Ok(q * market.need_price_exact(rb, a)? * rb.asset(a).haircut.first_rate())
    };
    let base_qty = o.quantity.exact();
    let quote_qty = base_qty * o.price;
    let (give, get) = match o.side {
        Side::Buy => (weighted(o.quote, quote_qty)?, weighted(o.base, base_qty)?),
        Side::Sell => (weighted(o.base, base_qty)?, weighted(o.quote, quote_qty)?),
    };
    Ok((give - get).max0()?)
}

/// Computes the exact figures of a margin account.
pub fn calc(rb: &Rulebook, market: &Market, m: &MarginAccount) -> Result<MarginCalc> {
    calc_with(rb, market, m, true)
}

/// [`calc`], by the fixed-scale fast path when `fast` and it applies (same values).
fn calc_with(rb: &Rulebook, market: &Market, m: &MarginAccount, fast: bool) -> Result<MarginCalc> {
    let n = rb.assets().len();
    let mut c = MarginCalc {
        ta: Exact::ZERO,
        tl: Exact::ZERO,
        cv: Exact::ZERO,
        ool: Exact::ZERO,
        im: Exact::ZERO,
        mm: Exact::ZERO,
        holdings_value: Vec::with_capacity(n),
        liability_value: Vec::with_capacity(n),
        free: Vec::with_capacity(n),
        restricted: rb.is_restricted(m.region.as_deref()),
        fixed: None,
    };
    let restricted = c.restricted;
    // Without orders (nothing locked, no open-order loss): every value and sum in
    // fixed-scale integers when they fit (same values).
    if fast && m.orders.is_empty() {
        let (hv, lv) = (&mut c.holdings_value, &mut c.liability_value);
        let values = (&m.holdings[..], &m.borrowed[..], &m.interest[..]);
        match crate::fixed::margin_fixed(rb, market, restricted, values, hv, lv) {
            Some(f) => {
                c.free.extend(m.holdings.iter().map(|h| Exact::Small(h.units(), 8)));
                c.ta = Exact::from_fixed(f.ta16, 16);
                c.tl = Exact::from_fixed(f.tl16, 16);
                c.cv = Exact::from_fixed(f.cv24, 24);
                c.im = Exact::from_fixed(f.im24, 24);
                c.mm = Exact::from_fixed(f.mm24, 24);
                c.fixed = Some(f);
                return Ok(c);
            }
            None => {
                c.holdings_value.clear();
                c.liability_value.clear();
            }
        }
    }
    let mut locked = vec![Exact::ZERO; n];
    for o in &m.orders {
        let (a, q) = locked_by(o);
        locked[a] = locked[a] + q;
        // Open-order loss is a Pro figure; Classic needs no order prices (SPEC §6.1).
        if m.mode == MarginMode::Pro {
            c.ool = c.ool + open_order_loss(rb, market, o)?;
        }
    }
    for (a, locked) in locked.into_iter().enumerate() {
        c.holdings_value.push(market.value(rb, a, m.holdings[a].exact())?);
        c.liability_value.push(market.value(rb, a, m.borrowed[a].exact() + m.interest[a])?);
        c.free.push((m.holdings[a].exact() - locked).max0()?);
    }
    // TA, TL, CV and the Pro IM/MM in fixed-scale integers when they fit (same values).
    if let Some(sums) = crate::fixed::margin_sums(rb, restricted, &c.holdings_value, &c.liability_value) {
        (c.ta, c.tl, c.cv, c.im, c.mm) = sums;
        return Ok(c);
    }
    for a in 0..n {
        let (hv, lv) = (c.holdings_value[a], c.liability_value[a]);
        let asset = rb.asset(a);
        c.ta = c.ta + hv;
        c.tl = c.tl + lv;
        c.cv = c.cv + asset.haircut.tiered(hv)?;
        if let (Some(b), Some(imr)) = (&asset.borrow, imr_table(rb, restricted, a)) {
            c.im = c.im + imr.tiered(lv)?;
            c.mm = c.mm + b.mmr.tiered(lv)?;
        }
    }
    Ok(c)
}

/// The headrooms at 0 of the account's maxima, computed once per evaluation.
pub(crate) struct Heads {
    /// `h(0)` of every max borrow: Classic `(L−1)·CV − L·TL`, Pro `available`.
    pub(crate) borrow: Exact,
    /// `h(0)` of every max transfer-out: Classic `CV − bar × TL` (`None` when TL = 0:
    /// the whole free balance may leave), Pro `available`.
    pub(crate) transfer: Option<Exact>,
    /// `borrow` and `transfer` at scale 24 when the fixed-scale path has the sums.
    pub(crate) borrow24: Option<i128>,
    pub(crate) transfer24: Option<i128>,
}

impl Heads {
    fn new(rb: &Rulebook, m: &MarginAccount, c: &MarginCalc) -> Result<Heads> {
        Ok(match m.mode {
            MarginMode::Classic => {
                let l = Exact::int(i128::from(m.classic_leverage));
                let l1 = Exact::int(i128::from(m.classic_leverage) - 1);
                let bar = rb.settings.classic_transfer_bar;
                let (lu, mul) = (i128::from(m.classic_leverage), crate::fixed::mul_rate);
                Heads {
                    borrow: l1 * c.cv - l * c.tl,
                    borrow24: c
                        .fixed
                        .and_then(|f| mul(f.cv24, lu - 1)?.checked_sub(mul(mul(f.tl16, lu)?, 100_000_000)?)),
                    transfer: if c.tl.is_zero()? { None } else { Some(c.cv - c.tl * bar) },
                    transfer24: c
                        .fixed
                        .and_then(|f| f.cv24.checked_sub(crate::fixed::mul_rate(f.tl16, bar.units())?)),
                }
            }
            MarginMode::Pro => {
                let available = c.available();
                let transfer24 = c.fixed.and_then(|f| {
                    f.cv24.checked_sub(crate::fixed::mul_rate(f.tl16, 100_000_000)?)?.checked_sub(f.im24)
                });
                Heads { borrow: available, transfer: Some(available), borrow24: transfer24, transfer24 }
            }
        })
    }
}

/// Max borrow of asset `x` (SPEC §6.1, §6.2, §6.3).
fn max_borrow(
    rb: &Rulebook,
    market: &Market,
    m: &MarginAccount,
    c: &MarginCalc,
    heads: &Heads,
    x: AssetId,
) -> Result<Dec> {
    let asset = rb.asset(x);
    let (Some(b), Some(_)) = (&asset.borrow, market.price(x)) else { return Ok(Dec::ZERO) };
    let p = market.need_price_exact(rb, x)?;
    let mut t_cap =
        (MAX_QTY.checked_sub(m.holdings[x])).min(MAX_QTY.checked_sub(m.borrowed[x])).unwrap_or(Dec::ZERO);
    // SPEC §6.3 (v1.2): borrowed[x] + B within the VIP level's limit, in both modes.
    if let Some(limit) = b.vip_limit(m.vip_level) {
        t_cap = t_cap.min(limit.checked_sub(m.borrowed[x]).unwrap_or(Dec::ZERO));
    }
    let k = p;
    let haircut = Term {
        curve: Curve::Tiered(&asset.haircut),
        x0: c.holdings_value[x],
        dir: Dir::Up,
        coef: Exact::int(1),
    };
    let solution;
    let mut cap_u;
    match m.mode {
        MarginMode::Classic => {
            // CV ≥ R × TL with R = L/(L−1)  ⇔  (L−1)·CV − L·TL ≥ 0.
            t_cap = t_cap.min(b.classic_limit.checked_sub(m.borrowed[x]).unwrap_or(Dec::ZERO));
            t_cap = t_cap.max0();
            if let Some(t) = crate::margin_fixed::max_borrow(rb, market, m, c, heads, x, t_cap) {
                return Ok(t);
            }
            cap_u = t_cap.exact() * k;
            let l = Exact::int(i128::from(m.classic_leverage));
            let l1 = Exact::int(i128::from(m.classic_leverage) - 1);
            let terms = [Term { coef: l1, ..haircut }];
            solution = solve(&Headroom { h0: heads.borrow, linear: -l, terms: &terms, cap: cap_u })?;
        }
        MarginMode::Pro => {
            t_cap = t_cap.max0();
            if let Some(t) = crate::margin_fixed::max_borrow(rb, market, m, c, heads, x, t_cap) {
                return Ok(t);
            }
            cap_u = t_cap.exact() * k;
            let imr = imr_table(rb, c.restricted, x).expect("borrow section has Pro tiers");
            if let Some(limit) = imr.last_bound() {
                let room = limit.exact() - c.liability_value[x];
                if room.is_negative()? {
                    return Ok(Dec::ZERO);
                }
                cap_u = cap_u.try_min(room)?;
            }
            let terms = [
                haircut,
                Term {
                    curve: Curve::Tiered(imr),
                    x0: c.liability_value[x],
                    dir: Dir::Up,
                    coef: Exact::int(-1),
                },
            ];
            solution =
                solve(&Headroom { h0: heads.borrow, linear: Exact::int(-1), terms: &terms, cap: cap_u })?;
        }
    }
    largest_amount(solution, cap_u, k, t_cap)
}

/// Max transfer-out of asset `x` (SPEC §6.1, §6.2).
fn max_transfer_out(
    rb: &Rulebook,
    market: &Market,
    c: &MarginCalc,
    heads: &Heads,
    x: AssetId,
) -> Result<Dec> {
    let t_cap = c.free[x].floor8()?;
    if t_cap.is_zero() {
        return Ok(Dec::ZERO);
    }
    let Some(h0) = heads.transfer else { return Ok(t_cap) };
    if let Some(t) = crate::margin_fixed::max_transfer_out(rb, market, c, heads, x, t_cap) {
        return Ok(t);
    }
    let k = market.need_price_exact(rb, x)?;
    let cap_u = t_cap.exact() * k;
    // Headroom falls by at most the value moved (haircut rates ≤ 1): when the whole
    // free balance fits under that bound, no walk is needed.
    if h0.try_cmp(cap_u)?.is_ge() {
        return Ok(t_cap);
    }
    let terms = [Term {
        curve: Curve::Tiered(&rb.asset(x).haircut),
        x0: c.holdings_value[x],
        dir: Dir::Down,
        coef: Exact::int(1),
    }];
    let solution = solve(&Headroom { h0, linear: Exact::ZERO, terms: &terms, cap: cap_u })?;
    largest_amount(solution, cap_u, k, t_cap)
}

/// Evaluates a margin account (SPEC §6, result of §10).
pub fn evaluate(rb: &Rulebook, market: &Market, m: &MarginAccount) -> Result<MarginResult> {
    evaluate_with(rb, market, m, true)
}

/// [`evaluate`], by the fixed-scale fast paths when `fast` and they apply (same result).
pub(crate) fn evaluate_with(
    rb: &Rulebook,
    market: &Market,
    m: &MarginAccount,
    fast: bool,
) -> Result<MarginResult> {
    let c = calc_with(rb, market, m, fast)?;
    let s = &rb.settings;
    let rounded = c.fixed.and_then(|f| crate::margin_fixed::rounded(&f));
    let (liq, ml, pro) = match m.mode {
        MarginMode::Classic => (s.liquidation_classic, c.classic_ml()?, None),
        MarginMode::Pro => (
            s.liquidation_pro,
            c.pro_ml()?,
            Some(match &rounded {
                Some((_, pro)) => pro.clone(),
                None => ProFigures {
                    net_collateral: c.nc().floor8()?,
                    open_order_loss: c.ool.ceil8()?,
                    initial_margin: c.im.ceil8()?,
                    maintenance_margin: c.mm.ceil8()?,
                    available: c.available().floor8()?,
                },
            }),
        ),
    };
    let (ta, tl, cv) = match rounded {
        Some((sums, _)) => sums,
        None => (c.ta.floor8()?, c.tl.ceil8()?, c.cv.floor8()?),
    };
    let heads = Heads::new(rb, m, &c)?;
    let mut max_borrow_out = Vec::with_capacity(rb.assets().len());
    let mut max_transfer = Vec::with_capacity(rb.assets().len());
    for a in 0..rb.assets().len() {
        if rb.asset(a).borrow.is_some() {
            let b = max_borrow(rb, market, m, &c, &heads, a)?;
            if !b.is_zero() {
                max_borrow_out.push((a, b));
            }
        }
        if m.holdings[a].is_positive() {
            let t = max_transfer_out(rb, market, &c, &heads, a)?;
            if !t.is_zero() {
                max_transfer.push((a, t));
            }
        }
    }
    Ok(MarginResult {
        mode: m.mode,
        total_asset_value: ta,
        total_liability_value: tl,
        collateral_value: cv,
        pro,
        margin_level: ml,
        collateral_margin_level: match m.mode {
            MarginMode::Classic => c.classic_cml()?,
            MarginMode::Pro => None,
        },
        liquidatable: c.at_or_below(m.mode, liq)?,
        margin_call: c.at_or_below(m.mode, m.mcr())?,
        max_borrow: max_borrow_out,
        max_transfer_out: max_transfer,
    })
}

/// The check of a margin order (SPEC §6): not liquidating, and `free` covers the lock.
pub fn check_order(
    rb: &Rulebook,
    market: &Market,
    m: &MarginAccount,
    order: &MarginOrder,
) -> Result<OrderCheck> {
    let c = calc(rb, market, m)?;
    let (a, need) = locked_by(order);
    let mut rejections = Vec::new();
    if m.status == Status::Liquidating {
        rejections.push(Rejection::new(Reason::AccountLiquidating, "the account is being liquidated"));
    }
    if c.free[a].try_cmp(need)?.is_lt() {
        rejections.push(Rejection::new(
            Reason::InsufficientBalance,
            format!(
                "free {} {} does not cover the {} the order locks",
                c.free[a].floor8()?,
                rb.asset(a).code,
                need.ceil8()?
            ),
        ));
    }
    Ok(OrderCheck { rejections, requirement: need.ceil8()?, available: c.free[a].floor8()? })
}
