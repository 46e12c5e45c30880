//! Fixed-scale fast paths: the same exact figures as the general [`Exact`] arithmetic,
//! computed in 128-bit integers at a scale fixed per formula (no per-operation scale
//! alignment), for the common case where every input and sum fits. Each path returns
//! `None` as soon as anything would not fit — the caller then runs the general path —
//! so a result is never approximated and overflow is never wrapped.

use crate::account::FuturesAccount;
use crate::decimal::{udiv_pow10_le9, Dec, Exact};
use crate::futures::Settled;
use crate::market::Market;
use crate::rulebook::Rulebook;

/// `ceil(n16 / 10^8 / leverage)`: a position's IM in units of 10^-8 from its notional at
/// scale 16 (`ceil(ceil(a / b) / c) = ceil(a / (b·c))` for positive integers).
#[inline]
fn im_units(n16: i128, leverage: u32) -> Option<i128> {
    let (q, inexact) = udiv_pow10_le9(u128::try_from(n16).ok()?, 8);
    let q = q + u128::from(inexact);
    let lev = u64::from(leverage);
    if lev == 0 {
        return None;
    }
    let units = match u64::try_from(q) {
        Ok(q) => u128::from(q.div_ceil(lev)),
        Err(_) => q.div_ceil(u128::from(lev)),
    };
    i128::try_from(units).ok()
}

/// `a × b` for non-negative `a` and a rate `b < 2^64`, `None` beyond `i128` (two 64×64
/// multiplies instead of a checked 128-bit multiply, which is a library call).
#[inline(always)]
fn mul_rate(a: i128, b: i128) -> Option<i128> {
    let (a, b) = (u128::try_from(a).ok()?, u64::try_from(b).ok()?);
    let lo = u128::from(a as u64) * u128::from(b);
    let hi = (a >> 64) * u128::from(b);
    if hi >> 63 != 0 {
        return None;
    }
    i128::try_from((hi << 64).checked_add(lo)?).ok()
}

/// Per settlement asset, the sums of the cross (non-isolated) positions of SPEC §5.1:
/// Σ upnl (scale 16: `size × (mark − entry)`), Σ MM (scale 24: the risk tier line at
/// the notional `|size| × mark`), Σ IM (`ceil8(notional / leverage)`), and whether any
/// position settles there. `None` when a mark is missing (the general path reports it)
/// or a figure leaves 128 bits.
pub(crate) fn cross_sums(rb: &Rulebook, market: &Market, f: &FuturesAccount) -> Option<Vec<Settled>> {
    let n = rb.assets().len();
    // Per asset: (Σ upnl, Σ MM, Σ IM, active).
    let mut sums = vec![(0i128, 0i128, 0i128, false); n];
    for pos in f.positions.iter().filter(|p| !p.isolated && !p.size.is_zero()) {
        let c = rb.contract(pos.contract);
        let mark = i64::try_from(market.mark(pos.contract)?.units()).ok()?;
        let size = i64::try_from(pos.size.units()).ok()?;
        let entry = i64::try_from(pos.entry_price.units()).ok()?;
        // |size| < 2^63 and prices ≤ 10^17 units: these products cannot overflow.
        let n16 = i128::from(size.unsigned_abs()) * i128::from(mark);
        let pnl16 = i128::from(size) * i128::from(mark.checked_sub(entry)?);
        let (intercept, rate) = c.mmr.line16(n16)?;
        let mm24 = intercept.checked_add(mul_rate(n16, rate)?)?;
        let t = &mut sums[c.settlement];
        t.0 = t.0.checked_add(pnl16)?;
        t.1 = t.1.checked_add(mm24)?;
        t.2 = t.2.checked_add(im_units(n16, pos.leverage)?)?;
        t.3 = true;
    }
    Some(
        sums.into_iter()
            .map(|(upnl, mm, im, active)| Settled {
                upnl: Exact::from_fixed(upnl, 16),
                mm: Exact::from_fixed(mm, 24),
                im: Dec::from_units(im),
                active,
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::{FuturesMode, Position, Status};
    use crate::futures::position_figures;
    use proptest::prelude::*;

    fn rulebook() -> Rulebook {
        Rulebook::from_json_str(include_str!("../../bench/fixtures/rulebook.json")).unwrap()
    }

    /// Units of 10^-8 spread over every magnitude up to `max` (and its negation when signed).
    fn units(max: i128, signed: bool) -> impl Strategy<Value = i128> {
        (1u32..=38, any::<u128>(), any::<bool>()).prop_map(move |(digits, r, neg)| {
            let v = (r % 10u128.pow(digits)) as i128 % max + 1;
            if signed && neg {
                -v
            } else {
                v
            }
        })
    }

    proptest! {
        /// The fixed-scale sums equal the general per-position figures, summed exactly,
        /// whenever the fast path answers (and it answers for ordinary sizes).
        #[test]
        fn fixed_sums_equal_the_general_figures(
            positions in proptest::collection::vec(
                (0usize..20, units(10i128.pow(23), true), units(10i128.pow(17), false),
                 units(10i128.pow(17), false), 1u32..=1000, any::<bool>()),
                0..12),
        ) {
            let rb = rulebook();
            let mut market = Market::empty(&rb);
            let mut account = FuturesAccount {
                mode: FuturesMode::SingleAsset,
                region: None,
                status: Status::Active,
                wallet: vec![Dec::ZERO; rb.assets().len()],
                positions: Vec::new(),
                orders: Vec::new(),
                sub_account: false,
                copy_trading: false,
            };
            let mut ordinary = true;
            for (c, size, entry, mark, leverage, isolated) in positions {
                let contract = c % rb.contracts().len();
                if account.positions.iter().any(|p| p.contract == contract) {
                    continue;
                }
                market.set_mark(contract, Dec::from_units(mark)).unwrap();
                // Notionals below 10^12 keep every MM sum far inside 128 bits at scale 24.
                ordinary &= (i64::try_from(size).is_ok()
                    && size.abs().checked_mul(mark).is_some_and(|n| n < 10i128.pow(28)))
                    || isolated;
                account.positions.push(Position {
                    contract,
                    size: Dec::from_units(size),
                    entry_price: Dec::from_units(entry),
                    leverage,
                    isolated,
                    isolated_margin: Dec::ZERO,
                    airdrop: false,
                });
            }
            let fast = cross_sums(&rb, &market, &account);
            if ordinary {
                prop_assert!(fast.is_some());
            }
            let Some(fast) = fast else { return Ok(()) };
            let n = rb.assets().len();
            let (mut upnl, mut mm, mut im) = (vec![Exact::ZERO; n], vec![Exact::ZERO; n], vec![Dec::ZERO; n]);
            for p in account.positions.iter().filter(|p| !p.isolated) {
                let f = position_figures(&rb, &market, p.contract, p.size, p.entry_price, p.leverage).unwrap();
                let s = rb.contract(p.contract).settlement;
                upnl[s] = upnl[s] + f.upnl;
                mm[s] = mm[s] + f.mm;
                im[s] = im[s].checked_add(f.im).unwrap();
            }
            for a in 0..n {
                prop_assert!(fast[a].upnl.try_cmp(upnl[a]).unwrap().is_eq(), "upnl of asset {}", a);
                prop_assert!(fast[a].mm.try_cmp(mm[a]).unwrap().is_eq(), "mm of asset {}", a);
                prop_assert_eq!(fast[a].im, im[a]);
            }
        }
    }

    #[test]
    fn stripping_keeps_the_value() {
        for (m, s) in [
            (0i128, 16u8),
            (1, 16),
            (-120_000, 16),
            (10i128.pow(30), 24),
            (i128::MIN, 24),
            (7 * 10i128.pow(20), 20),
        ] {
            let x = Exact::from_fixed(m, s);
            assert!(x.try_cmp(Exact::Small(m, s)).unwrap().is_eq(), "{m}e-{s}");
        }
    }
}
