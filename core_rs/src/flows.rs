//! Liability arithmetic used by the repayment and interest flows (SPEC §7.1, §7.2).

use crate::decimal::Dec;
use crate::error::Result;
use crate::ratio::Ratio;

/// SPEC §7.2: the charge in payer asset `s` for `amount` of debt asset `d`:
/// `ceil8(amount × p(d) / (p(s) × discount[s]))`. A quotient: on in-range input it can
/// exceed `Dec`'s range (10^15 × 10^9 / (10^-8 × 10^-8)), hence a [`Ratio`]; a cost a
/// wallet can pay always fits a `Dec`.
///
/// ```
/// use multimargin_core::decimal::Dec;
/// use multimargin_core::flows::conversion_cost;
/// let d = |s: &str| s.parse::<Dec>().unwrap();
/// // 1,000 USDT paid with BTC at 30,000 and discount 0.9.
/// assert_eq!(conversion_cost(d("1000"), d("1"), d("30000"), d("0.9")).unwrap(), d("0.03703704"));
/// ```
pub fn conversion_cost(amount: Dec, debt_price: Dec, payer_price: Dec, payer_discount: Dec) -> Result<Ratio> {
    Ok(Ratio::div_ceil8(amount.exact() * debt_price, payer_price.exact() * payer_discount)?)
}

/// SPEC §7.3: how much debt of `d` a payer's whole `wallet` of `s` covers:
/// `floor8(wallet × p(s) × discount[s] / p(d))` (a [`Ratio`], as the cost: up to 10^32).
pub fn conversion_cover(
    wallet: Dec,
    payer_price: Dec,
    payer_discount: Dec,
    debt_price: Dec,
) -> Result<Ratio> {
    Ok(Ratio::div_floor8(wallet.exact() * payer_price * payer_discount, debt_price.exact())?)
}

/// SPEC §7.1 (futures): one hour's interest on `debt`: `ceil8(max(0, debt − free) × rate)`.
pub fn futures_hourly_interest(debt: Dec, interest_free: Dec, hourly_rate: Dec) -> Result<Dec> {
    let base = debt.checked_sub(interest_free).unwrap_or(Dec::ZERO).max0();
    Ok((base.exact() * hourly_rate).ceil8()?)
}

/// SPEC §7.1 (margin): one hour's interest on borrowed principal: `ceil8(principal × rate)`.
pub fn margin_hourly_interest(principal: Dec, hourly_rate: Dec) -> Result<Dec> {
    Ok((principal.exact() * hourly_rate).ceil8()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Dec {
        s.parse().unwrap()
    }

    #[test]
    fn spec_examples() {
        // §7.1 futures: wallet −1,000, interest-free 100, 0.00001/h → 0.009.
        assert_eq!(futures_hourly_interest(d("1000"), d("100"), d("0.00001")).unwrap(), d("0.009"));
        // §7.1 margin: 1,000 USDC at 0.00001/h → 0.01 per hour.
        assert_eq!(margin_hourly_interest(d("1000"), d("0.00001")).unwrap(), d("0.01"));
        // §7.3: 35,000 USDT paid by BTC at 60,000, discount 0.95 → 0.61403509 BTC.
        assert_eq!(conversion_cost(d("35000"), d("1"), d("60000"), d("0.95")).unwrap(), d("0.61403509"));
        assert_eq!(conversion_cover(d("0.5"), d("60000"), d("0.95"), d("1")).unwrap(), d("28500"));
    }

    #[test]
    fn conversions_beyond_dec_are_exact() {
        // 10^15 at 10^9 paid with an asset at 10^-8 with discount 10^-8: 10^40.
        let (big, top, tiny) = (d("1000000000000000"), d("1000000000"), d("0.00000001"));
        assert_eq!(
            conversion_cost(big, top, tiny, tiny).unwrap().to_string(),
            format!("1{}", "0".repeat(40))
        );
        // 10^15 of an asset at 10^9 covers 10^32 of a debt at 10^-8.
        assert_eq!(
            conversion_cover(big, top, d("1"), tiny).unwrap().to_string(),
            format!("1{}", "0".repeat(32))
        );
    }
}
