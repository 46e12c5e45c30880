//! Exact decimal numbers (SPEC §1).
//!
//! Two types:
//!
//! * [`Dec`]: a number with at most 8 fractional digits, stored as an `i128` count of
//!   10^-8 units. Every input, every stored balance and every reported figure is a `Dec`,
//!   except quotients that can leave its range on in-range input (margin levels,
//!   conversion costs): those are [`crate::ratio::Ratio`]s.
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

/// An arithmetic fault of exact values (never a wrapped result). Small, so the hot
/// paths return cheap `Result`s; it converts into the core [`Error`] at `?`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithError {
    /// A value left the 256-bit range.
    Overflow,
    /// A named division by zero (a caller bug).
    DivisionByZero,
}

impl From<ArithError> for Error {
    fn from(e: ArithError) -> Error {
        match e {
            ArithError::Overflow => Error::overflow(),
            ArithError::DivisionByZero => Error::internal("division by zero"),
        }
    }
}

use std::fmt;

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
    /// The value as an exact intermediate, trailing zeros stripped so that products keep
    /// small scales (and usually stay within 128 bits).
    pub fn exact(self) -> Exact {
        // Zeros are stripped four digits at a time: scales stay in {0, 4, 8}, so sums of
        // like figures mostly share a scale (no alignment) while mantissas stay small.
        if self.0 == 0 {
            return Exact::ZERO;
        }
        // 64-bit remainders by constants are multiplies; 128-bit ones are library calls.
        if let Ok(v) = i64::try_from(self.0) {
            if v % 10_000 != 0 {
                return Exact::Small(self.0, 8);
            }
            let v = v / 10_000;
            if v % 10_000 != 0 {
                return Exact::Small(i128::from(v), 4);
            }
            return Exact::Small(i128::from(v / 10_000), 0);
        }
        if self.0 % 10_000 != 0 {
            return Exact::Small(self.0, 8);
        }
        let v = self.0 / 10_000;
        if v % 10_000 != 0 {
            return Exact::Small(v, 4);
        }
        Exact::Small(v / 10_000, 0)
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
        let abs = self.0.unsigned_abs();
        write_units(f, self.0 < 0, abs / UNIT as u128, abs % UNIT as u128)
    }
}

/// Writes a count of 10^-8 units in the SPEC §1 output form, given its sign, its integer
/// part and its fraction (< 10^8 units): no trailing zeros, no trailing point, `0` never
/// `-0` (a zero count is never negative). Shared by [`Dec`] and the wide
/// [`crate::ratio::Ratio`].
pub(crate) fn write_units(
    f: &mut fmt::Formatter<'_>,
    negative: bool,
    int: impl fmt::Display,
    mut frac: u128,
) -> fmt::Result {
    if negative {
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

impl fmt::Debug for Dec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dec({self})")
    }
}

mod exact;
pub use exact::Exact;

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
}
