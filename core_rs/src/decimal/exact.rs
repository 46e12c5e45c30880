//! [`Exact`]: intermediate values `m / 10^s` with a 256-bit mantissa (see the parent
//! module), their exact arithmetic and the named roundings back to [`Dec`].

use super::{ArithError, Dec, SCALE};
use crate::divide::{div_ceil_small, div_pow10_round, udiv_pow10};
use ethnum::I256;
use std::cmp::Ordering;

/// Largest scale whose power of ten fits a 256-bit signed integer.
const MAX_SCALE: u8 = 76;

/// 10^k for k ≤ 38 (the powers that fit an i128).
const POW10: [i128; 39] = {
    let mut t = [1i128; 39];
    let mut i = 1;
    while i < 39 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// 10^k as a 256-bit integer, `None` when it does not fit.
fn pow10_wide(k: u32) -> Option<I256> {
    if k <= 38 {
        Some(I256::new(POW10[k as usize]))
    } else if k <= MAX_SCALE as u32 {
        I256::new(POW10[38]).checked_mul(I256::new(POW10[k as usize - 38]))
    } else {
        None
    }
}

/// `a × b` in 128 bits, `None` on overflow. Factors that fit 64 bits (nearly all) take
/// one widening multiply instead of a checked 128-bit one.
#[inline(always)]
fn mul128(a: i128, b: i128) -> Option<i128> {
    match (i64::try_from(a), i64::try_from(b)) {
        (Ok(x), Ok(y)) => Some(i128::from(x) * i128::from(y)),
        _ => a.checked_mul(b),
    }
}

/// Two 128-bit mantissas brought to the larger scale, when that fits 128 bits.
#[inline(always)]
fn align_small(a: i128, sa: u8, b: i128, sb: u8) -> Option<(i128, i128, u8)> {
    if sa >= sb {
        let k = usize::from(sa - sb);
        if k <= 38 {
            return mul128(b, POW10[k]).map(|b| (a, b, sa));
        }
    } else {
        let k = usize::from(sb - sa);
        if k <= 38 {
            return mul128(a, POW10[k]).map(|a| (a, b, sb));
        }
    }
    None
}

/// An exact intermediate value `m / 10^s` (see the module documentation).
///
/// The mantissa lives in an `i128` while it fits (nearly always: inputs have small
/// scales once trailing zeros are stripped) and moves to 256 bits when it does not.
#[derive(Clone, Copy)]
pub enum Exact {
    /// `m / 10^s` with a 128-bit mantissa.
    #[doc(hidden)]
    Small(i128, u8),
    /// `m / 10^s` with a 256-bit mantissa.
    #[doc(hidden)]
    Wide(I256, u8),
    /// The result of an operation that overflowed 256 bits.
    #[doc(hidden)]
    Poison,
}

/// A mantissa in whichever width it needs.
#[derive(Clone, Copy)]
enum M {
    S(i128),
    W(I256),
}

impl M {
    fn wide(self) -> I256 {
        match self {
            M::S(x) => I256::new(x),
            M::W(x) => x,
        }
    }
    fn narrow(x: I256) -> M {
        let (hi, lo) = x.into_words();
        if hi == (lo >> 127) {
            M::S(lo)
        } else {
            M::W(x)
        }
    }
    /// `self × 10^k`, `None` on 256-bit overflow.
    fn scaled(self, k: u32) -> Option<M> {
        if k == 0 {
            return Some(self);
        }
        if let (M::S(x), true) = (self, k <= 38) {
            if let Some(r) = x.checked_mul(POW10[k as usize]) {
                return Some(M::S(r));
            }
        }
        self.wide().checked_mul(pow10_wide(k)?).map(M::W)
    }
    fn signum(self) -> i32 {
        match self {
            M::S(x) => x.signum() as i32,
            M::W(x) => x.signum128() as i32,
        }
    }
}

impl Exact {
    /// 0.
    pub const ZERO: Exact = Exact::Small(0, 0);

    fn from_m(m: M, s: u8) -> Exact {
        match m {
            M::S(x) => Exact::Small(x, s),
            M::W(x) => match M::narrow(x) {
                M::S(x) => Exact::Small(x, s),
                M::W(x) => Exact::Wide(x, s),
            },
        }
    }

    fn parts(self) -> Option<(M, u8)> {
        match self {
            Exact::Small(m, s) => Some((M::S(m), s)),
            Exact::Wide(m, s) => Some((M::W(m), s)),
            Exact::Poison => None,
        }
    }

    /// The 128-bit mantissa and scale, when the value has them (most values).
    #[inline(always)]
    pub fn small_parts(self) -> Option<(i128, u8)> {
        match self {
            Exact::Small(m, s) => Some((m, s)),
            _ => None,
        }
    }

    /// The value as an integer count of `10^-scale` (`m × 10^(scale − s)`), when it has a
    /// 128-bit mantissa with `s ≤ scale` and the result fits 128 bits.
    #[inline]
    pub fn mantissa_at(self, scale: u8) -> Option<i128> {
        match self {
            Exact::Small(m, s) if s <= scale && scale - s <= 38 => mul128(m, POW10[usize::from(scale - s)]),
            _ => None,
        }
    }

    /// `m / 10^s` from a fixed-scale integer, trailing zeros stripped four digits at a
    /// time (smaller mantissas keep later products in 64-bit multiplies).
    pub fn from_fixed(m: i128, mut s: u8) -> Exact {
        if m == 0 || m == i128::MIN {
            return Exact::Small(m, if m == 0 { 0 } else { s });
        }
        let (neg, mut q) = (m < 0, m.unsigned_abs());
        // 10^4 | q needs 16 | q, and 10^8 | q needs 256 | q: the low bits reject most
        // candidates before any division; eight digits go in one division when they can.
        while s >= 4 && q & 15 == 0 {
            if s >= 8 && q & 255 == 0 {
                let (next, inexact) = udiv_pow10(q, 8);
                if !inexact {
                    q = next;
                    s -= 8;
                    continue;
                }
            }
            let (next, inexact) = udiv_pow10(q, 4);
            if inexact {
                break;
            }
            q = next;
            s -= 4;
        }
        // q ≤ |m| < 2^127 (i128::MIN was returned above), so q fits.
        let q = q as i128;
        Exact::Small(if neg { -q } else { q }, s)
    }

    /// An integer.
    pub fn int(i: i128) -> Exact {
        Exact::Small(i, 0)
    }

    fn check(self) -> Result<(M, u8), ArithError> {
        self.parts().ok_or(ArithError::Overflow)
    }

    /// Both mantissas brought to the larger scale.
    fn aligned(self, rhs: Exact) -> Option<(M, M, u8)> {
        let (a, sa) = self.parts()?;
        let (b, sb) = rhs.parts()?;
        let s = sa.max(sb);
        Some((a.scaled(u32::from(s - sa))?, b.scaled(u32::from(s - sb))?, s))
    }

    /// The sign of the value: `Less` for negative, `Equal` for zero, `Greater` for positive.
    #[inline]
    pub fn sign(self) -> Result<Ordering, ArithError> {
        match self {
            Exact::Small(m, _) => Ok(m.cmp(&0)),
            Exact::Wide(m, _) => Ok(m.cmp(&I256::ZERO)),
            Exact::Poison => Err(ArithError::Overflow),
        }
    }

    /// True when the value is < 0.
    pub fn is_negative(self) -> Result<bool, ArithError> {
        Ok(self.sign()? == Ordering::Less)
    }

    /// True when the value is > 0.
    pub fn is_positive(self) -> Result<bool, ArithError> {
        Ok(self.sign()? == Ordering::Greater)
    }

    /// True when the value is 0.
    pub fn is_zero(self) -> Result<bool, ArithError> {
        Ok(self.sign()? == Ordering::Equal)
    }

    /// Exact comparison.
    #[inline(always)]
    pub fn try_cmp(self, rhs: Exact) -> Result<Ordering, ArithError> {
        if let (Exact::Small(a, sa), Exact::Small(b, sb)) = (self, rhs) {
            if sa == sb {
                return Ok(a.cmp(&b));
            }
            if let Some((a, b, _)) = align_small(a, sa, b, sb) {
                return Ok(a.cmp(&b));
            }
        }
        self.cmp_slow(rhs)
    }

    #[inline(never)]
    fn cmp_slow(self, rhs: Exact) -> Result<Ordering, ArithError> {
        if let (Exact::Small(a, sa), Exact::Small(b, sb)) = (self, rhs) {
            // Different signs decide without aligning.
            if a.signum() != b.signum() {
                return Ok(a.signum().cmp(&b.signum()));
            }
            if let Some((a, b, _)) = align_small(a, sa, b, sb) {
                return Ok(a.cmp(&b));
            }
        }
        let (a, b, _) = self.aligned(rhs).ok_or(ArithError::Overflow)?;
        Ok(match (a, b) {
            (M::S(a), M::S(b)) => a.cmp(&b),
            (a, b) => a.wide().cmp(&b.wide()),
        })
    }

    /// The larger of `self` and 0.
    pub fn max0(self) -> Result<Exact, ArithError> {
        Ok(if self.is_negative()? { Exact::ZERO } else { self })
    }

    /// The smaller of two values.
    pub fn try_min(self, rhs: Exact) -> Result<Exact, ArithError> {
        Ok(if self.try_cmp(rhs)? == Ordering::Greater { rhs } else { self })
    }

    /// The larger of two values.
    pub fn try_max(self, rhs: Exact) -> Result<Exact, ArithError> {
        Ok(if self.try_cmp(rhs)? == Ordering::Less { rhs } else { self })
    }

    /// |self|.
    pub fn abs(self) -> Exact {
        match self.parts() {
            Some((m, _)) if m.signum() < 0 => -self,
            _ => self,
        }
    }

    /// Rounds toward −∞ to 8 fractional digits (SPEC §1 "down").
    pub fn floor8(self) -> Result<Dec, ArithError> {
        self.round8(false)
    }

    /// Rounds toward +∞ to 8 fractional digits (SPEC §1 "up").
    pub fn ceil8(self) -> Result<Dec, ArithError> {
        self.round8(true)
    }

    fn round8(self, up: bool) -> Result<Dec, ArithError> {
        if let Exact::Small(m, s) = self {
            if s <= SCALE as u8 {
                if let Some(x) = mul128(m, POW10[usize::from(SCALE as u8 - s)]) {
                    return Ok(Dec(x));
                }
            } else if let Some(q) = div_pow10_round(m, s - SCALE as u8, up) {
                return Ok(Dec(q));
            }
        }
        self.round8_slow(up)
    }

    #[inline(never)]
    fn round8_slow(self, up: bool) -> Result<Dec, ArithError> {
        let (m, s) = self.check()?;
        let q = if s <= SCALE as u8 {
            m.scaled(u32::from(SCALE as u8 - s)).ok_or(ArithError::Overflow)?
        } else {
            let k = u32::from(s) - SCALE;
            match (m, k <= 38) {
                (M::S(x), true) => M::S(div_round_i128(x, POW10[k as usize], up)),
                _ => M::narrow(div_round_wide(m.wide(), pow10_wide(k).ok_or(ArithError::Overflow)?, up)),
            }
        };
        match q {
            M::S(x) => Ok(Dec(x)),
            M::W(_) => Err(ArithError::Overflow),
        }
    }

    /// `self / d` rounded toward +∞ to 8 fractional digits, for a positive integer `d`
    /// (a leverage): `ceil8(notional / leverage)` without the general division.
    #[inline]
    pub fn div_ceil8_int(self, d: u32) -> Result<Dec, ArithError> {
        if let Exact::Small(m, s) = self {
            if d > 0 && s <= SCALE as u8 && m >= 0 {
                // In units of 10^-8: ceil(m × 10^(8 − s) / d), 64-bit when it fits.
                if let Some(n) = mul128(m, POW10[usize::from(SCALE as u8 - s)]) {
                    if let (Ok(n), Some(q)) = (u64::try_from(n), Some(d).filter(|&d| d > 0)) {
                        if let Some(q) = div_ceil_small(n, q) {
                            return Ok(Dec(i128::from(q)));
                        }
                    }
                }
            }
        }
        Exact::div8(self, Exact::int(i128::from(d)), true)
    }

    /// The exact value in plain decimal form, without trailing zeros (`"7333.756"`,
    /// `"-0.000000000125"`, `"0"`): for explanations whose rows must add up exactly.
    pub fn to_plain(self) -> Result<String, ArithError> {
        let (m, s) = self.check()?;
        let neg = m.signum() < 0;
        let digits = m.wide().unsigned_abs().to_string();
        let s = usize::from(s);
        let digits =
            if digits.len() <= s { format!("{}{digits}", "0".repeat(s + 1 - digits.len())) } else { digits };
        let (int, frac) = digits.split_at(digits.len() - s);
        let frac = frac.trim_end_matches('0');
        let body = if frac.is_empty() { int.to_string() } else { format!("{int}.{frac}") };
        Ok(if neg && body != "0" { format!("-{body}") } else { body })
    }

    /// `num / den` rounded toward −∞ to 8 fractional digits; `den` must be non-zero.
    pub fn div_floor8(num: Exact, den: Exact) -> Result<Dec, ArithError> {
        Exact::div8(num, den, false)
    }

    /// `num / den` rounded toward +∞ to 8 fractional digits; `den` must be non-zero.
    pub fn div_ceil8(num: Exact, den: Exact) -> Result<Dec, ArithError> {
        Exact::div8(num, den, true)
    }

    fn div8(num: Exact, den: Exact, up: bool) -> Result<Dec, ArithError> {
        match Exact::div8_m(num, den, up)? {
            M::S(x) => Ok(Dec(x)),
            M::W(_) => Err(ArithError::Overflow),
        }
    }

    /// `num / den` rounded to 8 fractional digits as a 256-bit count of 10^-8, for the
    /// reported ratios whose exact value can leave `Dec`'s range ([`crate::ratio::Ratio`]).
    pub(crate) fn div8_wide(num: Exact, den: Exact, up: bool) -> Result<I256, ArithError> {
        Ok(Exact::div8_m(num, den, up)?.wide())
    }

    #[inline(always)]
    fn div8_m(num: Exact, den: Exact, up: bool) -> Result<M, ArithError> {
        let (n, ns) = num.check()?;
        let (d, ds) = den.check()?;
        if d.signum() == 0 {
            return Err(ArithError::DivisionByZero);
        }
        // num/den = (n / 10^a) / (d / 10^b); in units of 10^-8: q = n · 10^(8 + b − a) / d.
        let shift = i32::from(SCALE as u8) + i32::from(ds) - i32::from(ns);
        let (n, d) = if shift >= 0 {
            (n.scaled(shift as u32).ok_or(ArithError::Overflow)?, d)
        } else {
            (n, d.scaled((-shift) as u32).ok_or(ArithError::Overflow)?)
        };
        let q = match (n, d) {
            (M::S(n), M::S(d)) if d != i128::MIN && n != i128::MIN => {
                let (n, d) = if d < 0 { (-n, -d) } else { (n, d) };
                M::S(div_round_i128(n, d, up))
            }
            (n, d) => {
                let (n, d) = (n.wide(), d.wide());
                let (n, d) = if d.is_negative() { (-n, -d) } else { (n, d) };
                M::narrow(div_round_wide(n, d, up))
            }
        };
        Ok(q)
    }
}

/// `n / d` for `d > 0`, rounded toward −∞ (`up = false`) or +∞ (`up = true`).
fn div_round_i128(n: i128, d: i128, up: bool) -> i128 {
    // 64-bit division is several times faster than 128-bit; most values fit.
    if let (Ok(n64), Ok(d64)) = (i64::try_from(n), i64::try_from(d)) {
        let (q, r) = (n64.div_euclid(d64), n64.rem_euclid(d64));
        return i128::from(if up && r != 0 { q + 1 } else { q });
    }
    let (q, r) = (n.div_euclid(d), n.rem_euclid(d));
    if up && r != 0 {
        q + 1
    } else {
        q
    }
}

fn div_round_wide(n: I256, d: I256, up: bool) -> I256 {
    let (q, r) = (n.div_euclid(d), n.rem_euclid(d));
    if up && r != I256::ZERO {
        q + 1
    } else {
        q
    }
}

#[path = "exact_ops.rs"]
mod ops;

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Dec {
        s.parse().unwrap()
    }
    #[test]
    fn plain_form_of_exact_values() {
        let x = d("1.5").exact() * d("0.00000003").exact();
        assert_eq!(x.to_plain().unwrap(), "0.000000045");
        assert_eq!((-x).to_plain().unwrap(), "-0.000000045");
        assert_eq!(Exact::ZERO.to_plain().unwrap(), "0");
        assert_eq!((d("4000").exact() * d("2.5").exact()).to_plain().unwrap(), "10000");
        assert_eq!(d("-3.25").exact().to_plain().unwrap(), "-3.25");
    }

    #[test]
    fn rounds_both_ways_including_negatives() {
        let third = Exact::div_floor8(Exact::int(1), Exact::int(3)).unwrap();
        assert_eq!(third.to_string(), "0.33333333");
        assert_eq!(Exact::div_ceil8(Exact::int(1), Exact::int(3)).unwrap().to_string(), "0.33333334");
        assert_eq!(Exact::div_floor8(Exact::int(-1), Exact::int(3)).unwrap().to_string(), "-0.33333334");
        assert_eq!(Exact::div_ceil8(Exact::int(-1), Exact::int(3)).unwrap().to_string(), "-0.33333333");
        assert_eq!(Exact::div_floor8(Exact::int(1), Exact::int(-3)).unwrap().to_string(), "-0.33333334");
        let x = d("0.00000001").exact() * d("0.5").exact();
        assert_eq!(x.floor8().unwrap(), Dec::ZERO);
        assert_eq!(x.ceil8().unwrap(), Dec::STEP);
        assert_eq!((-x).floor8().unwrap(), Dec::from_units(-1));
        assert_eq!((-x).ceil8().unwrap(), Dec::ZERO);
    }

    #[test]
    fn products_of_four_extreme_inputs_stay_exact() {
        let q = d("999999999999999.99999999").exact();
        let p = d("999999999.99999999").exact();
        let r = d("9.99999999").exact();
        let prod = q * p * r * r;
        assert!(prod.is_positive().unwrap());
        let back = Exact::div_floor8(prod, p * r * r).unwrap();
        assert_eq!(back, d("999999999999999.99999999"));
    }

    proptest::proptest! {
        #[test]
        fn leverage_division_matches_the_general_one(
            units in 0i128..=10i128.pow(30), s in 0u8..=8, lev in 1u32..=1000
        ) {
            let x = Exact::Small(units, s);
            let general = Exact::div8(x, Exact::int(i128::from(lev)), true).unwrap();
            proptest::prop_assert_eq!(x.div_ceil8_int(lev).unwrap(), general);
        }
    }

    #[test]
    fn rounds_at_every_scale_like_the_general_path() {
        for m in [0i128, 1, -1, 5, -5, 99_999_999, -100_000_001, i128::MAX, i128::MIN, 10i128.pow(30) + 7] {
            for s in 0..=40u8 {
                for up in [false, true] {
                    let x = Exact::Small(m, s);
                    let fast = x.round8(up);
                    let slow = x.round8_slow(up);
                    assert_eq!(fast, slow, "{m}e-{s} up={up}");
                }
            }
        }
    }

    #[test]
    fn overflow_poisons_instead_of_wrapping() {
        let big = d("1000000000000000000").exact();
        let huge = big * big * big * big * big; // 10^90 · 10^40 scale: beyond 256 bits
        assert!(huge.sign().is_err());
        assert!((huge + Exact::int(1)).floor8().is_err());
        assert!((huge - huge).is_zero().is_err());
    }
}
