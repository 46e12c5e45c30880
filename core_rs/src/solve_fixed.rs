//! The walk of [`crate::solve::solve`] in fixed-scale integers, for headrooms made of
//! tier curves with small integer weights (a margin account's max borrow): `u` and the
//! curves' arguments at scale 16, slopes in units of 10^-8, the headroom at scale 24.
//! Every step mirrors the general walk; `None` (a table without bounds at scale 16, or
//! a figure beyond 128 bits) sends the caller to the general walk, so the answer is
//! never approximated.

use crate::fixed::mul_rate;
use crate::tiers::{Dir, TierTable};

/// `a × b` in `i128`, by two 64×64-bit multiplies when `|b| < 2^64` (a checked 128-bit
/// multiply is a library call); `None` on overflow.
#[inline(always)]
fn mul(a: i128, b: i128) -> Option<i128> {
    let Ok(bu) = u64::try_from(b.unsigned_abs()) else { return a.checked_mul(b) };
    let p = mul_rate(i128::try_from(a.unsigned_abs()).ok()?, i128::from(bu))?;
    // |a × b| ≤ i128::MAX here, so the negation cannot overflow.
    Some(if (a < 0) != (b < 0) { -p } else { p })
}

/// `coef × table(x0 ± u)`, with `x0` at scale 16.
#[derive(Clone, Copy)]
pub(crate) struct Term<'a> {
    pub(crate) table: &'a TierTable,
    pub(crate) x0: i128,
    pub(crate) dir: Dir,
    pub(crate) coef: i128,
}

/// Where the largest feasible `u` lies (see [`crate::solve::Solution`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Solution {
    Infeasible,
    Cap,
    /// `u* = num / den` with `num` at scale 24 and `den > 0` in units of 10^-8.
    At {
        num: i128,
        den: i128,
    },
}

/// The largest `u` in `[0, cap]` (scale 16) with `h0 + linear × u + Σ coef × (curve(x0 ± u)
/// − curve(x0)) ≥ 0`, for `h0` at scale 24 and `linear` in units of 10^-8.
pub(crate) fn solve(h0: i128, linear: i128, terms: &[Term<'_>], cap: i128) -> Option<Solution> {
    if h0 < 0 {
        return Some(Solution::Infeasible);
    }
    let (mut u, mut value) = (0i128, h0);
    loop {
        let (mut slope, mut next) = (linear, cap);
        for t in terms {
            let x = match t.dir {
                Dir::Up => t.x0.checked_add(u)?,
                Dir::Down => t.x0.checked_sub(u)?,
            };
            let (rate, end) = t.table.segment16(x, t.dir)?;
            let s = mul(t.coef, rate)?;
            slope = match t.dir {
                Dir::Up => slope.checked_add(s)?,
                Dir::Down => slope.checked_sub(s)?,
            };
            if let Some(b) = end {
                let ub = match t.dir {
                    Dir::Up => b.checked_sub(t.x0)?,
                    Dir::Down => t.x0.checked_sub(b)?,
                };
                next = next.min(ub);
            }
        }
        // A drop beyond 128 bits (a huge cap) is certainly below −value: h crosses 0.
        let at_next = match mul(next.checked_sub(u)?, slope) {
            Some(d) => value.checked_add(d)?,
            None if slope < 0 => -1,
            None => return None,
        };
        if at_next < 0 {
            // value ≥ 0 > at_next, so slope < 0: u* = u + value / (−slope).
            let den = slope.checked_neg()?;
            return Some(Solution::At { num: mul(u, den)?.checked_add(value)?, den });
        }
        if next >= cap {
            return Some(Solution::Cap);
        }
        u = next;
        value = at_next;
    }
}

/// The largest amount `t` (units of 10^-8) with `t × p ≤ u*`, for a price `p4` in units
/// of 10^-4, clamped to `[0, t_cap]` (see [`crate::solve::largest_amount`]).
pub(crate) fn largest_amount(solution: Solution, cap: i128, p4: u64, t_cap: i128) -> Option<i128> {
    // u / p in units of 10^-8: (u16 / 10^16) / (p4 / 10^4) × 10^8 = u16 / (p4 × 10^4), and
    // num / (den × p) = (num24 / 10^24) / (den8 / 10^8 × p4 / 10^4) × 10^8.
    let p = i128::from(p4) * 10_000;
    let t = match solution {
        Solution::Infeasible => return Some(0),
        Solution::Cap => floor_div(cap, p)?,
        Solution::At { num, den } => floor_div(num, mul(den, p)?)?,
    };
    Some(t.max(0).min(t_cap))
}

/// `⌊n / d⌋` for `d > 0`, in 64 bits when both fit.
#[inline]
fn floor_div(n: i128, d: i128) -> Option<i128> {
    if d <= 0 {
        return None;
    }
    if let (Ok(n), Ok(d)) = (u64::try_from(n), u64::try_from(d)) {
        return Some(i128::from(n / d));
    }
    Some(n.div_euclid(d))
}
