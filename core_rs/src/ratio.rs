//! Reported ratios (SPEC §1): margin levels and collateral margin levels.
//!
//! A ratio is a quotient of exact values rounded to 8 fractional digits. Unlike the
//! other reported figures (sums and products of in-range inputs, at most about 10^25),
//! a quotient with a tiny denominator can exceed the range of [`Dec`] on in-range input
//! (10^15 USDT of assets against a debt of 10^-8 × a price of 10^-8 is a margin level of
//! 10^31). SPEC §1 makes overflow on in-range input a bug, so a ratio keeps a 256-bit
//! count of 10^-8: every in-range quotient fits (at most about 10^50 units).

use crate::decimal::{write_units, ArithError, Dec, Exact, SCALE, UNIT};
use ethnum::{I256, U256};
use std::fmt;

/// A reported ratio: a 256-bit count of 10^-8, written like a [`Dec`] (SPEC §1 form).
///
/// ```
/// use multimargin_core::decimal::{Dec, Exact};
/// use multimargin_core::ratio::Ratio;
/// let big = Exact::from(Dec::from_int(1_000_000_000_000_000));
/// let tiny = Exact::from(Dec::from_units(1)) * Dec::from_units(1); // 10^-16
/// let r = Ratio::div_floor8(big, tiny).unwrap();
/// assert_eq!(r.to_string(), format!("1{}", "0".repeat(31))); // 10^31
/// assert_eq!(Ratio::div_floor8(Exact::int(-1), Exact::int(3)).unwrap().to_string(), "-0.33333334");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Ratio(I256);

impl Ratio {
    /// `num / den` rounded toward −∞ to 8 fractional digits; `den` must be non-zero.
    pub fn div_floor8(num: Exact, den: Exact) -> Result<Ratio, ArithError> {
        Exact::div8_wide(num, den, false).map(Ratio)
    }

    /// `num / den` rounded toward +∞ to 8 fractional digits; `den` must be non-zero.
    pub fn div_ceil8(num: Exact, den: Exact) -> Result<Ratio, ArithError> {
        Exact::div8_wide(num, den, true).map(Ratio)
    }

    /// `num / den` rounded down, `None` when `den = 0` (a margin level with no debt).
    pub fn level(num: Exact, den: Exact) -> Result<Option<Ratio>, ArithError> {
        Ok(if den.is_zero()? { None } else { Some(Ratio::div_floor8(num, den)?) })
    }

    /// The value as a count of 10^-8.
    pub const fn units(self) -> I256 {
        self.0
    }

    /// The ratio as a [`Dec`], when it fits one.
    pub fn to_dec(self) -> Option<Dec> {
        i128::try_from(self.0).ok().map(Dec::from_units)
    }

    /// The exact value of the ratio.
    pub fn exact(self) -> Exact {
        match self.to_dec() {
            Some(d) => d.exact(),
            None => Exact::Wide(self.0, SCALE as u8),
        }
    }
}

impl From<Dec> for Ratio {
    fn from(d: Dec) -> Ratio {
        Ratio(I256::new(d.units()))
    }
}

impl PartialEq<Dec> for Ratio {
    fn eq(&self, d: &Dec) -> bool {
        *self == Ratio::from(*d)
    }
}

impl fmt::Display for Ratio {
    /// SPEC §1 output form: no trailing zeros, no trailing point, `0` never `-0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = U256::new(UNIT as u128);
        let abs = self.0.unsigned_abs();
        write_units(f, self.0.is_negative(), abs / unit, (abs % unit).as_u128())
    }
}

impl fmt::Debug for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ratio({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Exact {
        s.parse::<Dec>().unwrap().exact()
    }

    #[test]
    fn formats_like_dec_on_dec_range() {
        for u in [0, 1, -1, 50_000_000, -1, 108_000_050_000_000, i128::MAX, i128::MIN + 1, i128::MIN] {
            let x = Dec::from_units(u);
            assert_eq!(Ratio::from(x).to_string(), x.to_string());
            assert_eq!(Ratio::from(x).to_dec(), Some(x));
        }
    }

    #[test]
    fn quotients_beyond_dec_are_exact() {
        // 10 × 10^15 × 10^9 of assets against 10^-8 × 10^-8 of debt: 10^41.
        let num = d("1000000000000000") * d("1000000000") * Dec::from_int(10);
        let den = d("0.00000001") * d("0.00000001");
        let r = Ratio::div_floor8(num, den).unwrap();
        assert_eq!(r.to_string(), format!("1{}", "0".repeat(41)));
        assert_eq!(r.to_dec(), None);
        assert_eq!(
            r.exact().try_cmp(num * d("100000000") * d("100000000")).unwrap(),
            std::cmp::Ordering::Equal
        );
        // Rounding toward −∞, also when negative, and beyond i128.
        let r = Ratio::div_floor8(-(num + d("0.00000001")), d("3") * den).unwrap();
        assert_eq!(r.to_string(), "-33333333333333333333333333333333366666666.66666667");
        assert_eq!(Ratio::level(num, Exact::ZERO).unwrap(), None);
    }

    #[test]
    fn zero_is_never_negative() {
        assert_eq!(Ratio::div_floor8(Exact::ZERO, d("-3")).unwrap().to_string(), "0");
        assert_eq!(Ratio::div_ceil8(d("-0.00000001"), d("3")).unwrap().to_string(), "0");
        assert_eq!(Ratio::div_floor8(d("-0.00000001"), d("3")).unwrap().to_string(), "-0.00000001");
    }
}
