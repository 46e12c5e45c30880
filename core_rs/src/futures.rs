//! Futures accounts (SPEC §5): pools, effective margin, IM/MM, max transfer-out and the
//! pre-trade order check.

use crate::account::{FuturesAccount, FuturesMode, FuturesOrder, Market, Side};
use crate::decimal::{Dec, Exact};
use crate::error::{Error, Reason, Result};
use crate::ratio::Ratio;
use crate::result::{nonzero, FuturesResult, PoolId, PoolResult};
use crate::rulebook::{AssetId, ContractId, Rulebook};
use crate::solve::{largest_amount, solve, Curve, Headroom, Term};
use crate::tiers::Dir;

pub use crate::futures_order::{check_order, OrderCheck};

/// Figures of one position (SPEC §5.1), in its settlement asset.
#[derive(Debug, Clone, Copy)]
pub struct PositionFigures {
    /// `size × (mark − entry)`.
    pub upnl: Exact,
    /// `|size| × mark`.
    pub notional: Exact,
    /// `tiered(notional, risk_tiers.mmr)`.
    pub mm: Exact,
    /// `ceil8(notional / leverage)`.
    pub im: Dec,
}

/// Computes a position's figures; needs its mark price.
pub fn position_figures(
    rb: &Rulebook,
    market: &Market,
    contract: ContractId,
    size: Dec,
    entry: Dec,
    leverage: u32,
) -> Result<PositionFigures> {
    let mark = market.need_mark_exact(rb, contract)?;
    let size_x = size.exact();
    let notional = size_x.abs() * mark;
    Ok(PositionFigures {
        upnl: size_x * (mark - entry),
        notional,
        mm: rb.contract(contract).mmr.tiered(notional)?,
        im: notional.div_ceil8_int(leverage)?,
    })
}

/// The part of an order that would increase the position (SPEC §5.1 `opening_qty`).
pub fn opening_qty(order: &FuturesOrder, position_size: Dec) -> Dec {
    let against = match order.side {
        Side::Buy if position_size.is_negative() => position_size.abs(),
        Side::Sell if position_size.is_positive() => position_size,
        _ => Dec::ZERO,
    };
    (order.quantity.checked_sub(against).unwrap_or(Dec::ZERO)).max0()
}

pub(crate) fn position_size(f: &FuturesAccount, c: ContractId) -> Dec {
    f.position(c).map_or(Dec::ZERO, |p| p.size)
}

pub(crate) fn order_leverage(f: &FuturesAccount, o: &FuturesOrder) -> Result<u32> {
    o.leverage.or_else(|| f.position(o.contract).map(|p| p.leverage)).ok_or_else(|| {
        Error::new(
            Reason::InvalidArgument,
            "an order needs a leverage when there is no position on its symbol",
        )
    })
}

/// `IM(order) = ceil8(opening_qty × price / leverage)` (SPEC §5.1).
pub fn order_im(f: &FuturesAccount, o: &FuturesOrder) -> Result<Dec> {
    let open = opening_qty(o, position_size(f, o.contract));
    Ok(Exact::div_ceil8(open.exact() * o.price, Exact::int(i128::from(order_leverage(f, o)?)))?)
}

/// One asset of a pool, exact.
#[derive(Debug, Clone, Copy)]
pub struct PoolAsset {
    /// The asset.
    pub asset: AssetId,
    /// Its equity (wallet + upnl, or isolated margin + upnl).
    pub equity: Exact,
    /// Its value in USDT.
    pub value: Exact,
}

/// A pool's exact figures.
#[derive(Debug, Clone)]
pub struct PoolCalc {
    /// The pool.
    pub id: PoolId,
    /// Effective margin.
    pub em: Exact,
    /// Initial margin.
    pub im: Exact,
    /// Maintenance margin.
    pub mm: Exact,
    assets: Vec<PoolAsset>,
    /// What the fixed-scale path computed, when it did (see [`Rounded`]).
    fixed: Option<Rounded>,
}

/// A pool's figures from the fixed-scale path: `EM − IM` at scale 28, and the reported
/// EM, IM, MM, `available` and per-asset equity and value, already rounded.
#[derive(Debug, Clone)]
pub(crate) struct Rounded {
    pub(crate) available28: i128,
    pub(crate) figures: [Dec; 4],
    pub(crate) equity: Vec<(AssetId, Dec)>,
    pub(crate) value: Vec<(AssetId, Dec)>,
}

impl PoolCalc {
    /// A pool from figures computed elsewhere (the fixed-scale path).
    pub(crate) fn from_parts(
        id: PoolId,
        (em, im, mm): (Exact, Exact, Exact),
        assets: Vec<PoolAsset>,
        fixed: Option<Rounded>,
    ) -> PoolCalc {
        PoolCalc { id, em, im, mm, assets, fixed }
    }

    fn new(id: PoolId, assets: usize) -> PoolCalc {
        let assets = Vec::with_capacity(assets);
        PoolCalc { id, em: Exact::ZERO, im: Exact::ZERO, mm: Exact::ZERO, assets, fixed: None }
    }

    /// The pool's assets with non-zero equity.
    pub fn assets(&self) -> &[PoolAsset] {
        &self.assets
    }

    /// `EM − IM`, exact.
    #[inline]
    pub fn available(&self) -> Exact {
        self.em - self.im
    }

    /// SPEC §5.2: `EM < 0`, or `MM > 0` and `EM ≤ threshold × MM`.
    pub fn liquidatable(&self, threshold: Dec) -> Result<bool> {
        Ok(self.em.is_negative()?
            || (self.mm.is_positive()? && self.em.try_cmp(self.mm * threshold)?.is_le()))
    }

    /// The reported figures (SPEC §1 roundings); takes the fixed-scale path's rounded
    /// figures when it has them.
    fn round(&mut self, rb: &Rulebook) -> Result<PoolResult> {
        let margin_level = Ratio::level(self.em, self.mm)?;
        let liquidatable = self.liquidatable(rb.settings.liquidation_futures)?;
        if let Some(r) = self.fixed.as_mut() {
            let [em, im, mm, available] = r.figures;
            return Ok(PoolResult {
                id: self.id,
                effective_margin: em,
                initial_margin: im,
                maintenance_margin: mm,
                available,
                margin_level,
                liquidatable,
                equity: std::mem::take(&mut r.equity),
                value: std::mem::take(&mut r.value),
            });
        }
        Ok(PoolResult {
            id: self.id,
            effective_margin: self.em.floor8()?,
            initial_margin: self.im.ceil8()?,
            maintenance_margin: self.mm.ceil8()?,
            available: self.available().floor8()?,
            margin_level,
            liquidatable,
            equity: nonzero(self.assets.iter().map(|a| Ok((a.asset, a.equity.floor8()?))))?,
            value: nonzero(self.assets.iter().map(|a| Ok((a.asset, a.value.floor8()?))))?,
        })
    }
}

/// The pool an order or cross position settled in `settlement` belongs to.
pub(crate) fn cross_pool_id(f: &FuturesAccount, settlement: AssetId) -> PoolId {
    match f.mode {
        FuturesMode::MultiAsset => PoolId::Cross,
        FuturesMode::SingleAsset => PoolId::Settlement(settlement),
    }
}

/// Per settlement asset: Σ upnl of cross positions, Σ MM(pos), Σ IM(pos) + IM(orders),
/// and whether any cross position or order settles in it.
#[derive(Clone, Copy)]
pub(crate) struct Settled {
    pub(crate) upnl: Exact,
    pub(crate) mm: Exact,
    /// IM figures are rounded per position and order (SPEC §5.1), so they add as `Dec`s.
    pub(crate) im: Dec,
    pub(crate) active: bool,
}

impl Default for Settled {
    fn default() -> Settled {
        Settled { upnl: Exact::ZERO, mm: Exact::ZERO, im: Dec::ZERO, active: false }
    }
}

/// The exact pools of a futures account, in SPEC §10 order.
pub fn pools(rb: &Rulebook, market: &Market, f: &FuturesAccount) -> Result<Vec<PoolCalc>> {
    pools_with(rb, market, f, true)
}

/// [`pools`], by the fixed-scale fast paths when `fast` and they apply (same values),
/// otherwise by the general exact arithmetic.
pub(crate) fn pools_with(
    rb: &Rulebook,
    market: &Market,
    f: &FuturesAccount,
    fast: bool,
) -> Result<Vec<PoolCalc>> {
    let n = rb.assets().len();
    // The cross positions' sums in fixed-scale integers when they fit (same values);
    // otherwise every position takes the general path below.
    let mut raw = if fast { crate::fixed::cross_sums(rb, market, f) } else { None };
    let skip_cross = raw.is_some();
    let mut sums = if skip_cross { Vec::new() } else { vec![Settled::default(); n] };
    let mut isolated = Vec::new();
    for pos in f.positions.iter().filter(|p| !p.size.is_zero() && (p.isolated || !skip_cross)) {
        let c = rb.contract(pos.contract);
        let fig = position_figures(rb, market, pos.contract, pos.size, pos.entry_price, pos.leverage)?;
        if pos.isolated {
            let mut pool = PoolCalc::new(PoolId::Isolated(pos.contract), 1);
            let equity = pos.isolated_margin.exact() + fig.upnl;
            pool.em = market.value(rb, c.settlement, equity)?;
            pool.mm = market.value(rb, c.settlement, fig.mm)?;
            pool.im = market.value(rb, c.settlement, fig.im.exact())?;
            pool.assets.push(PoolAsset { asset: c.settlement, equity, value: pool.em });
            isolated.push(pool);
        } else {
            let t = &mut sums[c.settlement];
            t.upnl = t.upnl + fig.upnl;
            t.mm = t.mm + fig.mm;
            t.im = t.im.checked_add(fig.im).ok_or_else(Error::overflow)?;
            t.active = true;
        }
    }
    for o in &f.orders {
        let s = rb.contract(o.contract).settlement;
        let im = order_im(f, o)?;
        match raw.as_mut() {
            Some(r) => {
                r[s].im8 = r[s].im8.checked_add(im.units()).ok_or_else(Error::overflow)?;
                r[s].active = true;
            }
            None => {
                sums[s].im = sums[s].im.checked_add(im).ok_or_else(Error::overflow)?;
                sums[s].active = true;
            }
        }
    }
    // The cross pools at a fixed scale when every figure fits (same values).
    let fixed = raw.as_deref().and_then(|r| crate::fixed_pool::cross_pools(rb, market, f, r, isolated.len()));
    let mut out = match fixed {
        Some(out) => out,
        None => {
            if let Some(r) = &raw {
                sums = r.iter().map(crate::fixed::RawSettled::settled).collect();
            }
            cross_pools(rb, market, f, &sums, isolated.len())?
        }
    };
    // Isolated pools come last, in symbol order (contract ids follow symbol order).
    isolated.sort_by_key(|p| match p.id {
        PoolId::Isolated(c) => c,
        _ => 0,
    });
    out.extend(isolated);
    Ok(out)
}

/// The cross pools by the general exact arithmetic (see [`pools_with`]).
fn cross_pools(
    rb: &Rulebook,
    market: &Market,
    f: &FuturesAccount,
    sums: &[Settled],
    extra: usize,
) -> Result<Vec<PoolCalc>> {
    let n = rb.assets().len();
    let mut out = Vec::with_capacity(n + extra);
    match f.mode {
        FuturesMode::MultiAsset => {
            let mut pool = PoolCalc::new(PoolId::Cross, n);
            for (a, t) in sums.iter().enumerate() {
                add_requirements(rb, market, &mut pool, a, t.mm, t.im.exact())?;
                add_asset(rb, market, &mut pool, a, f.wallet[a].exact() + t.upnl, true)?;
            }
            out.push(pool);
        }
        FuturesMode::SingleAsset => {
            for (a, t) in sums.iter().enumerate() {
                let has_pool = t.active || !f.wallet[a].is_zero();
                if !rb.is_linear_settlement(a) || !has_pool {
                    continue;
                }
                let mut pool = PoolCalc::new(PoolId::Settlement(a), 1);
                add_requirements(rb, market, &mut pool, a, t.mm, t.im.exact())?;
                add_asset(rb, market, &mut pool, a, f.wallet[a].exact() + t.upnl, false)?;
                out.push(pool);
            }
        }
    }
    Ok(out)
}

/// Adds position and order requirements settled in `a` (converted to USDT).
fn add_requirements(
    rb: &Rulebook,
    market: &Market,
    pool: &mut PoolCalc,
    a: AssetId,
    mm: Exact,
    im: Exact,
) -> Result<()> {
    pool.mm = pool.mm + market.value(rb, a, mm)?;
    pool.im = pool.im + market.value(rb, a, im)?;
    Ok(())
}

/// Adds asset `a` with equity `equity` to a cross pool (SPEC §5.2).
fn add_asset(
    rb: &Rulebook,
    market: &Market,
    pool: &mut PoolCalc,
    a: AssetId,
    equity: Exact,
    multi: bool,
) -> Result<()> {
    if equity.is_zero()? {
        return Ok(());
    }
    let asset = rb.asset(a);
    // The price is needed only when it multiplies a non-zero quantity (SPEC §2): a
    // collateral value of 0 (a zero-rate tier) needs none.
    let value = if multi && equity.is_positive()? {
        market.value(rb, a, asset.collateral.tiered(equity)?)?
    } else {
        market.value(rb, a, equity)?
    };
    let liability_margin = match &asset.liability {
        Some(l) if equity.is_negative()? => -equity * l.mmr * market.need_price_exact(rb, a)?,
        _ => Exact::ZERO,
    };
    pool.em = pool.em + value;
    pool.mm = pool.mm + liability_margin;
    pool.im = pool.im + liability_margin;
    pool.assets.push(PoolAsset { asset: a, equity, value });
    Ok(())
}

/// Max transfer-out of every asset with a positive wallet (SPEC §5.3).
fn max_transfer_out(
    rb: &Rulebook,
    market: &Market,
    f: &FuturesAccount,
    pools: &[PoolCalc],
) -> Result<Vec<(AssetId, Dec)>> {
    let mut out = Vec::with_capacity(f.wallet.len());
    for (a, &w) in f.wallet.iter().enumerate() {
        if !w.is_positive() {
            continue;
        }
        let pool = pools.iter().find(|p| match p.id {
            PoolId::Cross => true,
            PoolId::Settlement(c) => c == a,
            PoolId::Isolated(_) => false,
        });
        let t = match pool {
            // SINGLE_ASSET non-settlement asset: outside every pool.
            None => w,
            Some(pool) => transfer_out_of_pool(rb, market, f.mode, pool, a, w)?,
        };
        if !t.is_zero() {
            out.push((a, t));
        }
    }
    Ok(out)
}

fn transfer_out_of_pool(
    rb: &Rulebook,
    market: &Market,
    mode: FuturesMode,
    pool: &PoolCalc,
    a: AssetId,
    wallet: Dec,
) -> Result<Dec> {
    let asset = rb.asset(a);
    let e0 = pool.assets.iter().find(|x| x.asset == a).map_or(Exact::ZERO, |x| x.equity);
    let Some(price) = market.price(a) else {
        // Unpriced: fine only while the asset's value stays 0 over the whole transfer
        // (a zero-rate collateral tier, equity staying ≥ 0), i.e. the transfer is free.
        let stays_nonnegative = !(e0 - wallet.exact()).is_negative()?;
        if mode == FuturesMode::MultiAsset && stays_nonnegative && asset.collateral.tiered(e0)?.is_zero()? {
            return Ok(wallet);
        }
        return Err(market.need_price(rb, a).unwrap_err());
    };
    let liability_mmr = asset.liability.as_ref().map_or(Dec::ZERO, |l| l.mmr);
    if let Some(av28) = pool.fixed.as_ref().map(|r| r.available28) {
        if crate::fixed_pool::covers(av28, market, a, wallet, liability_mmr) {
            return Ok(wallet);
        }
    }
    // The headroom falls by at most p × (1 + mmr) per unit moved (collateral rates ≤ 1):
    // when even the whole wallet fits under that bound, no walk is needed.
    let available = pool.available();
    let price_x = market.need_price_exact(rb, a)?;
    let steepest =
        if liability_mmr.is_zero() { price_x } else { price_x * (Exact::int(1) + liability_mmr.exact()) };
    if available.try_cmp(wallet.exact() * steepest)?.is_ge() {
        return Ok(wallet);
    }
    let curve = Curve::FuturesEquity {
        table: (mode == FuturesMode::MultiAsset).then_some(&asset.collateral),
        price,
        liability_mmr,
    };
    let terms = [Term { curve, x0: e0, dir: Dir::Down, coef: Exact::int(1) }];
    let cap = wallet.exact();
    let h = Headroom { h0: available, linear: Exact::ZERO, terms: &terms, cap };
    largest_amount(solve(&h)?, cap, Exact::int(1), wallet)
}

/// Evaluates a futures account (SPEC §5, result of §10).
pub fn evaluate(rb: &Rulebook, market: &Market, f: &FuturesAccount) -> Result<FuturesResult> {
    evaluate_with(rb, market, f, true)
}

/// [`evaluate`], by the fixed-scale fast paths when `fast` and they apply (same result).
pub(crate) fn evaluate_with(
    rb: &Rulebook,
    market: &Market,
    f: &FuturesAccount,
    fast: bool,
) -> Result<FuturesResult> {
    let mut calcs = pools_with(rb, market, f, fast)?;
    let mut pools_out = Vec::with_capacity(calcs.len());
    for c in &mut calcs {
        pools_out.push(c.round(rb)?);
    }
    Ok(FuturesResult {
        liquidatable: pools_out.iter().any(|p| p.liquidatable),
        max_transfer_out: max_transfer_out(rb, market, f, &calcs)?,
        pools: pools_out,
    })
}
