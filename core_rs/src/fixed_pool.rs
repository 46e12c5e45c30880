//! Fixed-scale fast path for a futures account's cross pools (SPEC §5.2): the same exact
//! EM, IM, MM and per-asset equity and value as the general [`Exact`] assembly in
//! [`crate::futures::pools`], accumulated in `i128` at scale 28 (quantities at scale 16
//! or 24 times prices in units of 10^-4), with no per-operation scale alignment.
//!
//! It answers `None` — and the caller runs the general path, which also reports any
//! error — when a price the pool needs is missing or has more than 4 fractional
//! digits, when a tier line has no fixed-scale form, or when any product or sum leaves
//! 128 bits (values beyond ≈ 1.7 × 10^10 USDT). A result is never approximated.

use crate::account::{FuturesAccount, FuturesMode};
use crate::decimal::{Dec, Exact};
use crate::divide::div_pow10_round;
use crate::fixed::{mul_rate, tiered16, RawSettled};
use crate::futures::{PoolAsset, PoolCalc, Rounded};
use crate::market::Market;
use crate::result::PoolId;
use crate::rulebook::{AssetId, Rulebook};

/// The scale of the pool sums: 16 (equity) + 8 (a rate) + 4 (a price).
const SCALE: u8 = 28;
/// 10^8 and 10^16, the factors that bring scale-20 and scale-12 products to scale 28.
const E8: i128 = 100_000_000;
const E16: i128 = E8 * E8;

/// `a × b` for any sign of `a` and `b < 2^64`, `None` beyond `i128`.
#[inline(always)]
fn mul_signed(a: i128, b: i128) -> Option<i128> {
    if a >= 0 {
        mul_rate(a, b)
    } else {
        // |a × b| ≤ i128::MAX, so its negation cannot overflow.
        mul_rate(a.checked_neg()?, b).map(|x| -x)
    }
}

/// EM, IM and MM of one pool at scale 28, and its assets.
struct Acc {
    em: i128,
    im: i128,
    mm: i128,
    assets: Vec<PoolAsset>,
    /// Non-zero rounded-down equity and value per asset (the reported figures).
    equity: Vec<(AssetId, Dec)>,
    value: Vec<(AssetId, Dec)>,
}

impl Acc {
    fn new(capacity: usize) -> Acc {
        Acc {
            em: 0,
            im: 0,
            mm: 0,
            assets: Vec::with_capacity(capacity),
            equity: Vec::with_capacity(capacity),
            value: Vec::with_capacity(capacity),
        }
    }

    /// Adds asset `a`: the requirements of the positions and orders settled in it, and
    /// its equity `wallet + Σ upnl` valued with the collateral tiers (`multi`) or 1:1,
    /// with the liability margin of a negative equity (SPEC §5.2).
    #[inline]
    fn add(
        &mut self,
        rb: &Rulebook,
        market: &Market,
        a: AssetId,
        t: &RawSettled,
        wallet: Dec,
        multi: bool,
    ) -> Option<()> {
        if t.mm24 != 0 || t.im8 != 0 {
            let p = i128::from(market.price4(a)?);
            self.mm = self.mm.checked_add(mul_rate(t.mm24, p)?)?;
            self.im = self.im.checked_add(mul_rate(mul_rate(t.im8, p)?, E16)?)?;
        }
        let w = i128::from(i64::try_from(wallet.units()).ok()?);
        let e16 = (w * E8).checked_add(t.upnl16)?;
        if e16 == 0 {
            return Some(());
        }
        let asset = rb.asset(a);
        let value = if multi && e16 > 0 {
            // The price is needed only when the collateral value is not 0 (SPEC §2).
            let cv24 = tiered16(&asset.collateral, e16)?;
            if cv24 == 0 {
                0
            } else {
                mul_rate(cv24, i128::from(market.price4(a)?))?
            }
        } else {
            mul_signed(mul_signed(e16, i128::from(market.price4(a)?))?, E8)?
        };
        if let (Some(l), true) = (&asset.liability, e16 < 0) {
            let p = i128::from(market.price4(a)?);
            let margin = mul_rate(mul_rate(e16.checked_neg()?, l.mmr.units())?, p)?;
            self.mm = self.mm.checked_add(margin)?;
            self.im = self.im.checked_add(margin)?;
        }
        self.em = self.em.checked_add(value)?;
        let (e8, v8) = (div_pow10_round(e16, 8, false)?, div_pow10_round(value, SCALE - 8, false)?);
        if e8 != 0 {
            self.equity.push((a, Dec::from_units(e8)));
        }
        if v8 != 0 {
            self.value.push((a, Dec::from_units(v8)));
        }
        self.assets.push(PoolAsset {
            asset: a,
            equity: Exact::Small(e16, 16),
            value: Exact::Small(value, SCALE),
        });
        Some(())
    }

    fn pool(self, id: PoolId) -> Option<PoolCalc> {
        let r = |m: i128, up: bool| div_pow10_round(m, SCALE - 8, up).map(Dec::from_units);
        let available28 = self.em.checked_sub(self.im)?;
        let figures = [r(self.em, false)?, r(self.im, true)?, r(self.mm, true)?, r(available28, false)?];
        let rounded = Rounded { available28, figures, equity: self.equity, value: self.value };
        let (em, im, mm) = (
            Exact::from_fixed(self.em, SCALE),
            Exact::from_fixed(self.im, SCALE),
            Exact::from_fixed(self.mm, SCALE),
        );
        Some(PoolCalc::from_parts(id, (em, im, mm), self.assets, Some(rounded)))
    }
}

/// SPEC §5.3 shortcut: whether a pool's `available` (`av28`, at scale 28) covers moving
/// the whole `wallet` of `a` out at the steepest rate `p × (1 + liability_mmr)`, so
/// that no walk is needed. `false` when unsure (the general comparison then decides).
pub(crate) fn covers(av28: i128, market: &Market, a: AssetId, wallet: Dec, liability_mmr: Dec) -> bool {
    let Some(p) = market.price4(a) else { return false };
    // units (10^-8) × price (10^-4) × (1 + mmr) (10^-8) × 10^8: scale 28.
    let need = mul_rate(wallet.units(), i128::from(p))
        .and_then(|x| mul_rate(x, E8 + liability_mmr.units()))
        .and_then(|x| mul_rate(x, E8));
    need.is_some_and(|need| av28 >= need)
}

/// The cross pools of `f` in SPEC §10 order (the MULTI_ASSET pool, or one pool per
/// linear settlement asset in use) from the positions' and orders' sums per settlement
/// asset; `extra` is the room to leave for the isolated pools.
pub(crate) fn cross_pools(
    rb: &Rulebook,
    market: &Market,
    f: &FuturesAccount,
    sums: &[RawSettled],
    extra: usize,
) -> Option<Vec<PoolCalc>> {
    let n = rb.assets().len();
    match f.mode {
        FuturesMode::MultiAsset => {
            let mut acc = Acc::new(n);
            for (a, t) in sums.iter().enumerate() {
                acc.add(rb, market, a, t, f.wallet[a], true)?;
            }
            let mut out = Vec::with_capacity(1 + extra);
            out.push(acc.pool(PoolId::Cross)?);
            Some(out)
        }
        FuturesMode::SingleAsset => {
            let mut out = Vec::with_capacity(n + extra);
            for (a, t) in sums.iter().enumerate() {
                let has_pool = t.active || !f.wallet[a].is_zero();
                if !rb.is_linear_settlement(a) || !has_pool {
                    continue;
                }
                let mut acc = Acc::new(1);
                acc.add(rb, market, a, t, f.wallet[a], false)?;
                out.push(acc.pool(PoolId::Settlement(a))?);
            }
            Some(out)
        }
    }
}
