//! Fixed-scale fast paths of a margin account's evaluation (SPEC §6): the max-borrow
//! and max transfer-out walks and the reported sums, in integers at fixed scales from
//! the sums of [`crate::fixed::margin_fixed`]. Each answers `None` when a figure has no
//! fixed-scale form, and the caller then runs the general exact path (same results:
//! `fixed_tests` compares whole evaluations).

use crate::account::{MarginAccount, MarginMode};
use crate::decimal::Dec;
use crate::margin::{imr_table, Heads, MarginCalc};
use crate::market::Market;
use crate::result::ProFigures;
use crate::rulebook::{AssetId, Rulebook};
use crate::tiers::Dir;

/// [`crate::margin`]'s max-borrow walk in fixed-scale integers (same result) once `t_cap` is known;
/// `None` when the account's sums or a figure have no fixed-scale form.
#[inline(always)]
pub(crate) fn max_borrow(
    rb: &Rulebook,
    market: &Market,
    m: &MarginAccount,
    c: &MarginCalc,
    heads: &Heads,
    x: AssetId,
    t_cap: Dec,
) -> Option<Dec> {
    use crate::fixed::mul_rate;
    use crate::solve_fixed::{largest_amount, solve, Term};
    const E8: i128 = 100_000_000;
    let (h0, p4) = (heads.borrow24?, market.price4(x)?);
    let (hv, lv) = (c.holdings_value[x].mantissa_at(16)?, c.liability_value[x].mantissa_at(16)?);
    // t_cap (10^-8) × p (10^-4) × 10^4: the cap in value at scale 16.
    let mut cap = mul_rate(mul_rate(t_cap.units(), i128::from(p4))?, 10_000)?;
    let haircut = Term { table: &rb.asset(x).haircut, x0: hv, dir: Dir::Up, coef: 1 };
    let solution = match m.mode {
        MarginMode::Classic => {
            let l = i128::from(m.classic_leverage);
            solve(h0, -l * E8, &[Term { coef: l - 1, ..haircut }], cap)?
        }
        MarginMode::Pro => {
            let imr = imr_table(rb, c.restricted, x)?;
            if let Some(limit) = imr.last_bound() {
                let room = mul_rate(limit.units(), E8)?.checked_sub(lv)?;
                if room < 0 {
                    return Some(Dec::ZERO);
                }
                cap = cap.min(room);
            }
            let terms = [haircut, Term { table: imr, x0: lv, dir: Dir::Up, coef: -1 }];
            solve(h0, -E8, &terms, cap)?
        }
    };
    Some(Dec::from_units(largest_amount(solution, cap, p4, t_cap.units())?))
}

/// [`crate::margin`]'s max transfer-out in fixed-scale integers (same result) once `t_cap` is known;
/// `None` when the account's sums or a figure have no fixed-scale form.
#[inline(always)]
pub(crate) fn max_transfer_out(
    rb: &Rulebook,
    market: &Market,
    c: &MarginCalc,
    heads: &Heads,
    x: AssetId,
    t_cap: Dec,
) -> Option<Dec> {
    use crate::fixed::mul_rate;
    use crate::solve_fixed::{largest_amount, solve, Term};
    let (h0, p4) = (heads.transfer24?, market.price4(x)?);
    // t_cap (10^-8) × p (10^-4) × 10^4: the cap in value at scale 16.
    let cap = mul_rate(mul_rate(t_cap.units(), i128::from(p4))?, 10_000)?;
    // Headroom falls by at most the value moved (haircut rates ≤ 1): the whole free
    // balance fits when h0 ≥ cap.
    if h0 >= mul_rate(cap, 100_000_000)? {
        return Some(t_cap);
    }
    let hv = c.holdings_value[x].mantissa_at(16)?;
    let terms = [Term { table: &rb.asset(x).haircut, x0: hv, dir: Dir::Down, coef: 1 }];
    let solution = solve(h0, 0, &terms, cap)?;
    Some(Dec::from_units(largest_amount(solution, cap, p4, t_cap.units())?))
}

/// The reported TA, TL, CV and Pro figures rounded from the fixed-scale sums (OOL is 0
/// there); `None` when a difference leaves 128 bits.
pub(crate) fn rounded(f: &crate::fixed::MarginSums) -> Option<((Dec, Dec, Dec), ProFigures)> {
    let r = |m: i128, s: u8, up: bool| crate::divide::div_pow10_round(m, s - 8, up).map(Dec::from_units);
    let nc24 = f.cv24.checked_sub(crate::fixed::mul_rate(f.tl16, 100_000_000)?)?;
    let pro = ProFigures {
        net_collateral: r(nc24, 24, false)?,
        open_order_loss: Dec::ZERO,
        initial_margin: r(f.im24, 24, true)?,
        maintenance_margin: r(f.mm24, 24, true)?,
        available: r(nc24.checked_sub(f.im24)?, 24, false)?,
    };
    Some(((r(f.ta16, 16, false)?, r(f.tl16, 16, true)?, r(f.cv24, 24, false)?), pro))
}
