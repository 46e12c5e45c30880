//! Exact decimal numbers (SPEC §1).
//!
//! Two types:
//!
//! * [`Dec`]: a number with at most 8 fractional digits, stored as an `i128` count of
//!   10^-8 units. Every input, every stored balance and every reported figure is a `Dec`.
//! * [`Exact`]: an intermediate value `m / 10^s` with a 256-bit mantissa and a variable
//!   scale. Sums, differences and products of `Exact` values are exact; the only ways back
//!   to a `Dec` are the named roundings ([`Exact::floor8`], [`Exact::ceil8`],
//!   [`Exact::div_floor8`], [`Exact::div_ceil8`]).
//!
//! `Exact` arithmetic never wraps. An operation that would overflow 256 bits yields a
//! *poisoned* value; poison propagates through further arithmetic and every operation
//! that leaves the exact world (a comparison, a rounding) reports it as an error. With
//! in-range inputs (SPEC §1 ranges) products of four inputs need about 220 bits, so
//! poison signals a bug or an absurd account, never a silently wrong figure.

use crate::error::Error;
use ethnum::I256;
use std::cmp::Ordering;
use std::fmt;
use std::ops::{Add, Mul, Neg, Sub};

/// Fractional digits of every stored and reported number.
pub const SCALE: u32 = 8;
/// 10^8: the number of units in 1.
pub const UNIT: i128 = 100_000_000;

/// A decimal with at most 8 fractional digits (an integer count of 10^-8).
///
/// ```
/// use multimargin_core::decimal::Dec;
/// let d: Dec = "1080000.50".parse().unwrap();
/// assert_eq!(d.to_string(), "1080000.5");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Dec(i128);

/// Why a string is not a decimal (SPEC §1 wire form).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecError {
    /// Not of the form `-?[0-9]+(\.[0-9]+)?`.
    Malformed,
    /// More than 8 digits after the point, as written.
    TooManyDigits,
    /// Well formed, but far beyond every range of SPEC §1.
    Overflow,
}

impl Dec {
    /// 0.
    pub const ZERO: Dec = Dec(0);
    /// 1.
    pub const ONE: Dec = Dec(UNIT);
    /// The smallest positive decimal, 10^-8.
    pub const STEP: Dec = Dec(1);

    /// The decimal `units × 10^-8`.
    pub const fn from_units(units: i128) -> Dec {
        Dec(units)
    }

    /// The integer count of 10^-8 units.
    pub const fn units(self) -> i128 {
        self.0
    }

    /// An integer as a decimal.
    pub const fn from_int(i: i64) -> Dec {
        Dec(i as i128 * UNIT)
    }

    /// Parses the SPEC §1 wire form: `-?[0-9]+(\.[0-9]+)?`, at most 8 fractional digits
    /// as written; leading zeros and `-0` are accepted.
    pub fn parse(s: &str) -> Result<Dec, DecError> {
        let bytes = s.as_bytes();
        let (neg, digits) = match bytes.first() {
            Some(b'-') => (true, &bytes[1..]),
            _ => (false, bytes),
        };
        let (int_part, frac_part) = match digits.iter().position(|&b| b == b'.') {
            Some(i) => (&digits[..i], Some(&digits[i + 1..])),
            None => (digits, None),
        };
        if int_part.is_empty() || !int_part.iter().all(u8::is_ascii_digit) {
            return Err(DecError::Malformed);
        }
        let frac = frac_part.unwrap_or(&[]);
        if frac_part.is_some() && (frac.is_empty() || !frac.iter().all(u8::is_ascii_digit)) {
            return Err(DecError::Malformed);
        }
        if frac.len() > SCALE as usize {
            return Err(DecError::TooManyDigits);
        }
        // 10^20 units is far beyond every SPEC range (the widest is 10^18), so any
        // longer integer part is out of range whatever its value.
        let significant = int_part.iter().skip_while(|&&b| b == b'0').count();
        if significant > 20 {
            return Err(DecError::Overflow);
        }
        let mut units: i128 = 0;
        for &b in int_part.iter().skip_while(|&&b| b == b'0') {
            units = units * 10 + i128::from(b - b'0');
        }
        for i in 0..SCALE as usize {
            let d = frac.get(i).map_or(0, |&b| i128::from(b - b'0'));
            units = units * 10 + d;
        }
        Ok(Dec(if neg { -units } else { units }))
    }

    /// True for 0.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }
    /// True for a value < 0.
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }
    /// True for a value > 0.
    pub const fn is_positive(self) -> bool {
        self.0 > 0
    }
    /// |self|.
    pub const fn abs(self) -> Dec {
        Dec(self.0.abs())
    }
    /// The larger of `self` and 0.
    pub fn max0(self) -> Dec {
        Dec(self.0.max(0))
    }
    /// `self + rhs`, `None` on i128 overflow (unreachable for in-range values).
    pub fn checked_add(self, rhs: Dec) -> Option<Dec> {
        self.0.checked_add(rhs.0).map(Dec)
    }
    /// `self − rhs`, `None` on i128 overflow.
    pub fn checked_sub(self, rhs: Dec) -> Option<Dec> {
        self.0.checked_sub(rhs.0).map(Dec)
    }
    /// The value as an exact intermediate.
    pub fn exact(self) -> Exact {
        Exact::new(I256::new(self.0), SCALE as u8)
    }
    /// True when the value is an integer.
    pub const fn is_integer(self) -> bool {
        self.0 % UNIT == 0
    }
}

impl std::str::FromStr for Dec {
    type Err = DecError;
    fn from_str(s: &str) -> Result<Dec, DecError> {
        Dec::parse(s)
    }
}

impl fmt::Display for Dec {
    /// SPEC §1 output form: no trailing zeros, no trailing point, `0` never `-0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.0 < 0;
        let abs = self.0.unsigned_abs();
        let int = abs / UNIT as u128;
        let mut frac = abs % UNIT as u128;
        if neg {
            f.write_str("-")?;
        }
        write!(f, "{int}")?;
        if frac != 0 {
            let mut width = SCALE as usize;
            while frac % 10 == 0 {
                frac /= 10;
                width -= 1;
            }
            write!(f, ".{frac:0width$}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Dec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dec({self})")
    }
}

const POISON: u8 = u8::MAX;
/// Largest scale whose power of ten fits a 256-bit signed integer.
const MAX_SCALE: u8 = 76;

/// 10^k as a 256-bit integer, `None` when it does not fit.
fn pow10(k: u32) -> Option<I256> {
    if k <= 38 {
        Some(I256::new(10i128.pow(k)))
    } else if k <= MAX_SCALE as u32 {
        I256::new(10i128.pow(38)).checked_mul(I256::new(10i128.pow(k - 38)))
    } else {
        None
    }
}

/// An exact intermediate value `m / 10^s` (see the module documentation).
#[derive(Clone, Copy)]
pub struct Exact {
    m: I256,
    s: u8,
}

impl Exact {
    /// 0.
    pub const ZERO: Exact = Exact { m: I256::ZERO, s: 0 };
    const POISONED: Exact = Exact { m: I256::ZERO, s: POISON };

    const fn new(m: I256, s: u8) -> Exact {
        Exact { m, s }
    }

    /// An integer.
    pub fn int(i: i128) -> Exact {
        Exact::new(I256::new(i), 0)
    }

    fn poisoned(self) -> bool {
        self.s == POISON
    }

    fn check(self) -> Result<Exact, Error> {
        if self.poisoned() {
            Err(Error::overflow())
        } else {
            Ok(self)
        }
    }

    /// Mantissa rescaled to scale `s` (≥ self.s).
    fn mantissa_at(self, s: u8) -> Option<I256> {
        if s == self.s {
            return Some(self.m);
        }
        self.m.checked_mul(pow10(u32::from(s - self.s))?)
    }

    /// Both mantissas brought to the larger scale.
    fn aligned(self, rhs: Exact) -> Option<(I256, I256, u8)> {
        if self.poisoned() || rhs.poisoned() {
            return None;
        }
        let s = self.s.max(rhs.s);
        Some((self.mantissa_at(s)?, rhs.mantissa_at(s)?, s))
    }

    /// The sign of the value: `Less` for negative, `Equal` for zero, `Greater` for positive.
    pub fn sign(self) -> Result<Ordering, Error> {
        Ok(self.check()?.m.cmp(&I256::ZERO))
    }

    /// True when the value is < 0.
    pub fn is_negative(self) -> Result<bool, Error> {
        Ok(self.sign()? == Ordering::Less)
    }

    /// True when the value is > 0.
    pub fn is_positive(self) -> Result<bool, Error> {
        Ok(self.sign()? == Ordering::Greater)
    }

    /// True when the value is 0.
    pub fn is_zero(self) -> Result<bool, Error> {
        Ok(self.sign()? == Ordering::Equal)
    }

    /// Exact comparison.
    pub fn try_cmp(self, rhs: Exact) -> Result<Ordering, Error> {
        let (a, b, _) = self.aligned(rhs).ok_or_else(Error::overflow)?;
        Ok(a.cmp(&b))
    }

    /// The larger of `self` and 0.
    pub fn max0(self) -> Result<Exact, Error> {
        Ok(if self.is_negative()? { Exact::ZERO } else { self })
    }

    /// The smaller of two values.
    pub fn try_min(self, rhs: Exact) -> Result<Exact, Error> {
        Ok(if self.try_cmp(rhs)? == Ordering::Greater { rhs } else { self })
    }

    /// The larger of two values.
    pub fn try_max(self, rhs: Exact) -> Result<Exact, Error> {
        Ok(if self.try_cmp(rhs)? == Ordering::Less { rhs } else { self })
    }

    /// |self|.
    pub fn abs(self) -> Exact {
        if self.m.is_negative() {
            -self
        } else {
            self
        }
    }

    /// Rounds toward −∞ to 8 fractional digits (SPEC §1 "down").
    pub fn floor8(self) -> Result<Dec, Error> {
        self.round8(false)
    }

    /// Rounds toward +∞ to 8 fractional digits (SPEC §1 "up").
    pub fn ceil8(self) -> Result<Dec, Error> {
        self.round8(true)
    }

    fn round8(self, up: bool) -> Result<Dec, Error> {
        let v = self.check()?;
        let q = if v.s <= SCALE as u8 {
            v.mantissa_at(SCALE as u8).ok_or_else(Error::overflow)?
        } else {
            let d = pow10(u32::from(v.s) - SCALE).ok_or_else(Error::overflow)?;
            div_round(v.m, d, up)
        };
        i128::try_from(q).map(Dec).map_err(|_| Error::overflow())
    }

    /// `num / den` rounded toward −∞ to 8 fractional digits; `den` must be non-zero.
    pub fn div_floor8(num: Exact, den: Exact) -> Result<Dec, Error> {
        Exact::div8(num, den, false)
    }

    /// `num / den` rounded toward +∞ to 8 fractional digits; `den` must be non-zero.
    pub fn div_ceil8(num: Exact, den: Exact) -> Result<Dec, Error> {
        Exact::div8(num, den, true)
    }

    fn div8(num: Exact, den: Exact, up: bool) -> Result<Dec, Error> {
        let num = num.check()?;
        let den = den.check()?;
        if den.m == I256::ZERO {
            return Err(Error::internal("division by zero"));
        }
        // num/den = (n / 10^a) / (d / 10^b); in units of 10^-8:
        // q = n · 10^(8 + b − a) / d.
        let shift = i32::from(SCALE as u8) + i32::from(den.s) - i32::from(num.s);
        let (n, d) = if shift >= 0 {
            let p = pow10(shift as u32).ok_or_else(Error::overflow)?;
            (num.m.checked_mul(p).ok_or_else(Error::overflow)?, den.m)
        } else {
            let p = pow10((-shift) as u32).ok_or_else(Error::overflow)?;
            (num.m, den.m.checked_mul(p).ok_or_else(Error::overflow)?)
        };
        let (n, d) = if d.is_negative() { (-n, -d) } else { (n, d) };
        i128::try_from(div_round(n, d, up)).map(Dec).map_err(|_| Error::overflow())
    }
}

/// `n / d` for `d > 0`, rounded toward −∞ (`up = false`) or +∞ (`up = true`).
fn div_round(n: I256, d: I256, up: bool) -> I256 {
    // Fast path: both fit 128 bits (the common case by far).
    if let (Ok(n128), Ok(d128)) = (i128::try_from(n), i128::try_from(d)) {
        let q = n128.div_euclid(d128);
        let r = n128.rem_euclid(d128);
        return I256::new(if up && r != 0 { q + 1 } else { q });
    }
    let q = n.div_euclid(d);
    let r = n.rem_euclid(d);
    if up && r != I256::ZERO {
        q + 1
    } else {
        q
    }
}

impl From<Dec> for Exact {
    fn from(d: Dec) -> Exact {
        d.exact()
    }
}

impl Add for Exact {
    type Output = Exact;
    fn add(self, rhs: Exact) -> Exact {
        // Adding zero is common (empty slices); skip the alignment.
        if rhs.m == I256::ZERO && !rhs.poisoned() {
            return self;
        }
        if self.m == I256::ZERO && !self.poisoned() {
            return rhs;
        }
        match self.aligned(rhs) {
            Some((a, b, s)) => a.checked_add(b).map_or(Exact::POISONED, |m| Exact::new(m, s)),
            None => Exact::POISONED,
        }
    }
}

impl Sub for Exact {
    type Output = Exact;
    fn sub(self, rhs: Exact) -> Exact {
        self + (-rhs)
    }
}

impl Neg for Exact {
    type Output = Exact;
    fn neg(self) -> Exact {
        if self.poisoned() {
            return self;
        }
        self.m.checked_neg().map_or(Exact::POISONED, |m| Exact::new(m, self.s))
    }
}

impl Mul for Exact {
    type Output = Exact;
    fn mul(self, rhs: Exact) -> Exact {
        if self.poisoned() || rhs.poisoned() {
            return Exact::POISONED;
        }
        if self.m == I256::ZERO || rhs.m == I256::ZERO {
            return Exact::ZERO;
        }
        let s = self.s + rhs.s;
        if s > MAX_SCALE {
            return Exact::POISONED;
        }
        self.m.checked_mul(rhs.m).map_or(Exact::POISONED, |m| Exact::new(m, s))
    }
}

impl Add<Dec> for Exact {
    type Output = Exact;
    fn add(self, rhs: Dec) -> Exact {
        self + rhs.exact()
    }
}

impl Sub<Dec> for Exact {
    type Output = Exact;
    fn sub(self, rhs: Dec) -> Exact {
        self - rhs.exact()
    }
}

impl Mul<Dec> for Exact {
    type Output = Exact;
    fn mul(self, rhs: Dec) -> Exact {
        self * rhs.exact()
    }
}

impl std::iter::Sum for Exact {
    fn sum<I: Iterator<Item = Exact>>(iter: I) -> Exact {
        iter.fold(Exact::ZERO, |a, b| a + b)
    }
}

impl fmt::Debug for Exact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.poisoned() {
            write!(f, "Exact(overflow)")
        } else {
            write!(f, "Exact({}e-{})", self.m, self.s)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Dec {
        s.parse().unwrap()
    }

    #[test]
    fn parses_the_wire_form() {
        assert_eq!(d("1080000").units(), 1_080_000 * UNIT);
        assert_eq!(d("-3.25").to_string(), "-3.25");
        assert_eq!(d("-0").to_string(), "0");
        assert_eq!(d("007.50").to_string(), "7.5");
        assert_eq!(d("0.00000001"), Dec::STEP);
        for bad in ["", "-", "1.", ".5", "+1", " 1", "1 ", "1e5", "1,5", "abc", "--1", "1.-1", "0x10"] {
            assert_eq!(Dec::parse(bad), Err(DecError::Malformed), "{bad:?}");
        }
        assert_eq!(Dec::parse("1.000000000"), Err(DecError::TooManyDigits));
        assert_eq!(Dec::parse("1.123456789"), Err(DecError::TooManyDigits));
        assert_eq!(Dec::parse("123456789012345678901"), Err(DecError::Overflow));
        assert_eq!(d("00000000000000000000000000001").to_string(), "1");
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

    #[test]
    fn overflow_poisons_instead_of_wrapping() {
        let big = d("1000000000000000000").exact();
        let huge = big * big * big * big * big; // 10^90 · 10^40 scale: beyond 256 bits
        assert!(huge.sign().is_err());
        assert!((huge + Exact::int(1)).floor8().is_err());
        assert!((huge - huge).is_zero().is_err());
    }
}
