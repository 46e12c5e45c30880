//! Closed-form "largest amount" searches (SPEC §5.3, §6.1–§6.3).
//!
//! Every maximum in the spec is the largest `u ≥ 0` (up to a cap) at which a
//! non-increasing, piecewise-linear headroom function `h(u)` is still ≥ 0. The function
//! is described by its exact value at 0, a constant slope and a few *terms* — tier curves
//! whose argument moves with `u`. [`solve`] walks the breakpoints from `u = 0`, carrying
//! the exact value and slope, and solves the one linear segment where `h` crosses 0.
//! No scanning over amounts and no division until the final rounding.

use crate::decimal::{ArithError, Dec, Exact};
use crate::error::Result;
use crate::ratio::Ratio;
use crate::tiers::{Dir, TierTable};
use std::cmp::Ordering;

/// A piecewise-linear curve of one argument.
#[derive(Clone, Copy)]
pub enum Curve<'a> {
    /// A tiered sum (SPEC §3.1).
    Tiered(&'a TierTable),
    /// One asset's part of a futures pool's `available` as a function of its equity `e`
    /// (SPEC §5.2): `value(e) − liability(e) × mmr × p`. Slope `p × (1 + mmr)` below 0,
    /// and above 0 `p × rate` of the collateral tier (`table`, MULTI_ASSET) or `p`.
    FuturesEquity {
        /// Collateral tiers (MULTI_ASSET) or `None` (valued 1:1).
        table: Option<&'a TierTable>,
        /// Index price of the asset.
        price: Dec,
        /// Liability maintenance rate (0 without a liability section).
        liability_mmr: Dec,
    },
}

impl Curve<'_> {
    /// The slope next to `x` in direction `dir` and where that linear piece ends.
    fn segment(&self, x: Exact, dir: Dir) -> Result<(Exact, Option<Exact>)> {
        match *self {
            Curve::Tiered(t) => t.segment(x, dir),
            Curve::FuturesEquity { table, price, liability_mmr } => {
                let s = x.sign()?;
                let below = s == Ordering::Less || (s == Ordering::Equal && dir == Dir::Down);
                if below {
                    // Linear below 0: slope p × (1 + mmr); going up it ends at 0.
                    let slope = price.exact() * (Exact::int(1) + liability_mmr.exact());
                    return Ok((slope, (dir == Dir::Up).then_some(Exact::ZERO)));
                }
                match table {
                    Some(t) => {
                        let (rate, end) = t.segment(x, dir)?;
                        Ok((rate * price, end))
                    }
                    None => Ok((price.exact(), (dir == Dir::Down).then_some(Exact::ZERO))),
                }
            }
        }
    }
}

/// `coef × curve(x0 ± u)`: a curve whose argument starts at `x0` and moves with `u`.
#[derive(Clone, Copy)]
pub struct Term<'a> {
    /// The curve.
    pub curve: Curve<'a>,
    /// Its argument at `u = 0`.
    pub x0: Exact,
    /// Whether the argument grows (`Up`) or shrinks (`Down`) with `u`.
    pub dir: Dir,
    /// Its weight in `h`.
    pub coef: Exact,
}

impl Term<'_> {
    fn at(&self, u: Exact) -> Exact {
        match self.dir {
            Dir::Up => self.x0 + u,
            Dir::Down => self.x0 - u,
        }
    }
}

/// The headroom function `h(u) = h0 + linear × u + Σ coef × (curve(x0 ± u) − curve(x0))`.
pub struct Headroom<'a, 't> {
    /// `h(0)`, exact.
    pub h0: Exact,
    /// The constant part of the slope.
    pub linear: Exact,
    /// The moving curves.
    pub terms: &'t [Term<'a>],
    /// The largest `u` allowed (≥ 0).
    pub cap: Exact,
}

/// Where the largest feasible `u` lies.
#[derive(Debug, Clone, Copy)]
pub enum Solution {
    /// `h(0) < 0`: nothing is feasible; the maximum is 0.
    Infeasible,
    /// `h(cap) ≥ 0`: the cap binds.
    Cap,
    /// `h` crosses 0 at `u* = num / den` (`den > 0`).
    At {
        /// Numerator of `u*`.
        num: Exact,
        /// Denominator of `u*`, positive.
        den: Exact,
    },
}

/// Finds the largest `u` in `[0, cap]` with `h(u) ≥ 0`, for a non-increasing `h`.
pub fn solve(h: &Headroom<'_, '_>) -> Result<Solution> {
    if h.h0.is_negative()? {
        return Ok(Solution::Infeasible);
    }
    let mut u = Exact::ZERO;
    let mut value = h.h0;
    loop {
        let mut slope = h.linear;
        let mut next = h.cap;
        for t in h.terms {
            let (s, end) = t.curve.segment(t.at(u), t.dir)?;
            let s = s * t.coef;
            slope = match t.dir {
                Dir::Up => slope + s,
                Dir::Down => slope - s,
            };
            if let Some(b) = end {
                let ub = match t.dir {
                    Dir::Up => b - t.x0,
                    Dir::Down => t.x0 - b,
                };
                next = next.try_min(ub)?;
            }
        }
        let at_next = value + slope * (next - u);
        if at_next.is_negative()? {
            // value ≥ 0 > at_next, so slope < 0: u* = u + value / (−slope).
            let den = -slope;
            return Ok(Solution::At { num: u * den + value, den });
        }
        if next.try_cmp(h.cap)?.is_ge() {
            return Ok(Solution::Cap);
        }
        u = next;
        value = at_next;
    }
}

/// The largest multiple of 10^-8, `t`, with `t × k ≤ u_max` where `u_max` is the
/// solution in `u`-space (`u = t × k`), clamped to `[0, t_cap]`.
pub fn largest_amount(solution: Solution, cap_u: Exact, k: Exact, t_cap: Dec) -> Result<Dec> {
    let (num, den) = match solution {
        Solution::Infeasible => return Ok(Dec::ZERO),
        Solution::Cap => (cap_u, k),
        Solution::At { num, den } => (num, den * k),
    };
    match Exact::div_floor8(num, den) {
        Ok(t) => Ok(t.max(Dec::ZERO).min(t_cap)),
        // A quotient beyond `Dec` (a tiny `k`): clamped to `t_cap`, which is a `Dec`.
        Err(ArithError::Overflow) => {
            let t = Ratio::div_floor8(num, den)?.max(Ratio::default()).min(Ratio::from(t_cap));
            Ok(t.to_dec().unwrap_or(t_cap))
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(s: &str) -> Exact {
        s.parse::<Dec>().unwrap().exact()
    }

    #[test]
    fn quotients_beyond_dec_clamp_to_the_cap() {
        // u = 10^24 against k = 10^-16: t = 10^40, beyond `Dec`; the cap binds.
        let (u, k) = (e("1000000000000000") * e("1000000000"), e("0.00000001") * e("0.00000001"));
        let cap = Dec::from_int(1_000_000_000_000_000);
        assert_eq!(largest_amount(Solution::Cap, u, k, cap).unwrap(), cap);
        assert_eq!(largest_amount(Solution::At { num: u, den: Exact::int(1) }, u, k, cap).unwrap(), cap);
        assert_eq!(
            largest_amount(Solution::At { num: -u, den: Exact::int(1) }, u, k, cap).unwrap(),
            Dec::ZERO
        );
        assert_eq!(largest_amount(Solution::Cap, e("3"), e("2"), cap).unwrap(), e("1.5").floor8().unwrap());
    }
}
